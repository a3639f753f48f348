"""colorsplash video at the edges of real use: the ffmpeg binary chosen (an old one through IMAGEIO_FFMPEG_EXE),
tracks that cannot be carried, a full disk. Every clip and fake binary is generated here (tiny)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.runtime.video import video_ffmpeg  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import VideoError, ffmpeg_exe  # noqa: E402

BUNDLED = ffmpeg_exe()


def encode(frames: list[np.ndarray], out_args: list[str], path: Path, fps: str = "10") -> Path:
    """Pipe RGB uint8 frames into the bundled ffmpeg (not our writer); ``out_args`` come after the input."""
    h, w = frames[0].shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    cmd = [BUNDLED, "-hide_banner", "-loglevel", "error", "-y", *raw, *out_args, str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def small_clip(path: Path, n: int = 5) -> Path:
    frames = [np.full((64, 96, 3), (40 + 10 * i, 120, 200), np.uint8) for i in range(n)]
    return encode(frames, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"], path)


def fake_ffmpeg(folder: Path, banner: str) -> tuple[Path, Path]:
    """A shell script that answers ``-version`` with ``banner`` (counting those calls in the returned log file)
    and, as ffmpeg before 6.1 does, refuses the frame reader's options; everything else goes to the bundled one."""
    calls = folder / "version-calls.txt"
    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do case "$a" in\n'
        f"  -version) echo x >> '{calls}'; echo '{banner}'; exit 0;;\n"
        "  -stats_enc_pre) echo \"Unrecognized option 'stats_enc_pre'.\" >&2;"
        " echo 'Error splitting the argument list: Option not found' >&2; exit 1;;\n"
        "esac; done\n"
        f"exec '{BUNDLED}' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, calls


needs_sh = pytest.mark.skipif(os.name != "posix", reason="the fake ffmpeg is a shell script")


@needs_sh
def test_an_old_ffmpeg_named_by_the_environment_is_refused_in_words(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Debian 12's ffmpeg (5.1) through IMAGEIO_FFMPEG_EXE: the message names the binary, its version, the one
    needed and what to do, instead of ffmpeg's bare "Unrecognized option" as a decoding failure."""
    src = small_clip(tmp_path / "in.mp4")
    fake, _ = fake_ffmpeg(tmp_path, "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025 the FFmpeg developers")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoError) as caught:
        splash_video(src, out, model=tiny_onnx)
    said = str(caught.value)
    assert said.startswith(f"{fake}: ffmpeg 5.1 is too old") and "needs ffmpeg 6.1 or newer" in said, said
    assert "unset that variable" in said and "IMAGEIO_FFMPEG_EXE" in said, said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ffmpeg", "in.mp4", "version-calls.txt"]


@needs_sh
def test_the_ffmpeg_version_is_asked_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, calls = fake_ffmpeg(tmp_path, "ffmpeg version 7.1 Copyright (c) 2000-2024 the FFmpeg developers")
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(fake))
    assert ffmpeg_exe() == ffmpeg_exe() == str(fake)
    assert calls.read_text().count("x") == 1


def test_an_ffmpeg_that_does_not_run_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-ffmpeg-here"
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(missing))
    with pytest.raises(VideoError, match=rf"^{missing}: cannot run ffmpeg .*IMAGEIO_FFMPEG_EXE"):
        ffmpeg_exe()


@pytest.mark.parametrize(
    "banner, version",
    [
        ("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025", (5, 1)),
        ("ffmpeg version 6.0-static https://johnvansickle.com/ffmpeg/  Copyright", (6, 0)),
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright (c) 2000-2026", (9, 0)),
        ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", (4, 4)),
        ("ffmpeg version N-112345-g1234abcd Copyright (c) 2000-2024", None),  # a git build: taken as recent
        ("ffmpeg version 2024-03-11-git-3d1860ec8d-full_build-www.gyan.dev", None),
    ],
)
def test_ffmpeg_version_from_its_banner(banner: str, version: tuple[int, int] | None) -> None:
    assert video_ffmpeg.ffmpeg_version(banner) == version


def test_the_bundled_ffmpeg_is_new_enough() -> None:
    banner = subprocess.run([BUNDLED, "-version"], capture_output=True, text=True, check=True).stdout
    version = video_ffmpeg.ffmpeg_version(banner)
    assert version is None or version >= video_ffmpeg.MIN_FFMPEG


# ---------------------------------------------------------------- writes that fail: a full disk, tracks refused


