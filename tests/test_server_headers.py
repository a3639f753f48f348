"""The time limit on a request's headers (``server/connections.py``), over uvicorn itself: a client that sends its
headers slowly is answered 408 and closed after ``header_timeout_s`` (from the connection's opening or, kept alive,
from its next request's first byte), which gives its connection back; one that sends nothing is closed without a
word; prompt headers are never cut, however long the body or the work takes. Whether ``serve`` starts on the
installed uvicorn: ``test_server_uvicorn_fit.py``."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.header_timeout import DRAIN, TIMEOUT, hello
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
import httpx  # noqa: E402
from test_server_memory import uvicorn_server, wait_until  # noqa: E402

from colorsplash.server import app as server  # noqa: E402
from colorsplash.server import connection_limit  # noqa: E402
from colorsplash.server.connections import HeaderDeadline, header_timeout_protocol, uvicorn_options  # noqa: E402
from colorsplash.server.settings import ServerSettings  # noqa: E402
from colorsplash.server.work import make_splash  # noqa: E402

EVERY = 0.05  # a byte every 50 ms: headers that never end within the test
LATE = "the request headers did not arrive in time"


def png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def endless_headers(port: int) -> Iterator[bytes]:
    """A request line and headers a byte at a time, never ending (a slowloris)."""
    yield from (bytes([b]) for b in f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    while True:
        yield from (bytes([b]) for b in b"X-Pad: aaaaaaaaaaaaaaaa\r\n")


def dribble_until_answered(
    sock: socket.socket, data: Iterator[bytes], since: float | None = None, limit: float = 5.0
) -> tuple[bytes, float]:
    """Send ``data`` a byte every :data:`EVERY` seconds until the server answers; (what it sent until it closed
    the connection, seconds from ``since``, by default the first byte). Sending stops once the answer is there
    (sending on would have the closed socket reset the connection, losing the answer)."""
    started = time.monotonic() if since is None else since
    for byte in data:
        if select.select([sock], [], [], EVERY)[0]:
            return read_to_close(sock), time.monotonic() - started
        assert time.monotonic() - started < limit, "the server kept a connection whose headers never ended"
        sock.sendall(byte)
    raise AssertionError("unreachable: the data never ends")


def read_to_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def read_response(sock: socket.socket) -> bytes:
    """One HTTP answer with a ``Content-Length`` (the connection stays open); its head and body."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection before its answer ({data!r} came)"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-l"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection {len(body)} bytes into a body of {length}"
        body += chunk
    return head + b"\r\n\r\n" + body


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if LATE in r.getMessage()]


def test_clients_holding_every_connection_with_slow_or_no_headers_are_closed_after_the_timeout(
    caplog: pytest.LogCaptureFixture, base: type[asyncio.Protocol]
) -> None:
    """uvicorn keeps 2 connections here (``serve --max-requests 1``); a client dribbling its headers and one sending
    nothing hold both, so an ordinary request gets uvicorn's plain 503. After ``header_timeout_s`` the dribbler
    gets 408 and is closed (one log line), the silent one is closed without an answer, and the ordinary request is
    served. Without the timeout both would hold their connections for ever."""
    protocol = header_timeout_protocol(TIMEOUT, DRAIN, base)
    with (
        caplog.at_level(logging.WARNING, logger="colorsplash.server"),
        uvicorn_server(hello, http=protocol, limit_concurrency=connection_limit(1)) as (port, _),
    ):
        url = f"http://127.0.0.1:{port}/"
        opened = time.monotonic()
        slow, silent = (socket.create_connection(("127.0.0.1", port)) for _ in range(2))
        with slow, silent:
            headers = endless_headers(port)
            slow.sendall(next(headers))
            busy = httpx.get(url, timeout=10)
            answer, waited = dribble_until_answered(slow, headers, since=opened)
            nothing = read_to_close(silent)
        after = httpx.get(url, timeout=10)
    assert (busy.status_code, after.status_code) == (503, 200), (busy.text, after.text)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout") and b"connection: close" in head.lower(), answer
    # The API's JSON error, as every other answer (it was plain text), with the security headers
    assert b"content-type: application/json" in head and b"x-content-type-options: nosniff" in head, head
    error = json.loads(body)["error"]
    assert error.startswith(
        f"the request headers did not arrive within the server's header time limit of {TIMEOUT:g} s"
    )
    assert (
        error.endswith(
            "bytes came); send the request again over a faster connection, or start the server with a "
            "larger --header-timeout"
        )
        and nothing == b""
    )
    assert TIMEOUT * 0.9 < waited < TIMEOUT + 4
    (line,) = lines(caplog)  # the silent connection is not logged (browsers open connections they never use)
    assert line.startswith("127.0.0.1:") and line.endswith(
        f"bytes in {TIMEOUT:g} s); answered 408 and closed the connection (--header-timeout)"
    )


