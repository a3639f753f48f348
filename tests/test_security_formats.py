"""Only the picture formats a photo tool needs are parsed: a file named ``.jpg`` (a photo someone sent, an upload, a
data set's file) that is really EPS, ICO, PPM, TGA... is refused in words before any of Pillow's rarely used
readers (EPS runs Ghostscript) sees it."""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import colorsplash
from colorsplash.runtime.pictures.heif import has_heif_reader
from colorsplash.runtime.pictures.photo_io import IMAGE_EXTENSIONS, ImageReadError, decode_image_bytes, read_photo
from colorsplash.runtime.pictures.picture_open import READ_FORMATS, open_unchecked, probe_picture, read_formats_words

# Formats Pillow writes (so a test can make them) that colorsplash does not read.
OTHER_FORMATS = ["EPS", "ICO", "PPM", "TGA", "PCX", "SGI", "IM", "SPIDER", "DDS", "XBM", "MSP", "QOI", "JPEG2000"]


def picture_bytes(fmt: str) -> bytes:
    mode = {"XBM": "1", "MSP": "1", "SPIDER": "F"}.get(fmt, "RGB")
    buf = io.BytesIO()
    # Every plugin registered first: copied before the save's own init(), the registry put back was the partial one,
    # and later tests (run alone, this file first) found no .avif or .bmp (KeyError in Image.save)
    Image.init()
    registered = dict(Image.EXTENSION)
    try:
        Image.new(mode, (32, 24)).save(buf, fmt)
    finally:  # Pillow 10's SPIDER writer registers the saved-to name's extension ("" here) for every later test
        Image.EXTENSION.clear()
        Image.EXTENSION.update(registered)
    return buf.getvalue()


