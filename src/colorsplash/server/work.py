"""Reading a request and making its result (a splash, a mask, a viewable copy): the blocking part runs in worker
threads.

The no-subject policy is :func:`colorsplash.runtime.no_subject.apply_on_empty` (the CLI's too); what it decided is
reported in the ``X-Colorsplash-Subject`` headers so a client can tell "no subject" from a grey photo; what the
user should know of a result (:func:`colorsplash.runtime.result_notes.result_notes`, the CLI's notes) in
``X-Colorsplash-Notes`` (:mod:`colorsplash.server.notes`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeVar
from urllib.parse import quote

import numpy as np

from colorsplash.runtime.edges.alpha import RefineSettings, alpha_to_uint8, finish_alpha
from colorsplash.runtime.effects import composite
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.model.stopping import ModelRunStoppedError, RunStop
from colorsplash.runtime.no_subject import apply_on_empty, score_text
from colorsplash.runtime.options import (
    MASK_OPTION_NAMES,
    OPTION_NAMES,
    OptionError,
    SplashOptions,
    options_from_mapping,
)
from colorsplash.runtime.pictures.photo_io import ImageReadError, Photo, decode_image_bytes, probe_picture
from colorsplash.runtime.pictures.photo_write import (
    ALPHA_FORMATS,
    FORMAT_EXTENSIONS,
    MAX_SIDE,
    encode_image,
    output_format,
    side_problem,
)
from colorsplash.runtime.pictures.picture_open import unreadable
from colorsplash.runtime.pipeline import Planned, decode_and_plan
from colorsplash.runtime.result_notes import result_notes
from colorsplash.runtime.wording import Wording, option_use
from colorsplash.server.errors import SCORE_HEADER, SCORE_PLACES, ClientGoneError, PixelLimitError
from colorsplash.server.limits import PhotoSize, photo_pixels
from colorsplash.server.notes import NOTES_HEADER, notes_header
from colorsplash.server.openapi import FORMAT_FIELD, OUTPUT_FORMATS, SPLASH_ONLY_OPTIONS
from colorsplash.server.upload import UPLOAD_NAME, Upload

T = TypeVar("T")
VIEW_QUALITY = SplashOptions().quality  # a viewable copy's JPEG quality: a splash's default
STOPPED_IN_MODEL = "decoding, in its model run"  # ClientGoneError.done of a photo whose model run was stopped


class Departure:
    """Whether a job's client has gone, set from the event loop (:meth:`leave`) and read by the worker thread
    between a photo's steps (:meth:`check`), so that a photo nobody will receive is not worked on to the end; a
    model run in progress is stopped at once (:meth:`model_runs`)."""

    def __init__(self, upload_name: str) -> None:
        self.upload_name = upload_name
        self._gone = threading.Event()
        self._model = RunStop()

    def leave(self) -> None:
        self._gone.set()
        self._model.stop()  # ONNX Runtime ends a run in progress within milliseconds

    def check(self, done: str) -> None:
        """Raises ClientGoneError (naming ``done``, the last step finished) when the client has gone."""
        if self._gone.is_set():
            raise ClientGoneError(self.upload_name, done)

    @contextmanager
    def model_runs(self) -> Iterator[None]:
        """The block's model runs (in this thread) stop as soon as the client leaves, before or while they run.

        Raises:
            ClientGoneError: a model run was stopped (after decoding: the overlapped decode is waited for).
        """
        try:
            with self._model.applied():
                yield
        except ModelRunStoppedError as err:
            raise ClientGoneError(self.upload_name, STOPPED_IN_MODEL) from err


def _check(gone: Departure | None, done: str) -> None:
    if gone is not None:
        gone.check(done)


def _found_alpha(
    model: Model, upload: Upload, options: SplashOptions, max_pixels: int, gone: Departure | None
) -> tuple[Photo, np.ndarray, bool, float]:
    """The first steps of a splash and a mask: (the decoded photo, its alpha float32 ``HxW`` in [0, 1], subject
    found, subject score) by :func:`plan_upload` and :func:`subject_alpha`, the model run stopped when ``gone`` is
    set (:meth:`Departure.model_runs`) and ``gone`` checked after each step.

    Raises:
        ClientGoneError: the client left during the model run or before one of the steps after it.
    """
    with gone.model_runs() if gone is not None else nullcontext():
        planned = plan_upload(model, upload, options, max_pixels)
    _check(gone, "decoding and the model")
    alpha, found, score = subject_alpha(model, planned, options)
    _check(gone, "finding the subject")
    return planned.photo, alpha, found, score


@dataclass(frozen=True)
class Result:
    """An encoded result, its format key of ``OUTPUT_FORMATS``, whether the model found a subject (``None``
    for a viewable copy: no model ran) and its notes (each naming the upload)."""

    body: bytes
    fmt: str
    subject_found: bool | None
    subject_score: float | None
    filename: str
    notes: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        return OUTPUT_FORMATS[self.fmt]


def parse_fields(fields: dict[str, str], endpoint: str = "splash") -> tuple[SplashOptions, str | None]:
    """Split request fields into splash options (CLI names) and the output format (``None``: automatic).
    ``/api/mask`` (``endpoint="mask"``) takes no ``effect``, ``quality`` or ``format``, as the ``mask`` verb;
    ``/api/view`` (``endpoint="view"``) takes no field at all.

    Raises:
        OptionError: an unknown option, a bad value, or a format that cannot hold the result (422).
    """
    fields = dict(fields)
    if endpoint == "mask":
        for raw in fields:
            name = raw.replace("-", "_")
            if name in (*SPLASH_ONLY_OPTIONS, FORMAT_FIELD):
                raise OptionError(
                    name,
                    "does not apply to /api/mask, which always answers an 8-bit greyscale "
                    "PNG of the alpha; use /api/splash for pictures",
                )
    if endpoint == "view" and fields:
        raise OptionError(
            next(iter(fields)).replace("-", "_"),
            "does not apply to /api/view, which takes only the photo and answers a JPEG of it; "
            "use /api/splash for options",
        )
    fmt = fields.pop(FORMAT_FIELD, "").strip().lower() or None
    # An unknown field is told of the fields this endpoint takes: format beside /api/splash's options, /api/mask's
    # without effect and quality (refused above).
    known = [*OPTION_NAMES, FORMAT_FIELD] if endpoint == "splash" else list(MASK_OPTION_NAMES)
    options = options_from_mapping(fields, known=known)
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise OptionError(FORMAT_FIELD, f"choose one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
    if fmt is not None and fmt.upper() not in ALPHA_FORMATS and options.effect == "transparent":
        raise OptionError(FORMAT_FIELD, f"{fmt.upper()} has no transparency; use png or webp with effect transparent")
    return options, fmt


def check_pixels(data: bytes, max_pixels: int) -> None:
    """Refuse a photo over the pixel limit from its header alone (nothing decoded yet).

    Raises:
        PixelLimitError: more than ``max_pixels`` pixels (413). Unreadable data passes: decoding reports it.
    """
    check_pixel_count(photo_pixels(data), max_pixels)


def check_pixel_count(size: PhotoSize | None, max_pixels: int) -> None:
    """:func:`check_pixels` for a size already read from the header (``None``: unreadable, passes). Pictures
    with transparency or 16-bit colour count as more pixels, as the decoder counts them."""
    if size is None or size.counted <= max_pixels:
        return
    counts = "" if size.counted == size.pixels else f" (with its transparency or depth it counts as {size.counted:,})"
    raise PixelLimitError(
        f"the photo has {size.pixels:,} pixels{counts}, more than this server's pixel limit "
        f"{max_pixels:,}; send a smaller photo or start the server with a larger --max-pixels"
    )


def decode_upload(upload: Upload, max_pixels: int) -> Photo:
    """Decode by content (not by the declared type), upright, RGB uint8 ``HxWx3`` in ``Photo.rgb``.

    Raises:
        PixelLimitError: more than ``max_pixels`` pixels (413).
        ImageReadError: not a picture (415).
    """
    return _decoded(upload, max_pixels, lambda: decode_image_bytes(upload.data, max_pixels, upload.name))


def plan_upload(model: Model, upload: Upload, options: SplashOptions, max_pixels: int) -> Planned:
    """:func:`decode_upload` and the model's alpha plan, as ``colorsplash mask`` makes them
    (:func:`~colorsplash.runtime.pipeline.decode_and_plan`: a large JPEG's working copy straight from its DCT,
    beside its full decode), so that the server's alpha is the CLI's and the Python API's, bit for bit.

    Raises:
        PixelLimitError (413), ImageReadError (415): as :func:`decode_upload`. OptionError: ``point`` outside the
            photo (422).
    """
    return _decoded(
        upload,
        max_pixels,
        lambda: decode_and_plan(upload.data, upload.name, model, options, RefineSettings(), max_pixels),
    )


def _decoded(upload: Upload, max_pixels: int, decode: Callable[[], T]) -> T:
    """``decode()`` of an upload within the pixel limit (checked from the header first); an OSError is bad
    content."""
    check_pixels(upload.data, max_pixels)
    try:
        return decode()
    except OSError as err:  # bytes in memory: an OSError here can only mean bad content (e.g. a cut-off header)
        raise unreadable(upload.name, err) from err


def default_format(photo: Photo, options: SplashOptions) -> str:
    """The upload's own format when the API writes it (PNG when it cannot hold a cut-out), else PNG."""
    fmt, _ = output_format(photo.format, "", alpha=options.effect == "transparent")
    return fmt.lower() if fmt.lower() in OUTPUT_FORMATS else "png"


