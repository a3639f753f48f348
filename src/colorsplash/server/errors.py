"""Every exception of a request as ``{"error": ...}`` with the right status; tracebacks go to the log only, and
only for real faults (an aborted upload is one log line)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from python_multipart.exceptions import FormParserError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from colorsplash.runtime.no_subject import NoSubjectError, score_text
from colorsplash.runtime.options import OptionError
from colorsplash.runtime.pictures.photo_io import ImageReadError
from colorsplash.runtime.pictures.picture_open import PixelLimitError
from colorsplash.server import printable
from colorsplash.server.limits import (
    RequestTooLargeError,
    ServerBusyError,
    UploadTimeoutError,
    busy_response,
    too_large_response,
    upload_timeout_response,
)
from colorsplash.server.settings import ServerSettings
from colorsplash.server.upload import MAX_FIELDS, MAX_NAME, cut

__all__ = ["ClientGoneError", "PixelLimitError", "error", "install"]

log = logging.getLogger("colorsplash.server")
SCORE_HEADER = "X-Colorsplash-Subject-Score"  # the subject score, rounded down (no_subject.score_text)
SCORE_PLACES = 4


class ClientGoneError(Exception):
    """The client of a request closed its connection: while the photo waited for the memory budget or a worker
    (``done`` is ``None``; the job is dropped before its photo is decoded), or while it was worked on (``done``
    names the last step finished, e.g. ``"decoding"``; the steps after it are skipped). Nobody would receive the
    result."""

    def __init__(self, upload_name: str, done: str | None = None) -> None:
        super().__init__(f"the client of {upload_name} has gone")
        self.upload_name = upload_name
        self.done = done


def error(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _with_status(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(_: Request, err: Exception) -> Response:
        return error(status, str(err))

    return handler


async def _bad_option(_: Request, err: Exception) -> Response:
    assert isinstance(err, OptionError)
    return error(422, str(err.spelt("http")), option=err.name)  # named as a query or form field


async def _no_subject(_: Request, err: Exception) -> Response:
    assert isinstance(err, NoSubjectError)
    headers = {"X-Colorsplash-Subject": "none"}
    if err.score is not None:  # as a result's headers say it (work.result_headers)
        headers[SCORE_HEADER] = score_text(err.score, SCORE_PLACES)
    return error(422, str(err), headers=headers, subject="none")


async def _busy(_: Request, err: Exception) -> Response:
    assert isinstance(err, ServerBusyError)
    return busy_response(err)


async def _disconnected(request: Request, __: Exception) -> Response:
    # The client closed the connection mid-upload (a cancelled preview, a closed tab): nothing to answer
    # and nothing wrong on our side, so one INFO line (the web page cancels previews in normal use; ``serve -q``
    # shows none), no traceback.
    log.info(
        "%s %s: the client disconnected before its upload was complete; nothing was done",
        request.method,
        printable(request.url.path),
    )
    return Response(status_code=400)


async def _upload_timeout(request: Request, err: Exception) -> Response:
    # A client too slow (or stalled) to send its body within the limit: it held a request slot; one line, no
    # traceback, and the connection is closed with the answer, which frees the slot.
    assert isinstance(err, UploadTimeoutError)
    log.warning(
        "%s %s: the request body did not arrive in time (%s bytes in %g s); answered 408 and closed the connection",
        request.method,
        printable(request.url.path),
        f"{err.received:,}",
        err.timeout_s,
    )
    return upload_timeout_response(err)


async def _client_gone(request: Request, err: Exception) -> Response:
    # A page reloaded or a client that timed out while its photo waited or was worked on: its work is skipped (or
    # its rest), so a burst of them does not delay the clients still waiting. The answer reaches nobody; normal
    # use (the page cancels a preview when an option changes), so INFO.
    assert isinstance(err, ClientGoneError)
    if err.done is None:
        what = "before its photo (%s) had its turn; dropped it before the model run"
    else:  # the photo was being worked on: the rest of its work is skipped, so its worker takes the next photo
        what = f"while its photo (%s) was worked on; stopped it after {err.done}"
    log.info(
        "%s %s: the client disconnected " + what,
        request.method,
        printable(request.url.path),
        printable(err.upload_name),
    )
    return Response(status_code=400)


# What to do about a multipart body the form parser refused (its own words say only what was wrong).
MULTIPART_ADVICE = (
    "send one photo as the multipart/form-data field 'file' (options as other fields, at most "
    f"{MAX_FIELDS} in all), or the photo's bytes as the request body"
)


async def _http_error(request: Request, err: Exception) -> Response:
    status, detail = getattr(err, "status_code", 500), str(getattr(err, "detail", "")) or "error"
    if status == 400:  # a body the form parser refused (malformed multipart, too many parts): one line
        why = detail.rstrip(".")
        path = printable(request.url.path)
        log.warning("%s %s: refused the request body (%s); answered 400", request.method, path, printable(why))
        detail = f"the server cannot read this multipart body ({why}); {MULTIPART_ADVICE}"
    headers = getattr(err, "headers", None) or {}
    path = cut(printable(request.url.path), MAX_NAME)  # quoted back: cut, as an upload's name is
    if status == 404:
        detail = f"{path}: no such page or API route here; the API's routes are described at /docs"
    elif status == 405 and "Allow" in headers:
        detail = f"{request.method} {path}: this route answers {headers['Allow']} only; see /docs"
    return error(status, detail, headers=headers or None)  # a 405's Allow (RFC 9110 requires it)


async def _malformed_form(request: Request, err: Exception) -> Response:
    # Starlette before 1.7 lets python-multipart's parse errors (ValueErrors) out of request.form(), which
    # answered 422 with the parser's bare words and logged nothing; 1.7 and later raise a 400 for them.
    return await _http_error(request, StarletteHTTPException(400, f"Invalid multipart data: {err}"))


async def _internal(_: Request, err: Exception) -> Response:
    log.error("error while handling a request", exc_info=err)
    return error(500, f"internal error ({type(err).__name__}); see the server log")


def install(app: FastAPI, settings: ServerSettings) -> None:
    """Map every exception to ``{"error": ...}`` with the right status."""

    async def too_large(_: Request, __: Exception) -> Response:
        return too_large_response(settings.max_upload_bytes)

    app.add_exception_handler(RequestTooLargeError, too_large)
    app.add_exception_handler(UploadTimeoutError, _upload_timeout)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(ClientGoneError, _client_gone)
    app.add_exception_handler(ServerBusyError, _busy)
    app.add_exception_handler(PixelLimitError, _with_status(413))  # an ImageReadError: its own handler first
    app.add_exception_handler(ImageReadError, _with_status(415))
    app.add_exception_handler(OptionError, _bad_option)
    app.add_exception_handler(NoSubjectError, _no_subject)
    app.add_exception_handler(RequestValidationError, _with_status(422))
    app.add_exception_handler(FormParserError, _malformed_form)  # a ValueError: before that handler
    app.add_exception_handler(ValueError, _with_status(422))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal)
