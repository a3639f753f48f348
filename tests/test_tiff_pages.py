"""Multi-page TIFFs whose later pages are cut off or damaged (the first page, the one read, is sound), and TIFFs whose
first page Pillow refuses: built with Pillow, then cut or edited byte by byte."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash.runtime.pictures.photo_io import ImageReadError, decode_image_bytes, read_photo
from colorsplash.runtime.pictures.picture_open import probe_picture

_LATER = "TIFF whose later pages are damaged or cut off (not read); used the first page only"


def _pages(count: int = 3) -> tuple[bytes, list[int]]:
    """A ``count``-page RGB TIFF (little-endian, uncompressed, 16x12, page ``i`` all ``(40 * i, 90, 200)``) and its
    directories' offsets."""
    pages = [Image.new("RGB", (16, 12), (40 * i, 90, 200)) for i in range(count)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    data = buf.getvalue()
    offsets, at = [], struct.unpack_from("<I", data, 4)[0]
    while at:
        offsets.append(at)
        at = struct.unpack_from("<I", data, at + 2 + 12 * struct.unpack_from("<H", data, at)[0])[0]
    return data, offsets


def _cut_in_second_directory() -> bytes:
    data, offsets = _pages()
    return data[: offsets[1] + 10]


def _cut_in_second_pages_pixels() -> bytes:
    """Cut in the second page's pixels, before the third page's directory (Pillow writes each after its pixels)."""
    data, offsets = _pages()
    assert offsets[2] > offsets[1]
    with Image.open(io.BytesIO(data)) as img:
        img.seek(1)
        strip = img.tag_v2[273][0]  # StripOffsets
    return data[: strip + 100]


def _next_directory_past_the_end() -> bytes:
    data, offsets = _pages(2)
    edited = bytearray(data)
    struct.pack_into("<I", edited, offsets[0] + 2 + 12 * struct.unpack_from("<H", data, offsets[0])[0], len(data) + 99)
    return bytes(edited)


LATER_DAMAGE: dict[str, Callable[[], bytes]] = {
    "directory": _cut_in_second_directory,
    "pixels": _cut_in_second_pages_pixels,
    "pointer": _next_directory_past_the_end,
}


@pytest.mark.parametrize("damage", sorted(LATER_DAMAGE))
def test_a_tiff_cut_after_its_first_page_reads_its_first_page(damage: str, tmp_path: Path) -> None:
    """Such a TIFF was refused whole ("unreadable or truncated picture (Missing dimensions)"): counting its pages for
    the note failed; and where the count stopped on the third page, Pillow was left on that page."""
    data = LATER_DAMAGE[damage]()
    photo = decode_image_bytes(data, name="cut.tif")
    assert photo.rgb.shape == (12, 16, 3)
    assert np.all(photo.rgb == (0, 90, 200))  # the first page, not the one counting stopped on
    assert photo.notes == [f"cut.tif: {_LATER}"]
    path = tmp_path / "cut.tif"
    path.write_bytes(data)
    assert read_photo(path).notes == [f"{path}: {_LATER}"]


def test_the_cli_splashes_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.tif"
    path.write_bytes(_cut_in_second_directory())
    run = subprocess.run(
        [sys.executable, "-m", "colorsplash", "mask", str(path), "-o", str(tmp_path / "m.png")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"{path}: {_LATER}" in run.stderr
    assert (tmp_path / "m.png").is_file()


def _first_page_compressed(code: int) -> bytes:
    """A one-page TIFF whose Compression tag says ``code`` (its pixels are left as they are: never decoded)."""
    data, offsets = _pages(1)
    edited = bytearray(data)
    for entry in range(offsets[0] + 2, offsets[0] + 2 + 12 * struct.unpack_from("<H", data, offsets[0])[0], 12):
        if struct.unpack_from("<H", data, entry)[0] == 259:
            struct.pack_into("<H", edited, entry + 8, code)
    return bytes(edited)


@pytest.mark.parametrize(
    ("code", "method"), [(34712, "JPEG 2000"), (34887, "LERC"), (50002, "JPEG XL"), (4321, "an unknown method")]
)
def test_a_first_page_of_a_compression_pillow_cannot_decode_is_named(code: int, method: str) -> None:
    """It was called "not a picture colorsplash reads (unrecognised content ...); check the file"."""
    data = _first_page_compressed(code)
    expected = (
        rf"^x\.tif: a TIFF compressed with {method} \(compression {code}\), which Pillow cannot decode; save it as "
        r"a TIFF with LZW, Deflate or no compression, or as PNG or JPEG$"
    )
    for read in (lambda: decode_image_bytes(data, name="x.tif"), lambda: probe_picture(data, "x.tif")):
        with pytest.raises(ImageReadError, match=expected):
            read()


def test_a_damaged_first_page_is_a_damaged_tiff() -> None:
    """A TIFF whose first directory lacks its width was "unrecognised content" too: it is a damaged TIFF."""
    data, offsets = _pages(1)
    edited = bytearray(data)
    for entry in range(offsets[0] + 2, offsets[0] + 2 + 12 * struct.unpack_from("<H", data, offsets[0])[0], 12):
        if struct.unpack_from("<H", data, entry)[0] == 256:  # ImageWidth -> a private tag
            struct.pack_into("<H", edited, entry, 65000)
    with pytest.raises(ImageReadError, match=r"^x\.tif: unreadable or truncated picture \(damaged TIFF: "):
        decode_image_bytes(bytes(edited), name="x.tif")


def test_a_palette_page_without_its_colour_map_is_a_damaged_tiff_not_a_compression() -> None:
    """Pillow's ``KeyError`` of a missing tag (the ColorMap, 320) read as that of a compression number: "a TIFF
    compressed with an unknown method (compression 320)" for an uncompressed picture; only the first page's own
    Compression tag names a compression."""
    buf = io.BytesIO()
    Image.new("P", (16, 12), 3).save(buf, "TIFF")
    data = buf.getvalue()
    at = struct.unpack_from("<I", data, 4)[0]
    edited = bytearray(data)
    for entry in range(at + 2, at + 2 + 12 * struct.unpack_from("<H", data, at)[0], 12):
        if struct.unpack_from("<H", data, entry)[0] == 320:  # ColorMap -> a private tag
            struct.pack_into("<H", edited, entry, 65000)
    with pytest.raises(ImageReadError, match=r"^x\.tif: unreadable or truncated picture \(damaged TIFF: "):
        decode_image_bytes(bytes(edited), name="x.tif")


def _one_pixel_pages(count: int) -> bytes:
    """A little-endian TIFF of ``count`` one-pixel grey pages (8 tags each, all sharing one byte of pixels): about
    100 bytes a page."""
    tags = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (278, 3, 1), (279, 4, 1)]
    out = bytearray(b"II*\x00" + struct.pack("<I", 9) + b"\x80")
    for i in range(count):
        out += struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, k, 1, v) for t, k, v in tags)
        out += struct.pack("<I", len(out) + 4 if i < count - 1 else 0)
    return bytes(out)


