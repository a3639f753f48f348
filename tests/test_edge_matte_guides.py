"""``colorsplash.matte`` (:mod:`colorsplash.runtime.edges.edge_matte`) on the guides users pass: which probabilities'
shapes are taken or refused, a trimap's known pixels on a photo solved on a reduced copy, the band a full-size
probability sets, and the sharp edge guided upsampling keeps."""

from __future__ import annotations

import numpy as np
import pytest

from colorsplash.runtime.edges.edge_matte import matte
from colorsplash.runtime.edges.matting import MatteSettings


def noise_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def split_photo(h: int, w: int, edge: int) -> np.ndarray:
    """Blue left of column ``edge``, red from it on, with a little noise."""
    image = np.zeros((h, w, 3), np.float32)
    image[:, :edge] = (30, 60, 200)
    image[:, edge:] = (210, 40, 30)
    image += np.random.default_rng(3).normal(0, 2, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_a_guide_rounded_up_a_pixel_is_taken() -> None:
    """A 20x63 photo's probability reduced by ten and rounded up, 2x7 (ratio 3.5 against 3.15), is one of the
    photo's: a pixel of rounding on a short side is allowed for."""
    prob = np.zeros((2, 7), np.float32)
    prob[:, 4:] = 1.0
    alpha = matte(noise_photo(20, 63), prob)
    assert alpha.shape == (20, 63)


def test_a_guide_a_quarter_off_the_photos_aspect_is_refused() -> None:
    """A 60x100 probability over a 60x80 photo (5:3 against 4:3): made for another photo, refused, not
    stretched."""
    with pytest.raises(ValueError, match="aspect ratio"):
        matte(noise_photo(60, 80), np.zeros((60, 100), np.float32))


def test_trimap_known_pixels_stay_exact_on_a_reduced_copy() -> None:
    """A photo over ``work_side`` is solved small and guided up: the trimap's 0 and 255 pixels still come back as
    exactly 0 and 1, and every alpha lies in [0, 1]."""
    h, w = 90, 120
    image = noise_photo(h, w, seed=1)
    trimap = np.zeros((h, w), np.uint8)
    trimap[:, 64:] = 255
    trimap[:, 52:64] = 128
    alpha = matte(image, trimap, MatteSettings(work_side=40))
    assert np.all(alpha[trimap == 0] == 0.0) and np.all(alpha[trimap == 255] == 1.0)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_a_full_size_probability_keeps_a_narrow_band() -> None:
    """A probability at the photo's own size (40x160) sets a band of two photo pixels around its edge: pixels
    three to six columns from it keep exactly what it says, whatever the photo's colours."""
    prob = np.zeros((40, 160), np.float32)
    prob[:, 80:] = 1.0
    alpha = matte(noise_photo(40, 160, seed=2), prob)
    assert np.all(alpha[:, 74:77] == 0.0) and np.all(alpha[:, 83:87] == 1.0)


def test_guided_upsampling_keeps_the_photos_sharp_edge() -> None:
    """Solved on a copy a quarter the size, the matte is brought up along the photo's own colour edge (column 81):
    a row crosses from background to subject within two columns, not the four-pixel ramp of a plain resize."""
    h, w, edge = 120, 160, 81
    prob = np.zeros((h, w), np.float32)
    prob[:, edge:] = 1.0
    alpha = matte(split_photo(h, w, edge), prob, MatteSettings(work_side=40))
    partial = (alpha > 0.1) & (alpha < 0.9)
    assert partial.sum(axis=1).max() <= 2, partial.sum(axis=1).max()
    assert alpha[:, : edge - 2].max() < 0.1 and alpha[:, edge + 2 :].min() > 0.9
