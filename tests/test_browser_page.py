"""The web page as a demanding user meets it (second web audit): waiting for the first preview, the header, ...

Same browser and server as ``test_browser.py`` (its fixtures and helpers); each test stays under ~10 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_browser import (  # noqa: F401 (fixtures)
    DESK,
    SLOW_FIRST_PREVIEW,
    base_url,
    browser,
    expose_state,
    live_server,
    open_page,
    photo,
    splash_requests,
    wait_for_result_after,
)

from colorsplash.runtime.no_subject import gate_text
from colorsplash.server import app as server_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def held_fetch(match: str, release: str, seen: str = "") -> str:
    """A page script holding the requests whose address contains ``match`` until the test calls
    ``window.<release>()``, as a slow server or upload would; with ``seen``, ``window.<seen>`` turns true when one
    is held."""
    mark = f"window.{seen} = true; " if seen else ""
    return f"""(() => {{
    const real = window.fetch;
    let open;
    const gate = new Promise((resolve) => {{ open = resolve; }});
    window.{release} = () => open();
    {f"window.{seen} = false;" if seen else ""}
    window.fetch = async (url, ...rest) => {{
        if (String(url).includes({match!r})) {{ {mark}await gate; }}
        return real(url, ...rest);
    }};
}})()"""


HELD_SPLASH = held_fetch("api/splash", "releaseSplash")


def test_while_the_first_preview_is_made_the_splash_pane_shows_the_photo(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """The Splash pane showed a spinner over an empty box (before that, a broken-image icon) while the first
    preview was made (web audit): now the photo itself, faded, until its splash arrives."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(HELD_SPLASH)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#busy", state="visible")
    page.wait_for_function("() => document.getElementById('result').complete")
    shown = page.evaluate("""() => { const r = document.getElementById('result');
        const same = r.src === document.getElementById('original').src;
        return [same, r.naturalWidth, r.classList.contains('pending')]; }""")
    assert page.is_visible("#result") and shown == [True, 1800, True], shown
    # Washed out, not see-through: the checkerboard behind it would make the photo look like a cut-out.
    assert page.eval_on_selector("#result", "r => getComputedStyle(r).opacity") == "1"
    page.evaluate("() => window.releaseSplash()")
    wait_for_result_after(page, 0)
    assert page.get_attribute("#result", "alt") == "Colour splash result"
    assert page.evaluate("() => document.getElementById('result').className") == ""
    assert not problems, problems
    ctx.close()


def test_header_says_what_the_model_does(browser: Any, base_url: str) -> None:  # noqa: F811
    """The header showed "model: colorsplash-pets-lite1 (pet, 384px)" (web audit): now the server's plain
    description, with the internal name in the tooltip."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    assert page.inner_text("#model-info") == "Blob model — tiny-test"
    assert "tiny-test" in (page.get_attribute("#model-info", "title") or "")
    assert not problems, problems
    ctx.close()


def test_the_no_subject_notice_rounds_the_score_down(browser: Any, base_url: str) -> None:  # noqa: F811
    """Audit (custom subject 2): the header's score 0.4994 (under the threshold 0.5) read "subject score 0.50"."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.wait_for_function("document.getElementById('model-info').textContent.includes('Blob')")
    page.evaluate(
        "async () => (await import(new URL('static/words.js', document.baseURI))).showNotice('none', '0.4994')"
    )
    # ... and gives the model's threshold, as the CLI's line does (leftovers 5: "0.29" said not against what)
    assert "No blob found in this photo (subject score 0.49, under the model's 0.50)," in page.inner_text("#notice")
    near = """async ([score, threshold]) => {
        (await import(new URL('static/state.js', document.baseURI))).state.subjectThreshold = threshold;
        (await import(new URL('static/words.js', document.baseURI))).showNotice('none', score);
    }"""
    page.evaluate(near, ["0.652", 0.6554253])
    assert "(subject score 0.65, under the model's 0.66)," in page.inner_text("#notice")
    page.evaluate(near, ["0.656", 0.6554253])  # passed the score, left empty by the cut-off
    assert "(subject score 0.656, passing the model's 0.655)," in page.inner_text("#notice")
    for score, threshold in (("0.61", 0.625), ("0.9", 0.875), ("0.562", 0.5625)):  # halves: as the CLI rounds them
        page.evaluate(near, [score, threshold])
        assert f"({gate_text(float(score), threshold)})," in page.inner_text("#notice")
    page.evaluate(near, ["0.29", None])  # no threshold known: the score alone
    assert "(subject score 0.29)," in page.inner_text("#notice")
    assert not problems, problems
    ctx.close()