@pytest.fixture
def fake_ghostscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``gs`` first on PATH that leaves a marker file when run: Pillow's EPS reader runs it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    marker = tmp_path / "gs-ran"
    gs = folder / "gs"
    gs.write_text(f"#!/bin/sh\necho ran >> '{marker}'\nexit 1\n")
    gs.chmod(gs.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return marker


def test_an_eps_named_jpg_is_refused_without_running_ghostscript(
    tmp_path: Path, fake_ghostscript: Path, tiny_onnx: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(picture_bytes("EPS"))
    with pytest.raises(ImageReadError, match=r"photo\.jpg: the content is EPS.*reads JPEG, PNG"):
        read_photo(path)
    with pytest.raises(ImageReadError, match="EPS"):
        decode_image_bytes(path.read_bytes(), name="upload.jpg")
    with pytest.raises(ImageReadError, match="EPS"):
        colorsplash.splash(path, tiny_onnx)
    assert not fake_ghostscript.exists()


@pytest.mark.parametrize(("brand", "name"), [(b"heic", "HEIC"), (b"mif1", "HEIF")])
def test_a_phone_photo_in_heic_is_named_not_called_damaged(tmp_path: Path, brand: bytes, name: str) -> None:
    """An iPhone's HEIC photo was "not a picture colorsplash reads (unrecognised content...); check the file", as
    if damaged; its first bytes say what it is."""
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00mif1heic" + bytes(64))
    try:  # this is no real HEIC: with pillow-heif its reader fails on it (without: tests/test_heif.py)
        import pillow_heif  # noqa: F401
    except ImportError:
        said = rf"the content is {name} \(iPhones' photo format\), read with the pillow-heif package"
    else:
        said = rf"the content says {name}, but its {name} reader could not open it; check the file"
    with pytest.raises(ImageReadError, match=rf"IMG_0001\.jpg: {said}"):
        read_photo(path)


def test_avif_photos_read_where_pillow_can_and_are_named_where_it_cannot(tmp_path: Path, tiny_onnx: Path) -> None:
    """Review: the format list of the security fix refused AVIF photos (phones, the web), which Pillow 11.2+ reads
    and colorsplash had splashed (into PNG); a Pillow without an AVIF reader names the format and what to do."""
    from PIL import features

    fake = tmp_path / "fake.avif"
    fake.write_bytes(b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00mif1miaf" + bytes(64))
    if not features.check("avif"):
        with pytest.raises(ImageReadError, match=r"fake\.avif: the content is AVIF, which this Pillow cannot read"):
            read_photo(fake)
        pytest.skip("this Pillow has no AVIF reader")
    photo = tmp_path / "cat.avif"
    Image.new("RGB", (48, 32), (230, 120, 20)).save(photo)
    assert read_photo(photo).rgb.shape == (32, 48, 3)
    colorsplash.splash(photo, tiny_onnx)
    assert ".avif" in IMAGE_EXTENSIONS  # a folder's AVIF photos are splashed too
    with pytest.raises(ImageReadError, match=r"fake\.avif: the content says AVIF, but its AVIF reader could not"):
        read_photo(fake)


@pytest.mark.parametrize("fmt", OTHER_FORMATS)
def test_other_formats_never_reach_their_reader(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Image.init()
    try:
        data = picture_bytes(fmt)
    except (KeyError, OSError) as err:
        pytest.skip(f"this Pillow cannot write {fmt}: {err}")
    opened: list[str] = []
    for name in [f for f in Image.ID if f not in READ_FORMATS]:
        factory, accept = Image.OPEN[name]
        monkeypatch.setitem(Image.OPEN, name, (lambda *a, _n=name: opened.append(_n), accept))  # type: ignore[misc]
    with pytest.raises(ImageReadError, match=f"reads {re.escape(read_formats_words())}") as err:
        decode_image_bytes(data, name="x.jpg")
    assert opened == [] and "x.jpg" in str(err.value)


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".jpg"), ("GIF", ".jpg"), ("BMP", ".bmp"), ("TIFF", ".tif")])
def test_the_formats_a_photo_tool_needs_still_read(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    Image.new("RGB", (32, 24), (200, 30, 30)).save(path, fmt)
    assert read_photo(path).rgb.shape == (24, 32, 3)
    assert probe_picture(path, path.name).format == fmt


def test_a_phones_multi_picture_jpeg_and_webp_still_read(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 8), c) for c in ((200, 30, 30), (0, 0, 0))]
    frames[0].save(tmp_path / "phone.jpg", "MPO", save_all=True, append_images=frames[1:])
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(tmp_path / "a.webp", "WEBP")
    assert read_photo(tmp_path / "phone.jpg").format == "MPO"
    assert read_photo(tmp_path / "a.webp").format == "WEBP"


def test_every_picture_extension_names_a_format_read() -> None:
    Image.init()
    by_extension = Image.registered_extensions()
    # AVIF only where this Pillow has its reader (11.2 and later): older ones register no .avif.
    # HEIC/HEIF where pillow-heif is installed and registered (runtime/pictures/heif.py).
    has_heif_reader()
    readers = {"AVIF": (".avif",), "HEIF": (".heic", ".heif")}
    missing = {ext for fmt, exts in readers.items() if fmt not in Image.ID for ext in exts}
    extensions = [ext for ext in IMAGE_EXTENSIONS if ext not in missing]
    formats = {fmt for fmt in READ_FORMATS if fmt not in readers or fmt in Image.ID}
    assert {by_extension[ext] for ext in extensions} == formats


def test_unrecognised_content_names_the_formats_read() -> None:
    with pytest.raises(ImageReadError, match="not a picture.*JPEG, PNG"):
        decode_image_bytes(b"these are my notes", name="notes.jpg")
    with pytest.raises(OSError):
        open_unchecked(io.BytesIO(picture_bytes("PPM")))


def test_the_server_refuses_an_eps_upload_in_words(tiny_onnx: Path, fake_ghostscript: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    with TestClient(server.create_app(tiny_onnx), base_url="http://127.0.0.1:8000") as client:
        resp = client.post("/api/splash", files={"file": ("cat.jpg", picture_bytes("EPS"), "image/jpeg")})
    assert resp.status_code == 415, resp.text
    assert "EPS" in resp.json()["error"]
    assert not fake_ghostscript.exists()
