"""``POST /api/view``: a JPEG of an upload that any browser can show (the web page's stand-in for a HEIC or TIFF it
cannot), made without the model, under every limit of the other uploads: size, pixels, time, worker slots and the
memory budget (with its own estimate)."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from helpers import make_blob_image  # noqa: E402
from test_server_clients import read_answer, slow_upload_head, trickle  # noqa: E402
from test_server_memory import uvicorn_server, wait_until  # noqa: E402

from colorsplash.runtime.model.onnx_model import Model  # noqa: E402
from colorsplash.runtime.pictures.photo_io import decode_image_bytes  # noqa: E402
from colorsplash.server import app as server  # noqa: E402
from colorsplash.server import limits, upload, work  # noqa: E402

MAX_UPLOAD = 300_000
MAX_PIXELS = 100_000
BASE = "http://127.0.0.1:8000"
ORIENTATION = 0x0112


def no_model_run(*_: Any) -> np.ndarray:
    raise AssertionError("the model ran for a viewable copy")


@pytest.fixture()
def client(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(Model, "predict_lowres", no_model_run)
    app = server.create_app(tiny_onnx, max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS)
    with TestClient(app, base_url=BASE) as c:
        yield c


def gradient(height: int, width: int) -> np.ndarray:
    """Smooth (JPEG keeps it within a level or two) and different in every corner (a turn shows)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 200 // width, y * 200 // height, np.full_like(x, 90)]).astype(np.uint8)


def jpeg(image: np.ndarray, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def iphone_heic(rgb: np.ndarray) -> bytes:
    """``rgb`` as an iPhone saves it: HEIC, EXIF orientation 6 (shown turned a quarter clockwise), Display P3 by
    its nclx colour numbers (the reader makes an ICC profile of them)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    nclx = {"color_primaries": 12, "transfer_characteristics": 13, "matrix_coefficients": 6, "full_range_flag": 1}
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(buf, quality=95, exif=exif.tobytes(), nclx_profile=nclx)
    return buf.getvalue()


def assert_json_error(resp: httpx.Response, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert all(w in error for w in words), error


def test_a_heic_comes_back_as_an_upright_jpeg_with_its_colour_profile(client: TestClient) -> None:
    """The page asked /api/splash with effect=grey:0 for this: a model run (seconds on 12 MP), a busy slot, and the
    no-subject path for a pet-free photo. /api/view decodes and turns it as every upload is, runs no model (the
    fixture fails the test if it does), and answers a JPEG at full size with the profile a result would carry."""
    rgb = gradient(80, 120)  # 120 wide, 80 high; shown 80 wide, 120 high
    data = iphone_heic(rgb)
    resp = client.post("/api/view", files={"file": ("IMG_0001.HEIC", data, "image/heic")})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/jpeg" and resp.headers["cache-control"] == "no-store"
    assert "IMG_0001.view.jpg" in resp.headers["content-disposition"]
    assert "x-colorsplash-subject" not in resp.headers  # no model ran: nothing to say about a subject
    with Image.open(io.BytesIO(resp.content)) as img:
        assert img.format == "JPEG" and img.size == (80, 120)
        assert not img.getexif().get(ORIENTATION)  # upright pixels: nothing left for the browser to turn
        icc = img.info.get("icc_profile")
        shown = np.asarray(img.convert("RGB"), np.int16)
    assert icc and "Display P3" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    photo = decode_image_bytes(data, MAX_PIXELS, "IMG_0001.HEIC")
    assert icc == photo.icc  # the profile a splash of it carries
    assert np.abs(shown - photo.rgb).mean() < 2.0  # the photo itself, upright
    assert np.abs(shown - np.rot90(rgb, -1)).mean() < 8.0  # turned a quarter clockwise (P3 -> shown: not equal)


def test_a_jpeg_raw_body_comes_back_upright(client: TestClient) -> None:
    rgb = gradient(60, 100)
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    resp = client.post("/api/view", content=jpeg(rgb, exif=exif.tobytes()), headers={"Content-Type": "image/jpeg"})
    assert resp.status_code == 200, resp.text
    assert "upload.view.jpg" in resp.headers["content-disposition"]
    with Image.open(io.BytesIO(resp.content)) as img:
        assert img.size == (60, 100) and not img.getexif().get(ORIENTATION)
        shown = np.asarray(img, np.int16)
    assert np.abs(shown - np.rot90(rgb)).mean() < 2.0  # orientation 8: turned a quarter anticlockwise


def test_too_large_uploads_and_photos_get_413(client: TestClient) -> None:
    big = np.random.default_rng(0).integers(0, 256, (400, 400, 3), np.uint8)
    body = jpeg(big) * 2
    assert len(body) > MAX_UPLOAD
    assert_json_error(client.post("/api/view", content=body), 413, "upload limit", "--max-upload-mb")
    over = jpeg(np.zeros((400, 300, 3), np.uint8))  # 120,000 pixels
    assert_json_error(client.post("/api/view", content=over), 413, "pixel limit", "--max-pixels")


def test_what_is_not_a_picture_gets_415_and_an_option_422(client: TestClient) -> None:
    assert_json_error(client.post("/api/view", content=b"%PDF-1.7 not a photo"), 415)
    assert_json_error(client.post("/api/view", files={"other": (None, "x")}), 415, "no photo")
    ok = jpeg(make_blob_image(40, 40, seed=1)[0])
    resp = client.post("/api/view?effect=blur", content=ok)
    assert_json_error(resp, 422, "effect", "/api/view", "/api/splash")
    assert resp.json()["option"] == "effect"


def test_the_openapi_description_lists_view_without_options(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/api/view"]["post"]
    assert "parameters" not in op or op["parameters"] == []
    assert list(op["responses"]["200"]["content"]) == ["image/jpeg"]
    assert list(op["responses"]["200"]["headers"]) == ["X-Colorsplash-Notes"]  # no subject headers: no model ran
    assert {"408", "413", "415", "422", "503"} <= set(op["responses"])
    # It said of the body "options may be form fields too" (web audit 3), of an endpoint that refuses any.
    body = op["requestBody"]["description"]
    assert "options may be" not in body and "takes no options" in body, body


def test_a_slow_view_upload_is_answered_408(tiny_onnx: Path) -> None:
    app = server.create_app(tiny_onnx, upload_timeout_s=0.5)
    with uvicorn_server(app) as (port, _):
        slow, stop = socket.create_connection(("127.0.0.1", port)), threading.Event()
        slow.sendall(slow_upload_head(port, multipart=False, path="/api/view"))
        sender = threading.Thread(target=trickle, args=(slow, stop), daemon=True)
        sender.start()
        try:
            answer = read_answer(slow)
        finally:
            stop.set()
            sender.join(5)
            slow.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert "upload time limit of 0.5 s" in json.loads(body)["error"]


def test_a_view_holds_a_worker_slot_and_its_own_memory_estimate(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy is decoded in one of the ``workers`` slots (a 48 MP decode takes seconds of CPU: not on the event
    loop's threads beside them), holding ``pixels x VIEW_BYTES_PER_PIXEL + upload`` of the memory budget; with
    one worker a splash sent meanwhile waits for it."""
    entered, release = threading.Event(), threading.Event()

    def held_view(*args: Any) -> work.Result:
        entered.set()
        release.wait(10)
        return work.make_view(*args)

    monkeypatch.setattr(server, "make_view", held_view)
    app = server.create_app(tiny_onnx, max_pixels=60_000, max_upload_bytes=300_000, workers=1)
    view = jpeg(make_blob_image(200, 300, seed=1)[0])
    splash = jpeg(make_blob_image(100, 100, seed=2)[0])

    async def scenario() -> tuple[int, int, int, bool]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=30) as c:
            one = asyncio.create_task(c.post("/api/view", content=view))
            try:
                while not entered.is_set():
                    await asyncio.sleep(0.01)
                held = app.state.budget.state.used
                two = asyncio.create_task(c.post("/api/splash", content=splash))
                await asyncio.sleep(0.5)
                waited = not two.done()
            finally:
                release.set()
            return held, (await one).status_code, (await two).status_code, waited

    held, first, second, waited = asyncio.run(scenario())
    assert held == 60_000 * limits.VIEW_BYTES_PER_PIXEL + len(view) < limits.estimate_bytes(60_000, len(view))
    assert (first, second, waited) == (200, 200, True)
    assert wait_until(lambda: app.state.budget.state.used == 0, "the budget given back")


