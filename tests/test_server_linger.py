"""Answers sent before a request has all arrived reach a client still sending (``server/connections.py``'s
lingering close), over uvicorn itself: the server half-closes after the answer and reads and drops what the client
still sends for a bounded time and amount, instead of closing a socket with unread bytes (on Linux that resets the
connection, and a client that writes its whole request before reading, as ``http.client`` does, reported a broken
pipe instead of the 408 or 413). Each client here writes its whole request with ``sendall`` and only then reads:
a reset fails the test, it is not tolerated. A client that goes on sending is dropped after the bound."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.header_timeout import hello

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from test_server_memory import uvicorn_server, wait_until  # noqa: E402

from colorsplash.server import app as server  # noqa: E402
from colorsplash.server.connections import header_timeout_protocol  # noqa: E402

TRIES = 3  # each client is sent a few times: the answer must not depend on how the race falls
EVERY = 0.05  # the clients send a piece every 50 ms


def send_paced(sock: socket.socket, head: bytes, pieces: int, piece: bytes) -> None:
    """``head``, then ``pieces`` x ``piece`` a piece every :data:`EVERY` seconds, reading nothing (as
    ``http.client`` and ``requests`` send a request): raises if the server reset the connection."""
    sock.sendall(head)
    for _ in range(pieces):
        time.sleep(EVERY)
        sock.sendall(piece)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed (a reset raises: the answer would be lost to most clients)."""
    sock.settimeout(10)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def status_and_error(answer: bytes) -> tuple[bytes, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)["error"]


def test_a_client_still_sending_its_slow_upload_receives_the_408(tiny_onnx: Path) -> None:
    """Upload timeout 0.5 s; the client sends its 3,000 bytes over 1.5 s, then reads: the 408 and its JSON."""
    app = server.create_app(tiny_onnx, upload_timeout_s=0.5)
    with uvicorn_server(app, http=header_timeout_protocol(5.0, 0.5)) as (port, _):
        head = f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 3000\r\n\r\n".encode()
        for _ in range(TRIES):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                send_paced(sock, head, 30, b"x" * 100)
                status, error = status_and_error(read_all(sock))
            assert status == b"HTTP/1.1 408 Request Timeout" and "upload time limit of 0.5 s" in error, error


def test_a_client_still_sending_a_body_answered_413_after_the_drain_receives_the_413(tiny_onnx: Path) -> None:
    """413 by ``Content-Length`` at once; the rest of the body is read and dropped for the upload timeout (0.5 s),
    and the client, still sending (1 s in all), then reads the 413."""
    app = server.create_app(tiny_onnx, upload_timeout_s=0.5, max_upload_bytes=10_000)
    with uvicorn_server(app, http=header_timeout_protocol(5.0, 0.5)) as (port, _):
        head = f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 200000\r\n\r\n".encode()
        for _ in range(TRIES):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                send_paced(sock, head, 20, b"x" * 10_000)
                status, error = status_and_error(read_all(sock))
            assert status == b"HTTP/1.1 413 Request Entity Too Large" and "upload limit" in error, error


def test_a_client_still_sending_its_headers_receives_the_408(base: type[asyncio.Protocol]) -> None:
    """Header timeout 0.3 s; the client sends its headers over 0.8 s, then reads: the 408 and its JSON."""
    with uvicorn_server(hello, http=header_timeout_protocol(0.3, 5.0, base)) as (port, _):
        for _ in range(TRIES):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                send_paced(sock, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode(), 16, b"X-Pad: a\r\n")
                sock.sendall(b"\r\n")
                status, error = status_and_error(read_all(sock))
            assert status == b"HTTP/1.1 408 Request Timeout" and "header time limit of 0.3 s" in error, error


async def refuse_unread(scope: Any, receive: Any, send: Any) -> None:
    """An app answering 503 with ``Connection: close`` before reading the body (as uvicorn's own busy answer)."""
    if scope["type"] == "http":
        headers = [(b"content-length", b"4"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": b"busy"})


def send_until_dropped(sock: socket.socket, piece: bytes, every: float, limit: float = 10.0) -> float:
    """Send ``piece`` every ``every`` seconds until the server drops the connection; seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            sock.sendall(piece)
        except OSError:  # reset: the server closed its socket
            return time.monotonic() - started
        time.sleep(every)
    raise AssertionError(f"the server still read a lingering connection after {limit} s")


@pytest.mark.parametrize("flood", [False, True])
def test_a_client_that_goes_on_sending_is_dropped_after_the_bound(base: type[asyncio.Protocol], flood: bool) -> None:
    """A client that never ends its body after a ``Connection: close`` answer: it has the answer and the server's
    close (half-close) at once, its connection counts while it lingers, and it is dropped after the time bound
    (a byte every 20 ms), or sooner after the byte bound (64 KB pieces: past 4 MB long before the time bound)."""
    linger_s = 1.0
    protocol = header_timeout_protocol(5.0, 5.0, base, linger_s=linger_s)
    with uvicorn_server(refuse_unread, http=protocol) as (port, srv):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 999999999\r\n\r\n".encode())
            sock.settimeout(5)
            answer = sock.recv(65536)
            while not answer.endswith(b"busy"):
                answer += sock.recv(65536)
            assert sock.recv(65536) == b""  # the server's half of the connection is closed: nothing more comes
            assert len(srv.server_state.connections) == 1  # still read, and counted
            took = send_until_dropped(sock, b"x" * 65536 if flood else b"x", 0.001 if flood else 0.02)
        assert wait_until(lambda: not srv.server_state.connections, "the connection gone")
    assert answer.startswith(b"HTTP/1.1 503")
    assert took < linger_s / 2 if flood else linger_s * 0.8 < took < linger_s + 2, took


def test_a_normal_answer_is_not_held_by_the_lingering_close(base: type[asyncio.Protocol]) -> None:
    """A request that has all arrived and is answered with ``Connection: close`` is closed at once (nothing unread:
    no lingering): the client sees the whole close without sending its own."""
    protocol = header_timeout_protocol(5.0, 5.0, base, linger_s=30.0)
    with (
        uvicorn_server(refuse_unread, http=protocol) as (port, srv),
        socket.create_connection(("127.0.0.1", port)) as sock,
    ):
        sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert read_all(sock).startswith(b"HTTP/1.1 503")
        assert wait_until(lambda: not srv.server_state.connections, "the connection closed", timeout=5)
