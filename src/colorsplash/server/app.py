"""HTTP API and web page for colour splash (``colorsplash serve``; needs the ``server`` extra).

:func:`create_app` builds a FastAPI app that loads the model once and shares it between requests. Decoding,
inference, compositing and encoding run in worker threads (at most ``workers`` at a time, which bounds memory),
so the event loop keeps serving while photos are processed. Options are parsed by
:func:`colorsplash.runtime.options.options_from_mapping`, the one definition the CLI uses too, so query and form field
names equal the CLI flag names (``feather``, ``on-empty`` or ``on_empty``, ...).

Every error is a JSON body ``{"error": "..."}`` without a stack trace: 413 request or photo too large, 415 not
an image, 422 bad option (with ``"option": NAME``), 404/405 unknown route or method, 500 anything else.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from colorsplash import __version__
from colorsplash.runtime.alpha import alpha_to_uint8
from colorsplash.runtime.api import Subject, alpha_and_subject, load_model
from colorsplash.runtime.effects import apply_effect
from colorsplash.runtime.onnx_model import Model
from colorsplash.runtime.options import OPTION_FIELDS, OptionError, SplashOptions, options_from_mapping
from colorsplash.runtime.photo_io import ImageReadError, Photo, decode_image_bytes, encode_image, output_format

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
OUTPUT_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Request fields that are not splash options; every other field must name a SplashOptions field.
FORMAT_FIELD = "format"
WEB_DIR = "web"
T = TypeVar("T")


@dataclass(frozen=True)
class ServerSettings:
    """Limits of one server. ``workers`` bounds how many photos are processed at once (CPU and memory)."""

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = max(1, min(4, os.cpu_count() or 1))


class RequestTooLargeError(Exception):
    """The request body is larger than the server's upload limit."""


class PixelLimitError(ValueError):
    """The photo has more pixels than the server's pixel limit."""


# ---------------------------------------------------------------------------------------------- request limits

class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes``: by ``Content-Length`` up front, and by counting streamed chunks
    (chunked uploads announce no length), so an oversized upload is never read into memory whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLargeError()
            return message

        await self.app(scope, limited_receive, send)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _too_large(max_bytes: int) -> JSONResponse:
    return _error(413, f"request body is larger than the upload limit of {max_bytes / 2**20:g} MB; send a "
                  "smaller photo or start the server with a larger --max-upload-mb")


def _with_status(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(_: Request, err: Exception) -> Response:
        return _error(status, str(err))
    return handler


def _install_error_handlers(app: FastAPI, settings: ServerSettings) -> None:
    """Map every exception to ``{"error": ...}`` with the right status; tracebacks go to the log only."""

    async def too_large(_: Request, __: Exception) -> Response:
        return _too_large(settings.max_upload_bytes)

    async def bad_option(_: Request, err: Exception) -> Response:
        return _error(422, str(err), option=getattr(err, "name", None))

    async def http_error(_: Request, err: Exception) -> Response:
        return _error(getattr(err, "status_code", 500), str(getattr(err, "detail", "")) or "error")

    async def internal(_: Request, err: Exception) -> Response:
        log.error("error while handling a request", exc_info=err)
        return _error(500, f"internal error ({type(err).__name__}); see the server log")

    app.add_exception_handler(RequestTooLargeError, too_large)
    app.add_exception_handler(PixelLimitError, _with_status(413))
    app.add_exception_handler(ImageReadError, _with_status(415))
    app.add_exception_handler(OptionError, bad_option)
    app.add_exception_handler(RequestValidationError, _with_status(422))
    app.add_exception_handler(ValueError, _with_status(422))  # e.g. a --point outside the photo
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal)


# -------------------------------------------------------------------------------------------- reading requests

@dataclass(frozen=True)
class Upload:
    """A photo's bytes as sent, and the request's other fields (query string, then form fields)."""

    data: bytes
    fields: dict[str, str]


async def read_upload(request: Request) -> Upload:
    """The photo from a multipart field (``file``, or the only file) or the raw body, plus the option fields.

    Raises:
        ImageReadError: no photo in the request (415).
    """
    fields = dict(request.query_params)
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=64) as form:
            files = [v for v in form.values() if isinstance(v, UploadFile)]
            fields.update({k: v for k, v in form.multi_items() if isinstance(v, str)})
            data = await files[0].read() if files else b""
    else:
        data = await request.body()
    if not data:
        raise ImageReadError("the request holds no photo: send it as the body or as the multipart field 'file'")
    return Upload(data, fields)


