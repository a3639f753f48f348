"""A file that starts as a JPEG and then holds megabytes of bytes that are no marker segment: Pillow's reader steps
over them one byte at a time in Python (25 MB: 2 s at each open, twice for an upload to the server). Refused from
the header's walk instead, as a damaged JPEG; a few stray bytes, which cameras leave, still open."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash.runtime.pictures import jpeg_markers
from colorsplash.runtime.pictures.photo_io import ImageReadError, probe_picture

APP0 = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def test_megabytes_of_stray_bytes_in_a_jpeg_header_are_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import JpegImagePlugin

    monkeypatch.setattr(jpeg_markers, "HEADER_JUNK_MOST", 1 << 16, raising=False)  # the rule at a test's size
    # "At once": refused before Pillow's reader, which steps over them one at a time (0.2 s here), takes the file
    # (a timing bound would be a benchmark, and flaky on a loaded machine)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "_open", lambda self: pytest.fail("Pillow read the header"))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(APP0 + bytes(2 << 20))
    for source in (junk, io.BytesIO(junk.read_bytes())):
        with pytest.raises(ImageReadError, match=r"junk.jpg: .*damaged JPEG: more than 65,536 bytes that are no"):
            probe_picture(source if isinstance(source, Path) else source.getvalue(), "junk.jpg")


def test_a_few_stray_bytes_between_segments_still_open(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    stray = data[:20] + bytes(100) + data[20:]  # after APP0: the reader skips them, as libjpeg warns and goes on
    assert probe_picture(stray, "stray.jpg").width == 8
    assert jpeg_markers.header_junk(io.BytesIO(stray)) is None
    assert jpeg_markers.header_junk(io.BytesIO(data)) is None


def test_megabytes_of_fill_bytes_in_a_jpeg_header_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """0xFF fill bytes before a marker: Pillow steps over them one at a time too (8 MB: 7 s an open, slower than
    zeros), and the walk took them one seek at a time; now counted as the stray run is."""
    monkeypatch.setattr(jpeg_markers, "HEADER_JUNK_MOST", 1 << 16, raising=False)  # the rule at a test's size
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    filled = data[:20] + b"\xff" * (1 << 20) + data[20:]
    assert (
        jpeg_markers.header_junk(io.BytesIO(filled), 1 << 16)
        == "more than 65,536 bytes that are no marker from byte 21"
    )
    with pytest.raises(ImageReadError, match=r"fill.jpg: .*damaged JPEG: more than 65,536 bytes that are no"):
        probe_picture(filled, "fill.jpg")
    few = data[:20] + b"\xff" * 100 + data[20:]  # a few: the reader skips them, as the standard allows
    assert jpeg_markers.header_junk(io.BytesIO(few)) is None
    assert probe_picture(few, "few.jpg").width == 8


def test_a_jpeg_header_of_countless_segments_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty comment segments by the million (4 bytes each): Pillow's reader takes each in Python (8 MB: 3.5 s an
    open) and so did the walk (1.4 s); refused once past a count no photo's header comes near."""
    monkeypatch.setattr(jpeg_markers, "HEADER_SEGMENTS_MOST", 100, raising=False)  # the rule at a test's size
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(buf, "JPEG")  # APP0, 2 DQT, SOF, 4 DHT: 8 segments
    data = buf.getvalue()
    comments = data[:20] + b"\xff\xfe\x00\x02" * 1000 + data[20:]
    with pytest.raises(ImageReadError, match=r"c.jpg: .*damaged JPEG: more than 100 marker segments before its first"):
        probe_picture(comments, "c.jpg")
    some = data[:20] + b"\xff\xfe\x00\x02" * 90 + data[20:]  # 98 segments: within the rule
    assert probe_picture(some, "some.jpg").width == 8
