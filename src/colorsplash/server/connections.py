"""HTTP connections of ``colorsplash serve``: a time limit on a request's headers, which uvicorn does not have, and
a lingering close after an answer sent while the client is still sending.

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
A request whose line and headers go over ``MAX_HEADER_BYTES`` (httptools kept them all, however many) is answered
431 and closed the same way; one whose chunked body's sizes and trailers do is closed (:mod:`.head_limit`).
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

Lingering close: a connection closed while its client may still be sending (a 408 for a slow upload or for slow
headers, the end of the drain above, uvicorn's own ``Connection: close`` answers before the body was read) is not
closed at once: on Linux a socket closed with unread bytes resets the connection, and a client still writing its
request (``http.client``, a browser's upload) reports the reset instead of the answer. The subclass shuts its half
after the answer, reads and drops what comes for at most :data:`LINGER_S` seconds and :data:`LINGER_BYTES` bytes
(or until the client closes its end), then closes (:meth:`HeaderDeadline._linger`); the connection still counts
against uvicorn's connection cap meanwhile. uvicorn's classes get a transport whose ``close`` does this
(:class:`_LingeringTransport`): it relies on uvicorn closing a connection through the transport it was given, and
on ``cycle.more_body`` (the body not all read); the self-check serves such an answer too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from colorsplash.server import peer_name
from colorsplash.server.early_answers import headers_too_large_response, request_timeout_response
from colorsplash.server.head_limit import HeadLimit
from colorsplash.server.protocol_check import TESTED_UVICORN as TESTED_UVICORN
from colorsplash.server.protocol_check import UnsupportedUvicornError as UnsupportedUvicornError
from colorsplash.server.protocol_check import check_protocol
from colorsplash.server.send_deadline import SEND_TIMEOUT_S, SendDeadline

if TYPE_CHECKING:
    from colorsplash.server.settings import ServerSettings

log = logging.getLogger(__name__)

# The lingering close (HeaderDeadline._linger): after an answer sent while the client may still be sending, what it
# sends is read and dropped for at most this long, or this much, before the socket is closed (nginx: lingering_time).
LINGER_S = 2.0
LINGER_BYTES = 4 * 2**20


class HeaderDeadline(HeadLimit):
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
    linger_s: ClassVar[float] = LINGER_S
    linger_bytes: ClassVar[int] = LINGER_BYTES
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
    _socket: asyncio.Transport  # the connection's own transport; uvicorn's classes get a _LingeringTransport
    _linger_timer: asyncio.TimerHandle | None = None
    _linger_left = 0  # bytes still read and dropped while lingering

    @property
    def header_deadline(self) -> str | None:
        """What the connection is waiting for against the clock: ``"headers"``, ``"drain"`` (the rest of a body
        already answered, then headers), or ``None`` (a request in progress, or idle after an answer)."""
        if self._header_timer is None:
            return None
        return "drain" if self._draining else "headers"

    @property
    def lingering(self) -> bool:
        """Closed after an answer sent while the client may still be sending: its half of the connection is shut,
        what the client sends is dropped, and the socket is closed after at most :attr:`linger_s`."""
        return self._linger_timer is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._socket = transport
        super().connection_made(_LingeringTransport(transport, self))
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        if self._linger_timer is not None:
            self._linger_left -= len(data)
            if self._linger_left < 0:
                self._socket.close()
            return
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
        super().on_message_complete()

    def on_message_begin(self) -> None:
        """httptools' parser: a request's first bytes arrived."""
        self._next_began = self._drain_ended
        super().on_message_begin()

    def head_too_large(self, in_body: bool) -> None:
        """Answer 431 to headers over the limit and close lingering (the client is still sending them), one log
        line; a chunked body's sizes and trailers over it (``in_body``), or headers behind a request still being
        answered (pipelined), close the connection without one: it would mix with that request's answer."""
        self._disarm_header_deadline()
        what = "chunk sizes and trailers of a request's body" if in_body else "request's line and headers"
        answered = "closed" if in_body or not self._between_requests() else "answered 431 and closed"
        log.warning(
            "%s: the %s went over %d KB; %s the connection",
            *(peer_name(self.client), what, self.max_header_bytes // 1024, answered),
        )
        if answered == "closed":
            self.transport.close()
            return
        self.transport.write(headers_too_large_response(self.max_header_bytes))
        self._linger()

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

    def eof_received(self) -> bool | None:
        if self._linger_timer is not None:  # the client has sent all it will: close now
            self._socket.close()
            return None
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None

    def close_lingers(self) -> bool:
        """The connection is being closed (:class:`_LingeringTransport`): linger (True) when the client may still
        be sending the request just answered, the rest of its body not all read; otherwise close now (False)."""
        sock, cycle = self._socket, self.cycle
        if self._linger_timer is not None or sock.is_closing() or sock.get_protocol() is not self:
            return False  # closed twice (uvicorn's connection_lost, a shutdown), or upgraded: close now
        if cycle is None or not cycle.more_body or cycle is self._drained_cycle:
            return False
        self._linger()
        return True

    def _linger(self) -> None:
        """Close gracefully a connection whose client may still be sending: shut our half once the answer is
        written (FIN), read and drop what comes for up to :attr:`linger_s` seconds and :attr:`linger_bytes` bytes,
        then close (sooner when the client closes its half). Closing the socket with unread bytes resets the
        connection instead, and a client still writing its request reports the reset, not the answer."""
        self._disarm_header_deadline()
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        sock = self._socket
        self._linger_left = self.linger_bytes
        self._linger_timer = asyncio.get_running_loop().call_later(self.linger_s, sock.close)
        if sock.can_write_eof():
            sock.write_eof()
        sock.resume_reading()

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
        peer, count = peer_name(self.client), self._header_bytes
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
        if count or self._draining:
            self._linger()  # the client is still sending
        else:
            transport.close()


class _LingeringTransport(asyncio.Transport):
    """The connection's transport as uvicorn's protocol class sees it: a ``close`` while the client may still be
    sending becomes the protocol's lingering close (:meth:`HeaderDeadline.close_lingers`), and the transport counts
    as closing meanwhile; everything else is the connection's own transport."""

    def __init__(self, transport: asyncio.Transport, protocol: HeaderDeadline) -> None:
        super().__init__()
        self._transport, self._protocol = transport, protocol

    def close(self) -> None:
        if not self._protocol.close_lingers():
            self._transport.close()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def abort(self) -> None:
        self._transport.abort()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(data)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)