def parse_fields(fields: dict[str, str]) -> tuple[SplashOptions, str | None]:
    """Split request fields into splash options (CLI names) and the output format (``None``: automatic).

    Raises:
        OptionError: an unknown option, a bad value, or a format that cannot hold the result (422).
    """
    fields = dict(fields)
    fmt = fields.pop(FORMAT_FIELD, "").strip().lower() or None
    options = options_from_mapping(fields)
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt is not None and fmt not in OUTPUT_FORMATS:
        raise OptionError(FORMAT_FIELD, f"choose one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
    if fmt == "jpeg" and options.effect == "transparent":
        raise OptionError(FORMAT_FIELD, "JPEG has no transparency; use png or webp with effect transparent")
    return options, fmt


# ------------------------------------------------------------------------------ the work (runs in worker threads)

def check_pixels(data: bytes, max_pixels: int) -> None:
    """Refuse a photo over the pixel limit from its header alone (nothing decoded yet).

    Raises:
        PixelLimitError: more than ``max_pixels`` pixels (413). Unreadable data passes: decoding reports it.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return
    if width * height > max_pixels:
        raise PixelLimitError(f"the photo is {width}x{height}, more than this server's pixel limit "
                              f"{max_pixels:,}; send a smaller photo or start the server with a larger --max-pixels")


def decode_upload(data: bytes, max_pixels: int) -> Photo:
    """Decode by content (not by the declared type), upright, RGB uint8 ``HxWx3`` in ``Photo.rgb``.

    Raises:
        PixelLimitError: more than ``max_pixels`` pixels (413).
        ImageReadError: not a picture (415).
    """
    check_pixels(data, max_pixels)
    try:
        return decode_image_bytes(data, max_pixels)
    except OSError as err:  # bytes in memory: an OSError here can only mean bad content (e.g. a cut-off header)
        raise ImageReadError(f"upload: unreadable or truncated picture ({err}); re-export it") from err


def default_format(photo: Photo, options: SplashOptions) -> str:
    """The upload's own format when the API writes it (PNG when it cannot hold a cut-out), else PNG."""
    fmt, _ = output_format(photo.format, "", alpha=options.effect == "transparent")
    return fmt.lower() if fmt.lower() in OUTPUT_FORMATS else "png"


def make_splash(model: Model, data: bytes, options: SplashOptions, fmt: str | None,
                max_pixels: int) -> tuple[bytes, str, Subject]:
    """Upload bytes -> (encoded splash, format key of OUTPUT_FORMATS, subject found?). Blocking: call from a
    worker thread."""
    photo = decode_upload(data, max_pixels)
    alpha, subject = alpha_and_subject(photo.rgb, model=model, options=options)
    out = apply_effect(photo.rgb, alpha, options.effect)
    fmt = fmt or default_format(photo, options)
    return encode_image(out, fmt.upper(), options.quality, exif=photo.exif, icc=photo.icc), fmt, subject


def make_mask(model: Model, data: bytes, options: SplashOptions, max_pixels: int) -> tuple[bytes, Subject]:
    """Upload bytes -> (8-bit greyscale PNG of the alpha, 255 = colour kept; subject found?). Blocking: call from
    a worker thread."""
    photo = decode_upload(data, max_pixels)
    alpha, subject = alpha_and_subject(photo.rgb, model=model, options=options)
    return encode_image(alpha_to_uint8(alpha), "PNG"), subject


def subject_headers(subject: Subject) -> dict[str, str]:
    """``X-Colorsplash-Subject: found|none`` and ``X-Colorsplash-Subject-Score`` (3 decimals)."""
    return {"X-Colorsplash-Subject": "found" if subject.found else "none",
            "X-Colorsplash-Subject-Score": f"{subject.score:.3f}"}


class Worker:
    """Runs blocking work in threads, at most ``capacity`` at once (the limiter is made on first use, inside the
    event loop that serves the requests)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.capacity)
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)


def model_info(model: Model) -> dict[str, Any]:
    """The model's name and metadata for ``/api/health`` (its file name, not the full path)."""
    c = model.config
    return {"name": c.name, "subject": c.subject, "arch": c.arch, "input_size": c.input_size,
            "file": model.path.name, "training": c.training}


# --------------------------------------------------------------------------------------------------- OpenAPI

_ERROR_SCHEMA = {"type": "object", "required": ["error"],
                 "properties": {"error": {"type": "string"}, "option": {"type": "string"}}}
_ERRORS = {"413": "request body over the upload limit, or photo over the pixel limit",
           "415": "not a picture (or no photo in the request)", "422": "bad option; `option` names it"}


def _option_schema(f: dataclasses.Field[Any]) -> dict[str, Any]:
    kind = str(f.type)
    typ = ("boolean" if "bool" in kind else "string" if "tuple" in kind or "str" in kind
           else "number" if "float" in kind else "integer")
    return {"type": typ} if f.default is None else {"type": typ, "default": f.default}


def option_parameters() -> list[dict[str, Any]]:
    """OpenAPI query parameters: one per splash option (CLI spelling), plus ``format``."""
    params = [{"name": f.name.replace("_", "-"), "in": "query", "required": False, "schema": _option_schema(f),
               "description": f.metadata["help"] + (f" ({f.metadata['metavar']})" if f.metadata["metavar"] else "")}
              for f in OPTION_FIELDS]
    params.append({"name": FORMAT_FIELD, "in": "query", "required": False,
                   "schema": {"type": "string", "enum": list(OUTPUT_FORMATS)},
                   "description": "output format (default: PNG for transparent, else the upload's format)"})
    return params


def _openapi_extra(result: str, result_types: list[str]) -> dict[str, Any]:
    params = option_parameters()
    form_props = {p["name"]: p["schema"] | {"description": p["description"]} for p in params}
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "parameters": params,
        "requestBody": {"required": True, "description": "the photo (JPEG, PNG, WebP, ...) as a multipart field "
                        "`file` (options may be form fields too) or as the raw body",
                        "content": {"multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}} | form_props}},
                            "image/*": binary, "application/octet-stream": binary}},
        "responses": {"200": {"description": result, "content": {t: binary for t in result_types}}}
        | {code: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
           for code, text in _ERRORS.items()},
    }


