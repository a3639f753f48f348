"""The web page on a phone and after a refusal or a drop of several files (leftfix audit items): what it says and
where keyboard focus goes.

Same browser and server as ``test_browser.py`` (its fixtures and helpers); each test stays under ~10 s.
"""

from __future__ import annotations

import base64
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

from colorsplash.runtime.pictures.picture_open import read_formats_here

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def phone(width: int = 390) -> dict[str, Any]:
    return {"viewport": {"width": width, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


ARROW_PX = 20  # the select's own arrow, beside its padding


@pytest.mark.parametrize("width", [390, 360])
def test_the_no_subject_choices_fit_a_phone(browser: Any, base_url: str, width: int) -> None:  # noqa: F811
    """On a phone the "When no subject is found" select showed "effect everywh…": every choice fits its box."""
    ctx, page, _, problems = open_page(browser, base_url, **phone(width))
    page.evaluate(
        "() => { document.getElementById('drop').hidden = true; document.getElementById('workspace').hidden = false; }"
    )
    room, widths = page.evaluate("""() => {
        const s = document.getElementById('on-empty');
        const cs = getComputedStyle(s);
        const c = document.createElement('canvas').getContext('2d');
        c.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
        const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        return [room, Object.fromEntries([...s.options].map((o) => [o.text, c.measureText(o.text).width]))];
    }""")
    assert all(w + ARROW_PX <= room for w in widths.values()), (room, widths)
    assert not problems, problems
    ctx.close()


def test_clearing_the_subject_point_keeps_keyboard_focus(
    browser: Any,  # noqa: F811
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """ "Clear subject point" disabled itself once used, and keyboard focus fell out to the page: it goes to the
    photo, where the next subject is chosen."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    page.click("#original", position={"x": 200, "y": 150})
    wait_for_result_after(page, seq)
    page.focus("#clear-point")
    page.keyboard.press("Enter")
    assert page.is_disabled("#clear-point") and not page.is_visible("#marker")
    assert page.evaluate("() => document.activeElement.id") == "picker"
    assert not problems, problems
    ctx.close()


def test_a_refused_picture_names_what_the_server_reads(
    browser: Any,  # noqa: F811
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """After a refused picture the page said "Choose a JPEG, PNG or WebP photo", fewer formats than the server
    reads: it names the server's own list (``/api/health``'s ``reads``, the runtime's words)."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not a picture at all")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#open-error", state="visible")
    said = page.inner_text("#open-error")
    assert said.endswith(f"Choose a photo in a format this server reads: {read_formats_here()}."), said
    assert "JPEG, PNG or WebP" not in said
    ctx.close()


def test_a_phone_is_told_to_choose_a_photo(browser: Any, base_url: str) -> None:  # noqa: F811
    """Phones (no drag and drop) were told "Drop a photo here"."""
    ctx, page, _, problems = open_page(browser, base_url, **phone())
    label = page.inner_text(".drop-label")
    assert label.startswith("Choose a photo") and "Drop" not in label, label
    ctx.close()
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    assert page.inner_text(".drop-label").startswith("Drop a photo here")
    assert not problems, problems
    ctx.close()


def test_dropping_several_files_says_only_the_first_was_opened(
    browser: Any,  # noqa: F811
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Dropping several files opened the first without a word."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const drag = new DataTransfer();
            for (const name of ["first.jpg", "second.jpg", "third.jpg"]) {
                drag.items.add(new File([bytes], name, { type: "image/jpeg" }));
            }
            document.dispatchEvent(new DragEvent("drop", { dataTransfer: drag, bubbles: true, cancelable: true }));
        }""",
        base64.b64encode(photo.read_bytes()).decode(),
    )
    wait_for_result_after(page, 0)
    page.wait_for_selector("#open-note", state="visible")
    assert page.inner_text("#open-note") == (
        "Only the first of the 3 files dropped was opened, first.jpg: this page splashes one photo at a time."
    )
    page.set_input_files("#file", str(photo))  # one photo: the line goes
    page.wait_for_selector("#open-note", state="hidden")
    assert not problems, problems
    ctx.close()


def test_several_files_dropped_whose_first_cannot_open_say_it_was_not_opened(
    browser: Any,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    """Review (review2): dropping several files whose first was empty said "Only the first of the 2 files dropped was
    opened, first.jpg" above ""first.jpg" is empty (0 bytes) ... Choose another file": the page opened nothing, and
    the line that says it did goes with the refusal."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.evaluate("""() => {
        const drag = new DataTransfer();
        drag.items.add(new File([], "first.jpg", { type: "image/jpeg" }));
        drag.items.add(new File([new Uint8Array(10)], "second.jpg", { type: "image/jpeg" }));
        document.dispatchEvent(new DragEvent("drop", { dataTransfer: drag, bubbles: true, cancelable: true }));
    }""")
    page.wait_for_selector("#open-error", state="visible")
    assert "is empty (0 bytes)" in page.inner_text("#open-error")
    assert not page.is_visible("#open-note"), page.inner_text("#open-note")
    assert not problems, problems
    ctx.close()
