"""The web page with a file the browser cannot read, while a new preview is made, and the API docs on a desktop
(fourth web audit). Same browser and server as ``test_browser.py`` (its fixtures and helpers); each test stays under
~10 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from test_browser import (  # noqa: F401 (fixtures)
    DESK,
    base_url,
    browser,
    open_page,
    photo,
    wait_for_result_after,
)
from test_browser_work import HOLD_BY_NAME, tiff

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def drag_and_drop(page: Any, paths: list[Path]) -> None:
    """Drag ``paths`` from the desktop onto the middle of the page and drop them, as a person does (Chromium's
    own drag events, through the DevTools protocol: a folder is dropped as a folder)."""
    cdp = page.context.new_cdp_session(page)
    data = {"items": [], "files": [str(p) for p in paths], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        cdp.send("Input.dispatchDragEvent", {"type": kind, "x": 640, "y": 300, "data": data})
    cdp.detach()


def test_a_dropped_folder_is_said_to_be_one(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A folder of photos dropped on the page said "Could not open "Holiday": the server did not answer (has
    colorsplash serve stopped?)" of a server that was running (the browser cannot upload a folder): it says the
    browser could not read it, a folder or a file moved away, and to choose a photo."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    folder = tmp_path / "Holiday"
    folder.mkdir()
    shutil.copy(photo, folder / photo.name)
    drag_and_drop(page, [folder])
    page.wait_for_selector("#open-error", state="visible")
    said = page.inner_text("#open-error")
    assert "did not answer" not in said and "Holiday" in said and "folder" in said, said
    assert page.is_visible("#drop") and not page.is_visible("#workspace")
    drag_and_drop(page, [folder / photo.name])  # a photo of it opens as usual
    wait_for_result_after(page, 0)
    assert not page.is_visible("#open-error")
    assert not problems, problems
    ctx.close()


def test_a_photo_deleted_since_it_was_chosen_is_not_blamed_on_the_server(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The photo moved or deleted on the computer after it was opened: "Download full size" said "Download failed:
    the server did not answer (has colorsplash serve stopped?)", and so did the 100 % view, the server running.
    They say that the photo could not be read on this computer, and to choose it again."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    mine = tmp_path / "mine.jpg"
    shutil.copy(photo, mine)
    page.set_input_files("#file", str(mine))
    wait_for_result_after(page, 0)
    mine.unlink()
    page.click("#download")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Download failed')")
    said = [page.inner_text("#status")]
    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Could not')")
    said.append(page.inner_text("#status"))
    assert all("did not answer" not in s and "mine.jpg" in s and "choose it again" in s for s in said), said
    assert not [p for p in problems if "Failed to load resource" not in p], problems
    ctx.close()


def test_the_status_line_does_not_say_ready_while_a_new_preview_is_made(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """A setting changed on a slow network or a busy server: the status line (read out by screen readers) went on
    saying "Ready in 400 ms" of the previous preview for as long as the new one took; the first photo's said
    "Opening ..." throughout its upload. It says the splash is being made."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.add_init_script(HOLD_BY_NAME)
    page.reload()
    page.wait_for_function("() => document.getElementById('model-info').textContent.includes('tiny-test')")
    page.evaluate("() => window.hold('blob cat.jpg')")
    page.set_input_files("#file", str(photo))
    page.wait_for_function("() => window.held('blob cat.jpg')")
    assert page.inner_text("#status") == "Making the splash…"
    page.evaluate("() => window.release('blob cat.jpg')")
    seq = wait_for_result_after(page, 0)
    assert page.inner_text("#status").startswith("Ready in ")
    page.evaluate("() => window.hold('blob cat.jpg')")
    page.select_option("#effect", "sepia")
    page.wait_for_function("() => window.held('blob cat.jpg')")
    assert page.inner_text("#status") == "Making the splash…"
    page.evaluate("() => window.release('blob cat.jpg')")
    wait_for_result_after(page, seq)
    assert page.inner_text("#status").startswith("Ready in ")
    assert not problems, problems
    ctx.close()


def test_the_api_docs_option_names_are_not_broken_on_a_desktop(browser: Any, base_url: str) -> None:  # noqa: F811
    """At 1280 px the API docs' name column was cut mid-word ("thresh" over "old", "feathe" over "r") beside a
    wide meaning column: names are whole, and the docs still fit a phone (``test_browser``)."""
    ctx = browser.new_context(**DESK)
    page = ctx.new_page()
    page.goto(base_url + "/docs")
    page.wait_for_selector("section.endpoint table")
    broken = page.evaluate("""() => [...document.querySelectorAll('section.endpoint td:first-child code')]
        .filter((c) => c.getClientRects().length > 1).map((c) => c.textContent)""")
    assert not broken, broken
    lines = page.evaluate("""() => [...document.querySelectorAll('section.endpoint td:last-child')]
        .filter((td) => td.textContent === 'application/json').map((td) => {
            const text = document.createRange();
            text.selectNodeContents(td);
            return text.getClientRects().length;
        })""")
    assert lines and set(lines) == {1}, lines  # one line each, not "application/js" over "on"
    ctx.close()


