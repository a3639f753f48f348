"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright, against a live server.

Needs ``apt-get install -y chromium`` (not ``playwright install``). Skips, saying why, only when Chromium or
Playwright is missing (CI installs both, so there they always run). The README's screenshots are made by
``scripts/readme_screenshots.py``, not by a test.
"""

from __future__ import annotations

import base64
import http.server
import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

from colorsplash.runtime.model.onnx_model import Model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
REBIND_HOST = "evil.example"  # resolves to 127.0.0.1 in this browser: a DNS-rebinding attacker's name
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    f"--host-resolver-rules=MAP {REBIND_HOST} 127.0.0.1",
]
TIMEOUT_MS = 60_000  # generous: CI machines may be busy
DESK = {"viewport": {"width": 1280, "height": 860}}  # a desktop window, for open_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright; no `playwright install` needed)",
    )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@contextmanager
def live_server(model: Path, **settings: Any) -> Iterator[str]:
    """A live uvicorn server for ``model`` (``settings``: server settings changed) on a free loopback port."""
    uvicorn = pytest.importorskip("uvicorn")
    from colorsplash.server.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free port; the bound socket is handed to uvicorn
    srv = uvicorn.Server(uvicorn.Config(create_app(model, **settings), log_level="warning"))
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
    page.wait_for_function(
        f"() => Number(document.getElementById('result').dataset.seq || 0) > {seq}", timeout=TIMEOUT_MS
    )
    return int(page.get_attribute("#result", "data-seq"))


def open_page(
    browser: Any, base_url: str, model_name: str = "tiny-test", **context: Any
) -> tuple[Any, Any, list[str], list[str]]:
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
    preview = page.evaluate(
        "() => [document.getElementById('result').naturalWidth, document.getElementById('result').naturalHeight]"
    )
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
    assert saved.name == "blob cat.splash.jpg"  # named as the CLI names its output
    assert Image.open(saved).size == (1800, 1350)

    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert Image.open(shot).size[0] == 1280
    # Offline: every request went to this server (or to in-page blob/data URLs).
    assert all(u.startswith((base_url, "blob:", "data:")) for u in requests), requests
    assert not problems, problems
    ctx.close()


def test_page_fits_a_phone_and_reports_errors(browser: Any, base_url: str, photo: Path, tmp_path: Path) -> None:
    ctx, page, _, problems = open_page(
        browser, base_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    boxes = [page.locator(sel).bounding_box() for sel in ("#original", "#result", "#download")]
    assert all(b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 390 + 0.5 for b in boxes), boxes
    assert "tap the subject" in page.inner_text("#point-hint")  # touch screens: "tap", not "click"
    assert not page.is_visible("#point-keys")
    shot = tmp_path / "serve-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert not problems, problems

    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a picture at all")
    with page.expect_response(lambda r: "/api/view" in r.url) as answer:  # the browser cannot show it: its copy
        page.set_input_files("#file", str(bad))
    assert answer.value.status == 415
    # Back to the drop zone with a notice on screen, not an editor with broken pictures.
    page.wait_for_selector("#open-error", state="visible")
    assert "isn't a photo" in page.inner_text("#open-error") and not page.is_visible("#workspace")
    assert in_viewport(page, "#open-error", 844)
    held: list[Any] = []  # its splash held: a test paused (a loaded machine) could see it arrive, and zoom enabled
    page.route("**/api/splash*", lambda route: held.append(route))
    page.set_input_files("#file", str(photo))
    assert page.is_disabled("#zoom")  # nothing left over from the earlier photo
    ctx.close()


def expose_state(page: Any) -> None:
    """The page's ``state`` as ``window.state`` for a test's expressions: the page's script is ES modules, so it is
    no global; importing its module gives the very object the page uses (one module instance per address)."""
    page.evaluate("async () => { window.state = (await import(new URL('static/state.js', document.baseURI))).state; }")


def splash_requests(page: Any, endpoint: str = "/api/splash") -> list[str]:
    """Query strings of the page's requests to ``endpoint``, recorded from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url.split("?", 1)[-1]) if endpoint in r.url else None)
    return seen


def next_splash_query(page: Any, act: Callable[[], object]) -> str:
    """The query string of the first /api/splash request the page sends once ``act()`` ran, waited for: a slider's
    comes after the page's debounce, which a fixed sleep (0.6 s) only guessed (a renderer starved 0.8 s by a loaded
    machine failed the test)."""
    with page.expect_request(lambda r: "/api/splash" in r.url) as request:
        act()
    return str(request.value.url.split("?", 1)[-1])


