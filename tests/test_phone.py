"""A phone owner's first hour: an iPhone's Live Photo (HEIC + .MOV), an Android Motion Photo (a JPEG with its clip
appended), a video handed to the photo verbs. Every file is generated here (tiny)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

from colorsplash import cli
from colorsplash.runtime.photo_io import ImageReadError, read_photo

# The first bytes of the clips phones and cameras make, and the name each is given as.
VIDEO_HEADS = {
    "QuickTime/MP4": b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ",  # an iPhone's .MOV
    "Matroska/WebM": b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81",
    "AVI": b"RIFF\x00\x10\x00\x00AVI LIST",
}


def live_photo(folder: Path) -> tuple[Path, Path]:
    """An iPhone Live Photo as the phone exports it: IMG_0001.HEIC and IMG_0001.MOV side by side."""
    pillow_heif = pytest.importorskip("pillow_heif")
    folder.mkdir(parents=True, exist_ok=True)
    image, _ = make_blob_image(48, 64, seed=3)
    heic = folder / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.fromarray(image)).save(heic, quality=90)
    mov = folder / "IMG_0001.MOV"
    mov.write_bytes(VIDEO_HEADS["QuickTime/MP4"] + bytes(200))
    return heic, mov


def test_a_live_photo_folder_splashes_the_heic_and_says_it_left_out_the_mov(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The .MOV was left out without a word, and a folder of only clips said "no pictures found" alone."""
    live_photo(tmp_path / "live")
    caplog.set_level(logging.INFO)
    assert cli.main(["splash", str(tmp_path / "live"), "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["IMG_0001.splash.jpg"]
    assert "left out 1 video(s), not photos (IMG_0001.MOV); `colorsplash video FILE` splashes a video" in caplog.text


@pytest.mark.parametrize("kind", list(VIDEO_HEADS))
def test_a_video_given_as_a_photo_is_named_a_video(kind: str, tmp_path: Path) -> None:
    """It was "not a picture colorsplash reads (unrecognised content ...); check the file", as if damaged."""
    path = tmp_path / "IMG_0001.MOV"
    path.write_bytes(VIDEO_HEADS[kind] + bytes(200))
    with pytest.raises(ImageReadError) as err:
        read_photo(path)
    assert str(err.value) == (
        f"{path}: the content is a video ({kind}), not a photo; videos are splashed by: colorsplash video FILE"
    )


def test_a_motion_photo_is_read_as_its_jpeg(tmp_path: Path) -> None:
    """Android's Motion Photos (Pixel ``PXL_..MP.jpg``, Samsung) are a JPEG with the clip appended after it."""
    image, _ = make_blob_image(48, 64, seed=4)
    path = tmp_path / "PXL_20240101_120000000.MP.jpg"
    Image.fromarray(image).save(path, quality=95)
    still = read_photo(path).rgb
    path.write_bytes(path.read_bytes() + b"MotionPhoto_Data" + VIDEO_HEADS["QuickTime/MP4"] + bytes(5000))
    photo = read_photo(path)
    assert photo.format == "JPEG" and photo.notes == []
    assert np.array_equal(photo.rgb, still)


def test_a_live_photos_clip_hevc_10_bit_hlg_turned_is_splashed(tmp_path: Path, tiny_onnx: Path) -> None:
    """The .MOV of a Live Photo as recent iPhones record it: HEVC Main 10, HLG BT.2020, a rotation flag, sound."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from colorsplash.runtime.video import splash_video
    from colorsplash.runtime.video_io import probe, read_frames

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    if "libx265" not in subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout:
        pytest.skip("this ffmpeg has no HEVC encoder (libx265)")
    raw, mov = tmp_path / "raw.mov", tmp_path / "IMG_0001.MOV"
    tags = "colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc"
    x265 = ["-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-x265-params", f"log-level=error:{tags}", "-tag:v", "hvc1"]
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    sources = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=0.5", "-f", "lavfi", "-i", "sine"]
    subprocess.run([*quiet, *sources, *x265, "-c:a", "aac", "-shortest", str(raw)], check=True)
    subprocess.run([*quiet, "-display_rotation", "90", "-i", str(raw), "-c", "copy", str(mov)], check=True)
    out = tmp_path / "IMG_0001.splash.mov"
    result = splash_video(mov, out, model=tiny_onnx)
    assert result.frames == 5
    first = next(read_frames(probe(out)))
    assert first.shape[:2] == (160, 120)  # upright: the rotation flag applied once
