"""The web page as a demanding user meets it (second web audit): waiting for the first preview, the header, ...

Same browser and server as ``test_browser.py`` (its fixtures and helpers); each test stays under ~10 s.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import base_url, browser, open_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESK = {"viewport": {"width": 1280, "height": 860}}


def test_header_says_what_the_model_does(browser: Any, base_url: str) -> None:  # noqa: F811
    """The header showed "model: colorsplash-pets-lite1 (pet, 384px)" (web audit): now the server's plain
    description, with the internal name in the tooltip."""
    ctx, page, _, problems = open_page(browser, base_url, **DESK)
    assert page.inner_text("#model-info") == "Blob model — tiny-test"
    assert "tiny-test" in (page.get_attribute("#model-info", "title") or "")
    assert not problems, problems
    ctx.close()
