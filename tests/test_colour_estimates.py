"""The subject colours blur fusion gives at edge pixels (:func:`colorsplash.runtime.edges.foreground.estimate_colours`):
a one-pixel edge, a photo larger than the estimates' working copy, and a subject of two colours."""

from __future__ import annotations

import numpy as np

from colorsplash.runtime.edges.foreground import estimate_colours

BLUE, RED, GREEN = np.array([30, 60, 200.0]), np.array([210, 40, 30.0]), np.array([40, 190, 60.0])


def edge_photo(h: int, w: int, edge: int, left: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Subject (blue, or ``left`` on its upper half) left of column ``edge``, red background right of it, and
    column ``edge`` half and half (alpha 0.5)."""
    alpha = np.zeros((h, w), np.float32)
    alpha[:, :edge] = 1.0
    alpha[:, edge] = 0.5
    subject = np.broadcast_to(BLUE, (h, w, 3)).copy()
    if left is not None:
        subject[: h // 2] = left
    image = alpha[..., None] * subject + (1 - alpha[..., None]) * RED
    return np.round(image).astype(np.uint8), alpha


def test_a_one_pixel_edge_gets_the_subjects_colour() -> None:
    """The only partly transparent column shows purple (half blue, half red): its subject colour is the blue."""
    image, alpha = edge_photo(40, 60, 30)
    fg, _ = estimate_colours(image, alpha)
    assert np.abs(fg[:, 30].astype(float) - BLUE).max() <= 6, fg[:3, 30]


def test_a_photo_larger_than_the_working_copy() -> None:
    """A 560x840 photo (estimates made on a reduced copy, not square) still gets its edge's subject colour."""
    image, alpha = edge_photo(560, 840, 400)
    fg, bg = estimate_colours(image, alpha)
    assert bg is not None
    assert np.abs(fg[:, 400].astype(float) - BLUE).max() <= 6
    assert np.abs(bg[:, 400].astype(float) - RED).max() <= 6


def test_a_two_coloured_subject_keeps_each_colour_at_its_edge() -> None:
    """A subject green above, blue below: each half's edge gets its own colour, not a blend of the two (the wide
    pass alone averages a fifth of the photo)."""
    image, alpha = edge_photo(200, 300, 150, left=GREEN)
    fg, _ = estimate_colours(image, alpha)
    assert np.abs(fg[20:80, 150].astype(float) - GREEN).max() <= 6
    assert np.abs(fg[120:180, 150].astype(float) - BLUE).max() <= 6
