"""iPhones' HEIC photos: read through pillow-heif where installed (``colorsplash[heif]``), upright, written as JPEG;
named with the extra to install where not."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash import cli
from colorsplash.runtime.photo_io import IMAGE_EXTENSIONS, ImageReadError, read_photo
from colorsplash.runtime.photo_write import output_format
from colorsplash.runtime.picture_open import PixelLimitError

MAKE = 0x010F
ORIENTATION = 0x0112


def heic_photo(path: Path, orientation: int = 1) -> Path:
    """A 60x40 HEIC (left third blue, the rest red) saved as an iPhone does: EXIF with a maker and ``orientation``."""
    pillow_heif = pytest.importorskip("pillow_heif")
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :20] = (0, 0, 220)
    rgb[:, 20:] = (220, 0, 0)
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[ORIENTATION] = orientation
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(path, exif=exif.tobytes(), quality=95)
    return path


def test_an_iphone_heic_is_splashed_upright_into_a_jpeg_with_its_exif(tmp_path: Path) -> None:
    """Before: "the content is HEIC, a picture format colorsplash does not read ...; convert it"."""
    photo = heic_photo(tmp_path / "IMG_0001.HEIC", orientation=6)
    assert read_photo(photo).rgb.shape == (60, 40, 3)  # turned once (libheif), not twice
    assert cli.main(["-q", "splash", str(photo)]) == 0
    with Image.open(tmp_path / "IMG_0001.splash.jpg") as result:
        assert (result.format, result.size) == ("JPEG", (40, 60))
        exif = result.getexif()
        assert exif.get(MAKE) == "Apple" and exif.get(ORIENTATION, 1) == 1
    assert cli.main(["-q", "mask", str(photo)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0001.HEIC", "IMG_0001.mask.png", "IMG_0001.splash.jpg"]


def test_a_folders_heic_photos_are_splashed_beside_its_jpegs(tmp_path: Path) -> None:
    assert {".heic", ".heif"} <= set(IMAGE_EXTENSIONS)
    heic_photo(tmp_path / "a.heic")
    Image.new("RGB", (30, 20), (200, 10, 10)).save(tmp_path / "b.jpg")
    out = tmp_path / "out"
    assert cli.main(["-q", "splash", str(tmp_path), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.splash.jpg", "b.splash.jpg"]


def test_the_pixel_limit_applies_to_heic_before_decoding(tmp_path: Path) -> None:
    photo = heic_photo(tmp_path / "big.heic")
    with pytest.raises(PixelLimitError, match=r"big\.heic: 60x40 is more than the pixel limit 1,000"):
        read_photo(photo, max_pixels=1000)


def test_a_damaged_heic_is_named_as_heic(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    path = tmp_path / "IMG_0002.heic"
    path.write_bytes(heic_photo(tmp_path / "whole.heic").read_bytes()[:200])
    with pytest.raises(ImageReadError, match=r"IMG_0002\.heic: .*HEIC"):
        read_photo(path)


def test_without_pillow_heif_a_heic_names_the_extra_to_install(tmp_path: Path) -> None:
    """A Python without pillow-heif (the light install): one line naming the format and ``colorsplash[heif]``."""
    path = tmp_path / "IMG_0003.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    code = (
        "import sys; sys.modules['pillow_heif'] = None\n"  # import fails as if not installed
        "from colorsplash.runtime.photo_io import read_photo, ImageReadError\n"
        f"try:\n    read_photo({str(path)!r})\nexcept ImageReadError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "IMG_0003.heic: the content is HEIC" in out
    assert "pip install 'colorsplash[heif]'" in out


def test_a_jpeg_never_imports_pillow_heif(tmp_path: Path) -> None:
    """The extra's library loads on the first HEIF file only: a run over JPEGs pays nothing for it."""
    photo = tmp_path / "cat.jpg"
    Image.new("RGB", (30, 20), (200, 10, 10)).save(photo)
    code = f"import sys, colorsplash; colorsplash.splash({str(photo)!r}); print('pillow_heif' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("fmt", "suffix", "alpha", "expected"),
    [
        ("HEIF", ".HEIC", False, ("JPEG", ".jpg")),
        ("AVIF", ".avif", False, ("JPEG", ".jpg")),
        ("MPO", ".JPG", False, ("JPEG", ".JPG")),
        ("HEIF", ".heic", True, ("PNG", ".png")),
        ("PNG", ".png", False, ("PNG", ".png")),
    ],
)
def test_phone_formats_not_written_here_become_jpeg(
    fmt: str, suffix: str, alpha: bool, expected: tuple[str, str]
) -> None:
    """HEIC and AVIF results were PNG: a 12 MP phone photo 5-10x larger than the JPEG."""
    assert output_format(fmt, suffix, alpha) == expected


def test_the_http_api_splashes_a_heic_upload_into_a_jpeg(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    data = heic_photo(tmp_path / "up.heic").read_bytes()
    with TestClient(server.create_app(), base_url="http://127.0.0.1:8000") as client:
        answer = client.post("/api/splash", content=data, headers={"Content-Type": "image/heic"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(answer.content)).size == (60, 40)