def tab_to(page: Any, element_id: str) -> None:
    """Press Tab until the element ``element_id`` has the keyboard's focus."""
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == element_id:
            return
    pytest.fail(f"Tab never reached #{element_id}")


def test_keyboard_focus_follows_the_page_from_drop_zone_to_photo_and_back(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A photo chosen from the drop zone with the keyboard (Tab, Space) hid the focused drop zone: the focus fell
    out to the page itself (a screen reader starts again from the top), and so it did from "Another photo" when the
    file chosen could not be opened. It goes to the photo, where the subject is chosen, and back to the drop
    zone's chooser."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    tab_to(page, "file")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press(" ")
    chooser.value.set_files(str(photo))
    wait_for_result_after(page, 0)
    assert page.evaluate("() => document.activeElement.id") == "picker"
    tab_to(page, "another")
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a picture at all")
    page.set_input_files("#file", str(bad))  # as chosen with Enter there (the focus comes back to the button)
    page.wait_for_selector("#open-error", state="visible")
    assert page.evaluate("() => document.activeElement.id") == "file"
    assert not [p for p in problems if "status of 415" not in p], problems  # Chromium logs the 415
    ctx.close()


def test_an_upload_too_slow_for_the_server_is_said_in_plain_words(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """A photo whose upload took longer than the server's --upload-timeout (a slow phone connection) said "Download
    failed: the request body did not arrive within the server's upload time limit of 60 s (294,912 of 1,319,614
    bytes came); ... or start the server with a larger --upload-timeout", the operator's words and flag, as the 503
    once did (``test_browser``): the person at the page is told that the upload was too slow and what to do."""
    ctx, page, _, _ = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    server_words = (
        '{"error": "the request body did not arrive within the server\'s upload time limit of 60 s (294,912 of '
        "1,319,614 bytes came); send it again over a faster connection or send a smaller photo, or start the "
        'server with a larger --upload-timeout"}'
    )
    page.route("**/api/splash*", lambda route: route.fulfill(status=408, body=server_words))
    page.click("#download")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Download failed')")
    said = page.inner_text("#status")
    assert "--upload-timeout" not in said and "request body" not in said and "bytes" not in said, said
    assert "60 s" in said and "faster connection" in said and "smaller photo" in said, said
    ctx.close()


def test_a_picture_the_server_must_read_whose_upload_is_too_slow_is_not_called_no_photo(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """An iPhone's HEIC (or a TIFF), which the server reads for the page, over a connection too slow for its
    --upload-timeout: uploaded twice (for its copy, then for a preview), then ""IMG.HEIC" isn't a photo that can be
    opened here (the server says: ...)". One upload, and the drop zone says that it did not finish uploading."""
    ctx, page, _, _ = open_page(browser, base_url, **DESK)
    uploads: list[str] = []

    def too_slow(route: Any) -> None:
        uploads.append(route.request.url)
        route.fulfill(status=408, body='{"error": "the request body did not arrive within the upload time limit"}')

    page.route("**/api/*", lambda route: too_slow(route) if route.request.method == "POST" else route.continue_())
    page.set_input_files("#file", str(tiff(tmp_path)))
    page.wait_for_selector("#open-error", state="visible")
    said = page.inner_text("#open-error")
    assert "isn't a photo" not in said and "scan.tif" in said and "did not finish uploading" in said, said
    assert len(uploads) == 1, uploads
    ctx.close()


def test_the_api_docs_show_code_as_code_not_backticks(browser: Any, base_url: str) -> None:  # noqa: F811
    """The API docs page showed the descriptions' Markdown as it is: "`found`, or `none` when ... (the `on-empty`
    policy ...)", "(see `--allowed-origin`)". Code spans are set as code."""
    ctx = browser.new_context(**DESK)
    page = ctx.new_page()
    page.goto(base_url + "/docs")
    page.wait_for_selector("section.endpoint table")
    assert "`" not in page.inner_text("body")
    codes = page.evaluate("() => [...document.querySelectorAll('section.endpoint td code')].map((c) => c.textContent)")
    assert {"--allowed-origin", "on-empty=skip", "Retry-After"} <= set(codes), codes
    ctx.close()
