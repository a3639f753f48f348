"""Requests a penetration tester sends to ``colorsplash serve`` over uvicorn itself, with ``serve``'s own uvicorn
arguments (``connections.uvicorn_options``): forged proxy headers, request headers without end. Each must leave the
server's limits as the README states them."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from test_server_memory import uvicorn_server  # noqa: E402

from colorsplash.server.connections import uvicorn_options  # noqa: E402
from colorsplash.server.settings import ServerSettings  # noqa: E402


async def whom(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering the client address and scheme uvicorn gave the request (the per-client limit and the
    fair queue count ``scope["client"]``: ``fair.client_address``)."""
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # the server answered and closed while the request was being sent
            sock.sendall(request)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer


def test_forwarded_headers_from_this_computer_do_not_change_the_client_address() -> None:
    """uvicorn trusts ``X-Forwarded-For`` and ``X-Forwarded-Proto`` from 127.0.0.1 unless told not to, so any
    program on this computer (or a local proxy passing the header on) could give each request another address and
    take every request slot past ``--max-per-client`` (measured: 503 from 127.0.0.1, 200 with ``X-Forwarded-For:
    10.9.8.7``). The README says the connection's peer is the address and the header is not trusted."""
    with uvicorn_server(whom, **uvicorn_options(ServerSettings())) as (port, _):
        answer = exchange(
            port,
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Forwarded-For: 10.9.8.7\r\n"
            "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n".encode(),
        )
    seen = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert seen == {"client": "127.0.0.1", "scheme": "http"}, answer
