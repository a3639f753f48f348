"""The API's OpenAPI description, exact per endpoint: each lists only the options it reads.

``/api/splash`` takes every splash option and ``format``; ``/api/mask`` takes the options that shape the alpha
(no ``effect``, ``quality`` or ``format``: it always answers an 8-bit greyscale PNG, and refuses them); ``/api/view``
takes none (it answers the photo as JPEG, no model run).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from colorsplash.runtime.options import OPTION_FIELDS, choices
from colorsplash.server.notes import MAX_HEADER_BYTES, MAX_NOTE_CHARS, MAX_NOTES, NOTES_HEADER

OUTPUT_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
FORMAT_FIELD = "format"
# Options that only change how the splash is drawn or written, not the alpha (as the CLI's `mask` verb).
SPLASH_ONLY_OPTIONS = ("effect", "quality")
MASK_OPTIONS = tuple(f.name for f in OPTION_FIELDS if f.name not in SPLASH_ONLY_OPTIONS)
# /api/mask describes some options differently: its result is the alpha, not a picture.
_MASK_HELP = {
    "invert": "invert the mask: 255 marks the background",
    "on_empty": "when no subject is found: an all-0 mask (grey; all 255 with invert: all of it is background), an "
    "all-255 mask (copy), or a 422 error (skip)",
}
SUBJECT_HEADERS = {
    "X-Colorsplash-Subject": {
        "description": "`found`, or `none` when the model found no subject (the "
        "`on-empty` policy then decided the result)",
        "schema": {"type": "string", "enum": ["found", "none"]},
    },
    "X-Colorsplash-Subject-Score": {
        "description": "how sure the model is that a subject is present, 0..1 (four places, rounded down; also "
        "on the 422 answer to `on-empty=skip`)",
        "schema": {"type": "number"},
    },
}
NOTES_HEADERS = {
    NOTES_HEADER: {
        "description": "what the user should know of this result, as the CLI prints it (metadata left out, an "
        "animation's first frame used, 16-bit reduced to 8, transparency flattened...): a JSON array of strings in "
        "ASCII (other characters as `\\u` escapes; each note names the upload), at most "
        f"{MAX_NOTES} notes of {MAX_NOTE_CHARS} characters and {MAX_HEADER_BYTES:,} bytes in all, notes left out "
        "counted in a last `and N more notes`; absent when there are none",
        "schema": {
            "type": "string",
            "example": '["cat.jpg: XMP of 70,000 bytes does not fit a JPEG ...; not copied; a PNG result keeps it"]',
        },
    },
}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "option": {"type": "string"}},
}
_ERRORS = {
    "400": "`Host` is not a name of this server (see `--allowed-host`), or a multipart body the server does not "
    "read: malformed, more than one file (send one photo, as `file`) or over 64 fields",
    "403": "cross-origin request from a web page not allowed (see `--allowed-origin`)",
    "408": "the request body did not all arrive within the upload time limit (see `--upload-timeout`); the "
    "connection is closed",
    "413": "request body over the upload limit, or photo over the pixel limit",
    "415": "not a picture (or no photo in the request)",
    "422": "bad or unknown option (`option` names it), an option sent twice with different values (as a query "
    "parameter and a form field, or twice as either), or no subject found with `on-empty=skip`",
    "503": "busy: other photos hold the server's memory budget and its queue, or this address's photos held the "
    "most of it and this one, the newest waiting, gave its place to another address's, or it serves as many "
    "requests as it takes at once, in all (`--max-requests`) or from this address (`--max-per-client`); "
    "retry after `Retry-After` seconds",
}
# /api/view takes no option: any field is refused.
_VIEW_ERRORS = _ERRORS | {
    "422": "a query or form field was sent (`option` names it): this endpoint takes none (any field but `file`)"
}


def _option_schema(f: dataclasses.Field[Any]) -> dict[str, Any]:
    kind = str(f.type)
    typ = (
        "boolean"
        if "bool" in kind
        else "string"
        if "tuple" in kind or "str" in kind
        else "number"
        if "float" in kind
        else "integer"
    )
    schema: dict[str, Any] = {"type": typ}
    if choices(f):
        schema["enum"] = list(choices(f) or ())
    if f.default is not None:
        schema["default"] = f.default
    return schema


def _description(f: dataclasses.Field[Any], endpoint: str) -> str:
    text = str(_MASK_HELP.get(f.name, f.metadata["mask_help"]) if endpoint == "mask" else f.metadata["help"])
    if f.name == "point":
        text += "; written X,Y in pixels, e.g. 120,80"
    return text


def option_parameters(endpoint: str) -> list[dict[str, Any]]:
    """OpenAPI query parameters of ``endpoint`` (``splash``, ``mask`` or ``view``): its options in CLI spelling,
    and ``format`` for ``splash``; none for ``view``."""
    names = {"mask": MASK_OPTIONS, "view": ()}.get(endpoint, tuple(f.name for f in OPTION_FIELDS))
    params = [
        {
            "name": f.name.replace("_", "-"),
            "in": "query",
            "required": False,
            "schema": _option_schema(f),
            "description": _description(f, endpoint),
        }
        for f in OPTION_FIELDS
        if f.name in names
    ]
    if endpoint == "splash":
        params.append(
            {
                "name": FORMAT_FIELD,
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(OUTPUT_FORMATS)},
                "description": "output format (default: the upload's own for JPEG, PNG and WebP, JPEG for HEIC, "
                "AVIF and multi-picture JPEGs, else PNG; PNG for a transparent cut-out where that is JPEG)",
            }
        )
    return params


def openapi_extra(endpoint: str, result: str, result_types: list[str]) -> dict[str, Any]:
    """``openapi_extra`` of an upload endpoint: its options, the photo body, the result and the errors."""
    params = option_parameters(endpoint)
    form_props = {p["name"]: p["schema"] | {"description": p["description"]} for p in params}
    # Taken in Python's spelling too (``on_empty``, work.merged_fields): listed, as the schema refuses the rest.
    form_props |= {
        n.replace("-", "_"): s | {"description": f"the same as `{n}`"} for n, s in form_props.items() if "-" in n
    }
    binary = {"schema": {"type": "string", "format": "binary"}}
    options = "it takes no options" if endpoint == "view" else "options may be form fields too"
    return {
        "parameters": params,
        "requestBody": {
            "required": True,
            "description": f"the photo (JPEG, PNG, WebP, ...) as a multipart field `file` ({options}) or as the raw "
            "body",
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}} | form_props,
                        "additionalProperties": False,  # any other field is refused: 422 naming it
                    }
                },
                "image/*": binary,
                "application/octet-stream": binary,
            },
        },
        "responses": {
            "200": {
                "description": result,
                "headers": NOTES_HEADERS if endpoint == "view" else SUBJECT_HEADERS | NOTES_HEADERS,
                "content": {t: binary for t in result_types},
            }
        }
        | {
            code: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
            for code, text in (_VIEW_ERRORS if endpoint == "view" else _ERRORS).items()
        },
    }