def test_a_tiff_of_very_many_pages_is_not_counted_page_by_page_by_pillow() -> None:
    """Pillow's page count of a TIFF takes time as the square of its pages: 40,000 one-pixel pages (a 4 MB upload)
    held a server thread 27 s to say "TIFF with 40000 pages", and a 25 MB one would take hours. Past 1,000 pages
    the note says "more than 1,000"; a few pages are still counted exactly."""
    from colorsplash.runtime.pictures.page_count import MAX_COUNTED_PAGES

    photo = decode_image_bytes(_one_pixel_pages(MAX_COUNTED_PAGES * 20), name="scan.tif")
    assert photo.rgb.shape == (1, 1, 3) and "scan.tif: TIFF with more than 1,000 pages; used the first page only" in (
        photo.notes
    ), photo.notes
    few = decode_image_bytes(_one_pixel_pages(3), name="few.tif")
    assert "few.tif: TIFF with 3 pages; used the first page only" in few.notes, few.notes


def _empty_frames(count: int, stray: bytes = b"") -> bytes:
    """A 1x1 GIF of ``count`` frames (15 bytes each), ``stray`` bytes (which start no block) before the first."""
    frame = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00" + b"\x02" + b"\x02\x44\x01" + b"\x00"
    return b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff" + stray + frame * count + b"\x3b"


