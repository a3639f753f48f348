"""Inputs that coverage-guided fuzzing of photo reading found (``scripts/fuzz/``), each made here from a small valid
picture: every one reads, or is refused with colorsplash's own error naming the file (413/415 over HTTP, never 500).
"""

from __future__ import annotations

import gc
import io
import struct
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.metadata import XMP_HEADER, segment, with_segments
from PIL import Image

from colorsplash.evaluation.mask_read import read_labels
from colorsplash.runtime.pictures.photo_io import ImageReadError, decode_image_bytes, read_photo, read_rgb
from colorsplash.runtime.pictures.photo_write import encode_image, write_image
from colorsplash.runtime.pictures.picture_open import PixelLimitError, probe_picture
from colorsplash.runtime.pipeline import reduced_jpeg, upright_size

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


def _gif_with_a_frame_of(width: int, height: int) -> bytes:
    """A small GIF whose first frame's descriptor claims ``width x height`` (larger than its screen)."""
    data = bytearray(_encoded(Image.new("P", (30, 20)), "GIF"))
    at = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # after the global colour table
    while data[at] == 0x21:  # extensions: label, then sub-blocks until a 0 length
        at += 2
        while data[at]:
            at += data[at] + 1
        at += 1
    assert data[at] == 0x2C
    data[at + 5 : at + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def test_a_gif_frame_over_pillows_own_guard_is_a_pixel_limit_error() -> None:
    """Pillow's GIF reader applies its decompression-bomb guard while opening, to a frame larger than the screen:
    its error escaped (a traceback in the CLI, 500 over HTTP)."""
    data = _gif_with_a_frame_of(65535, 65535)
    for read in (lambda: probe_picture(data, "bomb.gif"), lambda: decode_image_bytes(data, name="bomb.gif")):
        with pytest.raises(PixelLimitError, match=r"bomb\.gif: .* over Pillow's own limit"):
            read()


def _tiff_with_a_page_of_unknown_compression(which: int = 1, code: int = 306) -> bytes:
    """A two-page TIFF whose page ``which`` (0: the first) has compression ``code`` (306: a number no TIFF reader
    knows)."""
    pages = [Image.new("RGB", (8, 6), (200, 0, 0)), Image.new("RGB", (8, 6), (0, 0, 200))]
    data = bytearray(_encoded(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert data[:2] == b"II"
    ifd, page = struct.unpack_from("<I", data, 4)[0], 0
    while ifd:
        count = struct.unpack_from("<H", data, ifd)[0]
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            if page == which and struct.unpack_from("<H", data, entry)[0] == 259:  # Compression
                struct.pack_into("<H", data, entry + 8, code)
        ifd, page = struct.unpack_from("<I", data, ifd + 2 + 12 * count)[0], page + 1
    return bytes(data)


def test_a_tiff_page_of_unknown_compression_is_not_read() -> None:
    """Counting a TIFF's pages (for the note "TIFF with 2 pages") raised Pillow's KeyError: a traceback; then the
    whole TIFF was refused ("unknown value 306"), although its first page, the one read, is sound."""
    photo = decode_image_bytes(_tiff_with_a_page_of_unknown_compression(), name="pages.tif")
    assert photo.rgb[0, 0].tolist() == [200, 0, 0]
    assert photo.notes == [
        "pages.tif: TIFF whose later pages are damaged or cut off (not read); used the first page only"
    ]


def _avif(damage: Callable[[bytearray], None]) -> bytes:
    if "AVIF" not in Image.SAVE:
        pytest.skip("this Pillow writes no AVIF")
    data = bytearray(_encoded(_picture(), "AVIF", quality=50))
    damage(data)
    return bytes(data)


def _heic(damage: Callable[[bytearray], None]) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = bytearray(_encoded(_picture(), "HEIF", quality=50))
    damage(data)
    return bytes(data)


def _zero_pixi_channels(data: bytearray) -> None:
    data[data.find(b"pixi") + 8] = 0  # no channels: libavif's "Not implemented", at open


def _zero_image_data(data: bytearray) -> None:
    at = data.find(b"mdat") + 4
    data[at:] = bytes(len(data) - at)  # "Decoding of color planes failed", while loading


def _huge_ispe(data: bytearray) -> None:
    at = data.find(b"ispe")
    data[at + 8 : at + 12] = (268435520).to_bytes(4, "big")  # libheif's "Security limit exceeded", while loading


DAMAGED = {
    "pixi.avif": lambda: _avif(_zero_pixi_channels),
    "data.avif": lambda: _avif(_zero_image_data),
    "ispe.heic": lambda: _heic(_huge_ispe),
}


@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_a_damaged_avif_or_heic_is_a_read_error(name: str) -> None:
    """libavif's and libheif's errors reach Pillow's readers as RuntimeError: it escaped the reading of a damaged
    AVIF or HEIC (CLI: "Failed to decode image: Not implemented", naming no file; HTTP: 500)."""
    data = DAMAGED[name]()
    with pytest.raises(ImageReadError, match=rf"^{name}: [^\n]*; (re-export it|check the file)$"):  # one line
        decode_image_bytes(data, name=name)


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[Any]:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    app = server.create_app(tiny_onnx)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("name", [*sorted(DAMAGED), "bomb.gif", "pages.tif"])
def test_the_server_answers_them_in_json_not_500(name: str, client: Any) -> None:
    others = {
        "bomb.gif": lambda: _gif_with_a_frame_of(65535, 65535),
        "pages.tif": lambda: _tiff_with_a_page_of_unknown_compression(which=0),
    }
    data = {**DAMAGED, **others}[name]()
    for endpoint in ("splash", "view"):
        resp = client.post(f"/api/{endpoint}", files={"file": (name, data, "application/octet-stream")})
        assert resp.status_code == (413 if name == "bomb.gif" else 415), resp.text
        assert resp.json()["error"].startswith(f"{name}: ")


@pytest.mark.parametrize("method", ["TRACE", "GET", "PUT"])
def test_a_method_the_api_does_not_take_is_answered_with_allow(method: str, client: Any) -> None:
    """schemathesis: 405 came without the ``Allow`` header RFC 9110 requires (the JSON error dropped Starlette's)."""
    resp = client.request(method, "/api/splash")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "POST"
    # it said only "Method Not Allowed": what the route answers instead, and where the routes are described
    assert resp.json() == {"error": f"{method} /api/splash: this route answers POST only; see /docs"}


def test_an_unknown_route_is_named_with_where_the_routes_are(client: Any) -> None:
    """It said only "Not Found"."""
    resp = client.get("/api/splsh")
    assert resp.status_code == 404
    assert resp.json() == {
        "error": "/api/splsh: no such page or API route here; the API's routes are described at /docs"
    }
    long = client.get("/" + "x" * 300).json()["error"]  # quoted back cut, and said to be cut
    assert long.startswith("/" + "x" * 199 + "...: no such page"), long


def _jpeg_with_unwritable_exif(h: int, w: int) -> bytes:
    """A JPEG turned by EXIF orientation 6 whose EXIF holds ImageWidth (a number) as text: Pillow reads it, but
    cannot write that EXIF again (``struct.error``)."""
    text = b"2024:05:01 10:00:00\x00"
    entries = struct.pack(">HHII", 0x0100, 2, len(text), 8 + 2 + 24 + 4) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 2) + entries + bytes(4) + text
    return _encoded(_picture(h, w), "JPEG", quality=90, exif=exif)


def test_a_photo_whose_exif_cannot_be_written_again_still_reads(tmp_path: Path) -> None:
    """``ImageOps.exif_transpose`` writes the EXIF again: the reduced copy of a large photo's overlapped decode
    failed the photo ("unexpected error: required argument is not an integer"), and data sets' photos and masks were
    refused as unreadable. Its pixels are turned by the orientation alone now, as the full decode turns them."""
    data = _jpeg_with_unwritable_exif(48, 64)
    small = reduced_jpeg(data, (32, 24))
    assert small is not None and small.shape == (32, 24, 3)  # upright: turned a quarter
    full = decode_image_bytes(data, name="odd.jpg").rgb
    assert full.shape == (64, 48, 3)
    path = tmp_path / "odd.jpg"
    path.write_bytes(data)
    assert np.array_equal(read_rgb(path), full)
    assert read_labels(path, "seed").orientation == 6


def test_damaged_exif_is_one_note_and_no_warning_line_on_stderr(tmp_path: Path) -> None:
    """The header reads before the decode (the upright size, the reduced copy) and data sets' reads let Pillow's
    warning on damaged EXIF through to stderr, a line naming Pillow's source file beside colorsplash's own note."""
    ifd = b"MM\x00*\x00\x00\x00\x08" + (20).to_bytes(2, "big") + bytes.fromhex("011200030000000100060000")
    data = _encoded(_picture(48, 64), "JPEG", exif=b"Exif\x00\x00" + ifd)  # 20 entries claimed, 1 there
    path = tmp_path / "damaged.jpg"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert upright_size(data) == (64, 48)
        assert reduced_jpeg(data, (32, 24)) is not None
        assert read_rgb(path).shape == (64, 48, 3)
        notes = decode_image_bytes(data, name="damaged.jpg").metadata_notes
    assert [n for n in notes if "EXIF" in n] == [  # the decode's note in plain words
        "damaged.jpg: EXIF metadata (camera, dates, GPS) is damaged (cut short: 12 bytes expected, 0 found); "
        "not copied to the result"
    ]


def _tiff_with_its_directory_cut_short() -> bytes:
    """A TIFF (directory after the pixels, as libtiff writes it) cut after the tags its pixels need: Pillow warns
    "Corrupt EXIF data" each time it reads that directory as EXIF."""
    data = _encoded(Image.new("L", (32, 24), 200), "TIFF", compression="tiff_deflate", dpi=(72, 72))
    ifd = struct.unpack_from("<I", data, 4)[0]
    tags = [struct.unpack_from("<H", data, ifd + 2 + 12 * i)[0] for i in range(struct.unpack_from("<H", data, ifd)[0])]
    return data[: ifd + 2 + 12 * (tags.index(279) + 1)]  # up to StripByteCounts


def test_a_mask_read_says_nothing_on_stderr(tmp_path: Path) -> None:
    """Reading a mask's orientation after loading it let a TIFF read its damaged directory aloud while loading."""
    path = tmp_path / "mask.tif"
    path.write_bytes(_tiff_with_its_directory_cut_short())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageReadError, match=r"mask\.tif: unreadable"):  # libtiff refuses it; Pillow warned first
            read_labels(path, "seed")


def test_a_damaged_exif_sub_directory_is_damaged_exif_not_a_line_on_stderr() -> None:
    """An Exif directory cut short (5 entries claimed, 1 there) was read only when the EXIF was copied: Pillow's
    warning on stderr, and the EXIF copied with what was left. It is damaged EXIF now: one note, not copied."""
    ifd0 = struct.pack(">HHHII", 2, 0x010F, 2, 4, 0x43616D00) + struct.pack(">HHII", 0x8769, 4, 1, 38) + bytes(4)
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + ifd0 + struct.pack(">HHHII", 5, 0xA002, 4, 1, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        photo = decode_image_bytes(_encoded(_picture(), "JPEG", exif=exif), name="sub.jpg")
    assert photo.exif is None
    assert photo.metadata_notes == [
        "sub.jpg: EXIF metadata (camera, dates, GPS) is damaged (cut short: 12 bytes expected, 0 found); not copied "
        "to the result"
    ]


def test_exif_pillow_changes_to_write_it_is_not_copied_and_says_nothing_on_stderr() -> None:
    """A GPS directory whose version (tag 0) holds three numbers: Pillow warned "tag 0 had too many entries" on
    stderr while writing the result's EXIF, and wrote it changed."""
    ifd0 = struct.pack(">HHHI4sHHII", 2, 0x010F, 2, 4, b"Cam\x00", _GPS_IFD, 4, 1, 38) + bytes(4)
    gps = struct.pack(">HHHII", 2, 0, 5, 3, 68) + struct.pack(">HHI4s", 1, 2, 2, b"N\x00\x00\x00") + bytes(4)
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + ifd0 + gps + struct.pack(">6I", 52, 1, 22, 1, 0, 1)
    data = _encoded(_picture(), "WEBP", exif=exif)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        photo = decode_image_bytes(data, name="gps.webp")
    assert photo.exif is None
    assert photo.metadata_notes == [
        "gps.webp: EXIF metadata (camera, dates, GPS) is damaged (a value with more parts than it may have); not "
        "copied to the result"
    ]


def test_a_later_pages_damaged_directory_says_nothing_on_stderr() -> None:
    """Counting a TIFF's pages (for its note) read a later page's cut-off directory aloud: Pillow's "Corrupt EXIF
    data" on stderr, about no EXIF of the picture read."""
    pages = [Image.new("L", (32, 24), 200), Image.new("L", (32, 24), 100)]
    data = _encoded(pages[0], "TIFF", compression="tiff_deflate", save_all=True, append_images=pages[1:])
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    cut = data[: second + 2 + 12 * (struct.unpack_from("<H", data, second)[0] - 2)]  # its last two tags cut off
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        photo = decode_image_bytes(cut, name="pages.tif")
    assert photo.rgb.shape == (24, 32, 3)
    assert photo.notes == ["pages.tif: TIFF with 2 pages; used the first page only"]


def test_a_floating_point_picture_of_huge_values_reads_without_an_overflow_warning() -> None:
    """A float TIFF whose values reach -1e38 overflowed float32 while scaled to 8 bits: NumPy's "overflow encountered
    in multiply" on stderr (the pixels were right: clipped)."""
    values = np.array([[-1e38, 0.0, 0.5, 1.0, np.nan]], np.float32)  # peak 1: scaled by 255
    data = _encoded(Image.fromarray(values, "F"), "TIFF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb = decode_image_bytes(data, name="float.tif").rgb
    assert rgb[0, :, 0].tolist() == [0, 0, 128, 255, 0]


def test_a_tiff_prefix_of_another_namespace_does_not_turn_the_result(tmp_path: Path) -> None:
    """XMP whose ``tiff`` prefix names a mistyped namespace (no trailing slash) kept its ``tiff:Orientation="6"``:
    Pillow reads the orientation by that prefix where the EXIF has none (a damaged EXIF is not copied), so the upright
    result was turned again when read (a TIFF result failed: "reads back as TIFF 24x32; nothing was written")."""
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        b' tiff:Orientation="6" xmp:Rating="4"/></rdf:RDF></x:xmpmeta>'
    )
    ifd = b"MM\x00*\x00\x00\x00\x08" + (20).to_bytes(2, "big") + bytes.fromhex("011200030000000100060000")
    damaged = b"Exif\x00\x00" + ifd  # orientation 6 in an EXIF Pillow warns about: used, not copied
    # The XMP segment written by hand: Pillow 10's JPEG writer has no xmp option
    data = with_segments(_encoded(_picture(), "JPEG", exif=damaged), segment(0xE1, XMP_HEADER + xmp))
    photo = decode_image_bytes(data, name="typo.jpg")
    assert photo.rgb.shape == (32, 24, 3) and photo.exif is None and photo.xmp is not None
    for fmt in ("TIFF", "JPEG", "PNG"):
        out = tmp_path / f"result.{fmt.lower()}"
        write_image(out, photo.rgb, fmt, exif=photo.exif, xmp=photo.xmp)
        assert read_photo(out).rgb.shape == (32, 24, 3), fmt  # upright already: not turned again


def test_a_mask_that_cannot_be_read_leaves_no_file_open(tmp_path: Path) -> None:
    """A damaged mask's file stayed open after its error (Python's ResourceWarning "unclosed file" when collected)."""
    path = tmp_path / "cut.png"
    path.write_bytes(_encoded(_picture(), "PNG")[:-40])  # image data cut short
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            read_labels(path, "seed")
        except ImageReadError as err:
            assert str(err).startswith(f"{path}: unreadable or truncated picture")
        else:
            raise AssertionError("read")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize(("fmt", "side"), [("JPEG", 65_500), ("WEBP", 16_383), ("GIF", 65_535)])
def test_a_result_too_wide_for_its_format_says_so(fmt: str, side: int) -> None:
    """A panorama one pixel wider than its result's format holds: JPEG said "JPEG encoding failed for a (4, 65501, 3)
    image" (its check said 65,535, libjpeg-turbo's limit is 65,500), WebP "encoding error 5", GIF raised
    OverflowError (a traceback; a GIF whose frame widens its screen past 65,535 is written as GIF)."""
    assert encode_image(np.zeros((2, side, 3), np.uint8), fmt)[:2]  # the widest it holds
    words = rf"a {side + 1}x2 result is too large for {fmt} \(at most {side:,} pixels a side\); write it as PNG"
    with pytest.raises(ValueError, match=words):
        encode_image(np.zeros((2, side + 1, 3), np.uint8), fmt)
