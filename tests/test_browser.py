"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright, against a live server.

Needs ``apt-get install -y chromium`` (not ``playwright install``). Skips, saying why, only when Chromium or
Playwright is missing. The README's screenshots come from :func:`test_readme_screenshots`::

    COLORSPLASH_SCREENSHOT_DIR=docs/img python -m pytest tests/test_browser.py -k readme   # bundled model
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import make_blob_image
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000  # generous: CI machines may be busy


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                   "(pip install playwright; no `playwright install` needed)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@contextmanager
def live_server(model: Path) -> Iterator[str]:
    """A live uvicorn server for ``model`` on a free loopback port, in a thread of this process."""
    uvicorn = pytest.importorskip("uvicorn")
    from colorsplash.server.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free port; the bound socket is handed to uvicorn
    srv = uvicorn.Server(uvicorn.Config(create_app(model), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def base_url(tiny_onnx: Path) -> Iterator[str]:
    with live_server(tiny_onnx) as url:
        yield url


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG larger than the page's preview size, so the preview and the full-size download differ."""
    image, _ = make_blob_image(1350, 1800, seed=5)
    path = tmp_path_factory.mktemp("photo") / "blob cat.jpg"
    Image.fromarray(image).save(path, quality=90)
    return path


def result_signature(page: Any) -> list[float]:
    """Mean R, G, B of the shown result (drawn into a canvas in the page)."""
    return page.evaluate("""() => {
        const img = document.getElementById('result');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const sum = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
        const n = d.length / 4;
        return sum.map((s) => s / n);
    }""")


def wait_for_result_after(page: Any, seq: int) -> int:
    page.wait_for_function(f"() => Number(document.getElementById('result').dataset.seq || 0) > {seq}",
                           timeout=TIMEOUT_MS)
    return int(page.get_attribute("#result", "data-seq"))


def open_page(browser: Any, base_url: str, model_name: str = "tiny-test",
              **context: Any) -> tuple[Any, Any, list[str], list[str]]:
    ctx = browser.new_context(accept_downloads=True, **context)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(base_url + "/")
    page.wait_for_function(f"() => document.getElementById('model-info').textContent.includes({model_name!r})")
    return ctx, page, requests, problems


def test_page_splash_controls_point_download(browser: Any, base_url: str, photo: Path, tmp_path: Path) -> None:
    ctx, page, requests, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    assert page.is_visible("#original") and page.is_visible("#result")
    preview = page.evaluate("() => [document.getElementById('result').naturalWidth, "
                            "document.getElementById('result').naturalHeight]")
    assert preview == [1600, 1200]  # the preview is scaled down; the download below is full size
    grey = result_signature(page)

    page.select_option("#effect", "sepia")  # a control: the result must change
    seq = wait_for_result_after(page, seq)
    sepia = result_signature(page)
    assert max(abs(a - b) for a, b in zip(grey, sepia, strict=True)) > 2, (grey, sepia)

    page.click("#original", position={"x": 200, "y": 150})  # choose the subject
    assert page.is_visible("#marker") and page.is_enabled("#clear-point")
    seq = wait_for_result_after(page, seq)
    assert "Could not" not in page.inner_text("#status")

    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "blob cat-splash.jpg"
    assert Image.open(saved).size == (1800, 1350)

    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert Image.open(shot).size[0] == 1280
    # Offline: every request went to this server (or to in-page blob/data URLs).
    assert all(u.startswith((base_url, "blob:", "data:")) for u in requests), requests
    assert not problems, problems
    ctx.close()


def test_page_fits_a_phone_and_reports_errors(browser: Any, base_url: str, photo: Path, tmp_path: Path) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 390, "height": 844},
                                       device_scale_factor=2, is_mobile=True, has_touch=True)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    boxes = [page.locator(sel).bounding_box() for sel in ("#original", "#result", "#download")]
    assert all(b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 390 + 0.5 for b in boxes), boxes
    shot = tmp_path / "serve-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert not problems, problems

    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a picture at all")
    with page.expect_response(lambda r: "/api/splash" in r.url) as answer:
        page.set_input_files("#file", str(bad))
    assert answer.value.status == 415
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert "could not make the splash" in page.inner_text("#status").lower()
    ctx.close()



@pytest.mark.skipif(not os.environ.get("COLORSPLASH_SCREENSHOT_DIR"),
                    reason="makes the README screenshots only when COLORSPLASH_SCREENSHOT_DIR is set")
def test_readme_screenshots(browser: Any) -> None:
    """serve.png (laptop) and serve-phone.png (phone) of the example photo with the default model."""
    from colorsplash.runtime.onnx_model import default_model_path, load_model

    model = default_model_path()
    if not model.is_file():
        pytest.skip(f"no model at {model}; set COLORSPLASH_MODEL")
    out_dir = Path(os.environ["COLORSPLASH_SCREENSHOT_DIR"])
    out_dir.mkdir(parents=True, exist_ok=True)
    photo = Path(__file__).resolve().parents[1] / "examples" / "chelsea.jpg"
    views = {"serve.png": {"viewport": {"width": 1280, "height": 800}},
             "serve-phone.png": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                                 "is_mobile": True, "has_touch": True}}
    with live_server(model) as url:
        for name, context in views.items():
            ctx, page, _, problems = open_page(browser, url, load_model(model).config.name, **context)
            page.set_input_files("#file", str(photo))
            wait_for_result_after(page, 0)
            page.screenshot(path=str(out_dir / name), full_page=True)
            assert not problems, problems
            ctx.close()
