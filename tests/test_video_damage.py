"""colorsplash video on damaged input: a truncated or cut-off clip, lost frames filled on the timeline and
reported (--strict writes nothing), a clean clip or sound longer than the video not called damaged."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import (  # noqa: E402
    H,
    N,
    W,
    encode_raw,
    frame_count,
    marked_frames,
    marker,
    moving_subject,
    run_cli,
    write_clip,
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import VideoError, ffmpeg_exe, probe, read_frames  # noqa: E402


def test_truncated_clip_is_a_clear_error_or_shorter(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = write_clip(tmp_path / "in.avi", moving_subject()[0])
    cut = tmp_path / "cut.avi"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    out = tmp_path / "out.avi"
    try:
        result = splash_video(cut, out, model=tiny_onnx)
    except VideoError as err:
        assert str(cut) in str(err)
        assert not out.exists()
    else:  # ffmpeg decodes what is there: every readable frame is kept, and the loss is reported
        assert 0 < result.frames < N and frame_count(out) == result.frames
        assert result.damaged and "the video ends after" in caplog.text


def damaged_clip(tmp_path: Path, n: int = 60) -> Path:
    """A 10 fps MP4 with sound whose middle (40-55 % of the bytes, inside the media data) is overwritten with
    noise: the decoder loses whole frames there, as with a bad sector or a broken download."""
    src = tmp_path / "clean.mp4"
    frames = marked_frames(n)
    seconds = n / 10
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{W}x{H}",
        "-framerate",
        "10",
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-t",
        f"{seconds}",
        "-i",
        "sine=frequency=440:sample_rate=22050",
        "-c:a",
        "aac",
        "-c:v",
        "libx264",
        "-threads",
        "1",
        "-preset",
        "ultrafast",
        "-crf",
        "10",
        "-g",
        "10",
        "-pix_fmt",
        "yuv444p",
        str(src),
    ]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    data = bytearray(src.read_bytes())
    a, b = int(len(data) * 0.40), int(len(data) * 0.55)
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    return bad


def test_damaged_middle_keeps_timeline_and_reports(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16 item 5: frames lost in a damaged stretch are filled with the previous frame, so every later frame
    (and the copied sound) stays at its time; the damage is reported, and the CLI exits 1."""
    src = damaged_clip(tmp_path)
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx)
    assert result.damaged and result.decode.errors > 0 and result.decode.filled > 0
    assert result.frames == 60 and frame_count(out) == 60  # the input's timeline: 6 s at 10 fps
    shown = [marker(f) for f in read_frames(probe(out))]
    assert shown[:20] == list(range(20)) and shown[-20:] == list(range(40, 60)), "frames out of time"
    assert any(m < k for k, m in enumerate(shown))  # the lost ones repeat the previous frame
    info = probe(out)
    assert info.has_audio and abs(info.duration - 6.0) < 0.15
    assert "damaged video" in caplog.text and "replaced by the previous frame" in caplog.text

    code = main(["-q", "video", str(src), "-o", str(tmp_path / "cli.mp4"), "--model", str(tiny_onnx)])
    assert code == 1 and (tmp_path / "cli.mp4").is_file()


def test_damaged_input_strict_writes_nothing(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = damaged_clip(tmp_path)
    code, lines = run_cli([str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx), "--strict"], capsys)
    assert code == 2 and len(lines) == 1 and "damaged video" in lines[0] and "nothing written" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.mp4", "damaged.mp4"]


def test_clean_clip_is_not_reported_damaged(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "in.mp4", marked_frames(30), audio=True)
    result = splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert not result.damaged and result.decode.errors == 0 and result.decode.filled == 0
    assert [marker(f) for f in read_frames(probe(tmp_path / "out.mp4"))] == list(range(30))


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_sound_longer_than_video_is_not_damage(
    suffix: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean clip whose sound runs on after the pictures (1 s of video in a 3 s file) is complete: its video
    stream's own length is checked, not the file's (the longest stream's); --strict accepts it, exit 0."""
    src = tmp_path / f"short{suffix}"
    audio = ["-f", "lavfi", "-t", "3", "-i", "sine=sample_rate=22050", "-c:v", "libx264", "-c:a", "aac"]
    encode_raw(moving_subject(n=10)[0], "10", audio, src)
    result = splash_video(src, tmp_path / f"out{suffix}", model=tiny_onnx)
    assert not result.damaged and result.frames == 10
    assert result.decode.expected_seconds == pytest.approx(1.0, abs=0.05)
    code, lines = run_cli([str(src), "-o", str(tmp_path / "strict.mp4"), "--model", str(tiny_onnx), "--strict"], capsys)
    assert code == 0 and lines == []


def test_cut_off_video_is_reported(tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16 item 5: a download cut off half way (its header, at the front, still announces 3 s) is reported
    as ending early, not passed off as complete."""
    src = tmp_path / "whole.mp4"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-movflags", "+faststart"]
    encode_raw(moving_subject(n=30)[0], "10", x264, src)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    result = splash_video(cut, tmp_path / "out.mp4", model=tiny_onnx)
    assert result.damaged and result.decode.cut_short and result.frames < 25
    assert "the video ends after" in caplog.text and "of the 3.0 s the file's header gives it" in caplog.text
