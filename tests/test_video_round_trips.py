"""colorsplash video: round trips keep size, frame rate, frame count, audio, pixel aspect ratio, colour tags and
rotation; the output is a splash; no subject is said once; progress and the result's speed."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import (  # noqa: E402
    H,
    N,
    W,
    background,
    blob_mask,
    encode_raw,
    frame_count,
    moving_subject,
    orange_is_subject_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, orange_is_subject)
    pan_over_photo,
    write_clip,
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model  # noqa: E402
from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import _header, ffmpeg_exe, probe, read_frames  # noqa: E402


def test_round_trip_keeps_size_fps_and_frame_count(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "moving.mp4", moving_subject()[0], fps="12")
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx)
    info = probe(out)
    assert (info.width, info.height, info.fps) == (W, H, Fraction(12))
    assert frame_count(out) == N == result.frames
    assert not info.has_audio and not result.audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moving.mp4", "out.mp4"]  # no temp files left


def test_audio_track_is_kept(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "with audio.mp4", moving_subject()[0], audio=True)
    out = tmp_path / "out.mkv"
    assert main(["-q", "video", str(src), "-o", str(out), "--model", str(tiny_onnx)]) == 0
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac"  # copied, not re-encoded
    assert frame_count(out) == N
    assert abs(info.duration - N / 10) < 0.15


def test_a_silent_clip_keeps_its_recording_date_and_title(tmp_path: Path, tiny_onnx: Path) -> None:
    """A clip without sound (a drone's, a timelapse, a screen recording) was written without a remux, which is
    where the file's own metadata is copied: its recording date, by which photo libraries sort clips, its title and
    chapters were lost, where a clip with sound kept them."""
    tags = ["-metadata", "creation_time=2024-05-01T10:00:00Z", "-metadata", "title=Rex at the beach"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    src = encode_raw(moving_subject(n=5)[0], "10", [*x264, *tags], tmp_path / "drone.mp4")
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx, options=SplashOptions(on_empty="copy"))
    header = _header(out)
    assert "creation_time   : 2024-05-01T10:00:00" in header and "title           : Rex at the beach" in header
    assert not probe(write_clip(tmp_path / "plain.mp4", moving_subject(n=5)[0])).tagged  # only the muxer's tags


def test_audio_reencoded_when_container_cannot_hold_it(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=10)[0], audio=True)
    out = tmp_path / "out.webm"  # WebM accepts only Opus/Vorbis audio: AAC must be re-encoded
    splash_video(src, out, model=tiny_onnx)
    info = probe(out)
    assert info.audio_codec == "opus" and frame_count(out) == 10


def test_pan_over_real_photo_odd_size_and_ntsc_rate(tmp_path: Path, tiny_onnx: Path) -> None:
    frames = [f[:63, :95] for f in pan_over_photo()]  # odd sizes need 4:4:4 in H.264
    src = write_clip(tmp_path / "pan.mkv", [np.ascontiguousarray(f) for f in frames], fps="30000/1001")
    out = tmp_path / "pan out.mp4"
    splash_video(src, out, model=tiny_onnx, options=SplashOptions(effect="sepia"))
    info = probe(out)
    assert (info.width, info.height, info.fps) == (95, 63, Fraction(30000, 1001))
    assert frame_count(out) == N


def test_anamorphic_clip_keeps_its_pixel_aspect_ratio(tmp_path: Path, tiny_onnx: Path) -> None:
    """A clip of 4:3 pixels (DV, DVD, HDV, some phones) is written with 4:3 pixels: shown 16:9, not squeezed."""
    x264 = ["-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10"]
    src = encode_raw(moving_subject(n=3)[0], "10", x264, tmp_path / "anamorphic.mp4")
    assert probe(src).sar == Fraction(4, 3)
    for suffix in (".mp4", ".webm"):
        out = tmp_path / f"out{suffix}"
        splash_video(src, out, model=tiny_onnx)
        assert probe(out).sar == Fraction(4, 3), suffix
    assert probe(write_clip(tmp_path / "square.mp4", moving_subject(n=2)[0])).sar == 1


@pytest.mark.parametrize("size, tag, matrix", [((H, W), "smpte170m", "bt601"), ((720, 1280), "bt709", "bt709")])
def test_colour_matrix_is_tagged_as_converted(
    size: tuple[int, int], tag: str, matrix: str, tmp_path: Path, tiny_onnx: Path
) -> None:
    """The stream's colour tags name the matrix its frames were converted with (BT.601 below HD, BT.709 from
    720p up, TV range), so a player decoding by the tags shows the input's colours."""
    h, w = size
    bars = np.zeros((h, w, 3), np.uint8)
    for i, colour in enumerate([(230, 200, 20), (20, 200, 220), (40, 190, 40), (200, 30, 200), (220, 30, 30)]):
        bars[:, i * w // 5 : (i + 1) * w // 5] = colour
    # The input names its matrix: an untagged one is read by the matrix players assume for its size (BT.709 for
    # HD), which ffmpeg's default RGB -> YUV (BT.601) is not.
    tagged = f"scale=out_color_matrix={matrix}:out_range=tv,format=yuv444p,setparams=colorspace={tag}:range=tv"
    src = encode_raw([bars, bars], "10", ["-vf", tagged, "-c:v", "libx264", "-crf", "10"], tmp_path / "bars.mkv")
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx, options=SplashOptions(on_empty="copy", threshold=1.0))
    assert f"yuv420p(tv, {tag}, progressive)" in _header(out)
    scale = ["-vf", f"scale=in_color_matrix={matrix}:in_range=tv", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(out), "-frames:v", "1", *scale], capture_output=True, check=True
    ).stdout
    got = np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(int)
    inner = np.concatenate([np.arange(i * w // 5 + 4, (i + 1) * w // 5 - 4) for i in range(5)])
    assert np.abs(got[4:-4, inner] - bars[4:-4, inner].astype(int)).mean() < 2.5


@pytest.mark.parametrize("suffix, warned", [(".mp4", True), (".webm", False)])
def test_odd_size_h264_is_warned_about(
    suffix: str, warned: bool, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An odd size is kept; H.264 can keep it only as 4:4:4, which many players cannot play: a warning says so
    and names the way out (.webm, whose VP9 4:2:0 keeps odd sizes)."""
    frames = [np.ascontiguousarray(f[:63, :95]) for f in moving_subject(n=3)[0]]
    src = write_clip(tmp_path / "odd.mkv", frames)
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx)
    assert (probe(out).width, probe(out).height) == (95, 63)
    assert ("95x63 has an odd side" in caplog.text and ".webm" in caplog.text) is warned


def test_output_is_a_splash(tmp_path: Path, tiny_onnx: Path, orange_is_subject: None) -> None:
    frames, masks = moving_subject()
    src = write_clip(tmp_path / "in.mp4", frames)
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx)
    for i, frame in enumerate(read_frames(probe(out))):
        f = frame.astype(int)
        spread = f.max(axis=2) - f.min(axis=2)  # 0 for grey pixels
        inner = blob_mask(24 + 2.0 * i, H / 2, r=10) == 1
        outer = blob_mask(24 + 2.0 * i, H / 2, r=19) == 0
        assert spread[inner].mean() > 120, f"frame {i}: subject lost its colour"
        assert spread[outer].mean() < 12, f"frame {i}: background not grey"
    assert i == N - 1 and masks


def test_no_subject_in_any_frame_is_said_once(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip without a subject anywhere gets the photo verb's no-subject line (one owner: apply_on_empty), once
    for the clip, not silence; the clip is still written (exit 0)."""
    src = write_clip(tmp_path / "empty.mp4", [background()] * 5)

    def nothing(self: Model, image: np.ndarray) -> tuple[np.ndarray, float]:
        s = self.config.input_size
        return np.zeros((s, s), np.float32), 0.0

    monkeypatch.setattr(Model, "predict_scored", nothing)
    assert main(["-q", "video", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)]) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(lines) == 1
    assert lines[0].startswith(f"no blob found in any frame of {src} (subject score 0.00, under the model's 0.50)")
    # "keeps the clip": the photo's words said "keeps the photo" of a video.
    hint = "--point X,Y colours the blob there, --on-empty copy keeps the clip"
    assert lines[0].endswith(f"; background effect everywhere ({hint})")
    assert splash_video(src, tmp_path / "api.mp4", model=tiny_onnx).empty_frames == 5


def test_progress_bar_shows_frames(tmp_path: Path, tiny_onnx: Path, terminal: pytest.CaptureFixture[str]) -> None:
    src = write_clip(tmp_path / "in.avi", moving_subject()[0])
    assert main(["video", str(src), "-o", str(tmp_path / "out.avi"), "--model", str(tiny_onnx)]) == 0
    err = terminal.readouterr().err
    assert f"{N}/{N}" in err and "frame/s" in err


def test_rotated_phone_clip_comes_out_upright(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "landscape.mp4", moving_subject(n=5)[0])
    rotated = tmp_path / "phone.mp4"  # same pixels, a 90 degree display-rotation flag as phones write
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "90", "-i", str(src), "-c", "copy", str(rotated)],
        check=True,
    )
    out = tmp_path / "out.mp4"
    splash_video(rotated, out, model=tiny_onnx)
    info = probe(out)
    assert (info.width, info.height) == (H, W)  # portrait, as players show the input
    assert frame_count(out) == 5


def test_video_takes_the_fast_edge_stage_unless_asked_and_reports_its_speed(tmp_path: Path) -> None:
    from colorsplash.runtime.video.clip import VideoResult, video_options

    assert video_options(None).edges == "fast" and video_options(SplashOptions(edges="matte")).edges == "matte"
    result = VideoResult(tmp_path, tmp_path, 30, 8, 8, Fraction(10), False, 2.0, 0)
    assert result.frames_per_second == 15.0


def test_a_display_matrix_rotation_turns_the_pixel_aspect_ratio_too() -> None:
    """Phones flag rotation in a display matrix, which imageio's ``rotate`` tag misses: a 90-degree clip with 4:3
    pixels came out with 4:3 pixels on its turned frames, squeezed (recheck audit); ffmpeg turns them to 3:4."""
    from fractions import Fraction

    from colorsplash.runtime.video import video_io

    header = (
        "  Stream #0:0[0x1](und): Video: h264 (avc1 / 0x31637661), yuvj420p(pc), 360x270 [SAR 4:3 DAR 16:9], 25 fps\n"
        "      Display Matrix: rotation of -90.00 degrees\n"
    )
    assert video_io._header_rotation(header) == 270
    assert video_io._header_sar(header, video_io._header_rotation(header)) == Fraction(3, 4)
    assert video_io._header_rotation("  Stream #0:0: Video: h264, 360x270 [SAR 4:3 DAR 16:9]\n") == 0
