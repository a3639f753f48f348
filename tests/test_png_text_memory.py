"""PNG text that Pillow counts against its memory limit for all text (``runtime/pictures/png_text.py``): plain ``tEXt``
(and uncompressed ``iTXt``) chunks, each small, that together pass it are left out from the one that passes, and
no sooner; colour profiles past the limit for all metadata are left out unread."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, PngImagePlugin

from colorsplash.runtime.pictures.png_text import readable_png


def _png_with_comments(*texts: bytes, kind: bytes = b"tEXt") -> bytes:
    """A 32x24 PNG with one ``kind`` chunk (``tEXt``, or ``iTXt`` uncompressed) per text (keywords ``c0``,
    ``c1``...) before its image data."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, "PNG")
    png = buf.getvalue()
    chunks = b""
    for i, text in enumerate(texts):
        fields = b"\0\0\0\0" if kind == b"iTXt" else b""  # not compressed, method 0, no language, no translation
        data = f"c{i}".encode() + b"\0" + fields + text
        chunks += len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    at = png.index(b"IDAT") - 4
    return png[:at] + chunks + png[at:]


@pytest.mark.parametrize("kind", [b"tEXt", b"iTXt"])
@pytest.mark.parametrize("over", [0, 1])
def test_plain_text_past_pillows_limit_for_all_text_is_left_out_from_the_chunk_that_passes_it(
    monkeypatch: pytest.MonkeyPatch, over: int, kind: bytes
) -> None:
    """Three comments of 1,000 bytes under a 3,000-byte limit for all text: Pillow reads exactly 3,000, so none
    is left out; one byte more and Pillow refuses the picture, so the third comment is left out and the picture
    opens with the other two."""
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_MEMORY", 3000)
    png = _png_with_comments(b"a" * 1000, b"b" * 1000, b"c" * (1000 + over), kind=kind)
    source, unread = readable_png(io.BytesIO(png))
    assert list(unread.text) == (["c2"] if over else [])
    with Image.open(source) as img:
        img.load()
        assert sorted(k for k in img.info if k.startswith("c")) == (["c0", "c1"] if over else ["c0", "c1", "c2"])


def test_profiles_past_pillows_memory_limit_for_all_metadata_are_left_out_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each colour profile under Pillow's 1 MiB is inflated to learn its size; what is inflated in all is bounded
    (a small upload of many such profiles cost a worker seconds each): past the limit for all, the profile is left
    out, said why."""
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_MEMORY", 3 << 20)
    body = b"Profile\0\0" + zlib.compress(bytes((1 << 20) - 100))
    chunk = len(body).to_bytes(4, "big") + b"iCCP" + body + zlib.crc32(b"iCCP" + body).to_bytes(4, "big")
    png = _png_with_comments()
    at = png.index(b"IDAT") - 4
    _, unread = readable_png(io.BytesIO(png[:at] + chunk * 6 + png[at:]))
    assert unread.profile == "compressed PNG metadata over 3,145,728 bytes in all"