def set_slider(page: Any, selector: str, value: str) -> None:
    """Move a range input as a user's drag does: its value, then an ``input`` event."""
    page.eval_on_selector(selector, f"s => {{ s.value = {value!r}; s.dispatchEvent(new Event('input')); }}")


def test_going_back_to_an_effect_brings_back_its_strength(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Grey at 50 %, a look at sepia, back to grey: the strength was 100 % again, the user's tuning lost (web
    audit 2); each effect keeps the strength last set for it."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    set_slider(page, "#strength", "0.5")
    page.select_option("#effect", "blur")
    set_slider(page, "#strength", "12")
    page.select_option("#effect", "sepia")
    seq = wait_for_result_after(page, seq)
    page.select_option("#effect", "grey")
    assert page.input_value("#strength") == "0.5" and page.inner_text("#strength-out") == "50 %"
    with page.expect_request(lambda r: "effect=blur" in r.url) as sent:
        page.select_option("#effect", "blur")
    assert page.inner_text("#strength-out") == "12 px" and "effect=blur%3A" in sent.value.url
    assert not problems, problems
    ctx.close()


def test_the_100_percent_view_shows_the_photo_while_its_splash_is_made(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Pressing "100 %" showed a broken-image icon with its alt text and no spinner until the full-size splash
    came (web audits 1 and 2): now the photo itself at 100 %, faded, under a spinner."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    page.evaluate(HELD_SPLASH)  # from now on: the full-size request waits for releaseSplash()
    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('full').complete")
    shown = page.evaluate("""() => { const f = document.getElementById('full');
        const same = f.src === document.getElementById('original').src;
        return [same, f.naturalWidth, f.classList.contains('pending')]; }""")
    assert page.is_visible("#full") and page.is_visible("#full-busy") and shown == [True, 1800, True], shown
    page.evaluate("() => window.releaseSplash()")
    page.wait_for_function("() => !document.getElementById('full').classList.contains('pending')")
    assert page.get_attribute("#full", "alt") == "Colour splash at 100 %" and not page.is_visible("#full-busy")
    assert not problems, problems
    ctx.close()


def test_the_spinner_shows_while_a_large_photo_is_scaled_for_its_preview(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Scaling a large photo for its preview takes a moment (seconds for 35 MP on a phone) before the request is
    sent: the faded photo stood there without a spinner, as if nothing happened (web audit 2)."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(SLOW_FIRST_PREVIEW)  # the preview copy takes 2 s
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#result.pending", state="visible")
    assert page.is_visible("#busy")
    wait_for_result_after(page, 0)
    assert not problems, problems
    ctx.close()


def test_the_model_description_is_not_cut_off_on_a_phone(
    browser: Any,  # noqa: F811 (the fixture)
    tiny_onnx: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a phone the header's description was cut to "Pet model — cats and d…" (web audit 2): it wraps."""
    monkeypatch.setattr(server_app, "model_description", lambda config, file: "Pet model — cats and dogs")
    with live_server(tiny_onnx) as url:
        phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
        ctx, page, _, problems = open_page(browser, url, model_name="cats and dogs", **phone)
        cut = page.eval_on_selector("#model-info", "p => p.scrollWidth > p.clientWidth")
        assert not cut and page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert not problems, problems
        ctx.close()


def test_an_iphone_heic_is_shown_compared_and_previewed_small(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Chromium cannot show HEIC: the Original pane was a broken-image icon, before/after stayed disabled, a
    click on the photo chose nothing, and every preview sent the full photo (phone audit). The server's copy
    (JPEG) now stands in for the photo: shown, compared, pointed at, and scaled for the previews; the download is
    still made from the HEIC, at full size, named .jpg. The copy came from /api/splash with effect=grey:0 (a model
    run, and the no-subject path for a photo without a pet); it comes from /api/view, which runs no model."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from helpers import make_blob_image
    from PIL import Image

    image, _ = make_blob_image(1800, 1350, seed=5)  # portrait, larger than the page's preview size
    heic = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.fromarray(image)).save(heic, quality=90)
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    sent = splash_requests(page)
    views = splash_requests(page, "/api/view")
    page.set_input_files("#file", str(heic))
    seq = wait_for_result_after(page, 0)
    assert len(views) == 1 and sent and not [q for q in sent if "grey:0" in q], (views, sent)  # a copy, a preview
    sizes = page.evaluate("""() => ['original', 'result'].map((id) => document.getElementById(id).naturalWidth)""")
    assert sizes == [1350, 1200], sizes  # the photo at full size; the preview's splash scaled to 1600 px high
    assert page.is_enabled("#compare") and not page.is_visible("#limit-note")
    page.click("#compare")
    assert page.is_visible("#before")
    page.click("#original", position={"x": 100, "y": 100})  # choose the subject
    assert page.is_visible("#marker")
    wait_for_result_after(page, seq)  # the splash of that subject ("Making the splash…" meanwhile)
    assert "full size 1350×1800" in page.inner_text("#status")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "IMG_0001.splash.jpg" and Image.open(saved).size == (1350, 1800)
    page.set_input_files("#file", str(photo))  # a JPEG: the browser shows it, no copy is asked for
    page.wait_for_function(
        "() => document.getElementById('original').naturalWidth === 1800"
        " && document.getElementById('status').textContent.startsWith('Ready')"
    )
    assert len(views) == 1 and not [q for q in sent if "grey:0" in q], (views, sent)
    assert not problems, problems
    ctx.close()


def save_heic(path: Path, image: Any) -> Path:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    pillow_heif.from_pillow(Image.fromarray(image)).save(path, quality=90)
    return path


def test_an_over_limit_heic_is_said_too_large_and_not_uploaded_twice(
    browser: Any,  # noqa: F811 (the fixture)
    tiny_onnx: Path,
    tmp_path: Path,
) -> None:
    """A HEIC over the upload limit was sent twice (for a viewable copy, then as the preview) before the 413, and
    one over either limit ended with "isn't a photo that can be opened here" (review7): one over the upload
    limit is now refused before any upload, one over the pixel limit after the copy's 413 alone, both in words
    that say it is too large and what the server accepts."""
    from helpers import make_blob_image

    heavy = save_heic(tmp_path / "IMG_0001.HEIC", make_blob_image(1200, 800, seed=5)[0])
    light = save_heic(tmp_path / "IMG_0002.HEIC", make_blob_image(600, 400, seed=5)[0])
    limit = 2**20
    assert heavy.stat().st_size > limit > light.stat().st_size, (heavy.stat().st_size, light.stat().st_size)
    with live_server(tiny_onnx, max_upload_bytes=limit, max_pixels=100_000) as url:  # the light one has 240,000
        ctx, page, _, problems = open_page(browser, url, **DESK)
        sent = splash_requests(page, "/api/")  # the copy's request (/api/view) and the previews' (/api/splash)
        cases = [
            (heavy, 0, "This photo is 1.1 MB; this server accepts photos up to 1 MB."),
            (light, 1, "0.1 megapixels"),
        ]
        for heic, requests, words in cases:
            page.set_input_files("#file", str(heic))
            page.wait_for_selector("#open-error", state="visible")
            page.wait_for_timeout(500)  # a second request would have been sent by now
            said = page.inner_text("#open-error")
            assert words in said and "Choose a smaller photo" in said and "isn't a photo" not in said, said
            assert len(sent) == requests and not page.is_visible("#workspace"), sent
            assert "--max" not in said and "--max" not in page.inner_text("#status")
            sent.clear()
        assert not [p for p in problems if "status of 413" not in p], problems  # Chromium logs the 413
        ctx.close()


# The page's request for a viewable copy (/api/view), held until window.releaseCopy().
HELD_COPY = held_fetch("api/view", "releaseCopy", seen="copyHeld")


def test_picking_another_photo_cancels_the_viewable_copy_request(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The request for a HEIC's viewable copy went on (uploading the whole photo, retried while the server was
    busy, saying so in the status line) after another photo was picked (review7): it is cancelled."""
    from helpers import make_blob_image

    heic = save_heic(tmp_path / "IMG_0003.HEIC", make_blob_image(600, 400, seed=5)[0])
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(HELD_COPY)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    views = splash_requests(page, "/api/view")
    page.set_input_files("#file", str(heic))
    page.wait_for_function("() => window.copyHeld")
    page.set_input_files("#file", str(photo))  # a JPEG the browser shows
    wait_for_result_after(page, 0)
    page.evaluate("() => window.releaseCopy()")
    page.wait_for_timeout(1000)  # the copy would have been sent, and answered, by now
    assert views == [], views
    expose_state(page)
    shown = page.evaluate("() => [document.getElementById('original').naturalWidth, state.width]")
    assert shown == [1800, 1800] and page.inner_text("#status").startswith("Ready"), shown
    assert not problems, problems
    ctx.close()


def test_a_turned_webp_is_shown_upright_as_the_server_reads_it(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A WebP whose EXIF says "turn 90°" (as a phone writes a portrait photo): Chromium shows it as stored, the
    server (as the CLI) turns it. The Original pane was sideways beside an upright splash, the status said "full
    size 600×400" of a 400×600 download, a click chose the subject at the wrong place and before/after stretched
    one over the other (web audit 3). It is shown through the server's upright copy, as a HEIC is."""
    from helpers import make_blob_image
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored 600x400, upright 400x600
    turned = tmp_path / "portrait.webp"
    Image.fromarray(make_blob_image(400, 600, seed=4)[0]).save(turned, exif=exif.tobytes())
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    views = splash_requests(page, "/api/view")
    page.set_input_files("#file", str(turned))
    wait_for_result_after(page, 0)
    sizes = page.evaluate("""() => ['original', 'result'].map((id) => {
        const img = document.getElementById(id); return [img.naturalWidth, img.naturalHeight]; })""")
    assert sizes == [[400, 600], [400, 600]], sizes
    assert "full size 400×600" in page.inner_text("#status") and len(views) == 1
    assert not problems, problems
    ctx.close()


def test_a_small_photo_over_the_servers_limits_still_gets_previews(
    browser: Any,  # noqa: F811 (the fixture)
    tiny_onnx: Path,
    tmp_path: Path,
) -> None:
    """A server started with lower limits (`--max-pixels 100000 --max-upload-mb 0.2`, a small machine's) and a photo
    under the preview size but over them: every preview failed, in the operator's words ("start the server with a
    larger --max-pixels"), where a larger photo got previews from its scaled copy (web audit 3). Its preview copy
    is scaled (or re-encoded) to fit the limits too; only the full size is refused, as the notice says."""
    from helpers import make_blob_image
    from PIL import Image

    many = tmp_path / "many.jpg"  # 400x300: 120,000 pixels
    Image.fromarray(make_blob_image(300, 400, seed=3)[0]).save(many, quality=90)
    heavy = tmp_path / "heavy.png"  # 300x200 but 240 KB of noise
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 300, 4), np.uint8)).save(heavy)
    assert heavy.stat().st_size > 200_000
    with live_server(tiny_onnx, max_pixels=100_000, max_upload_bytes=200_000) as url:
        ctx, page, _, problems = open_page(browser, url, **DESK)
        seq = 0
        for photo, words in ((many, "0.1 megapixels"), (heavy, "0.2 MB")):
            page.set_input_files("#file", str(photo))
            seq = wait_for_result_after(page, seq)
            note = page.inner_text("#limit-note")
            assert words in note and "You can try the settings here" in note, note
            assert page.inner_text("#status").startswith("Ready") and not page.is_visible("#notice")
            assert page.is_disabled("#download") and "--max" not in page.inner_text("body")
        assert not problems, problems
        ctx.close()
