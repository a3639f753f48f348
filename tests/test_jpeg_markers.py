"""Sound JPEGs that the marker walk (``runtime/pictures/jpeg_markers.py``) must not take for damaged ones: every
encoder's legal markers inside the image data read as a photo, never as "damaged JPEG data ... copy it again"."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from colorsplash.runtime.pictures.jpeg_markers import JpegData, jpeg_data_damaged, jpeg_header_segments, walk_jpeg_data
from colorsplash.runtime.pictures.photo_io import decode_image_bytes


def _photo() -> np.ndarray:
    yy, xx = np.mgrid[0:96, 0:128]
    return np.stack([xx * 2 % 256, yy * 2 % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


def _jpeg(quality: int = 90, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_photo()).save(buffer, "JPEG", quality=quality, **options)
    return buffer.getvalue()


def test_a_jpeg_with_restart_markers_reads_as_a_photo() -> None:
    """Restart markers (RST0 to RST7, which cameras and scanners write) sit inside the image data by design.
    Written by OpenCV: Pillow before 10.2 (CI's oldest accepted, 10.0) ignores ``restart_marker_blocks``."""
    import cv2

    ok, encoded = cv2.imencode(
        ".jpg", _photo()[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_RST_INTERVAL, 1]
    )
    assert ok
    data = encoded.tobytes()
    assert all(bytes((0xFF, code)) in data for code in range(0xD0, 0xD8))  # every one of them, RST0 included
    assert not jpeg_data_damaged(data)
    assert decode_image_bytes(data, name="scan.jpg").rgb.shape == (96, 128, 3)


def test_a_progressive_jpeg_with_tables_between_its_scans_reads_as_a_photo() -> None:
    """A quantisation table (DQT) may come again before any scan; some encoders write one there. At low quality a
    table's values hold bytes that look like markers (here 0xFF 0xD9, end of image): the walk steps over the
    table by its length, so the picture neither ends there nor is called damaged."""
    data = _jpeg(progressive=True, quality=6)
    tables = [data[at : at + 2 + n] for code, at, n in jpeg_header_segments(data) if code == 0xDB]
    dqt = next(table for table in tables if b"\xff\xd9" in table[4:])
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    data = data[:second_scan] + dqt + data[second_scan:]
    assert walk_jpeg_data(data) == JpegData(damaged=False, end=len(data))
    assert decode_image_bytes(data, name="progressive.jpg").rgb.shape == (96, 128, 3)


def test_fill_bytes_between_header_segments_do_not_hide_damage() -> None:
    """0xFF fill bytes may pad the header before any marker; the walk still finds the first scan, so bytes
    overwritten inside the image data are still caught (else OpenCV fills the rest of the picture with grey)."""
    data = _jpeg()
    padded = data[:2] + b"\xff\xff\xff" + data[2:]
    assert walk_jpeg_data(padded) == JpegData(damaged=False, end=len(padded))
    broken = bytearray(padded)
    broken[len(broken) // 2 : len(broken) // 2 + 4] = b"\xff\xe6\x01\x00"  # "APP6, 256 bytes" amid the data
    assert jpeg_data_damaged(bytes(broken))


def test_the_picture_ends_at_its_end_of_image_marker_whatever_follows() -> None:
    """A Motion Photo carries its video after the picture: the picture is the bytes up to and with its EOI."""
    data = _jpeg()
    walk = walk_jpeg_data(data + b"\x00\x00\x00\x18ftypmp42 a clip follows")
    assert walk == walk_jpeg_data(data) and walk.end == len(data) and not walk.damaged
    assert walk_jpeg_data(data[:-200]).end is None  # a cut-off file has no end
