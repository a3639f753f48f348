"""A phone owner's first hour: an iPhone's Live Photo (HEIC + .MOV), an Android Motion Photo (a JPEG with its clip
appended), a video handed to the photo verbs. Every file is generated here (tiny)."""

from __future__ import annotations

import io
import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from helpers.metadata import VIDEO, phone_jpeg
from PIL import Image

from colorsplash import cli
from colorsplash.runtime.pictures.photo_io import ImageReadError, decode_image_bytes, read_photo
from colorsplash.runtime.pipeline import reduced_jpeg

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
    assert photo.format == "JPEG" and photo.notes == [] and photo.metadata_notes == []
    assert np.array_equal(photo.rgb, still)


# Trailers phones append after a Motion Photo's JPEG: Pixel's MP4; Samsung's marker, MP4 and SEFT index; bytes that
# look like JPEG markers (0xFF...), even a whole JPEG.
MOTION_TRAILERS = {
    "pixel": VIDEO,
    "samsung": b"MotionPhoto_Data" + VIDEO + b"SEFH\x00\x00\x00\x00SEFT",
    "markers": bytes(range(256)) * 20 + b"\xff\xd8\xff\xda\x00\x02\xff\xd9",
}


@pytest.mark.parametrize("trailer", list(MOTION_TRAILERS))
def test_a_motion_photo_takes_the_fast_decoder_on_its_jpeg_only(trailer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast decoder (OpenCV) took only JPEGs whose bytes end with the end-of-image marker, so every Motion
    Photo went to Pillow: about 40 ms more per 12 MP photo. Its JPEG part now takes it, up to the EOI that ends the
    last scan (the IPTC thumbnail's EOI in the header is not that end): the pixels are Pillow's, the trailer never
    reaches the decoder, and the model's reduced copy (Pillow's DCT scaling) is the plain JPEG's too."""
    stored = np.ascontiguousarray(make_blob_image(96, 128, seed=5)[0])
    plain = phone_jpeg(stored, orientation=1, video=False)
    motion = plain + MOTION_TRAILERS[trailer]
    with Image.open(io.BytesIO(plain)) as img:
        pillows = np.asarray(img.convert("RGB"))

    def no_pillow(img: Image.Image, name: str) -> None:
        raise AssertionError(f"{name}: decoded by Pillow, not by the fast decoder")

    monkeypatch.setattr("colorsplash.runtime.pictures.photo_io.load_pixels", no_pillow)
    photo = decode_image_bytes(motion, name="PXL_MP.jpg")
    assert photo.format == "JPEG" and np.array_equal(photo.rgb, pillows)
    small = reduced_jpeg(motion, (48, 64))
    assert small is not None and np.array_equal(small, reduced_jpeg(plain, (48, 64)))


def test_a_motion_photo_cut_or_damaged_inside_its_jpeg_is_still_refused() -> None:
    """The fast path for Motion Photos must not let through what the end-marker check caught: a copy cut off
    inside the JPEG's image data (before its video), and bytes overwritten inside the image data."""
    stored = np.ascontiguousarray(make_blob_image(96, 128, seed=6)[0])
    plain = phone_jpeg(stored, orientation=1, video=False)
    cut = (plain + VIDEO)[: len(plain) - 400]
    with pytest.raises(ImageReadError, match="cut.jpg"):
        decode_image_bytes(cut, name="cut.jpg")
    middle = len(plain) - 300
    damaged = plain[:middle] + b"\xff\xe6\x01\x00\x12\x34" + plain[middle + 6 :] + VIDEO
    with pytest.raises(ImageReadError, match="odd.jpg: damaged JPEG data"):
        decode_image_bytes(damaged, name="odd.jpg")


def test_a_live_photos_clip_hevc_10_bit_hlg_turned_is_splashed(tmp_path: Path, tiny_onnx: Path) -> None:
    """The .MOV of a Live Photo as recent iPhones record it: HEVC Main 10, HLG BT.2020, a rotation flag, sound."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from colorsplash.runtime.video.clip import splash_video
    from colorsplash.runtime.video.video_io import probe, read_frames

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
