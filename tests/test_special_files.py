"""Paths that are not plain files, or files not finished yet: a pipe beside a model, an output that is a pipe or a
device, an MP4 still being written. Each is refused in words and nothing hangs (a hang fails the test, bounded by
a watchdog, instead of stopping the suite)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from colorsplash.cli import main
from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.model import variants
from colorsplash.runtime.model.onnx_model import bundled_model_path
from colorsplash.runtime.pictures.photo_io import cost_limit
from colorsplash.runtime.planning import OutputPlan, plan_files


def unblock_after(fifo: Path, seconds: float, work: threading.Thread) -> bool:
    """Wait for ``work`` up to ``seconds``; if it is still blocked opening ``fifo`` for reading, open its writing
    end (which lets the reader see an empty file) so the test ends. Whether ``work`` was blocked."""
    work.join(seconds)
    if not work.is_alive():
        return False
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    work.join(10)
    return True


def test_a_pipe_beside_a_model_is_not_opened_as_a_variant(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """load_model reads the config of every ``STEM.*.onnx`` beside the model; a pipe named so (m.x.onnx) blocked
    that read for good: --model m.onnx hung before the first photo. A folder so named was called "a model whose
    config differs". Both are passed over with a line saying what they are."""
    model = tmp_path / "m.onnx"
    model.write_bytes(bundled_model_path().read_bytes())
    os.mkfifo(tmp_path / "m.x.onnx")
    (tmp_path / "m.d.onnx").mkdir()
    config = variants.read_config(model)
    assert config is not None
    found: list[variants.Variant] = []
    work = threading.Thread(target=lambda: found.extend(variants.find_variants(model, config)), daemon=True)
    work.start()
    assert not unblock_after(tmp_path / "m.x.onnx", 10, work), "find_variants blocked opening a pipe"
    assert [v.path for v in found] == [model]
    for name in ("m.x.onnx", "m.d.onnx"):
        assert f"{tmp_path / name}: not a plain file (a folder, pipe or device); ignored as a variant" in caplog.text


def special(kind: str, path: Path) -> Path:
    if kind == "pipe":
        os.mkfifo(path)
    elif os.geteuid() == 0:
        os.mknod(path, 0o600 | 0o020000, os.makedev(1, 3))  # a character device: /dev/null's own numbers
    else:
        pytest.skip("making a device node needs root")
    return path


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_overwrite_never_replaces_a_pipe_or_a_device(kind: str, tmp_path: Path) -> None:
    """``-o /dev/null --overwrite`` run as root (containers, CI) replaced the device node with a JPEG: every program
    writing to /dev/null then filled that file. --overwrite replaces files only: the planner refuses before any
    work, and the one step that renames every written file into place refuses too."""
    out = special(kind, tmp_path / "out.jpg")
    photo = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(photo)
    with pytest.raises(ValueError, match=r"out.jpg is a pipe, socket or device, not a file; --overwrite replaces"):
        plan_files([photo], OutputPlan(out_file=out, overwrite=True))
    with pytest.raises(OSError, match=r"cannot write .*out.jpg: is a pipe, socket or device, not a file"):
        atomic_write(out, b"x", replace=True)
    from colorsplash.runtime.video.clip import splash_video

    clip_out = special(kind, tmp_path / "out.mp4")
    with pytest.raises(ValueError, match=r"out.mp4: is a pipe, socket or device, not a file; --overwrite replaces"):
        splash_video(tmp_path / "in.mp4", clip_out, overwrite=True)  # refused before the clip is read
    assert not out.is_file() and out.exists() and not clip_out.is_file()  # still the pipe or device
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_overwrite_never_replaces_a_link_to_a_pipe_or_a_device(kind: str, tmp_path: Path) -> None:
    """``-o /dev/stdout --overwrite`` run as root replaced the /dev/stdout link (to the terminal or a pipe) with a
    JPEG, as /dev/null was: a symbolic link is replaced only when it leads to a file or to nothing. A link to a
    file is still replaced itself, never the file it points to."""
    target = special(kind, tmp_path / "target")
    out = tmp_path / "out.jpg"
    out.symlink_to(target)
    photo = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(photo)
    said = rf"out.jpg is a symbolic link to a pipe, socket or device \({target}\), not a file; --overwrite replaces"
    with pytest.raises(ValueError, match=said):
        plan_files([photo], OutputPlan(out_file=out, overwrite=True))
    with pytest.raises(OSError, match=r"cannot write .*out.jpg: is a symbolic link to a pipe, socket or device"):
        atomic_write(out, b"x", replace=True)
    assert out.is_symlink() and not target.is_file()
    kept = tmp_path / "kept.txt"
    kept.write_bytes(b"kept")
    (tmp_path / "to-file.jpg").symlink_to(kept)
    atomic_write(tmp_path / "to-file.jpg", b"new", replace=True)
    assert (tmp_path / "to-file.jpg").read_bytes() == b"new" and kept.read_bytes() == b"kept"


