"""The fast edge stage's colour estimate (``runtime/guided.py``) where it has nothing to go by."""

from __future__ import annotations

import numpy as np

from colorsplash.runtime import guided


def test_a_subject_filling_the_photo_keeps_the_models_probability() -> None:
    """No background anywhere near (the subject fills the frame): nothing to estimate the edge by, so the
    probability comes back as the model gave it, never as grey."""
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    prob = np.full(image.shape[:2], 0.95, np.float32)
    assert np.array_equal(guided.colour_alpha(image, prob, 4, 0.1), prob)
