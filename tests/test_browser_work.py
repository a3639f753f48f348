"""The web page while work is under way (third web audit): a photo opened while the previous one's preview or
download is on its way, a server that stops answering, a picture the server must read first, the keyboard on
Download. Same browser and server as ``test_browser.py`` (its fixtures and helpers); each test stays under ~10 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from test_browser import (  # noqa: F401 (fixtures)
    DESK,
    base_url,
    browser,
    open_page,
    photo,
    small_photo,
    wait_for_result_after,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# Holds the page's requests that send a file of a given name (window.hold(NAME)) until window.release(NAME), as a
# slow upload or a busy server would; window.held(NAME) says whether one is being held.
HOLD_BY_NAME = """(() => {
    const real = window.fetch;
    const gates = new Map();
    const waiting = new Set();
    window.hold = (name) => { let open; gates.set(name, [new Promise((r) => { open = r; }), () => open()]); };
    window.release = (name) => { gates.get(name)[1](); gates.delete(name); };
    window.held = (name) => waiting.has(name);
    window.fetch = async (url, init = {}) => {
        const file = init.body instanceof FormData ? init.body.get("file") : null;
        const gate = file && gates.get(file.name);
        if (gate) { waiting.add(file.name); await gate[0]; waiting.delete(file.name); }
        return real(url, init);
    };
})()"""


def holding_page(browser: Any, base_url: str) -> tuple[Any, Any, list[str]]:  # noqa: F811
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(HOLD_BY_NAME)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    return ctx, page, problems


def tiff(tmp_path: Path, name: str = "scan.tif") -> Path:
    """A picture Chromium cannot show (the server reads it: its copy stands in for it)."""
    path = small_photo(tmp_path, name)
    Image.open(path).save(path, format="TIFF")
    return path


def test_an_earlier_photos_preview_is_not_shown_for_the_next_one(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A photo picked while the previous one's preview was on its way: the previous photo's splash, its
    no-subject notice and "Ready" arrived afterwards, shown as this one's with Download enabled, while this one
    (a TIFF) was still being read by the server. The earlier request is cancelled."""
    ctx, page, problems = holding_page(browser, base_url)
    first = small_photo(tmp_path, "first.png")
    page.evaluate("() => { window.hold('first.png'); window.hold('scan.tif'); }")
    page.set_input_files("#file", str(first))
    page.wait_for_function("() => window.held('first.png')")
    page.set_input_files("#file", str(tiff(tmp_path)))
    page.wait_for_function("() => window.held('scan.tif')")  # its copy is being made on the server
    page.evaluate("() => window.release('first.png')")
    page.wait_for_timeout(1500)  # the first photo's splash would have been shown by now
    assert not page.is_visible("#result") and page.is_disabled("#download")
    assert not page.inner_text("#status").startswith("Ready"), page.inner_text("#status")
    page.evaluate("() => window.release('scan.tif')")
    wait_for_result_after(page, 0)
    assert page.inner_text("#status").startswith("Ready") and "400×300" in page.inner_text("#status")
    assert not problems, problems
    ctx.close()


def test_a_server_that_stopped_answering_is_said_so(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`colorsplash serve` stopped (Ctrl+C) with the page open: the download, a change of setting and the next
    photo said "Failed to fetch" (Chromium's words), and a TIFF, which the server must read, "isn't a photo that
    can be opened here (the server says: Failed to fetch)". They say that the server did not answer."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))  # as a stopped server does
    page.click("#download")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Download failed')")
    said = [page.inner_text("#status")]
    page.select_option("#effect", "sepia")
    page.wait_for_selector("#notice", state="visible")
    said += [page.inner_text("#notice"), page.inner_text("#status")]
    assert all("did not answer" in s and "Failed to fetch" not in s for s in said), said
    page.set_input_files("#file", str(tiff(tmp_path)))
    page.wait_for_selector("#open-error", state="visible")
    said = page.inner_text("#open-error")
    assert "isn't a photo" not in said and "scan.tif" in said and "did not answer" in said, said
    page.unroute("**/api/**")
    page.set_input_files("#file", str(photo))  # the server is back
    wait_for_result_after(page, seq)
    assert not [p for p in problems if "ERR_CONNECTION_REFUSED" not in p], problems
    ctx.close()