def test_a_pipe_at_the_output_is_named_without_overwrite_too(tmp_path: Path) -> None:
    """Without --overwrite a pipe at the output was 'already exists ... (--overwrite replaces it ...)', and with it
    then refused: the first answer says what is there and that --overwrite does not replace it."""
    out = special("pipe", tmp_path / "out.jpg")
    photo = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(photo)
    with pytest.raises(ValueError, match=r"out.jpg is a pipe, socket or device, not a file; --overwrite replaces"):
        plan_files([photo], OutputPlan(out_file=out))
    from colorsplash.runtime.video.clip import splash_video

    clip_out = special("pipe", tmp_path / "out.mp4")
    with pytest.raises(ValueError, match=r"out.mp4: is a pipe, socket or device, not a file; --overwrite replaces"):
        splash_video(tmp_path / "in.mp4", clip_out)


def test_writers_without_overwrite_do_not_name_it_and_those_with_it_refuse_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The refusal of a pipe or device said "--overwrite replaces files only" to writers that have no --overwrite
    (train's run folder, the Python API). evaluate, told "pass --overwrite to replace" an earlier summary.json that
    was a link to /dev/null, scored every photo and wrote half a report before refusing it; evaluate -o /dev/null
    called the device "a file". (export: tests/test_export_cli.py.)"""
    from PIL import Image

    from colorsplash.cli import main

    null = special("pipe", tmp_path / "null")
    (tmp_path / "link.bin").symlink_to(null)
    with pytest.raises(OSError) as said:
        atomic_write(tmp_path / "link.bin", b"x")  # as train's run folder and the Python API write
    assert str(said.value).endswith(f"({null}), not a file; choose another output")
    data = tmp_path / "data"
    for name in ("a", "b"):
        save = data / "images" / f"{name}.png", data / "masks" / f"{name}.png"
        for path, mode in zip(save, ("RGB", "L"), strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new(mode, (40, 30), 200).save(path)
    report = tmp_path / "report"
    report.mkdir()
    (report / "summary.json").symlink_to(null)
    model = str(bundled_model_path())
    assert main(["-q", "evaluate", str(data), "--model", model, "-o", str(report), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{report / 'summary.json'}: is a symbolic link to a pipe" in err and "--overwrite replaces files" in err
    assert sorted(p.name for p in report.iterdir()) == ["summary.json"]  # nothing scored, nothing written
    assert main(["-q", "evaluate", str(data), "--model", model, "-o", str(null)]) == 2
    assert f"-o {null}: is a pipe, socket or device; -o names the report folder" in capsys.readouterr().err


def test_an_unfinished_mp4_is_named_as_one(tmp_path: Path) -> None:
    """An MP4 still being recorded or copied has no index yet (moov atom, written last): it was "not a video file
    ffmpeg can read (... Invalid data found when processing input)", which says nothing of waiting for it."""
    pytest.importorskip("imageio_ffmpeg")
    from colorsplash.runtime.video.video_io import VideoError, ffmpeg_exe, probe

    full = tmp_path / "full.mp4"
    frames = np.random.default_rng(0).integers(0, 255, (10, 64, 96, 3), np.uint8).tobytes()
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "96x64", "-framerate", "10", "-i", "pipe:0"]
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", *raw, "-c:v", "libx264", str(full)], input=frames, check=True)
    part = tmp_path / "recording.mp4"
    part.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(VideoError) as caught:
        probe(part)
    assert str(caught.value).startswith(f"{part}: is an unfinished MP4/MOV: its index (moov atom) is missing")
    assert "wait until it is complete or copy it again" in str(caught.value)