def test_before_after_toggle_and_100_percent_view(browser: Any, base_url: str, photo: Path) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    assert not page.is_visible("#before")
    page.click("#compare")
    assert page.get_attribute("#compare", "aria-pressed") == "true" and page.is_visible("#before")
    before, result = (page.locator(sel).bounding_box() for sel in ("#before", "#result"))
    assert before == result  # the original lies exactly over the splash
    page.click("#compare")
    assert not page.is_visible("#before")

    page.click("#zoom")  # 100 %: the full-size splash, one photo pixel per CSS pixel, in a scrolled frame
    assert page.get_attribute("#zoom", "aria-pressed") == "true"
    page.wait_for_function(  # the splash, not the photo shown while it is made
        "() => { const f = document.getElementById('full'); return f.naturalWidth === 1800 && !f.className; }"
    )
    assert page.is_visible("#full-frame") and not page.is_visible("#result-frame")
    box = page.locator("#full").bounding_box()
    assert box is not None and round(box["width"]) == 1800
    assert page.evaluate("() => document.getElementById('full-frame').scrollLeft") > 0  # centred, not top-left
    page.click("#zoom")
    assert page.is_visible("#result-frame") and not page.is_visible("#full-frame")
    assert not problems, problems
    ctx.close()


def test_keyboard_chooses_the_subject_point(browser: Any, base_url: str, photo: Path) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    sent = splash_requests(page)
    assert "click" in page.inner_text("#point-hint") and page.is_visible("#point-keys")
    for _ in range(20):  # Tab reaches the photo (no mouse)
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "picker":
            break
    assert page.evaluate("() => document.activeElement.id") == "picker"
    assert page.is_visible("#cursor")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    seq = wait_for_result_after(page, seq)
    assert page.is_visible("#marker") and page.is_enabled("#clear-point")
    point = [q for q in sent if "point=" in q][-1]
    x, y = (int(v) for v in re.search(r"point=(\d+)%2C(\d+)", point).groups())  # type: ignore[union-attr]
    assert (x, y) == (int(0.4 * 1600), int(0.48 * 1200))  # the preview is 1600x1200
    page.keyboard.press("Escape")
    wait_for_result_after(page, seq)
    assert not page.is_visible("#marker") and "point=" not in sent[-1]
    assert not problems, problems
    ctx.close()


def test_controls_have_names_and_reach_the_server(browser: Any, base_url: str, photo: Path) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    ctx, page, _, _ = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    for name in ("Feather", "Threshold", "Effect strength"):
        expect(page.get_by_role("slider", name=re.compile(name))).to_have_count(1)
    for control in page.locator("#workspace input, #workspace select, #workspace button").all():
        if control.is_visible():
            expect(control).to_have_accessible_name(re.compile(r"\w"))
    sent = splash_requests(page)
    page.check("#hard")
    seq = wait_for_result_after(page, seq)
    page.uncheck("#refine")
    seq = wait_for_result_after(page, seq)
    page.select_option("#on-empty", "copy")
    seq = wait_for_result_after(page, seq)
    assert all(f in sent[-1] for f in ("hard=true", "refine=false", "on-empty=copy")), sent[-1]

    # Effect strength: the slider builds the effect names the CLI uses (grey:AMOUNT, blur:RADIUS, color:#RRGGBBAA).
    page.focus("#strength")
    query = next_splash_query(page, lambda: page.keyboard.press("ArrowLeft"))
    assert page.inner_text("#strength-out") == "95 %"
    assert "effect=grey%3A0.95" in query, query
    next_splash_query(page, lambda: page.select_option("#effect", "blur"))  # sent at once: not the slider's
    assert page.input_value("#strength") == "0" and page.inner_text("#strength-out") == "auto"
    page.focus("#strength")
    query = next_splash_query(page, lambda: page.keyboard.press("ArrowRight"))
    assert re.search(r"effect=blur%3A0\.89(&|$)", query), query  # 1 px of the photo at the preview's scale
    next_splash_query(page, lambda: page.select_option("#effect", "color"))
    expect(page.locator("#color")).to_have_accessible_name("Background colour")
    page.focus("#strength")
    query = next_splash_query(page, lambda: page.keyboard.press("ArrowLeft"))
    assert "effect=color%3A%231e90fff2" in query, query
    page.select_option("#effect", "sepia")
    assert not page.is_visible("#strength")
    ctx.close()