def test_a_kept_alive_connection_dribbling_its_next_request_is_closed_while_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After an answer, the connection waits idle (longer than the header timeout: uvicorn's own keep-alive limit
    applies there), then dribbles its next request: 408 and closed ``header_timeout_s`` after that request's first
    byte (uvicorn's keep-alive timer stops at it). An ordinary request on another connection is served meanwhile."""
    served: list[tuple[int, float]] = []
    with (
        caplog.at_level(logging.WARNING, logger="colorsplash.server"),
        uvicorn_server(hello, **uvicorn_options(ServerSettings(header_timeout_s=TIMEOUT, upload_timeout_s=DRAIN))) as (
            port,
            _,
        ),
    ):
        url = f"http://127.0.0.1:{port}/"
        other = threading.Thread(
            target=lambda: served.append((httpx.get(url, timeout=10).status_code, time.monotonic()))
        )
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            first = read_response(conn)
            time.sleep(TIMEOUT * 1.5)
            other.start()
            answer, waited = dribble_until_answered(conn, endless_headers(port))
            answered = time.monotonic()
        other.join(10)
    assert first.startswith(b"HTTP/1.1 200") and answer.startswith(b"HTTP/1.1 408"), (first, answer)
    assert TIMEOUT * 0.9 < waited < TIMEOUT + 4  # from the second request's first byte, not the first answer
    assert served and served[0][0] == 200 and served[0][1] < answered
    assert len(lines(caplog)) == 1


def test_the_rest_of_a_body_answered_early_gets_the_upload_timeout_and_no_408(
    caplog: pytest.LogCaptureFixture, base: type[asyncio.Protocol]
) -> None:
    """An answer sent before its request's body was read (413 by ``Content-Length``, 503 busy, a refused Host;
    here every answer of ``hello``): uvicorn reads and drops the rest of that body. Those bytes are not headers:
    a client sending the rest over 2 header timeouts (a browser uploading the photo that got 503) and then a prompt
    request is served; one that keeps sending is closed after the upload timeout, without a 408 (it has its
    answer), with one log line."""
    with (
        caplog.at_level(logging.WARNING, logger="colorsplash.server"),
        uvicorn_server(hello, http=header_timeout_protocol(TIMEOUT, DRAIN, base)) as (port, _),
    ):
        head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port)) as done, socket.create_connection(("127.0.0.1", port)) as on:
            answers = []
            for sock in (done, on):
                sock.sendall(head)
                answers.append(read_response(sock))
            for _ in range(4):  # the rest of the body
                time.sleep(TIMEOUT / 2)
                done.sendall(b"x" * 250)
            done.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            answers.append(read_response(done))
            extra, waited = dribble_until_answered(on, itertools.repeat(b"x"))
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers
    assert extra == b"" and DRAIN * 0.9 < waited < DRAIN + 4
    (line,) = [r.getMessage() for r in caplog.records if "did not arrive in time" in r.getMessage()]
    assert "the rest of a request the server had already answered" in line and line.endswith(
        f"bytes in {DRAIN:g} s); closed the connection (--upload-timeout)"
    )