def output_name(upload_name: str, fmt: str, tag: str = "splash") -> str:
    """``NAME.splash.EXT`` as the CLI names its outputs: the upload's extension when it names ``fmt``
    (``.JPG`` stays), else the format's own (``cat.png`` as JPEG -> ``cat.splash.jpg``)."""
    path = PurePosixPath(upload_name)
    exts = FORMAT_EXTENSIONS[fmt.upper()]
    ext = path.suffix if path.suffix.lower() in exts else exts[0]
    return f"{path.stem or UPLOAD_NAME}.{tag}{ext}"


def subject_alpha(model: Model, planned: Planned, options: SplashOptions) -> tuple[np.ndarray, bool, float]:
    """(alpha float32 ``HxW`` in [0, 1], subject found, subject score): the planned photo's full-size alpha with
    the one no-subject policy applied.

    Raises:
        NoSubjectError: no subject and ``on_empty == "skip"`` (422).
    """
    result = finish_alpha(planned.plan, planned.guide(), options)
    apply_on_empty(result, options.on_empty, planned.photo.name, words=Wording.of(model, "http"))
    # The model's presence score (one-output models: its highest probability).
    return result.alpha, not result.empty, result.score


def make_splash(
    model: Model,
    upload: Upload,
    options: SplashOptions,
    fmt: str | None,
    max_pixels: int,
    gone: Departure | None = None,
) -> Result:
    """Upload -> encoded splash. Blocking: call from a worker thread.

    Raises:
        ClientGoneError: ``gone`` was set (the client left) during the model run or before one of the steps after
            decoding (the effect's own second half, after its edge colour estimates, too).
    """
    _check_side(upload.data, fmt)
    photo, alpha, found, score = _found_alpha(model, upload, options, max_pixels, gone)
    # As the CLI and the Python API; checked for a departure between the edge colours and the effect too.
    out = composite(photo.rgb, alpha, options, photo.alpha, check=None if gone is None else gone.check)
    _check(gone, "the effect")
    fmt = fmt or default_format(photo, options)
    notes = result_notes(photo, "cut-out" if options.effect == "transparent" else "splash", fmt.upper(), "http")
    body = encode_image(
        out,
        fmt.upper(),
        options.quality,
        exif=photo.exif,
        icc=photo.icc,
        full_chroma=photo.full_chroma,
        xmp=photo.xmp,
        iptc=photo.iptc,
        lossless=photo.lossless,
    )
    return Result(body, fmt, found, score, output_name(upload.name, fmt), tuple(notes))


