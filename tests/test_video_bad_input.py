"""colorsplash video: bad input, options and outputs give one clear line and write nothing (not a video, unknown
codec, folders, pipes, unwritable folders, web addresses, standard input/output, the pixel limit, no ffmpeg)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import H, W, background, moving_subject, run_cli, write_clip  # noqa: E402

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model  # noqa: E402
from colorsplash.runtime.video.video_io import VideoError, ffmpeg_exe  # noqa: E402


def unknown_codec_clip(tmp_path: Path) -> Path:
    """An AVI whose video FourCC is replaced by one no decoder knows."""
    good = write_clip(tmp_path / "good.avi", moving_subject(n=3)[0])
    data = good.read_bytes()
    assert data.count(b"FMP4") >= 1
    bad = tmp_path / "unknown.avi"
    bad.write_bytes(data.replace(b"FMP4", b"ZZZZ"))
    return bad


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("text", "not a video file"),
        ("codec", "codec 'ZZZZ' is not supported"),
        ("zero", "no frames"),
        ("audio_only", "no video stream"),
        ("picture", "still picture"),
        ("missing", "no such file"),
        ("folder", "is a folder, not a file"),  # was "no such file" for a folder that is there
        ("empty", "copy or export the clip again"),
        ("pipe", "is a pipe, socket or device, not a file"),  # was "no such file" for a named pipe that is there
    ],
)
def test_bad_input_one_line(
    kind: str, expected: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / f"{kind}.mp4"
    if kind == "text":
        src.write_text("this is not a video\n")
    elif kind == "codec":
        src = unknown_codec_clip(tmp_path)
    elif kind == "zero":
        src = tmp_path / "zero.y4m"
        src.write_bytes(b"YUV4MPEG2 W96 H64 F12:1 Ip A1:1 C420jpeg\n")  # a valid header, no frames
    elif kind == "audio_only":
        subprocess.run(
            [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine", "-t", "0.5", str(src)], check=True
        )
    elif kind == "folder":
        src.mkdir()
    elif kind == "empty":
        src.write_bytes(b"")
    elif kind == "pipe":
        os.mkfifo(src)
    elif kind == "picture":
        src = tmp_path / "photo.png"
        from PIL import Image

        Image.fromarray(background()).save(src)
    out = tmp_path / "out dir"
    out.mkdir()
    code, lines = run_cli([str(src), "-o", str(out / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("colorsplash video: error: ") and str(src) in lines[0]
    assert expected in lines[0]
    assert list(out.iterdir()) == []  # nothing written, no temp file left


def test_missing_output_folders_are_made_and_removed_again_when_nothing_was_written(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``video in.mp4 -o new/out.mp4`` said "output folder new does not exist; create it first" where ``splash -o``
    makes its folder; a run that fails leaves no folder it made."""
    from colorsplash.runtime.video import clip as video

    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "new" / "deeper" / "out.mp4"
    code, _ = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 0 and out.is_file()

    def broken(*args: Any, **kwargs: Any) -> int:
        raise VideoError("the encoder stopped")

    monkeypatch.setattr(video, "_encode", broken)
    again = tmp_path / "other" / "deeper" / "out.mp4"
    code, lines = run_cli([str(src), "-o", str(again), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and "the encoder stopped" in lines[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "new"]


def test_an_output_folder_that_cannot_be_made_is_named(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    (tmp_path / "taken").write_bytes(b"a file where a folder of -o would be")
    out = tmp_path / "taken" / "sub" / "out.mp4"
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and len(lines) == 1
    assert lines[0].endswith(
        f"cannot make the output folder {out.parent} ({tmp_path / 'taken'} is a file, not a folder); choose another -o"
    )


def test_read_only_output_folder(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder the user may not write to (real permissions: not as root, who writes anyway; the next test
    checks the same as root)."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if _can_write(locked):
        pytest.skip("running as root: permissions do not stop writes (see test_output_folder_refusing_writes)")
    code, lines = run_cli([str(src), "-o", str(locked / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and len(lines) == 1 and "cannot write to folder" in lines[0]


@pytest.mark.parametrize("error", [errno.EACCES, errno.EROFS])
def test_output_folder_refusing_writes(
    error: int, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same for every user, root included (CI): the folder refuses to create a file (EACCES: permissions,
    EROFS: a read-only mount) where the partial file is made; one line, the folder named, nothing left there."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    locked = tmp_path / "locked"
    locked.mkdir()
    real_open = os.open

    def refusing(path: str | os.PathLike[str], flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == locked and flags & os.O_CREAT:
            raise OSError(error, os.strerror(error), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    code, lines = run_cli([str(src), "-o", str(locked / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and len(lines) == 1, lines
    assert f"cannot write to folder {locked}" in lines[0] and os.strerror(error) in lines[0], lines
    assert list(locked.iterdir()) == []


def _can_write(folder: Path) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--effect", "transparent"], "transparent"),
        (["--on-empty", "skip"], "skip"),
    ],
)
def test_options_video_cannot_honour(
    args: list[str], expected: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli([str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), *args], capsys)
    assert code != 0 and len(lines) == 1 and expected in lines[0]


def test_the_result_line_names_the_model(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``video --model FILE`` did not say which model ran; it does, as splash, mask and serve do (Model.label)."""
    import logging

    src = write_clip(tmp_path / "in.mp4", [background()] * 2)
    caplog.set_level(logging.INFO)
    assert main(["video", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)]) == 0
    done = [r.getMessage() for r in caplog.records if "frames/s" in r.getMessage()]
    assert len(done) == 1 and done[0].endswith(f"; model: Blob model — tiny-test ({tiny_onnx})")


def test_the_result_line_says_the_sound_is_there_apart_from_the_time(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The line "2 frames 64x48 at 10 fps, audio kept in 0.4 s" read as the time the sound took to keep (and said
    "kept" of a sound re-encoded for .webm): "at 10 fps with its sound, in 0.4 s"; the re-encoding is a line of its
    own."""
    import logging

    src = write_clip(tmp_path / "in.mp4", [background()] * 4, audio=True)
    caplog.set_level(logging.INFO)
    assert main(["video", str(src), "-o", str(tmp_path / "out.webm"), "--model", str(tiny_onnx)]) == 0
    said = [r.getMessage() for r in caplog.records]
    done = [line for line in said if "frames/s" in line]
    assert len(done) == 1 and " fps with its sound, in " in done[0], done
    assert "the sound (aac) re-encoded as Opus: .webm does not hold it" in said
    assert not [line for line in said if "trying another way" in line], said


@pytest.mark.parametrize("frames", [1, 2])
def test_the_result_line_counts_one_frame_in_the_singular(
    frames: int, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A one-frame clip was "1 frames 64x48 at 10 fps"."""
    import logging

    src = write_clip(tmp_path / "in.mp4", [background()] * frames)
    caplog.set_level(logging.INFO)
    assert main(["video", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)]) == 0
    (done,) = [r.getMessage() for r in caplog.records if "frames/s" in r.getMessage()]
    assert f": {frames} {'frame' if frames == 1 else 'frames'} 96x64 at " in done, done


def test_point_outside_the_frames_is_an_error(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--point outside the frames is refused up front, as for photos, also where no frame has a subject (the
    point was never looked at then)."""
    src = write_clip(tmp_path / "in.mp4", [background()] * 3)
    monkeypatch.setattr(Model, "predict_scored", lambda self, image: (np.zeros((8, 8), np.float32), 0.0), raising=True)
    args = [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--point", "5000,5000"]
    code, lines = run_cli(args, capsys)
    assert code == 2 and len(lines) == 1
    assert f"--point: 5000,5000 is outside the {W}x{H} frames of {src}" in lines[0]
    assert not (tmp_path / "o.mp4").exists()


def test_quality_help_speaks_of_video(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["video", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "CRF" in out and "JPEG/WebP" not in out
    assert "skip is refused for a clip" in out and "skip the file" not in out  # on-empty in video's words


def test_refuses_to_overwrite_input_and_bad_extension(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    before = src.read_bytes()
    code, lines = run_cli([str(src), "-o", str(tmp_path / "." / "in.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and "output is the input" in lines[0]
    assert src.read_bytes() == before
    code, lines = run_cli([str(src), "-o", str(tmp_path / "out.gif"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and "unsupported output extension" in lines[0]


def test_an_extension_alone_as_the_output_is_named_so(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o .mp4`` (the extension without a name) was "unsupported output extension '(none)'; use one of .mp4,
    ...", naming as missing the extension given: to Python ``.mp4`` is a hidden name with none."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / ".MP4"
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and lines[-1].endswith(
        f"{out}: is an extension without a name; name the clip to write, e.g. -o {tmp_path / 'in.splash.MP4'}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_missing_ffmpeg_wheel_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import now raises ImportError
    with pytest.raises(VideoError, match=r"pip install 'colorsplash\[video\]'"):
        ffmpeg_exe()


def test_pixel_limit(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16 item 9: frames over the pixel limit are refused from the header, before any frame is decoded."""
    huge = tmp_path / "huge.y4m"  # an 8000x8000 clip's header: refused by default (it would cost ~1.5 GB)
    huge.write_bytes(b"YUV4MPEG2 W8000 H8000 F12:1 Ip A1:1 C420jpeg\n")
    code, lines = run_cli([str(huge), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1 and "8000x8000" in lines[0] and "--max-pixels" in lines[0]
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli(
        [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--max-pixels", str(W * H - 1)], capsys
    )
    assert code == 2 and len(lines) == 1 and "pixel limit 6,143" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.y4m", "in.mp4"]
    code, _ = run_cli(
        [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--max-pixels", str(W * H)], capsys
    )
    assert code == 0


def test_standard_input_and_output_are_refused_in_words(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-`` means standard input/output for photos; a clip cannot be streamed (it is seeked): said as such, not
    as "-: no such file" or "unsupported output extension '(none)'"."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=2)[0])
    for args, words in (
        (["-", "-o", str(tmp_path / "out.mp4")], "cannot be read from standard input"),
        ([str(src), "-o", "-"], "cannot be written to standard output"),
    ):
        code, lines = run_cli([*args, "--model", str(tiny_onnx)], capsys)
        assert code == 2 and len(lines) == 1 and words in lines[0], lines


def test_a_web_address_is_named_as_typed_and_refused_once(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``video https://…`` said "https:/…" (one slash lost to ``Path``) followed by two instructions; the address
    is named as typed, never fetched, and the line says one thing to do."""
    url = "https://example.com/clip.mp4"
    code, lines = run_cli([url, "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"colorsplash video: error: {url}: is a web address")
    assert "give a video file" not in lines[0] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_missing_clip_or_a_folder_says_what_to_do_once(
    kind: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reasons that carry no instruction of their own (nothing there, a folder) end with the verb's one."""
    src = tmp_path / "clip.mp4"
    if kind == "folder":
        src.mkdir()
    code, lines = run_cli([str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert (
        code == 2
        and len(lines) == 1
        and lines[0].endswith(
            f"{src}: {'no such file' if kind == 'missing' else 'is a folder, not a file'}; give a video file"
        )
    ), lines


@pytest.mark.parametrize("kind", ["pipe", "file address"])
def test_a_pipe_or_file_address_says_one_thing_to_do(
    kind: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A named pipe (or ``/dev/stdin``) said "save what it holds to a file and name that; give a video file", a
    ``file://`` address "give the file's path itself (...); give a video file": two things to do, the second
    the first said again. The line says the one."""
    src = tmp_path / "clip.mp4"
    if kind == "pipe":
        os.mkfifo(src)
    name = str(src) if kind == "pipe" else src.as_uri()
    code, lines = run_cli([name, "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    todo = "save what it holds to a file and name that" if kind == "pipe" else f"give the file's path itself ({src})"
    assert code == 2 and len(lines) == 1 and lines[0].endswith(todo), lines


def test_an_output_name_too_long_is_said_in_words(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output name over 255 bytes (80 CJK characters are 240) gave the system's "[Errno 36] File name too long"
    and no word of what to do."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=2)[0])
    out = tmp_path / ("猫" * 90 + ".mp4")
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert (
        code == 2
        and len(lines) == 1
        and "longer than the 255 bytes" in lines[0]
        and "; choose a shorter -o" in lines[0]
    ), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_an_output_folder_that_is_a_file_is_named_so(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o clip.mp4/out.mp4`` (a file taken for a folder) said "output folder clip.mp4 does not exist; create it
    first", of a file that is there."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=2)[0])
    code, lines = run_cli([str(src), "-o", str(src / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].endswith(f"{src} is a file, not a folder; choose another -o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_an_output_folder_that_is_a_link_to_nothing_is_named_so(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o clips/out.mp4`` where ``clips`` is a symbolic link to a folder that is gone (an unplugged disk's mount
    point) said "output folder clips does not exist; create it first", and ``mkdir clips`` then fails with "File
    exists". It is named as the link it is, in the words ``splash -o`` uses for it."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=2)[0])
    (tmp_path / "clips").symlink_to(tmp_path / "unplugged")
    out = tmp_path / "clips" / "out.mp4"
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1
    assert lines[0].endswith(
        f"{out}: {tmp_path / 'clips'} is a symbolic link to {tmp_path / 'unplugged'}, which does not exist; "
        "choose another -o"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "in.mp4"]
