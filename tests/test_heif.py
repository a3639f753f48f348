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
from colorsplash.runtime.pictures.photo_io import IMAGE_EXTENSIONS, ImageReadError, read_photo
from colorsplash.runtime.pictures.photo_write import output_format
from colorsplash.runtime.pictures.picture_open import READ_FORMATS_WORDS, PixelLimitError

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
        "from colorsplash.runtime.pictures.photo_io import read_photo, ImageReadError\n"
        f"try:\n    read_photo({str(path)!r})\nexcept ImageReadError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "IMG_0003.heic: the content is HEIC" in out
    assert "pip install 'colorsplash[heif]'" in out


def test_heic_sequences_read_and_avc_heif_is_named(tmp_path: Path) -> None:
    """HEVC image sequences (major brands ``hevx``, ``hevm``, ``hevs``: bursts, animations) were not taken for
    HEIC: pillow-heif was never registered for them, and they were refused as videos ("the content is a video
    (QuickTime/MP4)") with or without it. AVC-coded HEIF (``avci``), which pillow-heif does not read, was a video
    too. Fresh processes: this one may have registered pillow-heif's reader already."""
    pytest.importorskip("pillow_heif")
    whole = heic_photo(tmp_path / "whole.heic").read_bytes()
    assert whole[4:12] == b"ftypheic"
    paths = []
    for brand in ("hevx", "hevm", "hevs", "avci"):
        paths.append(tmp_path / f"IMG_{brand}.heic")
        paths[-1].write_bytes(whole[:8] + brand.encode() + whole[12:])
    code = (
        "import sys\n"
        "if sys.argv[1] == 'absent': sys.modules['pillow_heif'] = None\n"  # import fails as if not installed
        "from colorsplash.runtime.pictures.photo_io import read_photo, ImageReadError\n"
        "for path in sys.argv[2:]:\n"
        "    try:\n        print(read_photo(path).rgb.shape)\n"
        "    except ImageReadError as err:\n        print(err)\n"
    )
    for heif in ("installed", "absent"):
        run = [sys.executable, "-c", code, heif, *map(str, paths)]
        out = subprocess.run(run, capture_output=True, text=True, check=True).stdout.splitlines()
        for path, line in zip(paths[:3], out[:3], strict=True):
            said = f"{path}: the content is HEIC (iPhones' photo format), read with the pillow-heif package"
            assert line == ("(40, 60, 3)" if heif == "installed" else said + ": pip install 'colorsplash[heif]'")
        # the install advice only where pillow-heif is missing (a server reading HEIC gave it to its visitors)
        words = READ_FORMATS_WORDS if heif == "absent" else READ_FORMATS_WORDS.replace(" (with colorsplash[heif])", "")
        assert out[3] == (
            f"{paths[3]}: the content is AVC-coded HEIF, a picture format colorsplash does not read (it reads "
            f"{words}); convert it to one of these"
        )


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


def nclx_heic(path: Path, rgb: np.ndarray, primaries: int, transfer: int = 13) -> Path:
    """``rgb`` saved as HEIC tagged only by an ``nclx`` colour box (no ICC profile), as many phones tag theirs."""
    pillow_heif = pytest.importorskip("pillow_heif")
    nclx = {"color_primaries": primaries, "transfer_characteristics": transfer, "matrix_coefficients": 6}
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(path, quality=95, nclx_profile=nclx | {"full_range_flag": 1})
    return path


# Display P3 -> sRGB in linear light (the published matrix); the tone curve of both is sRGB's.
P3_TO_SRGB = np.array([[1.2249, -0.2247, 0.0], [-0.0420, 1.0419, 0.0], [-0.0197, -0.0786, 1.0979]])


def srgb_from_p3(rgb: np.ndarray) -> np.ndarray:
    v = rgb / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4) @ P3_TO_SRGB.T
    linear = np.clip(linear, 0, 1)
    return np.round(255 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055))


def test_an_nclx_display_p3_heic_keeps_its_colours_in_the_result(tmp_path: Path) -> None:
    """A HEIC tagged Display P3 by nclx numbers only came out untagged, so shown as sRGB (duller, shifted): the
    result now carries an equivalent ICC profile, its pixels unchanged."""
    colours = np.array([[[180, 60, 60], [40, 160, 90], [128, 128, 128], [250, 200, 20]]], np.uint8)
    rgb = np.repeat(np.repeat(colours, 16, axis=0), 16, axis=1)
    photo = nclx_heic(tmp_path / "IMG_0004.HEIC", rgb, primaries=12)
    assert cli.main(["-q", "splash", str(photo), "--on-empty", "copy"]) == 0
    with Image.open(tmp_path / "IMG_0004.splash.jpg") as result:
        icc = result.info.get("icc_profile")
    assert icc, "the result has no colour profile: a Display P3 photo would be shown as sRGB"
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert "Display P3" in ImageCms.getProfileDescription(profile)
    shown = ImageCms.profileToProfile(Image.fromarray(colours), profile, ImageCms.createProfile("sRGB"))
    assert np.abs(np.asarray(shown, float) - srgb_from_p3(colours.astype(float))).max() <= 1


def test_an_srgb_nclx_heic_gets_no_profile_and_an_hdr_one_a_note(tmp_path: Path) -> None:
    rgb = np.full((16, 16, 3), 120, np.uint8)
    assert read_photo(nclx_heic(tmp_path / "srgb.heic", rgb, primaries=1)).icc is None  # sRGB needs none
    hdr = read_photo(nclx_heic(tmp_path / "pq.heic", rgb, primaries=9, transfer=16))
    assert hdr.icc is None and any("HDR (PQ)" in note for note in hdr.notes), hdr.notes


def test_a_10_bit_heic_says_its_result_has_8_bits(tmp_path: Path) -> None:
    """pillow-heif hands a 10-bit HEIC over as 8-bit RGB (the effect's uint8 maths sees no difference); a 16-bit
    PNG said so, a 10-bit HEIC did not."""
    pillow_heif = pytest.importorskip("pillow_heif")
    rgb16 = np.zeros((40, 60, 3), np.uint16)
    rgb16[:, 30:] = (50000, 9000, 9000)
    path = tmp_path / "ten.heic"
    pillow_heif.from_bytes(mode="RGB;16", size=(60, 40), data=rgb16.tobytes()).save(path, quality=95)
    photo = read_photo(path)
    assert photo.rgb.dtype == np.uint8 and abs(int(photo.rgb[20, 45, 0]) - 50000 * 255 // 65535) <= 3
    assert photo.notes == [f"{path}: 10-bit picture; the result has 8 bits per channel"]


def test_a_heic_with_several_pictures_uses_its_primary_one_and_says_so(tmp_path: Path) -> None:
    """A burst or collection HEIC: the picture the phone shows (primary) is splashed, not "the first frame"."""
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.HeifFile()
    heif.add_frombytes("RGB", (30, 20), np.full((20, 30, 3), (200, 0, 0), np.uint8).tobytes())
    heif.add_frombytes("RGB", (30, 20), np.full((20, 30, 3), (0, 0, 200), np.uint8).tobytes())
    path = tmp_path / "burst.heic"
    heif.save(path, quality=95, primary_index=1)
    photo = read_photo(path)
    assert photo.rgb[10, 15, 2] > 150  # the blue (primary) picture
    assert photo.notes == [f"{path}: HEIC with 2 pictures; used its primary picture"]
