"""The no-subject line's hint for a photo left empty by the cut-off alone: ``--point`` passes only the subject
score's gate, so suggesting it there (the photo's score passed, or ``--point`` was given already) was no help."""

from __future__ import annotations

import numpy as np

from colorsplash.runtime.edges.alpha import compute_alpha
from colorsplash.runtime.no_subject import apply_on_empty
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.wording import Wording

IMAGE = np.full((40, 60, 3), 128, np.uint8)
PROB = np.full((32, 32), 0.02, np.float32)  # no pixel near the cut-off


def test_a_point_given_is_not_suggested_again() -> None:
    options = SplashOptions(point=(5, 5), refine=False)
    result = compute_alpha(IMAGE, PROB, options, presence=(0.2, 0.66))
    assert result.empty and result.cutoff == 0.5
    line = apply_on_empty(result, "grey", "a.png", words=Wording(spelling="cli")) or ""
    assert "lower --threshold" in line and "--on-empty copy keeps" in line, line
    assert "--point X,Y colours" not in line, line


def test_the_score_gate_still_suggests_a_point() -> None:
    result = compute_alpha(IMAGE, PROB, SplashOptions(refine=False), presence=(0.2, 0.66))
    assert result.empty and result.cutoff is None
    line = apply_on_empty(result, "grey", "a.png", words=Wording(spelling="cli")) or ""
    assert "--point X,Y colours the pet there" in line or "--point X,Y colours the subject there" in line, line


def test_an_inverted_empty_photo_says_what_was_written() -> None:
    """With ``--invert`` the whole photo is background, kept in colour: a mask says it is all 255, a splash that
    the photo is in full colour."""
    for mask, said in ((True, "wrote an all-255 mask"), (False, "kept in full colour")):
        result = compute_alpha(IMAGE, PROB, SplashOptions(refine=False, invert=True), presence=(0.2, 0.66))
        line = apply_on_empty(result, "grey", "a.png", mask=mask, words=Wording(spelling="cli")) or ""
        assert line.endswith(f"all of it is background (--invert): {said}"), line
        assert (result.alpha == 1.0).all()
