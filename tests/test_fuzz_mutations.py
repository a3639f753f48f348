"""Inputs that mutation fuzzing of the readers found (byte flips, cuts, duplicated segments and chunks, edited length
and count fields of JPEG, PNG, TIFF, EXIF and ICC), each made here from a small valid picture: every one reads, or is
refused with colorsplash's own error naming the file, with no line of Pillow's on stderr."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from colorsplash.runtime.photo_io import ImageReadError, decode_image_bytes


def _encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def _rgb() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3)).astype(np.uint8))


def _jpeg_with_a_short_table() -> bytes:
    """A JPEG whose quantization table segment says it is 1 byte long (Pillow: "bad quantization table marker")."""
    jpeg = _encoded(_rgb(), "JPEG")
    at = jpeg.index(b"\xff\xdb")
    return jpeg[: at + 2] + struct.pack(">H", 3) + jpeg[at + 4 :]


def test_a_damaged_jpeg_is_called_damaged_not_unrecognised() -> None:
    """A JPEG (by its signature) whose header its reader refused was "not a picture colorsplash reads (unrecognised
    content; it reads JPEG, PNG, GIF ...); check the file"; it is a damaged JPEG, to re-export (as a damaged PNG or
    TIFF already was)."""
    with pytest.raises(
        ImageReadError, match=r"^cat\.jpg: unreadable or truncated picture \(damaged JPEG: .*re-export it"
    ):
        decode_image_bytes(_jpeg_with_a_short_table(), name="cat.jpg")
