"""Limits and names of the result formats (``runtime/pictures/photo_write.py``): the largest side each holds (one pixel
more is refused with what to do, before the encoder fails on it; the side itself is written), a colour profile
past one JPEG segment, the notes of a format without metadata, every JPEG extension, and standard output taking
part of a write."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from colorsplash.runtime.pictures.photo_write import (
    MAX_SIDE,
    encode_image,
    format_for_suffix,
    metadata_notes,
    output_format,
    write_stdout,
)


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
    from colorsplash.runtime.pictures.jpeg_markers import jpeg_header_segments

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


@pytest.mark.parametrize("suffix", [".jpg", ".JPEG", ".jpe", ".jfif"])
def test_every_jpeg_extension_is_kept_and_taken_by_o(suffix: str) -> None:
    """A photo named ``.jpe`` gives a ``.jpe`` result, and ``-o out.jpe`` writes a JPEG (not "a format not
    written")."""
    assert output_format("JPEG", suffix) == ("JPEG", suffix)
    assert format_for_suffix(suffix) == "JPEG"


def test_standard_output_taking_a_few_bytes_at_a_time_gets_them_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe may take part of a write: the rest is written after it, never left out of the picture."""

    class Trickle(io.RawIOBase):
        got = b""

        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            part = bytes(data)[:100]  # type: ignore[call-overload]
            self.got += part
            return len(part)

    class Out:
        buffer = Trickle()

    monkeypatch.setattr(sys, "stdout", Out())
    png = encode_image(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8), "PNG")
    write_stdout(png, "PNG", (16, 16, 3))
    assert len(png) > 300 and Out.buffer.got == png
