"""A mask fitted to its photo (:mod:`colorsplash.evaluation.mask_size`): a mask saved at another scale and rounded
either way is stretched, its labels stay labels, and a thumbnail-sized "mask" is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorsplash.evaluation.folders import DataError
from colorsplash.evaluation.mask_read import ReadLabels
from colorsplash.evaluation.mask_size import fit_mask, fit_to_photo
from colorsplash.evaluation.metrics import IGNORE


def test_a_half_size_mask_rounded_up_is_stretched() -> None:
    """A 200x301 photo's mask saved at half size as 100x151 (301 / 2 rounded up): the same shape, to a pixel."""
    mask = np.zeros((100, 151), np.uint8)
    mask[:, 75:] = 1
    fitted = fit_mask(mask, (200, 301))
    assert fitted is not None and fitted.shape == (200, 301)
    assert fitted[:, :148].max() == 0 and fitted[:, 153:].min() == 1


def test_stretched_labels_stay_labels() -> None:
    """Subject (1), background (0) and don't-care (IGNORE) pixels side by side, stretched 3x: no value in between
    (a blend of 1 and IGNORE would read as a bogus label)."""
    mask = np.array([[0, 1, IGNORE, 1], [IGNORE, 0, 1, IGNORE]], np.uint8)
    fitted = fit_mask(mask, (6, 12))
    assert fitted is not None and set(np.unique(fitted)) <= {0, 1, IGNORE}
    assert np.array_equal(fitted[::3, ::3], mask)


def test_a_thumbnail_sized_mask_is_refused(tmp_path: Path) -> None:
    """A 20x20 "mask" of a 100x100 photo (five times smaller, under 32 px a side) is no drawn mask: refused,
    saying so, not stretched into a blocky ground truth."""
    read = ReadLabels(np.zeros((20, 20), np.uint8), None, 1)
    with pytest.raises(DataError, match="too small to be a drawn mask"):
        fit_to_photo(read, tmp_path / "m.png", tmp_path / "p.jpg", (100, 100), 1)
    fitted, note = fit_to_photo(
        ReadLabels(np.zeros((40, 40), np.uint8), None, 1), tmp_path / "m.png", tmp_path / "p.jpg", (100, 100), 1
    )
    assert fitted.shape == (100, 100) and note is None


def test_a_half_size_mask_rounded_down_on_one_side_is_stretched() -> None:
    """A 640x427 photo's mask halved as ``(w // 2, h // 2)``, 320x213: 427 / 2 rounded down while 640 / 2 is exact.
    Each side is within a pixel of one scale (0.5), so it is the photo's shape and is stretched, as 320x214 is."""
    for mask_hw in ((213, 320), (214, 320)):
        mask = np.zeros(mask_hw, np.uint8)
        mask[:, 160:] = 1
        fitted = fit_mask(mask, (427, 640))
        assert fitted is not None and fitted.shape == (427, 640)
        assert fitted[:, :318].max() == 0 and fitted[:, 322:].min() == 1


def test_a_mask_of_another_shape_is_still_refused() -> None:
    """Not the photo's shape at any scale (a 4:3 mask of a 3:2 photo; the photo turned sideways): no fit."""
    assert fit_mask(np.zeros((300, 400), np.uint8), (427, 640)) is None
    assert fit_mask(np.zeros((640, 427), np.uint8), (427, 640)) is None
    assert fit_mask(np.zeros((320, 213), np.uint8), (427, 640)) is None
