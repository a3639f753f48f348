"""The start-up self-check of ``serve``'s HTTP protocol class (:mod:`colorsplash.server.connections`): it relies
on uvicorn internals that a later uvicorn may change, so :func:`check_protocol` serves requests through it on a
fake connection and ``serve`` refuses to start, naming the versions, if it does not behave as it should: the
header timer, the drain of a body answered early, the lingering close after an answer with ``Connection:
close`` sent before the body was read (uvicorn must close through the transport it was given), and httptools' limit on
a request's header bytes."""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The uvicorn versions the header timeout is tested with (pyproject's minimum, .ci/min-deps, and the newest).
TESTED_UVICORN = ("0.29", "0.54")


def uvicorn_version() -> str:
    try:
        return version("uvicorn")
    except PackageNotFoundError:
        return "(version unknown)"


class UnsupportedUvicornError(RuntimeError):
    """The installed uvicorn's HTTP protocol classes are not the ones the header timeout was built on."""

    def __init__(self, problem: str) -> None:
        low, high = TESTED_UVICORN
        major, minor = high.split(".")
        pin = f"uvicorn>={low},<{major}.{int(minor) + 1}"
        super().__init__(
            f"the request header timeout does not work with uvicorn {uvicorn_version()}: {problem}. It is tested "
            f"with uvicorn {low} to {high}; install one of those (pip install '{pin}'), or report this with the "
            "uvicorn version"
        )


def check_protocol(protocol: type[asyncio.Protocol]) -> None:
    """Serve requests through ``protocol`` on a fake connection and check that the header timer runs while
    headers arrive and stops once they are complete, on a new and a kept-alive connection, and that an answer
    closing the connection before its body was read lingers (half-closed, the rest dropped) until the client's
    end.

    Raises:
        UnsupportedUvicornError: naming what went wrong.
    """
    loop = asyncio.new_event_loop()
    try:
        problem = loop.run_until_complete(_probe(protocol)) or loop.run_until_complete(_probe_head_limit(protocol))
    except Exception as err:  # noqa: BLE001 -- whatever uvicorn's changed code raises is the same finding
        problem = f"serving a test request failed ({type(err).__name__}: {err})"
    finally:
        loop.close()
    if problem:
        raise UnsupportedUvicornError(problem)


async def _probe_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        headers = [(b"connection", b"close")] if scope["path"] == "/close" else []
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


async def _probe(protocol: type[asyncio.Protocol]) -> str | None:
    conn, transport = _probe_connection(protocol)
    answers = 0
    for step, data, expected in _PROBE_STEPS:
        if data is not None:
            conn.data_received(data)
        elif step != _OPENED:  # let the app answer
            answers += 1
            for _ in range(20):
                await asyncio.sleep(0)
            if transport.written.count(b"HTTP/1.1 204") != answers:
                return f"test request {answers} got no answer (the protocol wrote {bytes(transport.written)!r})"
        waits = _waits(conn, transport)
        if waits != expected:
            found, should = waits or "nothing", expected or "nothing"
            return f"{step}, the connection waits against the clock for {found} instead of {should}"
    for _ in range(20):
        await asyncio.sleep(0)
    if transport.written.count(b"HTTP/1.1 204") != answers:
        return "a request sent after an answer that closed the connection was served"
    conn.eof_received()
    if not transport.closing:
        return "a lingering connection was not closed when the client closed its end"
    conn.connection_lost(None)
    return "the timer still runs after the connection closed" if conn.header_deadline or conn.lingering else None


def _probe_connection(protocol: type[asyncio.Protocol]) -> tuple[Any, _ProbeTransport]:
    """A connection of ``protocol`` (answering with :func:`_probe_app`) on a :class:`_ProbeTransport`, opened."""
    import uvicorn
    from uvicorn.server import ServerState

    config = uvicorn.Config(_probe_app, http=protocol, lifespan="off", log_config=None, proxy_headers=False)
    config.load()
    conn: Any = protocol(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
    transport = _ProbeTransport(conn)
    conn.connection_made(transport)
    return conn, transport


async def _probe_head_limit(protocol: type[asyncio.Protocol]) -> str | None:
    """httptools (h11 stops at 16 KB itself): headers over ``protocol.max_header_bytes`` get 431 and the lingering
    close, trailers over it the close; a body over it, after its headers, does not (the limit follows the parser's
    callbacks: :mod:`~colorsplash.server.head_limit`)."""
    if not any("on_headers_complete" in vars(c) for c in protocol.__mro__ if c.__module__.startswith("uvicorn.")):
        return None
    limit = int(getattr(protocol, "max_header_bytes", 0))
    quiet = logging.getLogger(protocol.__module__)  # a refusal's log line: not at every start
    was, quiet.disabled = quiet.disabled, True
    try:
        conn, body = _probe_connection(protocol)
        conn.data_received(b"POST / HTTP/1.1\r\nHost: probe\r\nContent-Length: %d\r\n\r\n" % (limit + 1))
        conn.data_received(b"a" * (limit + 1))
        for _ in range(20):
            await asyncio.sleep(0)
        chunked, trailers = _probe_connection(protocol)
        chunked.data_received(b"POST / HTTP/1.1\r\nHost: probe\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n")
        chunked.data_received(b"X-Pad: a\r\n" * (limit // 10 + 10))
        conn, head = _probe_connection(protocol)
        conn.data_received(b"GET / HTTP/1.1\r\n")
        conn.data_received(b"X-Pad: a\r\n" * (limit // 10 + 10))
    finally:
        quiet.disabled = was
    if not chunked.lingering:
        return "trailers over the header size limit, after a chunked body, were not refused"
    if b" 431 " in body.written or body.closing:
        return "a request whose body is over the header size limit was refused as one whose headers are"
    if not head.written.startswith(b"HTTP/1.1 431 ") or not conn.lingering:
        return f"headers over the size limit were not refused (the protocol wrote {bytes(head.written[:40])!r})"
    return None


def _waits(conn: Any, transport: _ProbeTransport) -> str | None:
    """What the probed connection waits for against the clock (see :data:`_PROBE_STEPS`)."""
    if conn.lingering:
        return "linger" if transport.eof and not transport.closing else "a broken linger"
    return conn.header_deadline or ("keep-alive" if conn.timeout_keep_alive_task is not None else None)


_OPENED = "when a connection opens"
_ANSWERED = "after the answer"
_EARLY = b"POST / HTTP/1.1\r\nHost: probe\r\nContent-Length: 6\r\n\r\nab"  # a body the app answers before reading
# (step, bytes the client sends or None for the app's answer, what the connection should wait for then: our timer's
# "headers" or "drain", uvicorn's "keep-alive", the lingering close ("linger": our half shut, the rest dropped), or
# nothing)
_PROBE_STEPS: tuple[tuple[str, bytes | None, str | None], ...] = (
    (_OPENED, None, "headers"),
    ("while a request's headers arrive", b"GET / HTTP/1.1\r\nHost: probe\r\n", "headers"),
    ("once a request's headers are complete", b"\r\n", None),
    (_ANSWERED, None, "keep-alive"),
    ("once a request's headers are complete", _EARLY, None),
    (_ANSWERED, None, "keep-alive"),
    ("when the rest of a body answered early arrives", b"cd", "drain"),
    ("once the rest of a body answered early has all arrived", b"ef", "keep-alive"),
    ("when the next request begins after it", b"GET / HTTP/1.1\r\n", "headers"),
    ("once the next request's headers are complete", b"Host: probe\r\n\r\n", None),
    (_ANSWERED, None, "keep-alive"),
    ("once the next request's headers are complete", _EARLY, None),
    (_ANSWERED, None, "keep-alive"),
    (
        "when the rest of a body answered early and the next request arrive together",
        b"cdefGET / HTTP/1.1\r\n",
        "headers",
    ),
    ("once the next request's headers are complete", b"Host: probe\r\n\r\n", None),
    (_ANSWERED, None, "keep-alive"),
    ("when a kept-alive connection's next request begins", b"G", "headers"),
    (
        "once the next request's headers are complete",
        b"ET /close HTTP/1.1\r\nHost: probe\r\nContent-Length: 6\r\n\r\nab",
        None,
    ),
    ("after an answer with Connection: close sent before the body was read", None, "linger"),
    ("when the client goes on sending after that answer", b"cdefGET / HTTP/1.1\r\nHost: probe\r\n\r\n", "linger"),
)


class _ProbeTransport(asyncio.Transport):
    """Just enough of a transport for uvicorn's protocol classes; keeps what they write."""

    def __init__(self, protocol: asyncio.BaseProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.written = bytearray()
        self.closing = False
        self.eof = False  # our half of the connection shut (write_eof)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return self.closing

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True