def failing_ffmpeg(folder: Path, step: str, said: str) -> Path:
    """An ffmpeg that fails one step of writing a clip as ffmpeg does (``said`` on stderr, status 1): ``encode``
    (the frames arrive on ``pipe:0``) or ``tracks`` (the remux, ``-map_metadata``); the rest is the bundled one."""
    marker, drain = ("pipe:0", "cat > /dev/null; ") if step == "encode" else ("-map_metadata", "")
    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do if [ "$a" = "{marker}" ]; then {drain}echo \'{said}\' >&2; exit 1; fi; done\n'
        f"exec '{BUNDLED}' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def clip_with(path: Path, audio: bool, subtitles: bool) -> Path:
    """A 5-frame H.264 MP4 with a sine track and/or a subtitle track."""
    frames = [np.full((64, 96, 3), (40 + 10 * i, 120, 200), np.uint8) for i in range(5)]
    srt = path.with_suffix(".srt")
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nHello cat\n", encoding="utf-8")
    extra = ["-f", "lavfi", "-t", "0.5", "-i", "sine=frequency=440"] if audio else []
    extra += ["-i", str(srt)] if subtitles else []
    maps = ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac"] if audio else [])
    maps += ["-map", f"{1 + audio}:s", "-c:s", "mov_text"] if subtitles else []
    args = [*extra, *maps, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    return encode(frames, args, path)


FULL = "[out#0/mp4 @ 0x55c0676c7100] Error closing file: No space left on device"


@needs_sh
@pytest.mark.parametrize("step", ["encode", "tracks"])
def test_a_full_disk_is_named_with_what_to_do(
    step: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the frames are encoded said "<hidden partial file>: video encoder failed (...)", naming a
    file that is gone; while the sound was added it said "could not carry the audio track ...; try another output
    extension such as .mkv", which cannot help. Both now name the output (or input) and the full disk."""
    src = clip_with(tmp_path / "in.mp4", audio=True, subtitles=False)
    outdir = tmp_path / "out"
    outdir.mkdir()
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(failing_ffmpeg(tmp_path, step, FULL)))
    with pytest.raises(VideoError) as caught:
        splash_video(src, outdir / "out.mp4", model=tiny_onnx)
    said = str(caught.value)
    name = outdir / "out.mp4" if step == "encode" else src
    assert said.startswith(f"{name}: "), said
    assert said.endswith(
        f"the disk holding {outdir} is full; free space there or choose another -o; nothing was written"
    )
    assert list(outdir.iterdir()) == []


@needs_sh
@pytest.mark.parametrize("step", ["encode", "tracks"])
def test_the_file_size_limit_is_named_with_what_to_do(
    step: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``ulimit -f`` ffmpeg is killed by SIGXFSZ (Python ignores it, its children do not) and says nothing:
    "video encoder failed (no details)". It is said as every write over the limit is (files.py's words)."""
    from colorsplash.runtime.files import TOO_LARGE_FILE

    src = clip_with(tmp_path / "in.mp4", audio=True, subtitles=False)
    outdir = tmp_path / "out"
    outdir.mkdir()
    killed = failing_ffmpeg(tmp_path, step, "")
    killed.write_text(killed.read_text().replace("exit 1;", "kill -s XFSZ $$;"))
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(killed))
    with pytest.raises(VideoError) as caught:
        splash_video(src, outdir / "out.mp4", model=tiny_onnx)
    said = str(caught.value)
    assert "(File too large)" in said and said.endswith(f"{TOO_LARGE_FILE} (another -o); nothing was written"), said
    assert list(outdir.iterdir()) == []


@needs_sh
@pytest.mark.parametrize("audio, subtitles, named", [(False, True, "subtitles"), (True, True, "audio and subtitles")])
def test_tracks_that_cannot_be_carried_are_named(
    audio: bool, subtitles: bool, named: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remux's last error said "could not carry the audio track" also for a clip without sound whose
    subtitles failed."""
    src = clip_with(tmp_path / "in.mp4", audio, subtitles)
    said = "[mp4 @ 0x1] Could not write header (incorrect codec parameters ?): Invalid argument"
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(failing_ffmpeg(tmp_path, "tracks", said)))
    with pytest.raises(VideoError) as caught:
        splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert str(caught.value) == (
        f"{src}: could not carry its {named} into .mp4 ({said}); try another output extension such as .mkv"
    )


# ---------------------------------------------------------------- a subject coming into view


def scores_seen(raw: list[float]) -> list[float]:
    """The smoothed subject score of a still shot (no cut) whose frames score ``raw`` on their own."""
    from colorsplash.runtime.video.temporal import TemporalSmoother

    smoother, frame = TemporalSmoother(), np.full((64, 96, 3), 90, np.uint8)
    seen = []
    for value in raw:
        smoother.update(frame, np.zeros((32, 32), np.float32))
        seen.append(smoother.score(value))
    return seen


def test_a_subject_coming_into_view_is_coloured_on_the_first_sure_frame() -> None:
    """The score's average held a pet walking in grey for 2 frames after the model was sure of it (0.05, then
    0.95: averaged 0.32, 0.51, 0.62 against the pet model's threshold 0.655)."""
    seen = scores_seen([0.05] * 5 + [0.95] * 3)
    assert max(seen[:5]) < 0.1 and min(seen[5:]) >= 0.95


def test_a_doubtful_frame_does_not_flash_colour_nor_a_sure_one_end_it() -> None:
    """What the averaging is for, kept: a single frame over the threshold but not sure (0.8 among 0.4s) does not
    reach it; once sure, a doubtful frame (0.3) does not drop the subject."""
    assert max(scores_seen([0.4] * 4 + [0.8] + [0.4] * 3)) < 0.655
    assert min(scores_seen([0.95] * 4 + [0.3] + [0.95] * 2)) > 0.655


@needs_sh
def test_an_old_bundled_ffmpeg_says_to_upgrade_imageio_ffmpeg(tmp_path: Path) -> None:
    """Audit (min deps): imageio-ffmpeg 0.5.x, which the video extra accepted, bundles ffmpeg 4.2; the message said to
    "reinstall imageio-ffmpeg from its wheel (it bundles a recent ffmpeg)", which gave the same 4.2 again."""
    fake, _ = fake_ffmpeg(tmp_path, "ffmpeg version 4.2.2-static https://johnvansickle.com/ffmpeg/  Copyright (c)")
    with pytest.raises(VideoError) as caught:
        video_ffmpeg.check_ffmpeg(str(fake), False)
    said = str(caught.value)
    assert said.startswith(f"{fake}: ffmpeg 4.2 is too old") and "pip install -U 'imageio-ffmpeg>=0.8'" in said, said
