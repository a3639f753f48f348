"""What a request controls never reaches a header or a log line as is, and every answer tells browsers not to sniff
it, frame it or pass on the page's address."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash.server import app as server  # noqa: E402

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
        yield c


def png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def post_named(client: TestClient, filename: bytes, data: bytes | None = None) -> object:
    """A multipart upload whose file name is ``filename`` as a client may send it (no browser's escaping)."""
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: image/png\r\n\r\n" + (png() if data is None else data) + b"\r\n--B--\r\n"
    )
    return client.post("/api/splash", content=body, headers={"content-type": "multipart/form-data; boundary=B"})


@pytest.mark.parametrize("filename", [b"a\nX-Evil: 1\n.png", b"a\x01\x7fb.png", "\u202egnp.exe.png".encode()])
def test_an_upload_name_never_puts_a_control_character_in_a_header(client: TestClient, filename: bytes) -> None:
    resp = post_named(client, filename)
    assert resp.status_code == 200, resp.text  # type: ignore[attr-defined]
    header = resp.headers["content-disposition"]  # type: ignore[attr-defined]
    assert header.isprintable() and "x-evil" not in resp.headers, header  # type: ignore[attr-defined]
    assert ".splash.png" in header and "%E2%80%AE" not in header  # no right-to-left override either


def test_an_upload_name_in_an_error_has_no_line_break(client: TestClient) -> None:
    resp = post_named(client, b"a\nforged.jpg", b"not a picture")
    assert resp.status_code == 415  # type: ignore[attr-defined]
    assert resp.json()["error"].startswith("a_forged.jpg: not a picture")  # type: ignore[attr-defined]


def test_a_very_long_upload_name_is_cut_keeping_its_extension(client: TestClient) -> None:
    resp = post_named(client, b"x" * 900 + b".png")
    assert resp.status_code == 200  # type: ignore[attr-defined]
    header = resp.headers["content-disposition"]  # type: ignore[attr-defined]
    assert len(header) < 600 and header.endswith(".splash.png")


def test_a_refused_path_cannot_forge_a_log_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="colorsplash.server"):
        resp = client.get("/x%0A2026-12-01 INFO colorsplash.server: admin logged in", headers={"host": "evil.example"})
    assert resp.status_code == 400
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert lines and all("\n" not in line for line in lines) and "\\n2026" in lines[0]


@pytest.mark.parametrize(
    ("method", "path", "host"),
    [
        ("GET", "/", "127.0.0.1:8000"),
        ("GET", "/docs", "127.0.0.1:8000"),
        ("GET", "/static/app.js", "127.0.0.1:8000"),
        ("GET", "/openapi.json", "127.0.0.1:8000"),
        ("GET", "/api/health", "127.0.0.1:8000"),
        ("GET", "/nowhere", "127.0.0.1:8000"),
        ("POST", "/api/splash", "127.0.0.1:8000"),
        ("GET", "/", "evil.example"),
    ],
)
def test_every_answer_carries_the_security_headers(client: TestClient, method: str, path: str, host: str) -> None:
    resp = client.request(method, path, headers={"host": host}, content=png() if method == "POST" else None)
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    if path in ("/", "/docs") and host.startswith("127"):  # the pages keep their own policy, which lets them run
        assert "default-src 'self'" in resp.headers["content-security-policy"]
    elif resp.headers["content-type"].startswith(("image/", "application/json")):
        assert "sandbox" in resp.headers["content-security-policy"]


def test_serve_caps_the_requests_served_at_once(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploads are held in memory while they arrive: without a cap, parallel uploads could hold any amount. The app
    counts requests; uvicorn's own cap on open connections is higher, so that requests meet the app's first."""
    from colorsplash import cli
    from colorsplash.server import MAX_CONNECTIONS, MAX_REQUESTS

    uvicorn = pytest.importorskip("uvicorn")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--model", str(tiny_onnx)]) == 0
    assert seen["app"].state.settings.max_requests == MAX_REQUESTS and MAX_REQUESTS * 25 * 2**20 <= 2**30
    assert seen["limit_concurrency"] == MAX_CONNECTIONS > MAX_REQUESTS


def _hold_masks(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the server's mask jobs wait: each sets the first event as it starts, then waits (at most 10 s) for the
    second before making its mask."""
    entered, release = threading.Event(), threading.Event()
    make_mask = server.make_mask

    def held(*args: Any) -> Any:
        entered.set()
        release.wait(10)
        return make_mask(*args)

    monkeypatch.setattr(server, "make_mask", held)
    return entered, release


def test_requests_over_the_limit_get_the_apis_busy_answer(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's limit_concurrency answered a plain-text "Service Unavailable" without Retry-After or the security
    headers; now the app counts the requests in flight and answers one more as a busy server does: JSON, 503,
    Retry-After (the page waits that long and tries again), the security headers; the next one after is served."""
    import asyncio

    import httpx

    entered, release = _hold_masks(monkeypatch)
    app = server.create_app(tiny_onnx, max_requests=1)
    photo = png()

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            one = asyncio.create_task(c.post("/api/mask", content=photo))
            while not entered.is_set():
                await asyncio.sleep(0.01)
            refused = await c.post("/api/splash", content=photo)
            release.set()
            return [await one, refused, await c.post("/api/splash", content=photo)]

    first, refused, after = asyncio.run(scenario())
    assert (first.status_code, refused.status_code, after.status_code) == (200, 503, 200)
    assert refused.headers["retry-after"] == "2" and refused.headers["x-content-type-options"] == "nosniff"
    assert "serves 1 requests at once" in refused.json()["error"]


def test_one_address_cannot_take_every_request_slot(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit (leftovers 5): there was no per-client limit, so one client could hold all ``max_requests`` slots and
    every other client got 503 busy. Now one address may hold ``max_per_client`` (default: half of
    ``max_requests``); one more from it gets the busy answer naming that limit, while another address is served."""
    import asyncio

    import httpx

    from colorsplash.server.settings import ServerSettings

    assert (ServerSettings().per_client_limit, ServerSettings(max_requests=1).per_client_limit) == (16, 1)
    with pytest.raises(ValueError, match="max_per_client must be positive"):
        ServerSettings(max_per_client=0)
    entered, release = _hold_masks(monkeypatch)
    app = server.create_app(tiny_onnx, max_requests=4, workers=2)  # 2 a client
    photo = png()

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")

    async def scenario() -> list[httpx.Response]:
        async with client("203.0.113.5") as greedy, client("198.51.100.7") as other:
            holding = [asyncio.create_task(greedy.post("/api/mask", content=photo)) for _ in range(2)]
            while not entered.is_set():
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # both of its requests in flight
            refused = await greedy.get("/api/health")
            served = await other.get("/api/health")
            release.set()
            return [*[await task for task in holding], refused, served, await greedy.get("/api/health")]

    first, second, refused, served, after = asyncio.run(scenario())
    assert [r.status_code for r in (first, second, refused, served, after)] == [200, 200, 503, 200, 200]
    assert refused.headers["retry-after"] == "2" and refused.headers["x-content-type-options"] == "nosniff"
    error = refused.json()["error"]
    assert "serves at most 2 at once from one address and has that many from 203.0.113.5" in error, error
