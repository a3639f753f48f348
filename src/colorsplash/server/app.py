"""HTTP API and web page for colour splash (``colorsplash serve``; needs the ``server`` extra).

:func:`create_app` builds a FastAPI app that loads the model once and shares it between requests. Decoding,
inference, compositing and encoding run in worker threads (at most ``workers`` at a time), admitted by a memory
budget estimated from each photo's header (:mod:`colorsplash.server.limits`), so the event loop keeps serving and
large photos cannot pile up. A job whose client has disconnected by the time it holds its budget and a worker
is dropped before its photo is decoded, and one whose client disconnects while it is worked on stops at its next
step (one log line; a burst of reloaded pages does not delay the others).
Requests from unknown ``Host`` names or other web origins are refused first (:mod:`colorsplash.server.guard`);
pages of origins allowed with ``allowed_origins`` get CORS answers (preflight, ``Access-Control-Allow-Origin``,
the result headers exposed). Options are parsed by
:func:`colorsplash.runtime.options.options_from_mapping`, the one definition the CLI uses too, so query and form
field names equal the CLI flag names (``feather``, ``on-empty`` or ``on_empty``, ...).

Every error is a JSON body ``{"error": "..."}`` without a stack trace: 400 unknown ``Host``, 403 cross-origin,
408 a body not all arrived within ``upload_timeout_s`` (the connection closed), 413 request or photo too large, 415
not an image, 422 bad option (with ``"option": NAME``) or no subject with ``on-empty=skip``, 503 busy (the memory
budget and its queue full, a waiting photo's place given to another address's, ``max_requests`` in flight, or
``max_per_client`` from one address; with ``Retry-After``), 404/405 unknown route or method, 500 anything else.
Results carry ``X-Colorsplash-Subject: found|none`` and ``X-Colorsplash-Subject-Score``, and their notes in
``X-Colorsplash-Notes`` (:mod:`colorsplash.server.notes`). ``/api/view`` answers a JPEG
of the photo that any browser can show (the page's stand-in for a HEIC or TIFF it cannot), with no model run but the
same upload checks, worker slots and memory budget (with its own estimate) as the others.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from colorsplash import __version__
from colorsplash.runtime.api import load_model
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.options import OPTION_FIELDS
from colorsplash.runtime.pictures.picture_open import read_formats_here
from colorsplash.runtime.wording import SUBJECT_WORDS, model_description, printable, subject_word
from colorsplash.server import errors
from colorsplash.server.fair import client_address
from colorsplash.server.guard import (
    AllowedOriginCORS,
    HostOriginMiddleware,
    SecurityHeadersMiddleware,
    allowed_host_names,
    cors_options,
)
from colorsplash.server.limits import (
    BYTES_PER_PIXEL,
    VIEW_BYTES_PER_PIXEL,
    BodyLimitMiddleware,
    MemoryBudget,
    RequestLimitMiddleware,
    estimate_bytes,
    photo_pixels,
)
from colorsplash.server.openapi import OUTPUT_FORMATS, openapi_extra
from colorsplash.server.settings import ServerSettings
from colorsplash.server.upload import Upload, read_upload
from colorsplash.server.work import (
    Departure,
    Result,
    check_pixel_count,
    make_mask,
    make_splash,
    make_view,
    parse_fields,
    result_headers,
)
from colorsplash.server.workers import ModelShare, Worker

__all__ = [
    "SUBJECT_WORDS",
    "ServerSettings",
    "create_app",
    "make_mask",
    "make_splash",
    "make_view",
    "model_description",
    "model_info",
]

log = logging.getLogger(__name__)
WEB_DIR = "web"
WATCH_PAUSE_S = 0.05


def model_info(model: Model) -> dict[str, Any]:
    """What a client needs to know of the model for ``/api/health``: its name, a description in plain words
    (:func:`model_description`), subject (the word the server's own messages use, :func:`subject_word`: "subject"
    for a model whose training named none), architecture, input size, file name (not the full path) and the
    subject-score threshold of ``X-Colorsplash-Subject``. Not its training record (data-set paths, the training
    configuration): a server reachable from a network shows no more than that. A file name that is not UTF-8 is
    shown as the lines show it (``m\\udce9.onnx``): JSON cannot hold it, and ``/api/health`` answered 422."""
    c, file = model.config, printable(model.path.name)
    return {
        "name": c.name,
        "description": model_description(c, file),
        "subject": subject_word(c),
        "arch": c.arch,
        "input_size": c.input_size,
        "file": file,
        "subject_threshold": model.presence_threshold,
    }


def create_app(
    model_path: str | Path | None = None,
    settings: ServerSettings | None = None,
    precision: str = "auto",
    device: str = "auto",
    **changes: Any,
) -> FastAPI:
    """The web page (``/``), the API (``/api/...``) and its docs (``/docs``, ``/openapi.json``).

    Args:
        model_path: ONNX model file (``None``: ``$COLORSPLASH_MODEL`` or the bundled model).
        settings: limits and allow-lists; ``**changes`` replace single fields (``max_pixels=...``).

    The model is loaded here, once, and shared by all requests; ``precision`` and ``device`` choose its variant
    and where it runs (see :func:`colorsplash.runtime.model.onnx_model.load_model`). ``app.state.budget`` is the
    :class:`~colorsplash.server.limits.MemoryBudget` of the work in flight (``state.used``, ``state.waiting``:
    bytes; both 0 when the server is idle).

    Raises:
        ModelLoadError: the model file is missing or not a colorsplash ONNX file.
        ValueError: inconsistent settings (e.g. a memory budget too small for the pixel limit).
    """
    settings = dataclasses.replace(settings or ServerSettings(), **changes)
    model = load_model(model_path, precision=precision, device=device)
    app = FastAPI(
        title="colorsplash",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="Colour splash: keep the subject in colour, turn the background grey. "
        'Options have the names of the colorsplash splash CLI flags; errors are JSON {"error": "..."}.',
    )
    app.state.model, app.state.settings = model, settings
    # The last added runs first: Host/Origin refusals, then CORS for allowed origins, then the count of requests
    # in flight, then the body limit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes, timeout_s=settings.upload_timeout_s)
    app.add_middleware(
        RequestLimitMiddleware, max_requests=settings.max_requests, max_per_client=settings.per_client_limit
    )
    cors = cors_options(settings.allowed_origins)
    if cors is not None:
        app.add_middleware(AllowedOriginCORS, **cors)
    hosts = allowed_host_names(settings.host, settings.allowed_hosts)
    app.add_middleware(HostOriginMiddleware, allowed_hosts=hosts, allowed_origins=settings.allowed_origins)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the guard's refusals carry the headers too
    app.state.allowed_hosts = hosts
    errors.install(app, settings)
    _add_api_routes(app, model, settings)
    _add_page_routes(app)
    return app


@dataclass
class _Jobs:
    """The work in flight: a thread pool bounded by count and a memory budget bounded by bytes."""

    worker: Worker
    budget: MemoryBudget
    max_pixels: int
    models: ModelShare

    async def run(self, request: Request, upload: Upload, func: Any, *args: Any) -> Result:
        """``func(model, *args, gone)`` in a worker thread, ``model`` from :attr:`models` (see :class:`ModelShare`),
        ``gone`` a :class:`Departure` set as soon as the client disconnects while the thread runs; admitted with a
        splash's memory estimate (``BYTES_PER_PIXEL``).

        Raises:
            ClientGoneError: the client disconnected before the job had its budget and a worker (nothing was run),
                or while it ran (``func`` stops at its next step, a model run in progress at once).
        """
        return await self._admit(request, upload, BYTES_PER_PIXEL, self._with_model, func, *args)

    async def run_without_model(self, request: Request, upload: Upload, func: Any, *args: Any) -> Result:
        """:meth:`run` for work that needs no model (a viewable copy: ``func(*args, gone)``): the same upload
        checks, one of the same worker slots (decoding 48 MP takes seconds of CPU), the memory budget with its own
        estimate (``VIEW_BYTES_PER_PIXEL``); counted by :attr:`models` as a request beside any model run."""
        return await self._admit(request, upload, VIEW_BYTES_PER_PIXEL, self._beside_model, func, *args)

    async def _admit(self, request: Request, upload: Upload, per_pixel: int, call: Any, *args: Any) -> Result:
        """``call(*args, gone)`` in a worker thread once the photo's estimate (``per_pixel`` bytes a pixel) fits
        the memory budget and a worker is free."""

        async def still_there() -> None:
            if await request.is_disconnected():
                raise errors.ClientGoneError(upload.name)

        # Asked first as the job starts waiting: a server that stopped reading the connection after a large upload
        # (uvicorn does) reads it again, so that a client hanging up while the photo waits is known at its turn.
        await still_there()
        size = await self.worker.run_light(photo_pixels, upload.data)
        check_pixel_count(size, self.max_pixels)  # refused at once, not after waiting for the budget
        gone = Departure(upload.name)

        async def watch() -> None:  # the body has arrived: the next message is the disconnect (uvicorn reads again)
            while (await request.receive())["type"] != "http.disconnect":
                await anyio.sleep(WATCH_PAUSE_S)  # not expected; no busy loop if it comes
            gone.leave()

        client = client_address(request.scope)  # waiting jobs have their turns by client, at both steps
        async with self.budget.reserve(estimate_bytes(size and size.counted, len(upload.data), per_pixel), client):
            job = self.worker.run(call, *args, gone, client=client, before=still_there, beside=watch)
            result: Result = await job
            return result

    def _with_model(self, func: Any, *args: Any) -> Result:
        with self.models.take() as model:
            result: Result = func(model, *args)
            return result

    def _beside_model(self, func: Any, *args: Any) -> Result:
        with self.models.beside():
            result: Result = func(*args)
            return result


def _add_api_routes(app: FastAPI, model: Model, settings: ServerSettings) -> None:
    jobs = _Jobs(
        Worker(settings.workers),
        MemoryBudget(settings.memory_budget, settings.max_wait_s),
        settings.max_pixels,
        ModelShare(model, side_by_side=settings.workers > 1),
    )
    app.state.budget = jobs.budget  # its state: the bytes held by the work in flight and by requests waiting
    app.state.worker = jobs.worker  # ``worker.slots``: the jobs working and waiting for a worker thread

    @app.post(
        "/api/splash",
        response_class=Response,
        summary="Colour splash of a photo",
        openapi_extra=openapi_extra("splash", "the splash, full resolution", list(OUTPUT_FORMATS.values())),
    )
    async def post_splash(request: Request) -> Response:
        upload = await read_upload(request)
        options, asked = parse_fields(upload.fields, "splash")
        result = await jobs.run(request, upload, make_splash, upload, options, asked, settings.max_pixels)
        return Response(result.body, media_type=result.media_type, headers=result_headers(result))

    @app.post(
        "/api/mask",
        response_class=Response,
        summary="Subject alpha of a photo (8-bit greyscale PNG)",
        openapi_extra=openapi_extra("mask", "alpha, 255 = colour kept, full resolution", ["image/png"]),
    )
    async def post_mask(request: Request) -> Response:
        upload = await read_upload(request)
        options, _ = parse_fields(upload.fields, "mask")
        result = await jobs.run(request, upload, make_mask, upload, options, settings.max_pixels)
        return Response(result.body, media_type=result.media_type, headers=result_headers(result))

    @app.post(
        "/api/view",
        response_class=Response,
        summary="A JPEG of a photo that any browser can show (upright, full size; no model run)",
        openapi_extra=openapi_extra(
            "view", "the photo as JPEG, upright, full size, its ICC profile kept", ["image/jpeg"]
        ),
    )
    async def post_view(request: Request) -> Response:
        upload = await read_upload(request)
        parse_fields(upload.fields, "view")
        result = await jobs.run_without_model(request, upload, make_view, upload, settings.max_pixels)
        return Response(result.body, media_type=result.media_type, headers=result_headers(result))

    _add_health_route(app, model_info(model), settings)


def _add_health_route(app: FastAPI, info: dict[str, Any], settings: ServerSettings) -> None:
    @app.get(
        "/api/health",
        summary="Server status, the model's name and metadata, limits, option defaults, the picture formats read",
    )
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "model": info,
            "limits": {  # every one the start-up line states, so an operator asking here sees the same
                "max_upload_bytes": settings.max_upload_bytes,
                "max_pixels": settings.max_pixels,
                "max_memory_bytes": settings.memory_budget,
                "workers": settings.workers,
                "max_requests": settings.max_requests,
                "max_per_client": settings.per_client_limit,
                "upload_timeout_s": settings.upload_timeout_s,
                "header_timeout_s": settings.header_timeout_s,
            },
            "options": {f.name: f.default for f in OPTION_FIELDS},
            "reads": read_formats_here(),  # the picture formats this server reads, in the runtime's words
        }

    # HEAD as GET without the body, for uptime checkers and load balancers (was 405); not in the API's description
    @app.head("/api/health", include_in_schema=False)
    async def health_head() -> Response:
        length = len(JSONResponse(await health()).body)
        return Response(b"", 200, {"Content-Length": str(length)}, "application/json")


# The page loads nothing from elsewhere; the policy makes the browser enforce that (guard.SECURITY_HEADERS adds
# nosniff, no referrer and no framing to every answer).
DOCS_EXAMPLE_BASE = "http://127.0.0.1:8000/"  # in docs.html's examples; /docs puts the address it was reached at
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "Cache-Control": "no-cache",
}


# The page's files by their own types, not this computer's MIME table: browsers run a module script (and, with
# nosniff, any script or style sheet) only when it is served as such, and Windows' registry may map .js to
# text/plain.
WEB_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class PageFiles(StaticFiles):
    """The page's static files (``/static``), each with its type from :data:`WEB_TYPES` and ``Cache-Control:
    no-cache`` (revalidated by ``ETag`` on each load, as the page itself), so that a browser never runs modules of
    an older version beside those of a newer one after an upgrade."""

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = WEB_TYPES.get(PurePath(full_path).suffix.lower())
        if media_type is not None and response.status_code != 304:
            response.headers["content-type"] = media_type
        response.headers["cache-control"] = "no-cache"
        return response


def _add_page_routes(app: FastAPI) -> None:
    web = resources.files("colorsplash.server") / WEB_DIR
    app.mount("/static", PageFiles(packages=[("colorsplash.server", WEB_DIR)]), name="static")

    # HEAD as GET without the body, for uptime checkers (FileResponse sends only the headers then).
    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(web / "index.html"), headers=PAGE_HEADERS)

    @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    async def docs(request: Request) -> Response:
        # The curl examples name this server as it was reached (--port, --host), not the default address
        text = (web / "docs.html").read_text("utf-8").replace(DOCS_EXAMPLE_BASE, html.escape(str(request.base_url)))
        body = text.encode("utf-8")
        headers = {**PAGE_HEADERS, "Content-Length": str(len(body))}
        return Response(b"" if request.method == "HEAD" else body, 200, headers, "text/html; charset=utf-8")
