"""Inputs that coverage-guided fuzzing of photo reading found (``scripts/fuzz/``), each made here from a small valid
picture: every one reads, or is refused with colorsplash's own error naming the file (413/415 over HTTP, never 500).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from colorsplash.runtime.photo_io import decode_image_bytes, read_photo
from colorsplash.runtime.photo_write import write_image

_EXIF_IFD, _GPS_IFD, _DATE_TAKEN = 0x8769, 0x8825, 0x9003


def _encoded(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _picture(h: int = 24, w: int = 32) -> Image.Image:
    rgb = np.random.default_rng(0).integers(0, 255, (h, w, 3)).astype(np.uint8)
    return Image.fromarray(rgb)


def test_a_tiff_result_keeps_the_exif_and_gps_directories(tmp_path: Path) -> None:
    """A photo whose EXIF has an Exif or GPS directory (a camera's dates and exposure, the position: nearly every
    camera's) written as TIFF (a TIFF input, or ``-o out.tif``) failed: "Error setting from dictionary"."""
    exif = Image.Exif()
    exif[0x010F] = "Cam"
    exif[_EXIF_IFD] = {_DATE_TAKEN: "2024:05:01 10:00:00"}
    exif[_GPS_IFD] = {1: "N", 2: (52.0, 22.0, 0.0)}
    for fmt in ("TIFF", "JPEG"):
        photo = decode_image_bytes(_encoded(_picture(), fmt, exif=exif.tobytes()), name=f"camera.{fmt.lower()}")
        out = tmp_path / f"{fmt}.tif"
        write_image(out, photo.rgb, "TIFF", exif=photo.exif, icc=photo.icc, xmp=photo.xmp)
        with Image.open(out) as img:
            written = img.getexif()
            assert written.get(0x010F) == "Cam"
            assert written.get_ifd(_EXIF_IFD).get(_DATE_TAKEN) == "2024:05:01 10:00:00"
            assert written.get_ifd(_GPS_IFD).get(1) == "N"
        assert read_photo(out).rgb.shape == (24, 32, 3)