# -------------------------------------------------------------------------------------------------------- app

def create_app(model_path: str | Path | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               max_pixels: int = DEFAULT_MAX_PIXELS, workers: int | None = None) -> FastAPI:
    """The web page (``/``), the API (``/api/...``) and its docs (``/docs``, ``/openapi.json``).

    The model is loaded here, once, and shared by all requests.

    Raises:
        ModelLoadError: the model file is missing or not a colorsplash ONNX file.
    """
    settings = ServerSettings(max_upload_bytes, max_pixels, workers or ServerSettings.workers)
    model = load_model(model_path)
    app = FastAPI(title="colorsplash", version=__version__, docs_url=None, redoc_url=None,
                  description="Colour splash: keep the subject in colour, turn the background grey. "
                  "Options have the names of the colorsplash splash CLI flags; errors are JSON {\"error\": \"...\"}.")
    app.state.model, app.state.settings = model, settings
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    _install_error_handlers(app, settings)
    _add_api_routes(app, model, settings)
    _add_page_routes(app)
    return app


def _add_api_routes(app: FastAPI, model: Model, settings: ServerSettings) -> None:
    worker = Worker(settings.workers)
    info = model_info(model)

    @app.post("/api/splash", response_class=Response, summary="Colour splash of a photo",
              openapi_extra=_openapi_extra("the splash, full resolution", list(OUTPUT_FORMATS.values())))
    async def post_splash(request: Request) -> Response:
        upload = await read_upload(request)
        options, asked = parse_fields(upload.fields)
        body, fmt, subject = await worker.run(make_splash, model, upload.data, options, asked, settings.max_pixels)
        return Response(body, media_type=OUTPUT_FORMATS[fmt], headers={
            "Cache-Control": "no-store", "Content-Disposition": f'inline; filename="splash.{fmt}"',
            **subject_headers(subject)})

    @app.post("/api/mask", response_class=Response, summary="Subject alpha of a photo (8-bit greyscale PNG)",
              openapi_extra=_openapi_extra("alpha, 255 = colour kept, full resolution", ["image/png"]))
    async def post_mask(request: Request) -> Response:
        upload = await read_upload(request)
        options, _ = parse_fields(upload.fields)
        body, subject = await worker.run(make_mask, model, upload.data, options, settings.max_pixels)
        return Response(body, media_type="image/png", headers={"Cache-Control": "no-store",
                                                                **subject_headers(subject)})

    @app.get("/api/health", summary="Server status, the model's name and metadata, limits, option defaults")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "model": info,
                "limits": {"max_upload_bytes": settings.max_upload_bytes, "max_pixels": settings.max_pixels},
                "options": {f.name: f.default for f in OPTION_FIELDS}}


# The page loads nothing from elsewhere; the policy makes the browser enforce that.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache"}


def _add_page_routes(app: FastAPI) -> None:
    web = resources.files("colorsplash.server") / WEB_DIR
    app.mount("/static", StaticFiles(packages=[("colorsplash.server", WEB_DIR)]), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(web / "index.html"), headers=PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        return FileResponse(str(web / "docs.html"), headers=PAGE_HEADERS)