def test_no_subject_shows_a_notice(browser: Any, base_url: str, photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: np.zeros((64, 64), np.float32))
    ctx, page, _, _ = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    assert page.is_visible("#notice")
    text = page.inner_text("#notice")
    # In the model's own word, as the CLI and the HTTP API say it (it said "No subject" for every model).
    assert "No blob found in this photo" in text and "background effect" in text and "score 0.00" in text
    # The threshold is off: no advice about it.
    assert "Click the blob to colour it anyway" in text and "threshold" not in text
    page.check("#invert")  # all of the photo is background, which Invert keeps in colour (it said "background effect")
    seq = wait_for_result_after(page, seq)
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('all of it is background')")
    page.uncheck("#invert")
    seq = wait_for_result_after(page, seq)
    page.select_option("#on-empty", "copy")
    wait_for_result_after(page, seq)
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('unchanged')")
    page.select_option("#on-empty", "skip")
    page.wait_for_function("() => document.getElementById('status').classList.contains('error')")
    assert "nothing was made" in page.inner_text("#notice")
    monkeypatch.undo()
    page.select_option("#on-empty", "grey")
    wait_for_result_after(page, seq)
    page.wait_for_function("() => document.getElementById('notice').hidden")
    ctx.close()


def test_api_docs_fit_a_phone_without_placeholders(browser: Any, base_url: str) -> None:
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base_url + "/docs")
    page.wait_for_selector("section.endpoint table")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    too_wide = page.evaluate("""() => [...document.querySelectorAll('section.endpoint, table')]
        .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.outerHTML.slice(0, 80))""")
    assert not too_wide, too_wide
    text = page.inner_text("#endpoints")
    assert not re.search(r"\((P|MODE|Q|PX|EFFECT|X,Y)\)", text), text
    mask = page.locator("section.endpoint", has_text="/api/mask").inner_text()
    assert "effect" not in mask.split("Body")[0] and "quality" not in mask and "255 marks the background" in mask
    ctx.close()


# -------------------------------------------------------------------- other pages must not use the server (8)


def tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(make_blob_image(40, 40)[0]).save(buf, "PNG")
    return buf.getvalue()


ATTACK_FETCH = """<!doctype html><title>evil</title><script>
const png = Uint8Array.from(atob("{png}"), (c) => c.charCodeAt(0));
fetch("{target}/api/splash", {{method: "POST", mode: "no-cors", body: png, headers: {{"Content-Type": "text/plain"}}}})
  .then(() => {{ document.title = "sent"; }}, () => {{ document.title = "sent"; }});
</script>"""
ATTACK_FORM = """<!doctype html><title>evil form</title>
<form method="post" action="{target}/api/splash" enctype="text/plain"><input name="x" value="y"></form>
<script>document.forms[0].submit();</script>"""