def test_a_connection_idle_after_the_rest_of_an_answered_body_follows_the_keep_alive_rule(
    base: type[asyncio.Protocol],
) -> None:
    """Once the rest of a body already answered has arrived, the connection is idle after an answer, as any other:
    closed after uvicorn's keep-alive time (it was kept until the upload timeout); a prompt request is served, and
    slow headers get the header timeout and a 408 (not the upload timeout). The prompt and slow connections start
    their next request ~0.1 s after their drain, well inside the keep-alive time (it was 0.3 s, with ~0.2 s of
    sleeps in between: 0.07 s to spare on a loaded machine, and a connection closed meanwhile failed the test)."""
    keep_alive, drain = 1.0, 6.0
    with uvicorn_server(hello, http=header_timeout_protocol(TIMEOUT, drain, base), timeout_keep_alive=keep_alive) as (
        port,
        _,
    ):
        head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000\r\n\r\n".encode()
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        answers = []
        for sock in socks:
            sock.sendall(head)
            answers.append(read_response(sock))
            time.sleep(0.05)
            sock.sendall(b"x" * 1000)  # the rest of the body, read and dropped
        drained = time.monotonic()
        idle, prompt, slow = socks
        time.sleep(0.05)
        prompt.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        answers.append(read_response(prompt))
        late, took = dribble_until_answered(slow, endless_headers(port))
        assert read_to_close(idle) == b""
        waited = time.monotonic() - drained
        for sock in socks:
            sock.close()
    assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers
    assert waited < drain / 2, waited
    assert late.startswith(b"HTTP/1.1 408") and took < drain / 2, (late, took)


def test_prompt_headers_are_not_cut_by_a_slow_body_a_long_run_or_a_second_request(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, base: type[asyncio.Protocol]
) -> None:
    """Headers sent at once, then the body in pieces over 3 header timeouts, then a splash taking 2 more: 200
    (the body has its own limit, ``upload_timeout_s``). A second request on the same connection, prompt too: 200."""

    def slow_splash(*args: Any) -> Any:
        time.sleep(TIMEOUT * 2)
        return make_splash(*args)

    monkeypatch.setattr(server, "make_splash", slow_splash)
    app = server.create_app(tiny_onnx, header_timeout_s=TIMEOUT, upload_timeout_s=30)
    photo = png()
    with uvicorn_server(app, http=header_timeout_protocol(TIMEOUT, DRAIN, base)) as (port, _):
        head = f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(photo)}\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(head.encode())
            pieces = np.array_split(np.frombuffer(photo, np.uint8), 6)
            for piece in pieces:
                time.sleep(TIMEOUT * 3 / len(pieces))
                conn.sendall(piece.tobytes())
            first = read_response(conn)
            conn.sendall(head.encode() + photo)
            second = read_response(conn)
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200"), (first[:200], second[:200])


class Upgraded(asyncio.Protocol):
    """A WebSocket protocol class for uvicorn (``ws=``) that answers the upgrade 101 and records the HTTP protocol
    it took the connection from (uvicorn hands it over with ``transport.set_protocol``)."""

    taken_from: list[Any] = []

    def __init__(self, config: Any, server_state: Any, app_state: Any) -> None:
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        Upgraded.taken_from.append(transport.get_protocol())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")


def test_a_connection_upgraded_to_a_websocket_keeps_no_header_timer(base: type[asyncio.Protocol]) -> None:
    """uvicorn hands an upgraded connection (with ``websockets`` installed, as ``uvicorn[standard]`` brings it) to its
    WebSocket protocol, and the HTTP protocol never hears of its close: its header timer must stop at the upgrade,
    not outlive the connection. The timer is long here (it was 0.5 s, waited on for 0.125 s after the 101: a
    pause on a loaded machine could fail the test)."""
    Upgraded.taken_from.clear()
    protocol = header_timeout_protocol(60.0, DRAIN, base)
    with (
        uvicorn_server(hello, http=protocol, ws=Upgraded) as (port, _),
        socket.create_connection(("127.0.0.1", port)) as conn,
    ):
        conn.sendall(
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        conn.settimeout(5)
        answer = conn.recv(65536)
        (http,) = Upgraded.taken_from
        assert answer.startswith(b"HTTP/1.1 101"), answer
        assert isinstance(http, HeaderDeadline)
        # the 101 leaves before uvicorn's upgrade returns; the timer stops then, not when it runs out (in 60 s)
        assert wait_until(lambda: http.header_deadline is None, "the header timer to stop", timeout=10)
