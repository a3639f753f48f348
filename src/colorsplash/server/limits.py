"""What one request and all requests together may cost: the upload size, and the memory of the work in flight.

The memory a splash takes grows with the photo's pixel count, not with its file size: a 12 KB PNG can hold
10000x10000 pixels. :func:`photo_pixels` reads the count from the header (nothing decoded), :func:`estimate_bytes`
turns it into the job's peak memory, and :class:`MemoryBudget` admits jobs while their estimates fit the server's
budget. A job that does not fit waits (while the waiting jobs' estimates fit one more budget, at most
``max_wait_s``) and is otherwise refused with 503 and ``Retry-After``. A small job that fits runs at once, even
ahead of a waiting large one, so ordinary photos stay fast while large ones queue; jobs that wait are admitted in
turn by client (:mod:`colorsplash.server.fair`), not in arrival order, and a client whose photo finds the queue
full takes the place of the newest waiting photo of the client holding the most of the budget, while that one
would still hold at least as much (the rule is :class:`~colorsplash.server.fair.FairLimiter`'s).
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NamedTuple

import anyio
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from colorsplash.runtime.pictures.picture_open import READ_ERRORS, cost_mode, counted_pixels, open_quiet

# A job's memory estimate and its unit, peak bytes per pixel of one splash (and of one viewable copy): defined (and
# the unit's measurement told) in the package, beside no heavy import, so that ``serve --help`` can state the default
# budget.
from colorsplash.server import BYTES_PER_PIXEL as BYTES_PER_PIXEL
from colorsplash.server import VIEW_BYTES_PER_PIXEL as VIEW_BYTES_PER_PIXEL
from colorsplash.server import estimate_bytes as estimate_bytes
from colorsplash.server import printable
from colorsplash.server import required_budget as required_budget
from colorsplash.server.fair import UNKNOWN_CLIENT, FairLimiter, QueueFullError, client_address

RETRY_AFTER_S = 5
RETRY_AFTER_FULL_S = 2  # requests over the count limit: the ones in flight end within a second or two
DEFAULT_MAX_WAIT_S = 60.0


class RequestTooLargeError(Exception):
    """The request body is larger than the server's upload limit."""


class UploadTimeoutError(Exception):
    """The request body did not arrive within the server's upload time limit (a slow client, or one that stopped
    sending): answered 408 and the connection closed (:func:`upload_timeout_response`), which frees its slot."""

    def __init__(self, timeout_s: float, received: int, expected: int | None) -> None:
        of = f" of {expected:,}" if expected is not None else ""
        super().__init__(
            f"the request body did not arrive within the server's upload time limit of {timeout_s:g} s "
            f"({received:,}{of} bytes came); send it again over a faster connection or send a smaller photo, or "
            "start the server with a larger --upload-timeout"
        )
        self.timeout_s = timeout_s
        self.received = received