def _check_side(data: bytes, fmt: str | None) -> None:
    """Refuse a result too large for the ``format`` asked (a 20000x64 panorama as WebP) from the photo's header,
    before decoding it and running the model: :func:`~colorsplash.runtime.pictures.photo_write.side_problem`, the rule
    the encoder applies to the upload's own format. Unreadable data passes: decoding reports it.

    Raises:
        ValueError: a side longer than the format holds (422, in the encoder's words, naming format=png).
    """
    if fmt is None or fmt.upper() not in MAX_SIDE:
        return
    try:
        info = probe_picture(data, "the photo", None)
    except ImageReadError:  # not this check's to say: decoding says what is wrong with it, in its own words
        return
    instead = f"ask for {option_use(FORMAT_FIELD, 'png', 'http')}"  # the formats it writes: no TIFF
    if (problem := side_problem(info.width, info.height, fmt.upper(), instead)) is not None:
        raise ValueError(problem)


def make_mask(
    model: Model, upload: Upload, options: SplashOptions, max_pixels: int, gone: Departure | None = None
) -> Result:
    """Upload -> 8-bit greyscale PNG of the alpha (255 = colour kept). Blocking: call from a worker thread.

    Raises:
        ClientGoneError: ``gone`` was set (the client left) during the model run or before one of the steps after
            decoding.
    """
    photo, alpha, found, score = _found_alpha(model, upload, options, max_pixels, gone)
    body = encode_image(alpha_to_uint8(alpha), "PNG")
    notes = result_notes(photo, "mask", "PNG", "http")
    return Result(body, "png", found, score, output_name(upload.name, "png", "mask"), tuple(notes))