def test_a_gif_of_very_many_frames_is_not_counted_frame_by_frame_by_pillow() -> None:
    """Pillow counts a GIF's frames one by one in Python: 1.7 million empty frames in a 24 MB upload took 10.6 s of a
    server thread. Past 1,000 frames (stray bytes before them too) the note says "more than 1,000"; a few frames
    are still counted exactly."""
    from colorsplash.runtime.pictures.page_count import MAX_COUNTED_PAGES

    for data in (_empty_frames(MAX_COUNTED_PAGES * 20), _empty_frames(MAX_COUNTED_PAGES + 1, b"\x00junk\xff" * 50)):
        photo = decode_image_bytes(data, name="loop.gif")
        assert "loop.gif: GIF with more than 1,000 frames; used the first frame only" in photo.notes, photo.notes
    few = decode_image_bytes(_empty_frames(3, b"\x00\x01"), name="few.gif")
    assert "few.gif: GIF with 3 frames; used the first frame only" in few.notes, few.notes
    exact = decode_image_bytes(_empty_frames(MAX_COUNTED_PAGES), name="full.gif")
    assert f"full.gif: GIF with {MAX_COUNTED_PAGES} frames; used the first frame only" in exact.notes, exact.notes


def test_a_gif_with_megabytes_between_its_blocks_is_not_counted_by_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """24 MB of bytes that start no block after a GIF's first frame took Pillow's count 4.4 s, a byte at a time in
    Python (as the JPEG header walk's stray bytes did). Its frames are counted by their blocks, as Pillow would."""
    from PIL import GifImagePlugin

    from colorsplash.runtime.pictures.page_count import MAX_STRAY_BYTES

    def pillows_count(_: object) -> int:
        raise AssertionError("Pillow counted the frames")

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "n_frames", property(pillows_count))
    frame = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00" + b"\x02" + b"\x02\x44\x01" + b"\x00"
    data = _empty_frames(1)[:-1] + b"\x00" * (MAX_STRAY_BYTES + 1) + frame * 2 + b"\x3b"  # no end block after one
    photo = decode_image_bytes(data, name="stray.gif")
    assert "stray.gif: GIF with 3 frames; used the first frame only" in photo.notes, photo.notes


def test_a_gif_of_very_many_sub_blocks_is_counted_once_not_again_by_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame's image data in 1-byte sub-blocks (12 million in a 24 MB upload of two frames) was walked by the block
    count and then again by Pillow's, one sub-block at a time in Python: 5.2 s (4.1 s before the block count)."""
    from PIL import GifImagePlugin

    from colorsplash.runtime.pictures.page_count import MAX_SUB_BLOCKS

    def pillows_count(_: object) -> int:
        raise AssertionError("Pillow counted the frames")

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "n_frames", property(pillows_count))
    frame = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00" + b"\x02" + b"\x01\x44" * (MAX_SUB_BLOCKS + 1) + b"\x00"
    data = _empty_frames(1)[:-1] + frame * 2 + b"\x3b"
    photo = decode_image_bytes(data, name="blocks.gif")
    assert "blocks.gif: GIF with 3 frames; used the first frame only" in photo.notes, photo.notes


def _resolution_of(count: int) -> bytes:
    """A one-pixel grey TIFF whose XResolution entry claims ``count`` fractions (all 1/2), 8 bytes each."""
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8)]
    tags += [(278, 3, 1, 1), (279, 4, 1, 1), (282, 5, count, 9 + 2 + 12 * 9 + 4)]
    head = b"II*\x00" + struct.pack("<I", 9) + b"\x80" + struct.pack("<H", len(tags))
    entries = b"".join(struct.pack("<HHII", *tag) for tag in tags) + struct.pack("<I", 0)
    return head + entries + struct.pack("<II", 1, 2) * count


