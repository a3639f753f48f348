"""Reading a request: the photo's bytes (the raw body or a multipart field), its file name and the option fields,
each once. What is done with them is :mod:`colorsplash.server.work`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from fastapi import Request
from starlette.datastructures import UploadFile

from colorsplash.runtime.options import OptionError
from colorsplash.runtime.pictures.photo_io import ImageReadError
from colorsplash.runtime.pictures.signatures import SIGNATURE_BYTES, starts_as_picture

UPLOAD_NAME = "upload"
MAX_NAME = 200  # characters of an upload's file name kept
# The longest field name or value taken: every option's is far shorter (color:#RRGGBBAA, X,Y); a longer one was
# quoted whole in the 422 (90 KB of it, up to the upload limit).
MAX_FIELD_CHARS = 200
MAX_FIELDS = 64  # form fields of one request (options); more is refused by the form parser (400)


@dataclass(frozen=True)
class Upload:
    """A photo's bytes as sent, its file name (multipart; ``upload`` for a raw body) and the request's other
    fields (query string, then form fields)."""

    data: bytes
    fields: dict[str, str]
    name: str = UPLOAD_NAME


async def read_upload(request: Request) -> Upload:
    """The photo from a multipart field (``file``, or the only file) or the raw body, plus the option fields.

    Raises:
        ImageReadError: no photo in the request (415).
        ClientDisconnect: the client went away before the body was complete.
    """
    sent = [(k, v, "query parameter") for k, v in request.query_params.multi_items()]
    name = UPLOAD_NAME
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=MAX_FIELDS) as form:
            files = [v for v in form.values() if isinstance(v, UploadFile)]
            sent += [(k, v, "form field") for k, v in form.multi_items() if isinstance(v, str)]
            fields = merged_fields(sent)  # before the photo is read: a contradiction is refused at once
            data = await files[0].read() if files else b""
            name = _base_name(files[0].filename) if files and files[0].filename else name
    else:
        fields = merged_fields(sent)
        data = await request.body()
        _refuse_form_body(request.headers.get("content-type", ""), data)
    if not data and name != UPLOAD_NAME:  # a file field that came empty: the CLI's words for an empty file
        raise ImageReadError(f"{name}: file is empty (0 bytes); send the photo's file, not an empty one")
    if not data:
        raise ImageReadError("the request holds no photo: send it as the body or as the multipart field 'file'")
    return Upload(data, fields, name)


# Bodies that are certainly not a photo: said as such rather than "not a picture ... unrecognised content".
_FORM_BODIES = {"application/json": "JSON", "application/x-www-form-urlencoded": "a URL-encoded form"}


def _refuse_form_body(content_type: str, data: bytes) -> None:
    """Raise ImageReadError (415) for a JSON or URL-encoded body, saying how to send the photo instead. A body so
    labelled that begins as a picture is the photo (``curl --data-binary @cat.jpg`` labels it a URL-encoded form
    unless told otherwise): photos are read by their content."""
    kind = _FORM_BODIES.get(content_type.split(";")[0].strip().lower())
    if kind is not None and not starts_as_picture(data[:SIGNATURE_BYTES]):
        raise ImageReadError(
            f"the request body is {kind} (by its Content-Type header), not a photo: send the photo's bytes as the "
            "body (options as query parameters) or as the multipart/form-data field 'file' (options as form fields)"
        )


def merged_fields(sent: list[tuple[str, str, str]]) -> dict[str, str]:
    """The request's fields, each once: ``sent`` lists ``(name, value, where)`` in order (query parameters, then
    form fields; ``where`` names which). A field sent again with the same value (``on-empty`` and ``on_empty`` are
    one) counts once; with another value neither wins.

    Raises:
        OptionError: a field sent twice with different values, naming both (422).
    """
    fields: dict[str, str] = {}
    first: dict[str, tuple[str, str]] = {}  # Python's name -> (value, where) as first sent
    for raw, value, where in sent:
        _check_length(raw, value, where)
        key = raw.replace("-", "_")
        if key not in first:
            first[key] = (value, where)
            fields[raw] = value
        elif first[key][0] != value:
            was, where_was = first[key]
            raise OptionError(
                key,
                f"sent twice with different values, {_shown(was)} as a {where_was} and {_shown(value)} as a "
                f"{where}; send it once",
            )
    return fields


def _check_length(name: str, value: str, where: str) -> None:
    """Raise OptionError (422) for a field whose name or value is over :data:`MAX_FIELD_CHARS`, quoting it cut."""
    for what, text in (("name", name), ("value", value)):
        if len(text) > MAX_FIELD_CHARS:
            raise OptionError(
                cut(name),
                f"a {where} whose {what} is {len(text):,} characters long ({_shown(text)}); no option's "
                f"{what} is over {MAX_FIELD_CHARS}: send the option's own {what}",
            )


def cut(value: str, most: int = 40) -> str:
    """``value`` (it comes from the request) cut to ``most`` characters for a message, ``...`` marking a cut."""
    return value if len(value) <= most else value[:most] + "..."


def _shown(value: str, most: int = 40) -> str:
    """``value`` quoted for a message, cut to ``most`` characters (:func:`cut`)."""
    return repr(cut(value, most))


def _base_name(filename: str) -> str:
    """The file name a browser sent, without any folder part (some send ``C:\\path\\photo.jpg``), each character
    that is not printable (a line break, a bidirectional override) as ``_`` and at most :data:`MAX_NAME` long
    (its extension kept): it goes into messages, the log and the result's ``Content-Disposition`` header."""
    name = PureWindowsPath(PurePosixPath(filename).name).name
    name = "".join(ch if ch.isprintable() else "_" for ch in name)
    if len(name) > MAX_NAME:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_NAME - len(suffix)] + suffix
    return name or UPLOAD_NAME