def _h11_idle() -> Any:
    import h11  # uvicorn's own dependency

    return h11.IDLE


def auto_protocol() -> type[asyncio.Protocol]:
    """The HTTP protocol class uvicorn picks with ``http="auto"`` (httptools where installed, else h11)."""
    try:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol
    except ImportError as err:
        raise UnsupportedUvicornError(f"uvicorn.protocols.http.auto.AutoHTTPProtocol is missing ({err})") from err
    return AutoHTTPProtocol


def header_timeout_protocol(
    timeout_s: float,
    drain_timeout_s: float,
    base: type[asyncio.Protocol] | None = None,
    *,
    linger_s: float = LINGER_S,
    linger_bytes: int = LINGER_BYTES,
    send_timeout_s: float = SEND_TIMEOUT_S,
) -> type[asyncio.Protocol]:
    """A subclass of ``base`` (default: :func:`auto_protocol`) that closes a connection whose request headers take
    longer than ``timeout_s`` seconds, or the rest of a body already answered (and the next headers) longer than
    ``drain_timeout_s`` (:class:`HeaderDeadline`), and that closes a connection whose client may still be
    sending after its answer gracefully: read and dropped for ``linger_s`` seconds or ``linger_bytes`` bytes at most
    (:meth:`HeaderDeadline._linger`), and that aborts a connection whose client reads nothing of its answer for
    ``send_timeout_s`` (:class:`~colorsplash.server.send_deadline.SendDeadline`); for ``uvicorn.run(http=...)``.
    Checked with :func:`check_protocol`.

    Raises:
        UnsupportedUvicornError: the installed uvicorn's classes do not behave as the timeout needs.
    """
    base = base or auto_protocol()
    name = f"HeaderTimeout{base.__name__}"
    limits = {"header_timeout_s": timeout_s, "drain_timeout_s": drain_timeout_s}
    lingering = {"linger_s": linger_s, "linger_bytes": linger_bytes, "send_timeout_s": send_timeout_s}
    protocol = type(name, (HeaderDeadline, SendDeadline, base), {**limits, **lingering, "__module__": __name__})
    check_protocol(protocol)
    return protocol


def uvicorn_options(settings: ServerSettings) -> dict[str, Any]:
    """``uvicorn.run``/``uvicorn.Config`` arguments of ``serve``: its protocol class with the header timeout (and
    the upload timeout for the rest of a body already answered), the connection cap, and no proxy headers: uvicorn
    otherwise takes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from 127.0.0.1 as the client's address and scheme,
    so a program on this computer could give each request another address past ``--max-per-client``
    (``fair.client_address``: the connection's peer)."""
    protocol = header_timeout_protocol(settings.header_timeout_s, settings.upload_timeout_s)
    return {"http": protocol, "limit_concurrency": settings.max_connections, "proxy_headers": False}
