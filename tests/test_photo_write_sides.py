"""The largest side each result format holds (``runtime/photo_write.py``): one pixel more is refused with what to
do, before the encoder fails on it; the side itself is written."""

from __future__ import annotations

import numpy as np
import pytest

from colorsplash.runtime.photo_write import MAX_SIDE, encode_image


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_one_pixel_past_the_formats_largest_side_is_refused_with_what_to_do(fmt: str) -> None:
    side = MAX_SIDE[fmt]
    with pytest.raises(ValueError, match=rf"^a {side + 1}x2 result is too large for {fmt} .*write it as PNG or TIFF$"):
        encode_image(np.zeros((2, side + 1, 3), np.uint8), fmt)


def test_a_jpeg_of_the_largest_side_is_written() -> None:
    data = encode_image(np.zeros((2, MAX_SIDE["JPEG"], 3), np.uint8), "JPEG")
    assert data[:2] == b"\xff\xd8"
