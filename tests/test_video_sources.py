"""colorsplash video on clips as cameras and phones make them: colour tags (untagged HD, HDR PQ/HLG), frame
timing (variable frame rate), and the tracks besides picture and sound (subtitles). Every clip is generated here
(tiny: 96x64 or one 1280x720 colour, a few frames)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.video import splash_video  # noqa: E402
from colorsplash.runtime.video_colour import Colour, header_colour  # noqa: E402
from colorsplash.runtime.video_io import _header, ffmpeg_exe, probe, read_frames  # noqa: E402

RED, GREEN = (200, 60, 40), (40, 160, 60)
KEEP_ALL = SplashOptions(on_empty="copy", threshold=1.0)  # no subject anywhere: every frame kept in colour


def encode(frames: list[np.ndarray], out_args: list[str], path: Path, fps: str = "10") -> Path:
    """Pipe RGB uint8 frames into the bundled ffmpeg (not our writer); ``out_args`` come after the input."""
    h, w = frames[0].shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *raw, *out_args, str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def two_colours(h: int = 64, w: int = 96) -> np.ndarray:
    frame = np.empty((h, w, 3), np.uint8)
    frame[:] = RED
    frame[:, : w // 3] = GREEN
    return frame


def colours_of(frame: np.ndarray) -> np.ndarray:
    """The red and the green of a :func:`two_colours` frame as decoded (middle of each area), int."""
    h, w = frame.shape[:2]
    return np.array([frame[h // 2, 2 * w // 3], frame[h // 2, w // 6]], int)


# ---------------------------------------------------------------- colour


def test_header_colour_reads_ffmpegs_stream_line() -> None:
    line = "Stream #0:0: Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/smpte2084, "
    assert header_colour(line + "progressive), 320x240") == Colour("bt2020nc", "bt2020", "smpte2084")
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(tv, bt709, progressive), 1280x720").hdr is None
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(tv, bt709), 1280x720") == Colour(*["bt709"] * 3)
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(progressive), 1280x720") == Colour()
    assert header_colour("Stream #0:0: Video: h264, yuvj420p(pc, bt470bg/unknown/unknown)").matrix == "bt470bg"


def test_untagged_hd_clip_is_read_as_players_show_it(tmp_path: Path) -> None:
    """An HD clip without colour tags (screen recorders, older cameras) is BT.709 to every player, and the splash
    is written as BT.709: read as ffmpeg's default BT.601, the kept colours came out shifted (red 200,60,40 read
    as 186,46,41)."""
    frame = two_colours(720, 1280)
    untag = "setparams=colorspace=unknown:color_primaries=unknown:color_trc=unknown:range=unknown"  # as they write
    to_709 = f"scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,{untag}"
    src = encode([frame, frame], ["-vf", to_709, "-c:v", "libx264", "-crf", "5"], tmp_path / "untagged.mp4")
    info = probe(src)
    got = colours_of(next(read_frames(info)))
    assert np.abs(got - np.array([RED, GREEN])).max() <= 4, got
    assert info.colour.matrix == "bt709" and info.colour.matrix_assumed


@pytest.mark.parametrize("transfer, name", [("smpte2084", "PQ"), ("arib-std-b67", "HLG")])
def test_hdr_clip_is_converted_to_sdr_with_a_note(
    transfer: str, name: str, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone's HDR clip (10-bit BT.2020, PQ or HLG) was read as if its signal were SDR: flat, washed-out
    colours (red 200,60,40 came out 104,67,47), written tagged as SDR, without a word. Its colours are now
    tone-mapped to SDR BT.709 (those within SDR range stay close) and a warning says the output is SDR."""
    frame = two_colours()
    to_hdr = f"zscale=t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=100,format=yuv420p10le"
    tag_sdr = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=gbr"
    x264 = ["-c:v", "libx264", "-crf", "5"]
    src = encode([frame] * 3, ["-vf", f"{tag_sdr},{to_hdr}", *x264], tmp_path / f"hdr_{name}.mkv")
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    got = colours_of(next(read_frames(probe(out))))
    assert np.abs(got - np.array([RED, GREEN])).max() <= 16, got
    assert result.frames == 3 and probe(src).colour.hdr == name
    assert f"HDR ({name}, bt2020 primaries) video is converted to SDR BT.709" in caplog.text


# ---------------------------------------------------------------- tracks besides picture and sound


@pytest.mark.parametrize("suffix, kept", [(".mp4", "mov_text"), (".mkv", "subrip"), (".avi", None)])
def test_subtitle_tracks_are_carried(
    suffix: str, kept: str | None, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip's subtitles were silently dropped (only audio was carried over). They are copied, converted to the
    output's text format where it cannot hold them as they are (MP4's mov_text into .mkv: SubRip), or, where the
    container holds no subtitles (.avi), left out with a warning. The sound comes along either way."""
    srt = tmp_path / "captions.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nHello cat\n", encoding="utf-8")
    sound = ["-f", "lavfi", "-t", "0.3", "-i", "sine=sample_rate=22050"]
    tracks = ["-i", str(srt), "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:a", "aac", "-c:s", "mov_text"]
    frames = [two_colours()] * 3
    src = encode(frames, [*sound, *tracks, "-c:v", "libx264", "-pix_fmt", "yuv444p"], tmp_path / "subs.mp4")
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    header = _header(out)
    assert ("Subtitle: " + kept in header) if kept else ("Subtitle:" not in header), header
    assert "Audio:" in header
    assert ("cannot be stored in .avi" in caplog.text) is (kept is None)
