"""A clip from elsewhere is read as one local video file: an HLS playlist or an ffconcat list (even named .mp4)
would make ffmpeg read the files it names (or the network) into the output; a name is never a protocol."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.video import video_ffmpeg  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import VideoError, ffmpeg_exe, probe  # noqa: E402

KEEP_ALL = SplashOptions(on_empty="copy", threshold=1.0)


def secret_clip(path: Path) -> Path:
    """A 10-frame 64x48 clip (a private file the playlist points at)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.full((10, 48, 64, 3), (200, 60, 40), np.uint8).tobytes()
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "64x48", "-framerate", "10", "-i", "pipe:0"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *raw, "-c:v", "libx264", "-f", "mpegts", str(path)]
    subprocess.run(cmd, input=frames, check=True)
    return path


def hls(target: str) -> str:
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{target}\n#EXT-X-ENDLIST\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("clip.m3u8", lambda secret: hls(secret.as_uri())),
        ("holiday.mp4", lambda secret: "ffconcat version 1.0\nfile private/secret.ts\n"),
    ],
)
def test_a_playlist_is_refused_and_the_files_it_names_are_never_read(
    tmp_path: Path, tiny_onnx: Path, name: str, text: Any
) -> None:
    secret = secret_clip(tmp_path / "private" / "secret.ts")
    clip = tmp_path / name
    clip.write_text(text(secret))
    with pytest.raises(VideoError, match=f"{name}: is a playlist or list of other files"):
        probe(clip)
    with pytest.raises(VideoError, match="playlist"):
        splash_video(clip, tmp_path / "out.mp4", tiny_onnx, KEEP_ALL)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.parametrize("start", ["", "\ufeff", "\n "])
def test_an_hls_playlist_named_mp4_is_named_as_one(tmp_path: Path, tiny_onnx: Path, start: str) -> None:
    """A playlist saved as video.mp4 (a downloader's or browser's save of a stream) was "not a video file ffmpeg can
    read (... Invalid data found when processing input)": true, but no help. Its first bytes say what it is."""
    secret = secret_clip(tmp_path / "private" / "secret.ts")
    clip = tmp_path / "video.mp4"
    clip.write_text(start + hls(secret.as_uri()), encoding="utf-8")
    said = f"{clip}: is an HLS playlist (a text file starting #EXTM3U that lists a stream's pieces), not a video"
    with pytest.raises(VideoError) as caught:
        splash_video(clip, tmp_path / "out.mp4", tiny_onnx, KEEP_ALL)
    assert str(caught.value).startswith(said), caught.value
    assert str(caught.value).endswith("give the video file itself (save the video, not its playlist)")
    assert not (tmp_path / "out.mp4").exists()


def test_every_ffmpeg_input_is_a_local_file_read_by_a_single_file_demuxer(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command that reads the clip (probe, timing, frames, audio remux) reads it through ``input_args``."""
    clip = secret_clip(tmp_path / "a.ts")
    inputs: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def record(cmd: list[str]) -> None:
        inputs.extend(cmd[max(0, i - 4) : i + 2] for i, arg in enumerate(cmd) if arg == "-i" and cmd[i + 1] != "pipe:0")

    def run(cmd: list[str], *args: Any, **kw: Any) -> Any:
        record(cmd)
        return real_run(cmd, *args, **kw)

    class Popen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, cmd: list[str], *args: Any, **kw: Any) -> None:
            record(cmd)
            super().__init__(cmd, *args, **kw)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(subprocess, "Popen", Popen)
    splash_video(clip, tmp_path / "out.mp4", tiny_onnx, KEEP_ALL)
    assert len(inputs) >= 4 and (tmp_path / "out.mp4").is_file()
    for args in inputs:
        assert args[0] == "-protocol_whitelist" and args[1] == "file", args
        assert args[2] == "-format_whitelist" and args[5].startswith("file:"), args
        assert "hls" not in args[3].split(",") and "concat" not in args[3].split(","), args


def test_a_clip_whose_name_looks_like_a_protocol_is_read_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_clip(tmp_path / "a.ts").rename(tmp_path / "subfile:a.ts")
    monkeypatch.chdir(tmp_path)
    assert probe("subfile:a.ts").width == 64  # given as typed, relative: ffmpeg took "subfile:" for a protocol


def test_the_demuxer_list_leaves_out_playlists_and_devices() -> None:
    names = video_ffmpeg._allowed_demuxers(ffmpeg_exe()).split(",")
    parts = {part for name in names for part in name.split(",")}  # a name may be "mov,mp4,..." (by version)
    assert {"mov", "mp4", "matroska", "webm", "avi", "mpegts", "gif"} <= parts
    assert not video_ffmpeg.REFUSED_DEMUXERS & parts
    assert "lavfi" not in names