def test_view_bytes_per_pixel_covers_the_traced_peak_of_a_copy() -> None:
    """The part of a copy's peak that tracemalloc sees (NumPy/OpenCV arrays; ru_maxrss measured 10.5-19.2 B per
    counted pixel on 12 MP pictures, see ``colorsplash.server``) must fit its estimate."""
    side = (1500, 2000)
    rgba = np.dstack([make_blob_image(*side, seed=4)[0], np.full(side, 200, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, "PNG", compress_level=1)
    data = buf.getvalue()
    size = limits.photo_pixels(data)
    assert size is not None
    tracemalloc.start()
    try:
        work.make_view(upload.Upload(data, {}, "a.png"), 10**8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= limits.estimate_bytes(size.counted, len(data), limits.VIEW_BYTES_PER_PIXEL), peak / size.pixels


def test_a_palette_with_a_transparent_colour_counts_as_a_picture_with_alpha() -> None:
    """A palette PNG with a transparent colour is decoded through RGBA (its transparency kept, then flattened onto
    white), as an RGBA PNG is, but was counted as an opaque palette: a 12 MP one took 316 MB for a viewable copy
    whose estimate was 240 MB (1.3 times the budget it held). It now counts as RGBA, at admission and in the
    decoder's pixel limit."""
    from colorsplash.runtime.pictures.picture_open import probe_picture

    grey = np.arange(300 * 250, dtype=np.uint32).reshape(250, 300) % 200
    palette = Image.fromarray(grey.astype(np.uint8), "L").convert("P")
    with_transparency, opaque, rgba = io.BytesIO(), io.BytesIO(), io.BytesIO()
    palette.save(with_transparency, "PNG", transparency=0)
    palette.save(opaque, "PNG")
    palette.convert("RGBA").save(rgba, "PNG")
    sizes = [limits.photo_pixels(b.getvalue()) for b in (with_transparency, opaque, rgba)]
    assert sizes[1] == (75_000, 75_000)  # an opaque palette costs no more than RGB
    assert sizes[0] == sizes[2] and sizes[0] is not None and sizes[0].counted > 100_000
    costs = [probe_picture(b.getvalue(), "p.png").cost for b in (with_transparency, rgba)]
    assert costs[0] == costs[1]