def test_an_empty_model_file_is_named_as_one(tmp_path: Path) -> None:
    """A 0-byte .onnx (a download or copy that failed) was "not a loadable ONNX model ([ONNXRuntimeError] : 2 :
    INVALID_ARGUMENT : ... No graph was found in the protobuf.)"; photos and clips say "file is empty" already."""
    from colorsplash.runtime.model.onnx_model import ModelLoadError, load_model

    empty = tmp_path / "model.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"model.onnx: file is empty \(0 bytes\); copy or export the model again$"):
        load_model(empty)


JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01"  # 16 bytes a JPEG's signature check accepts


class _Endless(io.RawIOBase):
    """Standard input that never ends (``< /dev/zero``): ``start`` then zeros, counted; past ``most`` bytes it
    raises, so a reader that would take it all fails the test instead of filling memory until the system kills it."""

    def __init__(self, most: int, start: bytes = JPEG_START) -> None:
        self.given, self.most, self.start = 0, most, start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.given > self.most:
            raise AssertionError(f"read {self.given:,} bytes of a stream that never ends")
        view = memoryview(buffer).cast("B")
        data = (self.start[self.given :] + bytes(len(view)))[: len(view)]
        view[:] = data
        self.given += len(view)
        return len(view)


def test_standard_input_that_never_ends_is_refused_at_what_a_picture_may_hold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``splash - < /dev/zero`` read standard input to its end, which never came: memory filled until the system
    killed the run, without a word. It reads at most what one picture within --max-pixels may cost in memory."""
    endless = _Endless(most=200 * 2**20)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(endless)))
    code = main(["splash", "-", "-o", "-", "--max-pixels", "1000"])
    err = capsys.readouterr().err
    assert code == 2 and "- (standard input): holds more than" in err and "--max-pixels" in err, err
    assert endless.given <= max(cost_limit(1000), 64 * 2**20) + 2**20


@pytest.mark.parametrize(
    ("start", "said"),
    [
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "the content is a video (QuickTime/MP4), not a photo"),
        (b"", "not a picture colorsplash reads (unrecognised content"),  # `< /dev/zero`
    ],
)
def test_standard_input_that_is_no_picture_is_refused_by_its_first_bytes(
    start: bytes, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cat clip.mp4 | colorsplash splash -`` read the whole clip into memory (twice: 6 GB for a 3 GB clip) to
    call it a video; ``< /dev/zero`` up to the limit, 3.1 GB, to say "not a picture". Its first bytes say so."""
    endless = _Endless(most=2**20, start=start)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(endless)))
    code = main(["splash", "-", "-o", "-"])
    err = capsys.readouterr().err
    assert code == 1 and f"standard input: {said}" in err, err


def test_standard_input_is_held_once_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """A picture piped in was held twice at the end of its reading (its 1 MiB pieces and their join): 2x its size at
    the peak, 6 GB for a 3 GB one, over what the docs promise for a picture at the limit."""
    import tracemalloc

    from colorsplash.cli.splash import _read_stdin

    size = 24 * 2**20
    piped = io.BytesIO(JPEG_START + bytes(size - len(JPEG_START)))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(piped)))  # type: ignore[arg-type]
    tracemalloc.start()
    try:
        data = _read_stdin(100_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) == size and data.startswith(JPEG_START)
    assert peak < 1.3 * size, f"peak {peak / size:.2f}x the input's size"
