"""The working copy's shrink (:func:`colorsplash.runtime.edges.working.shrink`) against OpenCV's area resize: detail
kept on both axes when they shrink by different whole factors, and the copy where the picture is at a 1.45x stretch."""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.edges.working import shrink


def test_each_axis_keeps_its_own_detail() -> None:
    """A 100x400 picture of two-row stripes shrunk to 50x100 (2x down, 4x across): each copy row averages two
    photo rows, so the stripes stay black and white as in an area resize, not a grey of four rows."""
    image = np.zeros((100, 400), np.uint8)
    image[(np.arange(100) // 2) % 2 == 0] = 255
    got = shrink(image, (50, 100))
    want = cv2.resize(image, (100, 50), interpolation=cv2.INTER_AREA)
    assert got.shape == (50, 100)
    assert np.abs(got.astype(int) - want).max() <= 2


def _centroid(row: np.ndarray) -> float:
    values = row.astype(np.float64)
    return float((np.arange(values.size) * values).sum() / values.sum())


def test_a_stretched_copy_stays_where_the_picture_is() -> None:
    """A 290 px picture shrunk to 100 (a 2x average, then a 1.45x bilinear step): a soft spot lands where the
    area resize puts it, within a fiftieth of a copy pixel on both axes (mapping pixel corners instead of centres
    put it 0.15 px off, down and to the right)."""
    yy, xx = np.mgrid[:290, :290]
    for y, x in ((60, 230), (150, 101), (233, 57)):
        image = (255 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 12.0**2))).astype(np.uint8)
        got = shrink(image, (100, 100))
        want = cv2.resize(image, (100, 100), interpolation=cv2.INTER_AREA)
        for axis in (0, 1):
            g, w = _centroid(got.sum(axis=axis)), _centroid(want.sum(axis=axis))
            assert abs(g - w) < 0.02, (y, x, axis, g, w)
