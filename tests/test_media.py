"""Reading awkward pictures (a generated corpus), keeping EXIF/ICC, writing in the input's format atomically."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.photo_io import (
    ImageReadError,
    decode_image_bytes,
    encode_image,
    output_format,
    read_photo,
    write_image,
)

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (a decompression bomb's signature) with almost no data."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def rotated_jpeg() -> bytes:
    """40 wide x 20 high, red top-left corner, EXIF orientation 6 (display rotated 90 deg clockwise), sRGB ICC."""
    img = Image.new("RGB", (40, 20), (20, 20, 200))
    img.paste((255, 0, 0), (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "TestCam"
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=SRGB_ICC)
    return buf.getvalue()


def write_corpus(folder: Path) -> dict[str, str]:
    """Write the good-but-awkward and the bad pictures into ``folder``; name -> expected ``ok`` or ``error``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rotated.jpg").write_bytes(rotated_jpeg())
    Image.new("CMYK", (30, 20), (0, 200, 200, 0)).save(folder / "cmyk.jpg", quality=90)
    fake_cmyk_icc = SRGB_ICC[:16] + b"CMYK" + SRGB_ICC[20:]  # unusable profile: must not stop the photo
    Image.new("CMYK", (30, 20), (0, 200, 200, 0)).save(folder / "cmyk_icc.jpg", icc_profile=fake_cmyk_icc)
    Image.fromarray(np.tile(np.arange(0, 60000, 2000, dtype=np.uint16), (20, 1))).save(folder / "deep16.png")
    Image.new("RGB", (30, 20), (250, 120, 30)).convert("P").save(folder / "palette.png", transparency=0)
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (250, 120, 30, 255)
    Image.fromarray(rgba).save(folder / "rgba.png")
    Image.new("L", (30, 20), 128).save(folder / "grey.jpg")
    frames = [Image.new("RGB", (30, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.new("RGB", (1, 1), (250, 120, 30)).save(folder / "one.png")
    Image.new("RGB", (20000, 10), (40, 40, 40)).save(folder / "wide.png")
    good = (folder / "rotated.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])  # cut inside the header
    big = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)).save(big, "JPEG")
    (folder / "cut.jpg").write_bytes(big.getvalue()[: len(big.getvalue()) * 2 // 3])  # cut inside the pixels
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("these are my notes, not a picture\n")
    (folder / "bomb.png").write_bytes(_png_claiming(30000, 30000))  # Pillow's own hard limit
    (folder / "big.png").write_bytes(_png_claiming(11000, 10000))  # over our default limit only
    return {"rotated.jpg": "ok", "cmyk.jpg": "ok", "cmyk_icc.jpg": "ok", "deep16.png": "ok", "palette.png": "ok",
            "rgba.png": "ok", "grey.jpg": "ok", "anim.gif": "ok", "one.png": "ok", "wide.png": "ok",
            "truncated.jpg": "error", "cut.jpg": "error", "empty.jpg": "error", "notes.jpg": "error",
            "bomb.png": "error", "big.png": "error"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder)
    return folder


def test_every_good_file_reads_as_upright_rgb_uint8(corpus: Path) -> None:
    sizes = {"one.png": (1, 1), "wide.png": (10, 20000), "rotated.jpg": (40, 20), "anim.gif": (20, 30)}
    for name, kind in write_corpus(corpus).items():
        if kind != "ok":
            continue
        photo = read_photo(corpus / name)
        assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3, name
        assert photo.rgb.shape[:2] == sizes.get(name, (20, 30)), name


@pytest.mark.parametrize(("name", "words"), [
    ("truncated.jpg", "truncated"), ("cut.jpg", "truncated"), ("empty.jpg", "empty"), ("notes.jpg", "not a picture"),
    ("bomb.png", "pixels"), ("big.png", "pixel limit"), ("missing.jpg", "no such file"),
])
def test_bad_files_raise_one_clear_error_naming_the_file(corpus: Path, name: str, words: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_photo(corpus / name)
    message = str(info.value)
    assert name in message and words in message and "\n" not in message


def test_pixel_limit_is_configurable(corpus: Path) -> None:
    with pytest.raises(ImageReadError, match="pixel limit 1,000"):
        read_photo(corpus / "wide.png", max_pixels=1000)
    assert read_photo(corpus / "wide.png", max_pixels=200_000).rgb.shape == (10, 20000, 3)


def test_exif_orientation_applied_exif_and_icc_kept(corpus: Path) -> None:
    photo = read_photo(corpus / "rotated.jpg")
    # Orientation 6: the stored top-left corner is shown at the top-right.
    assert photo.rgb.shape == (40, 20, 3)
    assert photo.rgb[2, -3, 0] > 200 and photo.rgb[2, 2, 0] < 100
    exif = Image.Exif()
    exif.load(photo.exif)
    assert exif[0x0112] == 1 and exif[0x010F] == "TestCam"
    assert photo.icc == SRGB_ICC


def test_conversions_are_noted(corpus: Path) -> None:
    assert any("first frame" in n and "3 frames" in n for n in read_photo(corpus / "anim.gif").notes)
    assert read_photo(corpus / "anim.gif").rgb[0, 0].tolist() == [255, 0, 0]
    cmyk = read_photo(corpus / "cmyk_icc.jpg")
    assert cmyk.icc is None and any("CMYK" in n for n in cmyk.notes)  # a CMYK profile must not tag RGB output
    assert cmyk.rgb[0, 0, 0] > 200 and cmyk.rgb[0, 0, 2] < 100  # cyan-free, magenta+yellow = red-ish
    assert any("8 bits" in n for n in read_photo(corpus / "deep16.png").notes)
    deep = read_photo(corpus / "deep16.png").rgb
    assert deep[0, 0, 0] < deep[0, -1, 0]  # the 16-bit gradient survives the reduction
    assert read_photo(corpus / "rgba.png").rgb[0, -1].tolist() == [255, 255, 255]  # transparent -> white


def test_decode_image_bytes_matches_read_photo(corpus: Path) -> None:
    data = (corpus / "rotated.jpg").read_bytes()
    from_bytes, from_file = decode_image_bytes(data), read_photo(corpus / "rotated.jpg")
    assert np.array_equal(from_bytes.rgb, from_file.rgb) and from_bytes.exif == from_file.exif
    with pytest.raises(ImageReadError, match="upload"):
        decode_image_bytes(b"")
    with pytest.raises(ImageReadError, match="not a picture"):
        decode_image_bytes(b"GIF89a? no", name="upload")


def test_encode_keeps_exif_icc_and_quality(corpus: Path) -> None:
    photo = read_photo(corpus / "rotated.jpg")
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    high = encode_image(rgb, "JPEG", 95, photo.exif, photo.icc)
    low = encode_image(rgb, "JPEG", 30)
    assert len(low) < len(high)
    with Image.open(io.BytesIO(high)) as img:
        assert img.format == "JPEG" and img.info.get("icc_profile") == SRGB_ICC
        assert img.getexif()[0x0112] == 1
    for arr, mode in ((np.zeros((5, 6, 4), np.uint8), "RGBA"), (np.zeros((5, 6), np.uint8), "L")):
        with Image.open(io.BytesIO(encode_image(arr, "PNG"))) as img:
            assert img.mode == mode and img.size == (6, 5)


@pytest.mark.parametrize(("fmt", "suffix", "alpha", "expected"), [
    ("JPEG", ".JPG", False, ("JPEG", ".JPG")),
    ("PNG", ".jpg", False, ("PNG", ".png")),  # a PNG named .jpg: the name follows the content
    ("JPEG", ".jpg", True, ("PNG", ".png")),  # a cut-out needs transparency
    ("WEBP", ".webp", True, ("WEBP", ".webp")),
    ("MPO", ".jpg", False, ("JPEG", ".jpg")),
    ("PPM", ".ppm", False, ("PNG", ".png")),
    (None, "", False, ("PNG", ".png")),
])
def test_output_format(fmt: str | None, suffix: str, alpha: bool, expected: tuple[str, str]) -> None:
    assert output_format(fmt, suffix, alpha) == expected


def test_jpeg_pixels_match_pillow_and_large_icc_survives(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 255, (48, 64, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=90)
    ours = read_photo(tmp_path / "a.jpg").rgb  # decoded by OpenCV
    assert np.abs(ours.astype(int) - np.asarray(Image.open(tmp_path / "a.jpg"))).max() <= 2
    big_icc = SRGB_ICC + bytes(150_000)  # needs three APP2 segments
    with Image.open(io.BytesIO(encode_image(rgb, "JPEG", 90, icc=big_icc))) as img:
        assert img.info["icc_profile"] == big_icc


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.png"
    write_image(target, np.zeros((4, 4, 3), np.uint8), "PNG")
    write_image(target, np.full((4, 4, 3), 255, np.uint8), "PNG")
    assert np.asarray(Image.open(target)).min() == 255
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_interrupted_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_unwritable_destination_is_one_oserror_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot write .*file/out.png"):
        atomic_write(blocker / "out.png", b"data")
