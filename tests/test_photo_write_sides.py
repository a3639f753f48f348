"""Limits of the result formats (``runtime/photo_write.py``): the largest side each holds (one pixel more is
refused with what to do, before the encoder fails on it; the side itself is written), and a colour profile past
one JPEG segment."""

from __future__ import annotations

import numpy as np
import pytest

from colorsplash.runtime.photo_write import MAX_SIDE, encode_image, metadata_notes


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_one_pixel_past_the_formats_largest_side_is_refused_with_what_to_do(fmt: str) -> None:
    side = MAX_SIDE[fmt]
    with pytest.raises(ValueError, match=rf"^a {side + 1}x2 result is too large for {fmt} .*write it as PNG or TIFF$"):
        encode_image(np.zeros((2, side + 1, 3), np.uint8), fmt)


def test_a_jpeg_of_the_largest_side_is_written() -> None:
    data = encode_image(np.zeros((2, MAX_SIDE["JPEG"], 3), np.uint8), "JPEG")
    assert data[:2] == b"\xff\xd8"


def test_a_large_colour_profile_is_split_into_segments_numbered_from_one() -> None:
    """An ICC profile past one JPEG segment is split into APP2 segments numbered 1 to N of N (ICC.1 B.4): readers
    that check the numbers (libjpeg's, browsers') drop a profile numbered otherwise, and the colours shift."""
    from colorsplash.runtime.jpeg_markers import jpeg_header_segments

    icc = bytes(range(256)) * 600  # 153,600 bytes: three segments
    data = encode_image(np.zeros((8, 8, 3), np.uint8), "JPEG", icc=icc)
    # each APP2 segment: "ICC_PROFILE\0", its number, the count, its share of the profile
    parts = [data[at + 4 : at + 2 + n] for code, at, n in jpeg_header_segments(data) if code == 0xE2]
    assert [(p[12], p[13]) for p in parts] == [(1, 3), (2, 3), (3, 3)]
    assert b"".join(p[14:] for p in parts) == icc


def test_a_bmp_result_says_iptc_is_kept_by_a_jpeg_only() -> None:
    """IPTC (captions, credits) is written to JPEG results only: the note of a BMP result that drops it names the
    one format that keeps it, not PNG, WebP or TIFF, which drop it too."""
    assert metadata_notes("BMP", None, "a.jpg", iptc=b"8BIM caption") == [
        "a.jpg: a BMP holds no IPTC metadata; not copied (a JPEG result keeps it)"
    ]
