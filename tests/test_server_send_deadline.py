"""A client that reads nothing of its answer (``server/send_deadline.py``), over uvicorn itself: its connection is
aborted once the answer has not moved for ``send_timeout_s``, which gives back the connection and the buffered
answer; a slow reader that makes progress gets the whole answer, however long it takes."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import pytest
from helpers.header_timeout import DRAIN, TIMEOUT

pytest.importorskip("uvicorn")
from test_server_memory import uvicorn_server, wait_until  # noqa: E402

from colorsplash.server.connections import header_timeout_protocol  # noqa: E402

SEND_TIMEOUT = 0.5
BIG = 8 * 2**20  # more than the kernel's socket buffers take: the rest waits in the transport's buffer


async def big_answer(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering :data:`BIG` bytes in one body, as a result is sent."""
    if scope["type"] == "http":
        headers = [(b"content-length", b"%d" % BIG)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * BIG})


def ask(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a client that takes little at a time
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return sock


def test_a_client_that_reads_nothing_of_its_answer_is_disconnected(
    caplog: pytest.LogCaptureFixture, base: type[asyncio.Protocol]
) -> None:
    """Before, the connection and its 8 MB stayed for as long as the client kept it open (64 such held every
    connection: uvicorn's 503 for everyone else)."""
    protocol = header_timeout_protocol(TIMEOUT, DRAIN, base, send_timeout_s=SEND_TIMEOUT)
    with (
        caplog.at_level(logging.WARNING, logger="colorsplash.server"),
        uvicorn_server(big_answer, http=protocol) as (port, srv),
    ):
        sock = ask(port)
        assert wait_until(lambda: len(srv.server_state.connections) == 1, "the request")
        gone = wait_until(lambda: not srv.server_state.connections, "the connection aborted", 10)
        sock.close()
    assert gone, "the server still holds the connection of a client that reads nothing"
    (line,) = [r.getMessage() for r in caplog.records if "read nothing of its answer" in r.getMessage()]
    assert line.startswith("127.0.0.1:") and f"for {SEND_TIMEOUT:g} s" in line and "closed the connection" in line


def test_no_deadline_where_the_loop_hides_a_readers_progress(
    monkeypatch: pytest.MonkeyPatch, base: type[asyncio.Protocol]
) -> None:
    """Windows' proactor loop holds the whole answer in flight until one send of it completes: a slow reader's
    progress is not seen there, and it would be cut as one that reads nothing. The loop taken for one here."""
    monkeypatch.setattr(asyncio, "ProactorEventLoop", object, raising=False)  # every loop taken for one
    protocol = header_timeout_protocol(TIMEOUT, DRAIN, base, send_timeout_s=SEND_TIMEOUT)
    with uvicorn_server(big_answer, http=protocol) as (port, srv):
        sock = ask(port)
        assert wait_until(lambda: len(srv.server_state.connections) == 1, "the request")
        time.sleep(SEND_TIMEOUT * 4)
        held = len(srv.server_state.connections) == 1
        sock.close()
    assert held, "the connection was aborted where the loop cannot show the reader's progress"


def test_a_slow_reader_that_makes_progress_gets_the_whole_answer(base: type[asyncio.Protocol]) -> None:
    """It reads 256 KB, then nothing for 0.3 s, and so on: the answer waits far longer than the time limit (the
    kernel's send queue, 2-4 MB on loopback, empties before the transport's buffer moves), but it moves."""
    protocol = header_timeout_protocol(TIMEOUT, DRAIN, base, send_timeout_s=SEND_TIMEOUT)
    with uvicorn_server(big_answer, http=protocol) as (port, _), ask(port) as sock:
        received, piece = 0, 0
        sock.settimeout(10)
        while received < BIG:
            if piece >= 2**18:
                time.sleep(SEND_TIMEOUT * 0.6)
                piece = 0
            chunk = sock.recv(2**18 - piece)
            assert chunk, f"the server closed the connection after {received:,} bytes"
            received += len(chunk)
            piece += len(chunk)
    assert received >= BIG
