"""The server's memory budget (``server/limits.py``): ``BYTES_PER_PIXEL`` against a splash's real peak memory, and
the admission of a photo beside one in flight by ``pixels x BYTES_PER_PIXEL + upload bytes``, to the byte."""

from __future__ import annotations

import asyncio
import io
import socket
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from helpers import make_blob_image  # noqa: E402

from colorsplash.runtime.api import load_model  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model  # noqa: E402
from colorsplash.server import app as server  # noqa: E402
from colorsplash.server import limits  # noqa: E402
from colorsplash.server.upload import Upload  # noqa: E402
from colorsplash.server.work import make_splash, parse_fields  # noqa: E402

BASE = "http://127.0.0.1:8000"
# tracemalloc sees the NumPy/OpenCV arrays of a splash, not the decoder's own buffers or the allocator's slack
# (ru_maxrss on 12 MP photos: 21-26 B/px where tracemalloc says 15-21): the constant must cover the traced peak,
# and may exceed it by this much at most before it refuses photos the memory would hold.
MOST_OVER_TRACED = 2.0
# 6 MP: on small photos working buffers of a fixed size (bounded by the number of workers, not by this budget)
# dominate the peak; from a few megapixels on the part that grows with the photo does.
SIDE = (2000, 3000)


def encode(image: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("effect", ["grey", "blur"])  # blur: the highest peak; grey: the usual one
def test_bytes_per_pixel_covers_the_peak_memory_of_a_splash(tiny_onnx: Path, effect: str) -> None:
    """Too low, the budget admits photos side by side that together overrun the memory; far too high, it refuses
    photos that would fit (and a --max-memory-mb that would do)."""
    model = load_model(tiny_onnx)
    data = encode(make_blob_image(*SIDE, seed=4)[0], "JPEG")
    options, fmt = parse_fields({"effect": effect})
    tracemalloc.start()
    try:
        make_splash(model, Upload(data, {}, "blob.jpg"), options, fmt, 10**8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pixels = SIDE[0] * SIDE[1]
    estimate = limits.estimate_bytes(pixels, len(data))
    assert peak <= estimate <= MOST_OVER_TRACED * peak, (effect, peak / pixels, limits.BYTES_PER_PIXEL)


class HeldSplash:
    """``make_splash`` of the app, holding the photo named ``first.png`` in the worker until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, model: Any, upload: Upload, *args: Any) -> Any:
        if upload.name == "first.png":
            self.entered.set()
            self.release.wait(10)
        return make_splash(model, upload, *args)


def second_photo_status(tiny_onnx: Path, first: bytes, second: bytes, budget: int, held: HeldSplash) -> list[int]:
    """Statuses of ``first`` (held in the worker) and ``second`` (sent meanwhile) under ``budget`` bytes."""
    app = server.create_app(
        tiny_onnx, max_pixels=60_000, max_upload_bytes=300_000, max_memory_bytes=budget, max_wait_s=0.3, workers=2
    )

    async def scenario() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=30) as c:
            one = asyncio.create_task(c.post("/api/splash", files={"file": ("first.png", first, "image/png")}))
            try:
                while not held.entered.is_set():
                    await asyncio.sleep(0.01)
                two = await c.post("/api/splash", files={"file": ("second.png", second, "image/png")})
            finally:
                held.release.set()
            return [(await one).status_code, two.status_code]

    return asyncio.run(scenario())


@pytest.mark.parametrize("short_by", [0, 1])
def test_a_photo_beside_one_in_flight_runs_when_its_estimate_fits_to_the_byte(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, short_by: int
) -> None:
    """Each photo costs ``pixels x BYTES_PER_PIXEL`` (from its header) plus its upload: a budget of exactly both
    runs the second at once; one byte less makes it wait, then 503."""
    held = HeldSplash()
    monkeypatch.setattr(server, "make_splash", held)
    first = encode(make_blob_image(200, 300, seed=1)[0], "PNG")  # 60,000 pixels: the pixel limit
    second = encode(make_blob_image(150, 200, seed=2)[0], "PNG")
    need = (60_000 + 30_000) * limits.BYTES_PER_PIXEL + len(first) + len(second)
    statuses = second_photo_status(tiny_onnx, first, second, need - short_by, held)
    assert statuses == ([200, 200] if short_by == 0 else [200, 503]), statuses


def test_transparent_and_16_bit_photos_count_as_more_pixels_at_admission(tiny_onnx: Path) -> None:
    """The decoder holds a picture with transparency or 16-bit colour to the pixel limit as more pixels (it
    takes more memory); the server's admission counts it the same way: the estimate grows with the mode, and a
    photo the decoder would refuse is refused at once with a 413 that says why, not after waiting for memory."""
    rgb = encode(np.zeros((250, 300, 3), np.uint8), "PNG")
    rgba = encode(np.zeros((250, 300, 4), np.uint8), "PNG")
    deep = encode(np.zeros((250, 300), np.uint16), "PNG")
    sizes = {name: limits.photo_pixels(data) for name, data in (("rgb", rgb), ("rgba", rgba), ("deep", deep))}
    assert sizes["rgb"] == (75_000, 75_000)
    assert sizes["rgba"] is not None and sizes["rgba"].pixels == 75_000 and sizes["rgba"].counted > 100_000
    assert sizes["deep"] is not None and 75_000 < sizes["deep"].counted < sizes["rgba"].counted
    app = server.create_app(tiny_onnx, max_pixels=100_000)

    async def post(data: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.post("/api/splash", content=data)

    assert asyncio.run(post(rgb)).status_code == 200
    refused = asyncio.run(post(rgba))
    assert refused.status_code == 413 and "with its transparency or depth it counts as" in refused.json()["error"]


def test_the_budget_is_all_given_back_after_every_kind_of_answer(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server runs for weeks: a request that holds part of the memory budget must give it all back however it
    ends (result, unreadable photo, no subject with skip, an internal error, refusals, an upload cut off), or
    the budget shrinks request by request until every photo gets 503."""

    def red_is_subject(self: Model, image: np.ndarray) -> np.ndarray:  # the blobs found, a black photo empty
        red = (image[..., 0].astype(np.int16) - image[..., 2] > 100).astype(np.float32)
        return cv2.resize(red, (self.config.input_size,) * 2, interpolation=cv2.INTER_AREA)

    monkeypatch.setattr(Model, "predict_lowres", red_is_subject)
    app = server.create_app(tiny_onnx, max_pixels=60_000, max_upload_bytes=300_000)
    budget = app.state.budget
    photo = encode(make_blob_image(120, 160, seed=3)[0], "PNG")
    rgba = encode(np.zeros((60, 80, 4), np.uint8), "PNG")
    requests: list[tuple[str, dict[str, Any], int]] = [
        ("/api/splash", {"content": photo}, 200),
        ("/api/mask", {"files": {"file": ("a.png", photo, "image/png")}}, 200),
        ("/api/splash?effect=transparent&format=webp", {"content": rgba}, 200),
        ("/api/splash?on-empty=skip", {"content": encode(np.zeros((60, 80, 3), np.uint8), "PNG")}, 422),
        ("/api/splash", {"content": b"not a picture" * 20}, 415),
        ("/api/splash", {"content": photo[: len(photo) // 2]}, 415),  # header read, decoding fails
        ("/api/splash", {"content": encode(np.zeros((300, 300, 3), np.uint8), "PNG")}, 413),
        ("/api/splash?no-such-option=1", {"content": photo}, 422),
        ("/api/splash", {"content": b"x" * 300_001}, 413),
    ]

    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise KeyError("internal")

    async def scenario() -> list[tuple[int, int, int]]:
        seen = []
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
            for path, body, _ in requests:
                resp = await c.post(path, **body)
                seen.append((resp.status_code, budget.state.used, budget.state.waiting))
            with monkeypatch.context() as m:
                m.setattr(server, "make_splash", broken)
                resp = await c.post("/api/splash", content=photo)
                seen.append((resp.status_code, budget.state.used, budget.state.waiting))
        return seen

    seen = asyncio.run(scenario())
    assert seen == [(status, 0, 0) for *_, status in requests] + [(500, 0, 0)]


@contextmanager
def uvicorn_server(app: Any, **options: Any) -> Iterator[tuple[int, Any]]:
    """(port, ``uvicorn.Server``) of ``app`` served on a free loopback port in a thread; ``options`` go to
    ``uvicorn.Config`` (``serve``'s: ``connections.uvicorn_options``)."""
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", **options))
    exits: list[object] = []

    def run() -> None:
        try:
            srv.run(sockets=[sock])
        except SystemExit as stop:  # uvicorn exits when its start-up fails: kept for the message, not a warning
            exits.append(stop.code)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_until(lambda: srv.started or not thread.is_alive(), "uvicorn to start")
    if not srv.started:  # not a connection error later, in the test
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()
        status = f", uvicorn's exit status {exits[0]}" if exits else ""
        why = f"its thread ended (see the log above{status})" if not thread.is_alive() else "within 10 s"
        pytest.fail(f"the test's uvicorn server did not start: {why}")
    try:
        yield sock.getsockname()[1], srv
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_uvicorn_server_fails_clearly_when_the_server_does_not_start() -> None:
    """A server whose start-up fails (here its app's lifespan) fails the test there, at once, saying so; it yielded
    its port anyway, and the test failed later with a connection error that did not say why."""

    async def failing_start(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "refused to start"})

    started = time.monotonic()
    with (
        pytest.raises(pytest.fail.Exception, match="did not start: its thread ended"),
        uvicorn_server(failing_start, lifespan="on"),
    ):
        pass
    assert time.monotonic() - started < 5


def wait_until(condition: Any, what: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("leaves", [True, False])
def test_a_photo_whose_client_left_while_it_waited_is_dropped_before_its_model_run(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, leaves: bool
) -> None:
    """A reloaded page or a client that timed out leaves its photo queued behind others; when its turn comes it
    is dropped without being decoded or splashed (one log line) and its budget is given back, so a burst of them
    does not delay the clients still there. A client still there gets its splash. Over uvicorn itself: it stops
    reading a connection while more than 64 KB of its body wait to be read by the app, and after a large photo's
    last read it stays stopped, so a hang-up is not seen until the app asks. The limit is set to 1 byte here so
    that every upload the app waits for ends that way (a real one does when its last read passes 64 KB)."""
    uvicorn_auto = pytest.importorskip("uvicorn.protocols.http.auto")
    protocol = sys.modules[uvicorn_auto.AutoHTTPProtocol.__module__]
    monkeypatch.setattr(protocol, "HIGH_WATER_LIMIT", 1)
    held = HeldSplash()
    ran: list[str] = []
    monkeypatch.setattr(server, "make_splash", lambda m, up, *a: ran.append(up.name) or held(m, up, *a))
    app = server.create_app(tiny_onnx, max_pixels=60_000, max_upload_bytes=300_000, workers=1)
    budget = app.state.budget
    first = encode(make_blob_image(100, 150, seed=1)[0], "PNG")
    noise = np.random.default_rng(2).integers(0, 256, (120, 160, 3), np.uint8)
    second = encode(noise, "PNG")
    with caplog.at_level("INFO", logger="colorsplash.server"), uvicorn_server(app) as (port, srv):
        answers: list[httpx.Response] = []
        url = f"http://127.0.0.1:{port}/api/splash"
        files = {"file": ("first.png", first, "image/png")}
        one = threading.Thread(target=lambda: answers.append(httpx.post(url, files=files, timeout=30)))
        one.start()
        assert wait_until(held.entered.is_set, "the first photo in the worker")
        held_alone = budget.state.used
        client = socket.create_connection(("127.0.0.1", port))
        head = f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(second)}\r\n"
        client.sendall(f"{head}Expect: 100-continue\r\n\r\n".encode())  # as curl sends photos over 1 MB
        assert client.recv(100).startswith(b"HTTP/1.1 100")  # the app reads the body: sent now, it is read last
        client.sendall(second)
        assert wait_until(lambda: budget.state.used + budget.state.waiting > held_alone, "the second photo waiting")
        if leaves:
            client.close()
            wait_until(lambda: len(srv.server_state.connections) == 1, "the hang-up seen")  # not without the fix
        held.release.set()
        one.join(30)
        reply = b"" if leaves else client.recv(100)
        client.close()
        assert wait_until(lambda: budget.state.used == budget.state.waiting == 0, "the budget given back")
    assert answers[0].status_code == 200
    dropped = [r.getMessage() for r in caplog.records if "before the model run" in r.getMessage()]
    assert all(r.levelname == "INFO" for r in caplog.records if "before the model run" in r.getMessage())
    if leaves:
        assert ran == ["first.png"]
        assert dropped == [
            "POST /api/splash: the client disconnected before its photo (upload) had its turn; "
            "dropped it before the model run"
        ]
    else:
        assert ran == ["first.png", "upload"] and reply.startswith(b"HTTP/1.1 200") and not dropped