@contextmanager
def attacker_site(target: str) -> Iterator[str]:
    """Another web site on another port of this computer, serving pages that post to ``target``."""
    pages = {
        "/fetch.html": ATTACK_FETCH.format(png=base64.b64encode(tiny_png()).decode(), target=target),
        "/form.html": ATTACK_FORM.format(target=target),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture()
def work_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from colorsplash.server import app as server_app

    calls: list[int] = []
    real = server_app.make_splash
    monkeypatch.setattr(server_app, "make_splash", lambda *a: calls.append(1) or real(*a))
    return calls


def test_pages_of_other_origins_cannot_use_the_server(browser: Any, base_url: str, work_count: list[int]) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    with attacker_site(base_url) as evil:
        # fetch() with text/plain: no CORS preflight, the browser sends it; the server must refuse it.
        with page.expect_response(lambda r: "/api/splash" in r.url) as answer:
            page.goto(evil + "/fetch.html")
        assert answer.value.status == 403
        # A plain HTML form (text/plain) posted by the other site's page.
        with page.expect_response(lambda r: "/api/splash" in r.url) as answer:
            page.goto(evil + "/form.html")
        assert answer.value.status == 403
    assert work_count == []  # nothing reached the model

    # DNS rebinding: evil.example now resolves to this server; the page would be "same origin" with it.
    port = base_url.rsplit(":", 1)[1]
    response = page.goto(f"http://{REBIND_HOST}:{port}/")
    assert response is not None and response.status == 400
    # The server's 400 answer may run no script ("default-src 'none'; sandbox"); the attacker's page, served by
    # the attacker before the name was rebound, sends its requests with Host evil.example: refused too.
    assert "sandbox" in response.headers["content-security-policy"]
    answer = ctx.request.post(base_url + "/api/splash", data="x", headers={"Host": f"{REBIND_HOST}:{port}"})
    assert answer.status == 400 and work_count == []
    # The server's own page still works from its own origin (and localhost is another name for it).
    for url in (base_url + "/", base_url.replace("127.0.0.1", "localhost") + "/"):
        response = page.goto(url)
        assert response is not None and response.status == 200
        status = page.evaluate("""async () => (await fetch('api/splash', {method: 'POST', body: 'x',
            headers: {'Content-Type': 'text/plain'}})).status""")
        assert status == 415  # reached the server (and was not a picture)
    ctx.close()


# -------------------------------------------------------------------- races, limits, errors (web audit)

# Delays the first canvas.toBlob (the making of the first photo's preview copy) by 2 s, as on a slow phone.
SLOW_FIRST_PREVIEW = """(() => {
    const real = HTMLCanvasElement.prototype.toBlob;
    let first = true;
    HTMLCanvasElement.prototype.toBlob = function (cb, ...rest) {
        const delay = first ? 2000 : 0;
        first = false;
        real.call(this, (blob) => setTimeout(() => cb(blob), delay), ...rest);
    };
})()"""


def small_photo(tmp_path: Path, name: str = "small.png", size: tuple[int, int] = (300, 400)) -> Path:
    path = tmp_path / name
    Image.fromarray(make_blob_image(*size, seed=2)[0]).save(path)
    return path


def test_a_second_photo_picked_while_the_first_loads_wins(
    browser: Any, base_url: str, photo: Path, tmp_path: Path
) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.add_init_script(SLOW_FIRST_PREVIEW)
    page.reload()
    page.set_input_files("#file", str(photo))  # large: its preview copy is slow
    page.wait_for_timeout(300)
    page.set_input_files("#file", str(small_photo(tmp_path)))  # 400x300: sent as it is
    wait_for_result_after(page, 0)
    page.wait_for_timeout(2500)  # the first photo's preview copy is ready by now
    expose_state(page)
    size = page.evaluate("() => [document.getElementById('result').naturalWidth, state.width, state.scale]")
    assert size == [400, 400, 1], size
    assert "400×300" in page.inner_text("#status")
    assert not problems, problems
    ctx.close()


# Holds back full-size blur requests (feather=10 exactly: previews send it scaled) by 3 s, as a slow server would.
SLOW_FULL_BLUR = """(() => {
    const real = window.fetch;
    window.fetch = async (url, ...rest) => {
        if (String(url).includes("effect=blur&feather=10&")) await new Promise((r) => setTimeout(r, 3000));
        return real(url, ...rest);
    };
})()"""


def test_100_percent_view_drops_answers_for_older_settings(browser: Any, base_url: str, photo: Path) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.add_init_script(SLOW_FULL_BLUR)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    page.evaluate(
        "() => { const f = document.getElementById('feather'); f.value = '10'; f.dispatchEvent(new Event('input')); }"
    )
    seq = wait_for_result_after(page, seq)
    page.click("#zoom")
    page.wait_for_function(
        "() => { const f = document.getElementById('full'); return f.naturalWidth && !f.className; }"
    )
    page.select_option("#effect", "blur")  # its full-size answer comes 3 s late
    seq = wait_for_result_after(page, seq)
    page.select_option("#effect", "sepia")
    wait_for_result_after(page, seq)
    expose_state(page)
    page.wait_for_function("() => state.full && state.full.key.startsWith('effect=sepia')")
    page.wait_for_timeout(3500)  # the blur answer has arrived by now
    shown = page.evaluate(
        "() => [state.full.key.split('&')[0], document.getElementById('full').src === state.full.url]"
    )
    assert shown == ["effect=sepia", True], shown
    assert page.input_value("#effect") == "sepia"
    assert not problems, problems
    ctx.close()


def in_viewport(page: Any, selector: str, height: int) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_empty_file_says_so_and_stays_on_the_drop_zone(browser: Any, base_url: str, tmp_path: Path) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    page.set_input_files("#file", str(empty))
    page.wait_for_selector("#open-error", state="visible")
    assert "is empty" in page.inner_text("#open-error")
    assert page.is_visible("#drop") and not page.is_visible("#workspace")
    assert not problems, problems
    ctx.close()


def test_photo_over_the_pixel_limit_is_flagged_when_opened(browser: Any, tiny_onnx: Path, photo: Path) -> None:
    with live_server(tiny_onnx, max_pixels=2_000_000) as url:  # the photo has 2.43 MP
        ctx, page, _, problems = open_page(browser, url, viewport={"width": 1280, "height": 860})
        page.set_input_files("#file", str(photo))
        wait_for_result_after(page, 0)  # the preview (a 1.9 MP copy) still works
        note = page.inner_text("#limit-note")
        assert "2.4 megapixels" in note and "up to 2 megapixels" in note and "download" in note, note
        assert "--max" not in note
        assert page.is_disabled("#download") and page.is_disabled("#zoom")
        assert not problems, problems
        ctx.close()


def test_phone_no_subject_error_is_on_screen_and_clears_the_result(
    browser: Any, base_url: str, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: np.zeros((64, 64), np.float32))
    ctx, page, _, _ = open_page(
        browser, base_url, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    page.wait_for_selector("#notice", state="visible")
    page.locator("#on-empty").scroll_into_view_if_needed()  # the controls lie below the photos on a phone
    page.select_option("#on-empty", "skip")
    page.wait_for_function("() => document.getElementById('notice').textContent.includes('nothing was made')")
    page.wait_for_timeout(300)
    assert in_viewport(page, "#notice", 844)
    assert not page.is_visible("#result") and page.is_disabled("#download")
    ctx.close()


def test_b_key_toggles_before_after_and_a_click_shows_no_keyboard_ring(
    browser: Any, base_url: str, photo: Path
) -> None:
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    page.click("#original", position={"x": 200, "y": 150})
    assert page.is_visible("#marker") and not page.is_visible("#cursor")  # no stray ring after a click
    wait_for_result_after(page, seq)
    page.keyboard.press("b")
    assert page.get_attribute("#compare", "aria-pressed") == "true" and page.is_visible("#before")
    page.keyboard.press("b")
    assert page.get_attribute("#compare", "aria-pressed") == "false"
    page.focus("#effect")  # typing in a field: B is not a shortcut there
    page.keyboard.press("b")
    assert page.get_attribute("#compare", "aria-pressed") == "false"
    assert not problems, problems
    ctx.close()


def test_filled_buttons_have_readable_text(browser: Any, base_url: str, photo: Path) -> None:
    """White on the orange accent read 3.8:1, under WCAG AA's 4.5:1 for text of this size (web audit)."""
    ctx, page, _, _ = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    colours = page.eval_on_selector(
        "#download", "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
    )

    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(c) for c in colours), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5, colours
    ctx.close()


def test_a_busy_server_is_tried_again_and_said_in_plain_words(browser: Any, base_url: str, photo: Path) -> None:
    """A 503 failed at once with the operator's message ("start the server with a larger --max-memory-mb") and
    never retried (web audit): the page waits as Retry-After says and tries again, and says so."""
    ctx, page, _, _ = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    busy = {"left": 1}

    def answer(route: Any) -> None:
        if route.request.method == "POST" and busy["left"] > 0:
            busy["left"] -= 1
            route.fulfill(status=503, headers={"Retry-After": "1"}, body='{"error": "memory budget full"}')
        else:
            route.continue_()

    page.route("**/api/splash*", answer)
    page.set_input_files("#file", str(photo))
    page.wait_for_function("() => document.getElementById('status').textContent.includes('busy')")
    wait_for_result_after(page, 0)  # the second try made the splash
    assert busy["left"] == 0 and page.is_enabled("#download")
    busy["left"] = 100  # busy for good: a message in the person's words, not the operator's
    page.select_option("#effect", "sepia")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('Could not')", timeout=30_000)
    status = page.inner_text("#status")
    assert "busy with other photos" in status and "max-memory" not in status
    ctx.close()


def test_a_pasted_picture_opens_like_a_dropped_one(browser: Any, base_url: str, photo: Path) -> None:
    """Pasting a picture did nothing (web audit)."""
    import base64

    ctx, page, _, _ = open_page(browser, base_url, viewport={"width": 1280, "height": 860})
    data = base64.b64encode(photo.read_bytes()).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const clip = new DataTransfer();
            clip.items.add(new File([bytes], "pasted.jpg", { type: "image/jpeg" }));
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: clip, bubbles: true }));
        }""",
        data,
    )
    wait_for_result_after(page, 0)
    assert page.is_visible("#workspace") and page.is_enabled("#download")
    ctx.close()
