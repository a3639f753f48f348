"""The web page shows what the server noted about the current photo's result (``X-Colorsplash-Notes``) in one
small line under the status, cleared when another photo is opened. Same browser and server as
``test_browser.py`` (its fixtures and helpers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image
from test_browser import DESK, base_url, browser, open_page, photo, wait_for_result_after  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTES_SHOWN = "() => !document.getElementById('notes').hidden"
# Holds a photo's preview copy (canvas.toBlob: a photo larger than the preview) until window.releasePreview(), so the
# photo stays "Opening ..." until the test has looked; window.previewHeld turns true once one is held.
HELD_PREVIEW = """(() => {
    const real = HTMLCanvasElement.prototype.toBlob;
    let open;
    const gate = new Promise((resolve) => { open = resolve; });
    window.releasePreview = () => open();
    window.previewHeld = false;
    HTMLCanvasElement.prototype.toBlob = function (cb, ...rest) {
        window.previewHeld = true;
        real.call(this, (blob) => gate.then(() => cb(blob)), ...rest);
    };
})()"""


def deep_png(path: Path) -> Path:
    """A small 16-bit PNG (sent itself as the preview): the server notes its depth."""
    image, _ = make_blob_image(150, 200, seed=3)
    Image.fromarray(image[..., 0].astype(np.uint16) * 257).save(path)
    return path


def test_the_notes_of_a_photo_are_shown_and_cleared_by_the_next_photo(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The server's notes (a 16-bit photo's result has 8 bits) reached the CLI's user only: the page now says
    them, without the file name they start with, and forgets them when the next photo (without notes) opens.
    The next photo is held while it opens (its preview copy): waiting for its short "Opening" status instead missed
    it when the test paused 0.5 s, as on a loaded machine, and waited for it for ever."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(HELD_PREVIEW)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    page.set_input_files("#file", str(deep_png(tmp_path / "deep <b>16.png")))  # small: sent itself, not held
    wait_for_result_after(page, 0)
    page.wait_for_function(NOTES_SHOWN)
    text = page.inner_text("#notes")
    assert text == "Notes: 16-bit greyscale picture; the result has 8 bits per channel", text
    page.set_input_files("#file", str(photo))
    page.wait_for_function("() => window.previewHeld")
    assert page.inner_text("#status").startswith("Opening")
    assert not page.is_visible("#notes")  # at once, not when the next result arrives
    page.evaluate("() => window.releasePreview()")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Ready')")
    assert not page.is_visible("#notes") and page.inner_text("#notes") == ""
    assert not problems, problems
    ctx.close()


def _see_through(path: Path, h: int, w: int, rows: int, seed: int) -> Path:
    """An RGBA picture (``HxW``, its format by ``path``'s suffix) see-through in its top ``rows``: flattened onto
    white by a grey splash, kept by a cut-out."""
    image, _ = make_blob_image(h, w, seed=seed)
    alpha = np.full(image.shape[:2], 255, np.uint8)
    alpha[:rows] = 0
    Image.fromarray(np.dstack([image, alpha])).save(path, **({"compress_level": 1} if path.suffix == ".png" else {}))
    return path


def test_a_large_photos_notes_come_with_its_full_size_result(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A photo larger than the preview is previewed from a copy the browser scaled (no notes of the photo): its
    notes come with the full-size result, for the options it was made with."""
    path = _see_through(tmp_path / "see-through.png", 1350, 1800, rows=40, seed=5)
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(path))
    seq = wait_for_result_after(page, 0)
    assert not page.is_visible("#notes")
    with page.expect_download():
        page.click("#download")
    page.wait_for_function(NOTES_SHOWN)
    # The option in the page's own words (its Effect control's), not the HTTP API's "effect=transparent"
    assert page.inner_text("#notes") == (
        "Notes: transparent areas flattened onto white; a cut-out keeps them: Effect “transparent (PNG)”"
    )
    page.select_option("#effect", "transparent")  # a cut-out keeps the transparency: nothing to say
    wait_for_result_after(page, seq)
    assert not page.is_visible("#notes")
    assert not problems, problems
    ctx.close()


def test_a_transparent_tiff_made_into_a_cut_out_is_not_said_flattened(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A TIFF with transparency (the browser cannot show it) is shown from the server's JPEG copy, whose notes
    said "transparent areas flattened onto white": true of the copy, but the page showed it for a cut-out too,
    whose result keeps the transparency. The copy's own flattening is no longer said; a splash's full-size result
    still says what became of the transparency."""
    path = _see_through(tmp_path / "see-through.tif", 300, 400, rows=30, seed=7)
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(path))
    seq = wait_for_result_after(page, 0)
    page.select_option("#effect", "transparent")
    seq = wait_for_result_after(page, seq)
    assert "flattened" not in page.inner_text("#notes")
    with page.expect_download():
        page.click("#download")
    page.wait_for_timeout(300)
    assert "flattened" not in page.inner_text("#notes")
    page.select_option("#effect", "grey")  # a splash flattens it: its full-size result says so
    wait_for_result_after(page, seq)
    with page.expect_download():
        page.click("#download")
    page.wait_for_function("() => document.getElementById('notes').textContent.includes('flattened')")
    assert page.inner_text("#notes") == (
        "Notes: transparent areas flattened onto white; a cut-out keeps them: Effect “transparent (PNG)”"
    )
    assert not problems, problems
    ctx.close()
