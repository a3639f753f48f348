"""The matte brought up to full size (``runtime/edges/upsampling.py``): the pixels set to 0 or 1 without computing
them are only those the coefficients surely leave there."""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.edges.upsampling import apply_coefficients


def _image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _bilinear(b: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)


def test_a_faint_matte_is_kept_not_rounded_to_grey() -> None:
    """An alpha of 1 % (a wisp of fur, smoke) is 2.55 levels of colour: it is kept, not taken as surely 0."""
    coeffs = np.zeros((8, 8, 4), np.float32)
    coeffs[..., 3] = 0.01
    alpha = apply_coefficients(_image(64, 64), coeffs)
    assert np.allclose(alpha, 0.01, atol=1e-6)


def test_a_subject_along_the_bottom_edge_is_kept() -> None:
    """The last rows of a strip blend the working copy's last row too: a subject there alone (its other rows
    surely grey) is not taken for grey."""
    coeffs = np.zeros((4, 4, 4), np.float32)
    coeffs[-1, :, 3] = 1.0  # a = 0: alpha is b, whatever the colour
    alpha = apply_coefficients(_image(32, 32), coeffs)
    expected = _bilinear(np.ascontiguousarray(coeffs[..., 3]), 32, 32)
    assert alpha[-1].min() == 1.0 and np.abs(alpha - expected).max() < 1e-5


def test_a_matte_at_the_photos_own_size_stays_between_0_and_1() -> None:
    """A small photo's working copy is the photo itself: its alpha is clipped as a brought-up one is (a value past
    1 or under 0 wrapped round when written as 8 bits)."""
    coeffs = np.zeros((16, 16, 4), np.float32)
    coeffs[:8, :, 3], coeffs[8:, :, 3] = 1.5, -0.5
    alpha = apply_coefficients(_image(16, 16), coeffs)
    assert alpha[:8].min() == 1.0 and alpha[8:].max() == 0.0