class ServerBusyError(Exception):
    """The memory budget is taken by other photos; answered with 503 and ``Retry-After``."""

    def __init__(self, message: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PhotoSize(NamedTuple):
    """A picture's size from its header: ``pixels`` (width x height) and ``counted``, the count the pixel limit
    and the memory estimate use: more than ``pixels`` for modes that take more memory than 8-bit RGB (alpha,
    16-bit; :func:`colorsplash.runtime.pictures.picture_open.counted_pixels`, the rule the decoder applies too)."""

    pixels: int
    counted: int


def photo_pixels(data: bytes) -> PhotoSize | None:
    """The picture's size from its header (nothing decoded); ``None`` when the header is unreadable.

    Read without Pillow's own decompression-bomb guard (it would refuse pictures over about 179 MP before their
    size is known): the count is what the server's pixel limit is applied to.
    """
    try:
        with open_quiet(io.BytesIO(data)) as img:
            width, height, mode = img.width, img.height, cost_mode(img)
    except READ_ERRORS:
        return None
    return PhotoSize(width * height, counted_pixels(width, height, mode))


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


@dataclass
class _State:
    used: int = 0
    waiting: int = 0


class MemoryBudget:
    """Admission of jobs by their estimated peak memory, within ``capacity`` bytes; jobs that wait are admitted in
    turn by client (:class:`~colorsplash.server.fair.FairLimiter`), a small one that fits beside the others at once
    (made in the event loop that uses it; not thread-safe, all calls come from that loop)."""

    def __init__(self, capacity: int, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> None:
        self.capacity = capacity
        self.max_wait_s = max_wait_s
        self._fair = FairLimiter(capacity, queue_room=capacity)  # one budget's worth of estimates may wait

    @property
    def state(self) -> _State:
        """Bytes held by the jobs admitted (``used``) and asked for by the jobs waiting (``waiting``)."""
        return _State(self._fair.used, self._fair.waiting)

    @asynccontextmanager
    async def reserve(self, nbytes: int, client: str = UNKNOWN_CLIENT) -> AsyncIterator[None]:
        """Hold ``nbytes`` of the budget for the ``with`` block, for ``client`` (its address: whose turn it is).

        Raises:
            ServerBusyError: the budget is taken and the queue is full, the job's place in the queue was taken by
                another client's (its client held the most), or the wait passed ``max_wait_s``.
        """
        nbytes = min(nbytes, self.capacity)  # the settings guarantee it fits; never wait forever if not
        try:
            with anyio.move_on_after(self.max_wait_s) as late:
                await self._fair.acquire(client, nbytes)
        except QueueFullError as err:
            raise self._place_taken(err, client) if err.taken else self._busy(nbytes) from None
        if late.cancelled_caught:
            raise self._busy(nbytes)
        try:
            yield
        finally:
            self._fair.release(client, nbytes)

    def _busy(self, nbytes: int) -> ServerBusyError:
        return ServerBusyError(
            f"the server is busy with other photos ({_mb(self.state.used)} of its {_mb(self.capacity)} memory "
            f"budget in use, this photo needs about {_mb(nbytes)}); retry in {RETRY_AFTER_S} s, send a smaller "
            "photo, or start the server with a larger --max-memory-mb"
        )

    def _place_taken(self, err: QueueFullError, client: str) -> ServerBusyError:
        return ServerBusyError(
            f"the server is busy: the photos of this address ({printable(client)}) held the most of its memory "
            f"budget and queue ({_mb(err.holding)} in flight and waiting) when another address's photo needed a "
            f"place in the queue, so this photo, the newest waiting of them, gave it its place; retry in "
            f"{RETRY_AFTER_S} s, when one of this address's photos has ended"
        )


def busy_response(err: ServerBusyError) -> JSONResponse:
    return JSONResponse(
        {"error": str(err)}, status_code=503, headers={"Retry-After": str(math.ceil(err.retry_after_s))}
    )


class RequestLimitMiddleware:
    """Answer 503 busy (JSON, ``Retry-After``: :func:`busy_response`) to a request beyond ``max_requests`` in
    flight, or beyond ``max_per_client`` in flight from its client's address (the peer's: behind a proxy, every
    client is the proxy), before its body is read: uploads are held in memory while they arrive. (uvicorn's own
    ``limit_concurrency`` answered plain text, without ``Retry-After`` or the security headers.)"""

    def __init__(self, app: ASGIApp, max_requests: int, max_per_client: int | None = None) -> None:
        self.app = app
        self.max_requests = max_requests
        self.max_per_client = max_requests if max_per_client is None else max_per_client
        self.in_flight = 0
        self.by_client: dict[str, int] = {}  # requests in flight by address; none at 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        busy = self._busy(client)
        if busy is not None:
            await busy_response(busy)(scope, receive, send)
            return
        self.in_flight += 1
        self.by_client[client] = self.by_client.get(client, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.by_client[client] -= 1
            if not self.by_client[client]:
                del self.by_client[client]

    def _busy(self, client: str) -> ServerBusyError | None:
        """Why a request from ``client`` (an address) must wait, or ``None``."""
        if self.in_flight >= self.max_requests:
            return ServerBusyError(
                f"the server is busy: it serves {self.max_requests} requests at once and has that many; "
                f"retry in {RETRY_AFTER_FULL_S} s",
                RETRY_AFTER_FULL_S,
            )
        if self.by_client.get(client, 0) >= self.max_per_client:
            return ServerBusyError(
                f"the server is busy with this address's requests: it serves at most {self.max_per_client} at once "
                f"from one address and has that many from {printable(client)}; retry in {RETRY_AFTER_FULL_S} s, "
                "when one of them has ended",
                RETRY_AFTER_FULL_S,
            )
        return None


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes``: by ``Content-Length`` up front, and by counting streamed chunks
    (chunked uploads announce no length), so an oversized upload is never read into memory whole. A body that has
    not all arrived ``timeout_s`` after the request began raises :class:`UploadTimeoutError` (408), so a slow
    client cannot hold a request slot (:class:`RequestLimitMiddleware`) for longer."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await too_large_response(self.max_bytes)(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        received, complete = 0, False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body: waiting for a disconnect, which has no deadline
                return await receive()
            with anyio.move_on_after(deadline - time.monotonic()) as late:
                message = await receive()
            if late.cancelled_caught:
                raise UploadTimeoutError(self.timeout_s, received, int(length) if length.isdigit() else None)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise RequestTooLargeError()
            return message

        await self.app(scope, limited_receive, send)


def upload_timeout_response(err: UploadTimeoutError) -> JSONResponse:
    """408 with the API's ``{"error": ...}``, closing the connection: the rest of the body is not read."""
    return JSONResponse({"error": str(err)}, status_code=408, headers={"Connection": "close"})


def too_large_response(max_bytes: int) -> JSONResponse:
    return JSONResponse(
        {
            "error": f"request body is larger than the upload limit of {max_bytes / 2**20:g} MB; "
            "send a smaller photo or start the server with a larger --max-upload-mb"
        },
        status_code=413,
    )