def test_a_tiff_entry_of_millions_of_fractions_is_refused_before_pillow_reads_it() -> None:
    """Pillow makes an object of each fraction of a TIFF's resolution as it opens the file: 3 million of them (a
    22 MB upload) took 14.5 s of each reader (the server's probe, its pixel count, its decode: 45 s an upload).
    More than 65,536 is a damaged TIFF, said at once; a resolution of a few fractions still opens."""
    from colorsplash.runtime.pictures.page_count import MAX_FRACTIONS

    with pytest.raises(ImageReadError, match="damaged TIFF: tag 282 holds 65,537 fractions") as caught:
        decode_image_bytes(_resolution_of(MAX_FRACTIONS + 1), name="res.tif")
    assert "res.tif" in str(caught.value)
    with pytest.raises(ImageReadError, match="damaged TIFF"):
        probe_picture(_resolution_of(MAX_FRACTIONS + 1), "res.tif")
    assert decode_image_bytes(_resolution_of(1), name="ok.tif").rgb.shape == (1, 1, 3)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_exif_block_of_millions_of_fractions_is_damaged_not_read(fmt: str) -> None:
    """A PNG's or WebP's EXIF is a TIFF directory: 3 million fractions as its resolution took 18-23 s to read (a
    22 MB upload). It is damaged EXIF, left out with the usual note, its entries never read."""
    from colorsplash.runtime.pictures.page_count import MAX_FRACTIONS

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 90, 40)).save(buf, fmt, exif=_resolution_of(MAX_FRACTIONS + 1))
    photo = decode_image_bytes(buf.getvalue(), name="x.pic")
    said = "x.pic: EXIF metadata (camera, dates, GPS) is damaged (tag 282 holds 65,537 fractions); not copied"
    assert photo.exif is None and any(said in note for note in photo.metadata_notes), photo.metadata_notes


def test_a_tiff_exif_directory_of_millions_of_fractions_is_refused() -> None:
    """A TIFF's Exif directory (tag 34665) is read whole by Pillow's ``get_ifd``: its entries are checked too."""
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 122)]
    tags += [(278, 3, 1, 1), (279, 4, 1, 1), (34665, 4, 1, 124)]  # IFD0 at 8, 114 bytes; its pixel at 122
    data = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags))
    data += b"".join(struct.pack("<HHII", *tag) for tag in tags) + struct.pack("<I", 0) + b"\x80\x00"
    # the Exif directory at 124: ExposureTime (33434) of 65,537 fractions, at 142
    data += struct.pack("<H", 1) + struct.pack("<HHII", 33434, 5, 65_537, 142) + struct.pack("<I", 0)
    data += struct.pack("<II", 1, 2) * 65_537
    with pytest.raises(ImageReadError, match="damaged TIFF: tag 33434 holds 65,537 fractions"):
        decode_image_bytes(data, name="exif.tif")


def test_a_chain_of_directories_of_millions_of_entries_is_refused_at_a_bounded_cost() -> None:
    """The check's own walk was the cost: 1,001 overlapping directories of 65,535 entries each (a 0.8 MB upload)
    took 11 s of every reader to find no heavy entry. Past MAX_ENTRIES entries in all it is a damaged TIFF."""
    from colorsplash.runtime.pictures.page_count import MAX_ENTRIES

    pages, entries = MAX_ENTRIES // 65535 + 2, 65535
    data = bytearray(8 + 4 * pages + entries * 12 + 2 + 4 * pages)
    data[:8] = b"II*\x00" + struct.pack("<I", 8)
    for k in range(pages):  # directory k at 8 + 4k; the one after it named at its end
        struct.pack_into("<H", data, 8 + 4 * k, entries)
        struct.pack_into("<I", data, 8 + 4 * k + 2 + entries * 12, 8 + 4 * (k + 1) if k + 1 < pages else 0)
    with pytest.raises(ImageReadError, match=f"damaged TIFF: directories of more than {MAX_ENTRIES:,} entries"):
        decode_image_bytes(bytes(data), name="entries.tif")
