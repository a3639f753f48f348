"""The web page for people who use it without a mouse, with a screen reader, in dark mode or on a small screen
(accessibility audit): contrast, live regions, motion, reflow.

Same browser and server as ``test_browser.py`` (its fixtures and helpers); contrast is computed here, in Python,
from the colours the browser computed from the CSS (WCAG 2's relative luminance).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_browser import (  # noqa: F401 (fixtures)
    DESK,
    base_url,
    browser,
    live_server,
    open_page,
    photo,
    wait_for_result_after,
)
from test_browser_notes import deep_png

from colorsplash.runtime.model.onnx_model import Model

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The text colour of the element `selector` and the colour behind it (the first ancestor with a background).
COLOURS = """(selector) => {
    const el = document.querySelector(selector);
    let bg = el;
    while (bg && ['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(bg).backgroundColor)) {
        bg = bg.parentElement;
    }
    return [getComputedStyle(el).color, getComputedStyle(bg || document.body).backgroundColor];
}"""


def luminance(css: str) -> float:
    channels = [float(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(page: Any, selector: str) -> float:
    """The contrast ratio of `selector`'s text against what lies behind it."""
    light, dark = sorted((luminance(c) for c in page.evaluate(COLOURS, selector)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_coloured_text_is_readable_in_both_colour_schemes(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    scheme: str,
) -> None:
    """In dark mode the status line's errors (#c62828 on #17171a) read 3.2:1 and the API page's orange methods
    3.2:1, under WCAG AA's 4.5:1 (accessibility audit): the colours were the light scheme's."""
    ctx, page, _, problems = open_page(browser, base_url, color_scheme=scheme, **DESK)
    page.evaluate(
        "async () => (await import(new URL('static/state.js', document.baseURI))).setStatus('Download failed', true)"
    )
    assert contrast(page, "#status.error") >= 4.5, scheme
    assert contrast(page, ".bar h1 .c") >= 4.5, scheme
    page.goto(base_url + "/docs")
    page.wait_for_selector(".endpoint .method")
    assert contrast(page, ".endpoint .method") >= 4.5, scheme
    assert not problems, problems
    ctx.close()


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_the_spinner_does_not_spin_for_who_asks_for_less_motion(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    motion: str,
) -> None:
    """The busy spinner turned forever even with the system's "reduce motion" set (accessibility audit): it
    pulses in place then, and turns only for the others."""
    ctx, page, _, problems = open_page(browser, base_url, reduced_motion=motion, **DESK)
    page.evaluate("() => { for (const id of ['workspace', 'busy']) document.getElementById(id).hidden = false; }")
    name = page.eval_on_selector("#busy .spinner", "s => getComputedStyle(s).animationName")
    assert (name == "spin") == (motion == "no-preference"), name
    assert not problems, problems
    ctx.close()


def test_every_message_the_page_writes_is_read_out(browser: Any, base_url: str) -> None:  # noqa: F811
    """The notes under the status line ("Notes: metadata left out ...") were a plain paragraph: a screen reader
    said nothing when they appeared, unlike the status line and the notices (accessibility audit)."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    messages = ["open-note", "open-error", "open-status", "limit-note", "notice", "status", "notes"]
    live = page.evaluate(
        """(ids) => ids.map((id) => { const el = document.getElementById(id);
            return [id, el.getAttribute('role'), el.getAttribute('aria-live')]; })""",
        messages,
    )
    # role="status" and role="alert" are live regions themselves (polite, assertive); so is aria-live.
    quiet = [m for m in live if m[1] not in ("status", "alert") and m[2] not in ("polite", "assertive")]
    assert not quiet, quiet
    assert not problems, problems
    ctx.close()


# Each choice of the controls' lists: how wide its words are in the list's font, and the room for them in the
# closed list (what Chromium shows of a choice wider than that is cut off, "transparent (PN").
CHOICE_ROOM = """() => [...document.querySelectorAll('#controls select')].flatMap((select) => {
    const style = getComputedStyle(select);
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const pen = document.createElement('canvas').getContext('2d');
    pen.font = style.font;
    return [...select.options].map((o) => [o.textContent, pen.measureText(o.textContent).width, room]);
})"""


@pytest.mark.parametrize("width", [320, 360])
def test_a_small_phone_shows_each_choice_whole(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    width: int,
) -> None:
    """On a 360 px phone the chosen effect read "transparent (PN", and at 320 px (a 1280 px window zoomed to 400 %)
    Keep read "every subje" (accessibility audit, WCAG reflow): there the lists take a row each."""
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": width, "height": 800})
    # The controls as a photo shows them (none is needed for their layout).
    page.evaluate("() => ['drop', 'workspace'].forEach((id) => document.getElementById(id).toggleAttribute('hidden'))")
    cut = [c for c in page.evaluate(CHOICE_ROOM) if c[1] > c[2]]
    assert not cut, cut
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")  # nor a sideways scroll
    assert not problems, problems
    ctx.close()


def test_leaving_the_100_percent_view_takes_its_words_from_the_status_line(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """The status line (a live region) went on saying "Making the full-size splash for the 100 % view…" for ever
    once the view was left while it was made, and "100 % view: 1800×1350; scroll to look around" after it was left
    (accessibility audit): it says the preview's words again."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    ready = page.inner_text("#status")
    assert ready.startswith("Ready in"), ready
    held: list[Any] = []
    page.route("**/api/splash*", lambda route: held.append(route))  # the full-size splash still being made
    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('100 % view…')")
    page.click("#zoom")
    assert page.inner_text("#status") == ready
    for route in held:
        route.continue_()
    page.unroute("**/api/splash*")
    page.click("#zoom")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('100 % view:')")
    page.click("#zoom")
    assert page.inner_text("#status") == ready
    assert not problems, problems
    ctx.close()


def test_escape_leaves_the_100_percent_view(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """Escape did nothing in the 100 % view, which a keyboard's user tabs into to scroll it (accessibility audit):
    it leaves the view, the focus on the "100 %" button, not lost with the hidden frame."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    page.focus("#zoom")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('100 % view:')")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "full-frame"
    page.keyboard.press("Escape")
    assert page.get_attribute("#zoom", "aria-pressed") == "false" and not page.is_visible("#full-frame")
    assert page.evaluate("() => document.activeElement.id") == "zoom"
    assert page.get_attribute("#full-frame", "aria-keyshortcuts") == "Escape"  # said to a screen reader's user
    assert not problems, problems
    ctx.close()


def test_a_long_file_name_does_not_push_the_page_sideways(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A phone's photo name, one word of 44 letters, made a 360 px page scroll sideways, the status line's
    "Downloaded PXL_...splash.jpg" and the drop zone's "... is empty" notice running off the screen (accessibility
    audit, WCAG reflow): they break it."""
    ctx, page, _, problems = open_page(browser, base_url, viewport={"width": 360, "height": 800})
    named = tmp_path / "PXL_20240612_183015123.PORTRAIT.ORIGINAL.jpg"
    shutil.copy(photo, named)
    page.set_input_files("#file", str(named))
    wait_for_result_after(page, 0)
    with page.expect_download():
        page.click("#download")
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Downloaded PXL_')")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    empty = tmp_path / "empty" / named.name
    empty.parent.mkdir()
    empty.write_bytes(b"")
    page.set_input_files("#file", str(empty))
    page.wait_for_selector("#open-error", state="visible")
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    assert not problems, problems
    ctx.close()


def test_a_pressed_toggle_shows_in_high_contrast_mode(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
) -> None:
    """In Windows' high contrast mode (forced colours) "Before / after" pressed looked as unpressed, its orange fill
    dropped (accessibility audit): it is filled with the system's highlight colour."""
    ctx, page, _, problems = open_page(browser, base_url, forced_colors="active", **DESK)
    page.set_input_files("#file", str(photo))
    wait_for_result_after(page, 0)
    page.focus("#compare")
    page.keyboard.press("Enter")
    assert page.get_attribute("#compare", "aria-pressed") == "true"
    fill = "b => getComputedStyle(b).backgroundColor"
    assert page.eval_on_selector("#compare", fill) != page.eval_on_selector("#zoom", fill)
    assert not problems, problems
    ctx.close()


# Counts the changes of the element `id`'s words from now on, in window.changes.
COUNT_CHANGES = """(id) => { window.changes = 0;
    new MutationObserver((m) => { window.changes += m.length; })
        .observe(document.getElementById(id), { childList: true, characterData: true, subtree: true }); }"""


def test_unchanged_notes_are_not_read_out_again(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The notes, a live region, were written anew with each preview: a screen reader would say "Notes: 16-bit
    ..." again at each move of a slider (accessibility audit). They are written only when they change."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(deep_png(tmp_path / "deep.png")))  # its result's notes: 16-bit, 8 bits
    seq = wait_for_result_after(page, 0)
    page.wait_for_function("() => !document.getElementById('notes').hidden")
    page.evaluate(COUNT_CHANGES, "notes")
    page.check("#hard")  # another preview, the same notes
    wait_for_result_after(page, seq)
    assert page.evaluate("() => window.changes") == 0
    assert not problems, problems
    ctx.close()


def test_the_same_no_subject_notice_is_not_read_out_again(
    browser: Any,  # noqa: F811 (the fixture)
    base_url: str,  # noqa: F811
    photo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The notice "No blob found in this photo ...", an alert, was written anew with each preview: a screen reader
    would interrupt the user with it at each change of a setting (accessibility audit)."""
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: np.zeros((64, 64), np.float32))
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    page.set_input_files("#file", str(photo))
    seq = wait_for_result_after(page, 0)
    assert "No blob found" in page.inner_text("#notice")
    page.evaluate(COUNT_CHANGES, "notice")
    page.check("#hard")
    wait_for_result_after(page, seq)
    assert page.evaluate("() => window.changes") == 0
    assert not problems, problems
    ctx.close()
