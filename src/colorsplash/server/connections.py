"""HTTP connections of ``colorsplash serve``: a time limit on a request's headers, which uvicorn does not have.

uvicorn closes a kept-alive connection that stays idle after an answer (5 s), but it has no limit on how long a
request's line and headers take to arrive. A client that sends them a byte a second holds its connection for as
long as it likes (h11 takes up to 16 KB of headers: 4.5 hours), and uvicorn answers every connection past
``limit_concurrency`` with a plain 503. So 64 such clients locked out everyone else (measured: 113 s, until their
headers were done). The upload timeout (``limits.BodyLimitMiddleware``) cannot help: the app only sees a request
once its headers are complete.

:func:`header_timeout_protocol` subclasses the HTTP protocol class uvicorn would pick itself (``http="auto"``:
httptools where it is installed, h11 otherwise). The subclass closes a connection whose request headers are not
complete ``timeout_s`` seconds after the connection opened, or, on a kept-alive connection, after the first byte of
its next request. A client that sent part of a request gets a 408 first (the API's JSON error with
``Connection: close``: :func:`request_timeout_response`), and one line is logged. No request is in progress on
that connection, so the 408 cannot mix with another answer.
A connection that sent nothing is closed without a word, as uvicorn closes an idle kept-alive one: browsers open
connections ahead of use and may never use them. The timer stops as soon as a request's headers are complete (or
the connection is upgraded to a WebSocket, which uvicorn hands to another protocol), so uploads (which have their
own limit) and model runs are never cut by it. The bytes that follow an answer sent before its request's body was
read (413, 503 busy) are the rest of that body, which uvicorn reads and drops: they get the upload timeout instead,
and no 408 (:class:`HeaderDeadline`); once that body has all arrived the connection is idle after an answer, under
uvicorn's keep-alive time again.

The subclass relies on uvicorn's own idea of "no request in progress": ``self.cycle`` is ``None`` or its answer is
complete (``cycle.response_complete``; uvicorn's ``shutdown`` uses the same test), and on ``cycle.more_body`` (the
body not all read); on h11's connection state or httptools' message callbacks to tell when the rest of a body
answered early has all arrived, and on uvicorn's keep-alive timer (``timeout_keep_alive_task``) to hand the idle
connection back to it. :func:`~colorsplash.server.protocol_check.check_protocol` serves
requests on a fake connection at start to confirm that the timer is started and stopped when it should be. If a
later uvicorn changes this, ``serve`` refuses to start with an error naming the versions. It does not run without
the timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from colorsplash.server import printable
from colorsplash.server.guard import SECURITY_HEADERS
from colorsplash.server.protocol_check import TESTED_UVICORN as TESTED_UVICORN
from colorsplash.server.protocol_check import UnsupportedUvicornError as UnsupportedUvicornError
from colorsplash.server.protocol_check import check_protocol

if TYPE_CHECKING:
    from colorsplash.server.settings import ServerSettings

log = logging.getLogger(__name__)


def request_timeout_response(timeout_s: float, received: int) -> bytes:
    """The 408 to a client whose request headers took longer than ``timeout_s`` seconds (``received`` bytes of
    them came), as the API's other errors are: a JSON ``{"error": ...}`` saying what went wrong and what to do,
    the security headers (:data:`~colorsplash.server.guard.SECURITY_HEADERS`), and ``Connection: close``."""
    body = json.dumps(
        {
            "error": f"the request headers did not arrive within the server's header time limit of {timeout_s:g} s "
            f"({received:,} bytes came); send the request again over a faster connection, or start the server "
            "with a larger --header-timeout"
        }
    ).encode()
    headers = {b"content-type": b"application/json", b"content-length": b"%d" % len(body), b"connection": b"close"}
    lines = b"".join(b"%s: %s\r\n" % item for item in {**headers, **SECURITY_HEADERS}.items())
    return b"HTTP/1.1 408 Request Timeout\r\n" + lines + b"\r\n" + body


class HeaderDeadline(asyncio.Protocol):
    """Mixin for a uvicorn HTTP protocol class: a connection's request headers must be complete within
    :attr:`header_timeout_s` of its opening, or of the first byte after its last answer (see the module).

    After an answer sent before its request's body was all read (413 by ``Content-Length``, 503 busy, a refused
    ``Host``), uvicorn reads and drops the rest of that body; the bytes after the answer are that rest, then the
    next request. They get :attr:`drain_timeout_s` (the upload timeout) instead, and past it the connection is
    closed without a 408: the client already has its answer. Closing sooner could cut a browser still uploading
    the photo that got 503 before it reads that answer. Once that body has all arrived, an idle connection is
    closed after uvicorn's keep-alive time, as after any answer, and the next request's headers get
    :attr:`header_timeout_s`."""

    header_timeout_s: ClassVar[float]
    drain_timeout_s: ClassVar[float]
    # Set by uvicorn's protocol classes (h11_impl.H11Protocol, httptools_impl.HttpToolsProtocol).
    transport: asyncio.Transport
    cycle: Any
    client: tuple[str, int] | None
    timeout_keep_alive: float
    timeout_keep_alive_task: asyncio.TimerHandle | None
    timeout_keep_alive_handler: Any

    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _draining = False
    _drained_cycle: Any = None  # the request whose body answered early has all arrived (httptools keeps more_body)
    _drain_ended = False  # httptools: the rest of that body has all arrived (its parser's message callbacks)
    _next_began = False  # httptools: and the next request's first bytes followed it

    @property
    def header_deadline(self) -> str | None:
        """What the connection is waiting for against the clock: ``"headers"``, ``"drain"`` (the rest of a body
        already answered, then headers), or ``None`` (a request in progress, or idle after an answer)."""
        if self._header_timer is None:
            return None
        return "drain" if self._draining else "headers"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self._between_requests():
            if self._header_timer is None:  # the first byte after an answer on a kept-alive connection
                cycle = self.cycle
                self._arm_header_deadline(
                    cycle is not None and bool(cycle.more_body) and cycle is not self._drained_cycle
                )
            self._header_bytes += len(data)
        super().data_received(data)
        if self._header_timer is None:
            return
        if not self._between_requests() or self.transport.get_protocol() is not self:
            # the headers are complete: a request began, or the connection was upgraded (WebSocket: handed to
            # another protocol, whose close this one never hears of)
            self._disarm_header_deadline()
        elif self._draining:
            self._check_drained()

    def on_message_complete(self) -> None:
        """httptools' parser: a request's body has all arrived (h11's protocol class has no such callback)."""
        self._drain_ended = self._draining and self._between_requests()
        super().on_message_complete()  # type: ignore[misc]

    def on_message_begin(self) -> None:
        """httptools' parser: a request's first bytes arrived."""
        self._next_began = self._drain_ended
        super().on_message_begin()  # type: ignore[misc]

    def _check_drained(self) -> None:
        """Once the rest of the body answered early has all arrived: the next request's headers get the header
        timeout from its first byte; an idle connection is uvicorn's again, closed after its keep-alive time."""
        conn = getattr(self, "conn", None)  # h11's connection; httptools: its message callbacks
        if conn is not None:
            ended, began = conn.their_state is _h11_idle(), bool(conn.trailing_data[0])
        else:
            ended, began = self._drain_ended, self._next_began
        if not ended:
            return
        self._drained_cycle = self.cycle
        if began:
            self._arm_header_deadline()
            return
        self._disarm_header_deadline()
        loop = asyncio.get_running_loop()
        self.timeout_keep_alive_task = loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm_header_deadline(self, draining: bool = False) -> None:
        self._disarm_header_deadline()
        self._header_bytes, self._draining = 0, draining
        self._drain_ended = self._next_began = False
        timeout = self.drain_timeout_s if draining else self.header_timeout_s
        self._header_timer = asyncio.get_running_loop().call_later(timeout, self._headers_late)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self or not self._between_requests():
            return  # closed, handed to another protocol (an upgrade), or a request began: not ours to close
        peer, count = _peer(self.client), self._header_bytes
        if self._draining:
            log.warning(
                "%s: the rest of a request the server had already answered, and the next request's headers, did "
                "not arrive in time (%d bytes in %g s); closed the connection (--upload-timeout)",
                *(peer, count, self.drain_timeout_s),
            )
        elif count:
            transport.write(request_timeout_response(self.header_timeout_s, count))
            log.warning(
                "%s: the request headers did not arrive in time (%d bytes in %g s); answered 408 and closed the "
                "connection (--header-timeout)",
                *(peer, count, self.header_timeout_s),
            )
        transport.close()


def _h11_idle() -> Any:
    import h11  # uvicorn's own dependency

    return h11.IDLE


def _peer(client: tuple[str, int] | None) -> str:
    return printable(f"{client[0]}:{client[1]}") if client else "a client"


def auto_protocol() -> type[asyncio.Protocol]:
    """The HTTP protocol class uvicorn picks with ``http="auto"`` (httptools where installed, else h11)."""
    try:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol
    except ImportError as err:
        raise UnsupportedUvicornError(f"uvicorn.protocols.http.auto.AutoHTTPProtocol is missing ({err})") from err
    return AutoHTTPProtocol


def header_timeout_protocol(
    timeout_s: float, drain_timeout_s: float, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """A subclass of ``base`` (default: :func:`auto_protocol`) that closes a connection whose request headers take
    longer than ``timeout_s`` seconds, or the rest of a body already answered (and the next headers) longer than
    ``drain_timeout_s`` (:class:`HeaderDeadline`); for ``uvicorn.run(http=...)``. Checked with
    :func:`check_protocol`.

    Raises:
        UnsupportedUvicornError: the installed uvicorn's classes do not behave as the timeout needs.
    """
    base = base or auto_protocol()
    name = f"HeaderTimeout{base.__name__}"
    limits = {"header_timeout_s": timeout_s, "drain_timeout_s": drain_timeout_s}
    protocol = type(name, (HeaderDeadline, base), {**limits, "__module__": __name__})
    check_protocol(protocol)
    return protocol


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """``uvicorn.run``/``uvicorn.Config`` arguments of ``serve``: its protocol class with the header timeout (and
    the upload timeout for the rest of a body already answered), and the connection cap."""
    protocol = header_timeout_protocol(settings.header_timeout_s, settings.upload_timeout_s)
    return {"http": protocol, "limit_concurrency": settings.max_connections}