def test_download_by_keyboard_keeps_the_focus_on_its_button(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Enter on "Download full size" disabled the button while the splash was made, which threw the keyboard's
    focus out of it (to the page itself): Enter again did nothing and Tab started from the browser's address bar.
    The button stays focused, a second press while one is being made being ignored."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    page.focus("#download")
    with page.expect_download() as first:
        page.keyboard.press("Enter")
        page.keyboard.press("Enter")  # while it is being made: no second download
    assert first.value.suggested_filename == "blob cat.splash.jpg"
    assert page.evaluate("() => document.activeElement.id") == "download"
    with page.expect_download() as again:
        page.keyboard.press("Enter")
    assert again.value.suggested_filename == "blob cat.splash.jpg"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.id") == "another"
    assert not problems, problems
    ctx.close()


def test_a_download_still_being_made_belongs_to_its_own_photo(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Download pressed, then another photo opened before the full-size splash came: when it came, the status line
    said "Downloaded" of the earlier photo over the new one's own line, and its button was made usable again
    whatever the new photo's state (one with nothing to download: no subject with "show an error"). The new
    photo's Download works meanwhile, and the earlier download changes nothing of the new photo's page."""
    ctx, page, problems = holding_page(browser, base_url)
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    page.evaluate("() => window.hold('blob cat.jpg')")
    page.click("#download")
    page.wait_for_function("() => window.held('blob cat.jpg')")
    page.set_input_files("#file", str(small_photo(tmp_path, "second.png")))
    wait_for_result_after(page, seq)
    assert page.get_attribute("#download", "aria-disabled") is None and page.is_enabled("#download")
    with page.expect_download() as second:
        page.click("#download")
    assert second.value.suggested_filename == "second.splash.png"
    with page.expect_download() as first:
        page.evaluate("() => window.release('blob cat.jpg')")
    assert first.value.suggested_filename == "blob cat.splash.jpg"  # the earlier photo's, as asked
    page.wait_for_timeout(300)
    assert page.inner_text("#status") == "Downloaded second.splash.png"
    assert not problems, problems
    ctx.close()


def test_a_picture_the_server_must_read_says_so_while_it_is_read(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A TIFF or HEIC (which Chromium cannot show) dropped on the page: nothing on screen changed for as long as
    the server took to read it (seconds for a 48 MP HEIC: the upload and the decoding), the line "Opening ... on the
    server" being in the hidden editor; opened after another photo, that photo stayed in the Original pane the
    while. The drop zone shows, with that line above it, until the copy comes."""
    ctx, page, problems = holding_page(browser, base_url)
    scan = tiff(tmp_path)
    page.evaluate("() => window.hold('scan.tif')")
    for _ in range(2):  # first from the drop zone, then over the photo opened after it
        page.set_input_files("#file", str(scan))
        page.wait_for_function("() => window.held('scan.tif')")
        assert page.is_visible("text=Opening scan.tif on the server"), page.inner_text("body")
        assert not page.is_visible("#workspace") and page.is_visible("#drop")
        page.evaluate("() => window.release('scan.tif')")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Ready')")
        assert page.is_visible("#original") and not page.is_visible("text=Opening scan.tif")
        page.set_input_files("#file", str(photo))
        page.wait_for_function("() => document.getElementById('original').naturalWidth === 1800")
        page.evaluate("() => window.hold('scan.tif')")
    assert not problems, problems
    ctx.close()


def test_a_picture_only_the_browser_reads_goes_back_to_the_drop_zone(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An SVG drawing (the file chooser's "image/*" offers them) is shown by the browser but not read by the
    server: the editor opened on it, every control leading to the same "not a picture colorsplash reads", where a
    file neither reads goes back to the drop zone saying so (web audit 3); a large one's previews, made from the
    browser's scaled copy, worked, and only its download failed so. Both go back to the drop zone too."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    for name, width in (("logo.svg", 200), ("poster.svg", 3000)):  # sent itself; scaled for its previews
        drawing = tmp_path / name
        drawing.write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="100"><rect width="{width}" '
            'height="100" fill="red"/></svg>'
        )
        page.set_input_files("#file", str(drawing))
        page.wait_for_selector("#open-error", state="visible")
        said = page.inner_text("#open-error")
        assert name in said and "isn't a photo" in said and not page.is_visible("#workspace"), said
        page.set_input_files("#file", str(photo))  # and the next photo opens as usual
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Ready')")
        assert not page.is_visible("#open-error")
    assert not [p for p in problems if "status of 415" not in p], problems  # Chromium logs the 415
    ctx.close()
