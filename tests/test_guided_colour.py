"""The fast edge stage (``runtime/edges/guided.py``): what it keeps, and what it moves."""

from __future__ import annotations

import numpy as np

from colorsplash.runtime.edges import guided
from colorsplash.runtime.edges.working import RefineSettings


def test_a_subject_filling_the_photo_keeps_the_models_probability() -> None:
    """No background anywhere near (the subject fills the frame): nothing to estimate the edge by, so the
    probability comes back as the model gave it, never as grey."""
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    prob = np.full(image.shape[:2], 0.95, np.float32)
    assert np.array_equal(guided.colour_alpha(image, prob, 4, 0.1), prob)


def test_the_guided_filter_moves_a_soft_edge_onto_the_photos_edge() -> None:
    """A model's soft ramp across a sharp edge of the photo becomes a step where the photo's edge is (the point of
    the fast edge stage): the alpha jumps by most of the way between the two pixels either side of the edge,
    where the probability rose by a sixteenth."""
    x = np.arange(64, dtype=np.float32)
    guide = np.tile((x >= 32).astype(np.float32), (32, 1))  # luma in [0, 1]: dark left, light right
    prob = np.tile(np.clip((x - 24) / 16, 0, 1), (32, 1)).astype(np.float32)
    a, b = guided.guided_coefficients(guide, prob, 8, RefineSettings().eps)
    alpha = a * guide + b
    assert prob[16, 32] - prob[16, 31] < 0.07
    assert alpha[16, 32] - alpha[16, 31] > 0.45 and alpha[16, 31] < 0.3 and alpha[16, 32] > 0.65


def test_coefficients_of_a_smaller_copy_are_brought_up_to_a_wide_photos_size() -> None:
    """A 3:2 photo's coefficients, computed on a copy half its size, give an alpha of the photo's own size and
    the values the copy's coefficients say (here b alone: a flat 0.25)."""
    guide = np.random.default_rng(0).integers(0, 256, (40, 60), dtype=np.uint8).astype(np.float32)
    a, b = np.zeros((20, 30), np.float32), np.full((20, 30), 0.25, np.float32)
    alpha = guided.refine_full(guide, a, b)
    assert alpha.shape == (40, 60) and np.allclose(alpha, 0.25)