def make_view(upload: Upload, max_pixels: int, gone: Departure | None = None) -> Result:
    """Upload -> a JPEG any browser can show (``NAME.view.jpg``), for pictures the browser cannot (HEIC, TIFF):
    decoded as every upload (:func:`decode_upload`), upright, RGB (its own transparency flattened onto white), full
    size (the web page shows it at 100 % under the full-size splash), at the splash's default quality, with the
    photo's ICC profile as a result carries it (so colours look the same), and no other metadata. No model runs.
    Blocking: call from a worker thread.

    Raises:
        ClientGoneError: ``gone`` was set (the client left) while the photo was decoded.
    """
    photo = decode_upload(upload, max_pixels)
    _check(gone, "decoding")
    body = encode_image(photo.rgb, "JPEG", VIEW_QUALITY, icc=photo.icc, full_chroma=photo.full_chroma)
    notes = result_notes(photo, "view", "JPEG", "http")
    return Result(body, "jpeg", None, None, output_name(upload.name, "jpeg", "view"), tuple(notes))


def result_headers(result: Result) -> dict[str, str]:
    """No caching, the CLI's file name, the subject headers (not for a viewable copy: no model ran) and the
    notes (:func:`colorsplash.server.notes.notes_header`; none when there are none)."""
    ascii_name = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in result.filename)
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(result.filename)}",
    }
    if result.subject_found is not None:
        headers["X-Colorsplash-Subject"] = "found" if result.subject_found else "none"
        headers[SCORE_HEADER] = score_text(result.subject_score or 0.0, SCORE_PLACES)
    notes = notes_header(result.notes)
    if notes is not None:
        headers[NOTES_HEADER] = notes
    return headers
