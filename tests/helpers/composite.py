"""Pictures shared by the compositing tests (test_composite_alpha.py, test_composite_effects.py)."""

from __future__ import annotations

import numpy as np


def two_blobs(h: int = 120, w: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orange discs on dark noise: a big one on the left, a small one on the right; masks of each."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    big = (yy - 60) ** 2 + (xx - 55) ** 2 <= 35**2
    small = (yy - 60) ** 2 + (xx - 160) ** 2 <= 18**2
    image[big | small] = (230, 120, 30)
    return image, big, small
