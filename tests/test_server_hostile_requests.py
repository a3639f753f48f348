"""Requests a penetration tester sends to ``colorsplash serve`` over uvicorn itself, with ``serve``'s own uvicorn
arguments (``connections.uvicorn_options``): forged proxy headers, request headers without end. Each must leave the
server's limits as the README states them."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from test_server_memory import uvicorn_server  # noqa: E402

from colorsplash.server import MAX_HEADER_BYTES  # noqa: E402
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


async def reader(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering the length of the body it read whole first, as the API's routes read an upload."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size, more = size + len(message.get("body", b"")), message.get("more_body", False)
    body = b"%d" % size
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


def test_request_headers_over_the_limit_are_refused_before_they_pile_up_in_memory() -> None:
    """uvicorn's httptools protocol kept every header byte a client sent until the headers ended: 600 MB of one
    header in 6 s raised the server's memory by 600 MB, 9 MB of tiny headers by 230 MB, whatever ``--max-memory-mb``
    said. Past :data:`MAX_HEADER_BYTES` the client gets 431 (the API's JSON error) and the connection is closed."""
    pytest.importorskip("httptools")
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    options = uvicorn_options(ServerSettings())
    assert issubclass(options["http"], HttpToolsProtocol), options["http"].__mro__  # the protocol that kept them
    start = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    many, long = b"X-Pad: a\r\n" * 100_000, b"X-Pad: " + b"a" * 2**20 + b"\r\n"  # 1 MB each
    with uvicorn_server(whom, **options) as (port, _):
        answers = [exchange(port, start + pad + b"\r\n") for pad in (many, long)]
        fits = exchange(port, start + b"X-Pad: a\r\n" * 2500 + b"\r\n")
    for answer in answers:
        status, _, body = answer.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 431 ") and b"connection: close" in status.lower(), answer[:300]
        error = json.loads(body)["error"]
        assert f"{MAX_HEADER_BYTES // 1024} KB" in error and "cookies" in error, error
    assert fits.startswith(b"HTTP/1.1 200 "), fits[:300]  # 25 KB of headers (a browser's cookies) still pass


def test_trailers_of_a_chunked_body_are_held_to_the_header_limit_too() -> None:
    """After a chunked body's last chunk, httptools reads trailers (headers after the body) and uvicorn kept them
    as it kept headers: 200 MB of them after a 4-byte body raised the server's memory by 200 MB. Past
    :data:`MAX_HEADER_BYTES` the connection is closed; a chunked upload in small chunks still arrives."""
    pytest.importorskip("httptools")
    start = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    small_chunks = b"".join(b"40\r\n" + b"a" * 64 + b"\r\n" for _ in range(20_000))  # 1.3 MB, 6 % of it sizes
    with uvicorn_server(reader, **uvicorn_options(ServerSettings())) as (port, _):
        trailers = exchange(port, start + b"4\r\nabcd\r\n0\r\n" + b"X-Pad: " + b"a" * 2**20 + b"\r\n\r\n")
        many = exchange(port, start + b"4\r\nabcd\r\n0\r\n" + b"X-Pad: a\r\n" * 100_000 + b"\r\n")
        upload = exchange(port, start + small_chunks + b"0\r\n\r\n")
    assert trailers == b"" and many == b"", (trailers[:200], many[:200])  # closed: the app never answered
    assert upload.startswith(b"HTTP/1.1 200 ") and upload.endswith(b"\r\n\r\n1280000"), upload[:300]


def guarded_client() -> Any:
    """A TestClient of :class:`HostOriginMiddleware` (this server's names, no other origin) over an app that
    answers the ``Host`` it was given, as Starlette's ``Headers.get`` reads it (the first)."""
    from fastapi.testclient import TestClient
    from starlette.requests import Request

    from colorsplash.server.guard import HostOriginMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps({"host": Request(scope).headers.get("host")}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    return TestClient(HostOriginMiddleware(app, ["127.0.0.1", "localhost"]), base_url="http://127.0.0.1:8000")


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ([("host", "evil.example"), ("host", "127.0.0.1:8000")], "sends Host 2 times ('evil.example', "),
        ([("host", "127.0.0.1:8000"), ("host", "evil.example")], "sends Host 2 times ('127.0.0.1:8000', "),
        ([("origin", "http://evil.example"), ("origin", "http://127.0.0.1:8000")], "sends Origin 2 times"),
        ([("host", "127.0.0.1:80@evil.example")], "is not a host name with a port number"),
    ],
)
def test_a_host_or_origin_the_check_and_the_app_could_read_differently_is_refused(
    headers: list[tuple[str, str]], said: str
) -> None:
    """The check read the last ``Host`` and ``Origin`` of a request, the app the first: ``Host: evil.example`` then
    ``Host: 127.0.0.1`` passed the allow-list and ``/docs`` named ``http://evil.example/`` in its examples (and
    ``127.0.0.1:80@evil.example``, a port that is none, passed as 127.0.0.1). RFC 9112 requires 400 for either."""
    client = guarded_client()  # no lifespan: the app answers requests only
    answer = client.get("/docs", headers=headers)
    assert answer.status_code == 400 and said in answer.json()["error"], answer.text
    ok = client.get("/docs", headers=[("host", "127.0.0.1:8000"), ("origin", "http://127.0.0.1:8000")])
    assert ok.status_code == 200 and ok.json() == {"host": "127.0.0.1:8000"}, ok.text


def test_a_port_of_digits_that_are_no_ascii_digits_is_no_port_number() -> None:
    """A header's bytes are read as Latin-1, where ``\xb2`` is "²", a digit to ``str.isdigit``: ``Host:
    127.0.0.1:²`` passed as a host with a port number."""
    from colorsplash.server.guard import HostOriginMiddleware

    guard = HostOriginMiddleware(lambda *_: None, ["127.0.0.1"])  # type: ignore[arg-type,return-value]
    for port in ("\u00b2", "\u00b9\u00b2", "\u0663"):
        refusal = guard.refusal(f"127.0.0.1:{port}", None)
        assert refusal is not None and "is not a host name with a port number" in refusal[1], port
    assert guard.refusal("127.0.0.1:8000", None) is None and guard.refusal("127.0.0.1:", None) is None


def test_a_page_without_an_origin_is_not_told_to_allow_every_page() -> None:
    """A sandboxed frame on any web site sends ``Origin: null`` (measured in Chromium: a frame on evil.example
    posted a photo and read the result from a server started with ``--allowed-origin null``). Its 403, and the
    server's log line, said "start it with --allowed-origin null": advice that opens the server to every page."""
    answer = guarded_client().post("/api/splash", content=b"x", headers={"origin": "null", "host": "127.0.0.1:8000"})
    error = answer.json()["error"]
    assert answer.status_code == 403 and "would let every web page use this server" in error, error
    assert "start it with --allowed-origin null" not in error


@pytest.mark.parametrize("origin", ["null", "*"])
def test_serve_warns_that_origins_any_page_can_send_open_it_to_every_page(
    tiny_onnx: Path, origin: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``--allowed-origin null`` was described as "pages opened from files" and started without a word; every web
    page could use the server through a sandboxed frame."""
    import uvicorn

    from colorsplash import cli

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    with caplog.at_level(logging.WARNING):
        assert cli.main(["serve", "--model", str(tiny_onnx), "--allowed-origin", origin]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("every web page can send photos to this server and read the results" in line for line in said), said
    assert any("sandboxed frames" in line for line in said) == (origin == "null"), said
