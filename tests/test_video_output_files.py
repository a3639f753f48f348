"""colorsplash video's output file: interrupted (Ctrl-C, SIGTERM, kill -9) runs leave no partial file and the
next run removes a killed run's; a user's file is replaced only with --overwrite; permissions; a clip that
does not read back is not published."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import W, moving_subject, run_cli, write_clip  # noqa: E402

from colorsplash.runtime.video.clip import FrameSplasher, Inferred, splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import VideoError, probe  # noqa: E402


def test_interrupt_leaves_no_partial_output(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject()[0], audio=True)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    calls = {"n": 0}
    real = FrameSplasher.finish_alpha  # the frames' ordered step, on the main thread

    def finish_then_interrupt(self: FrameSplasher, frame: np.ndarray, inferred: Inferred) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(self, frame, inferred)

    monkeypatch.setattr(FrameSplasher, "finish_alpha", finish_then_interrupt)
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx), "--overwrite"], capsys)
    assert code == 130 and calls["n"] == 8
    assert out.read_bytes() == b"previous result"  # the old file is untouched, not half-replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


SLOW_RUN = """
import sys, time
from colorsplash.cli import main
from colorsplash.runtime.video.clip import FrameSplasher
real = FrameSplasher.finish_alpha
told = False
def slow(self, frame, inferred):
    global told
    if not told:  # the parent waits for this line: a frame was decoded and splashed
        told = True
        print(FRAME_SEEN, flush=True)
    time.sleep(0.1)
    return real(self, frame, inferred)
FrameSplasher.finish_alpha = slow
sys.exit(main(sys.argv[1:]))
"""
FRAME_SEEN = "first frame splashed"


def start_slow_run(src: Path, out: Path, model: Path, tmpdir: Path | None = None) -> subprocess.Popen[bytes]:
    """The CLI in a child process, 0.1 s per frame (``tmpdir``: its ``TMPDIR``); returns once it has splashed its
    first frame (its partial file is made before the decoder starts). It returned 0.3 s after the partial file
    appeared, which on a loaded machine could come before the first frame was read."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    code = f"FRAME_SEEN = {FRAME_SEEN!r}\n{SLOW_RUN}"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "-q", "video", str(src), "-o", str(out), "--model", str(model), "--overwrite"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if ready else b""  # b"" too when the child ended without a frame
    if line.decode().strip() != FRAME_SEEN:
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"the slow run splashed no frame within 60 s (said {line!r}): {err.decode()}")
    return proc


def test_sigterm_leaves_no_partial_file(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 6: SIGTERM is handled like Ctrl-C: the partial file removed, the old output kept; the exit
    status is SIGTERM's conventional 143 (128 + 15), not Ctrl-C's 130."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0], audio=True)
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "out.mp4").write_bytes(b"previous result")
    proc = start_slow_run(src, outdir / "out.mp4", tiny_onnx)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "interrupted" in err.decode()
    assert [p.name for p in outdir.iterdir()] == ["out.mp4"]
    assert (outdir / "out.mp4").read_bytes() == b"previous result"


def test_next_run_removes_partials_of_killed_runs_only(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 6: kill -9 leaves a partial file; the next run into that folder removes it, and nothing else:
    not a user's look-alike files, not another command's temporary picture, not a live run's partial."""
    fcntl = pytest.importorskip("fcntl")
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0])
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = start_slow_run(src, outdir / "a.mp4", tiny_onnx)
    proc.kill()
    proc.communicate(timeout=60)
    left = [p for p in outdir.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and left[0].name.endswith(".part.mp4")  # what the killed run left
    settle(left[0])  # its orphaned encoder finishes writing it a moment after the kill
    keep = [
        outdir / "holiday.part.mp4",
        outdir / ".holiday.mp4",
        outdir / ".colorsplash-b.0123abcd.part.png",
        outdir / ".colorsplash-notes.part.mp4",
    ]
    live = outdir / ".colorsplash-c.89abcdef.part.mp4"
    for path in [*keep, live, *left]:
        path.touch()
        os.utime(path, (time.time() - 60, time.time() - 60))  # all from before the next run
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a run still writing it
    try:
        splash_video(src, outdir / "b.mp4", model=tiny_onnx)
    finally:
        os.close(fd)
    names = sorted(p.name for p in outdir.iterdir())
    assert names == sorted(["b.mp4", live.name, *(p.name for p in keep)])


def test_killed_run_leaves_nothing_in_the_temporary_folder(tmp_path: Path, tiny_onnx: Path) -> None:
    """A run killed with kill -9 (or by the OOM killer) cannot clean up: the decoder's frame-times folder in the
    temporary folder was left behind, one per killed run, for ever. It is removed once the first frame is read."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0])
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = start_slow_run(src, tmp_path / "out.mp4", tiny_onnx, tmpdir=temp)
    proc.kill()
    proc.communicate(timeout=60)
    assert list(temp.iterdir()) == []


def settle(path: Path, quiet: float = 0.5, limit: float = 20.0) -> None:
    """Wait until ``path`` has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last = path.stat().st_mtime_ns, path.stat().st_size
    calm_since = time.monotonic()
    while time.monotonic() - calm_since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        now = path.stat().st_mtime_ns, path.stat().st_size
        if now != last:
            last, calm_since = now, time.monotonic()


def test_existing_output_needs_overwrite(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file the run did not create is never replaced unless asked (issue 16 item 2, for video too)."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the user's own file")
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and "--overwrite" in lines[-1] and out.read_bytes() == b"the user's own file"
    code, _ = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx), "--overwrite"], capsys)
    assert code == 0 and out.read_bytes() != b"the user's own file"
    folder = tmp_path / "clips"
    folder.mkdir()
    for extra in ([], ["--overwrite"]):  # a folder is never "replaced": say to name a clip inside it
        code, lines = run_cli([str(src), "-o", str(folder), "--model", str(tiny_onnx), *extra], capsys)
        assert code == 2 and "is a folder" in lines[-1] and str(folder / "in.splash.mp4") in lines[-1]
    assert folder.is_dir() and not list(folder.iterdir())


def test_an_output_ending_in_a_slash_is_a_folder_not_a_clip(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`video in.mp4 -o clips.mp4/` (a folder, by its /) wrote the clip as the file clips.mp4."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli([str(src), "-o", f"{tmp_path / 'clips.mp4'}/", "--model", str(tiny_onnx)], capsys)
    assert code == 2 and "is a folder" in lines[-1] and str(tmp_path / "clips.mp4" / "in.splash.mp4") in lines[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_link_to_nothing_at_the_output_is_refused_before_any_work(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbolic link to a missing file at the output (``-o clip.mp4`` where ``clip.mp4`` links to a moved file)
    passed the start's "already exists" check (``Path.exists`` follows the link), so the whole clip was splashed
    and then thrown away with "appeared while this ran and was not made by it", which it had not. It is refused at
    once, named as a link to nothing; ``--overwrite`` replaces the link itself (its target is not made)."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "out.mp4"
    out.symlink_to("moved-away.mp4")
    splashed: list[int] = []
    real = FrameSplasher.finish_alpha

    def counted(self: FrameSplasher, frame: np.ndarray, inferred: Inferred) -> np.ndarray:
        splashed.append(1)
        return real(self, frame, inferred)

    monkeypatch.setattr(FrameSplasher, "finish_alpha", counted)
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and splashed == []
    assert lines[-1].endswith(
        f"{out}: already exists (a symbolic link to moved-away.mp4, which does not exist); pass --overwrite to "
        "replace it, or choose another -o"
    )
    assert out.is_symlink() and not (tmp_path / "moved-away.mp4").exists()
    code, _ = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx), "--overwrite"], capsys)
    assert code == 0 and not out.is_symlink() and probe(out).width == W
    assert not (tmp_path / "moved-away.mp4").exists()


def test_an_output_name_with_a_colon_is_written_as_named(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ffmpeg takes the start of a name up to a colon for a protocol when it is made of letters, digits, ``.``,
    ``-`` and ``+``: ``-o take-2024-05-01T10:30:00.mp4`` (a script's timestamp) in the current folder failed with
    "video encoder stopped (Error opening output files: Protocol not found)", and so did the remux of its sound.
    The clip is written under its name, sound and all, as a clip named so is read."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0], audio=True)
    monkeypatch.chdir(tmp_path)  # a name without a folder: the partial file's name starts the path
    for name in ("take-2024-05-01T10:30:00.mp4", "file:take.mkv"):
        result = splash_video(src, Path(name), model=tiny_onnx)
        assert probe(result.output).width == W and probe(result.output).has_audio, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file:take.mkv", "in.mp4", "take-2024-05-01T10:30:00.mp4"]


def test_an_output_made_while_the_clip_is_written_is_not_replaced(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --overwrite, a file that appears at the output while the clip is encoded is the user's, not ours:
    the clip was renamed over it with os.replace (the check ran only at the start); now the one publishing step
    of runtime.files refuses it, names the file and says what to do, and leaves no partial file."""
    from colorsplash.runtime.video import clip as video_module

    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "out.mp4"
    verify = video_module.verify_video

    def verify_then_someone_writes(path: Path, output: Path) -> None:
        verify(path, output)
        out.write_bytes(b"the user's own file")

    monkeypatch.setattr(video_module, "verify_video", verify_then_someone_writes)
    with pytest.raises(VideoError, match="--overwrite") as caught:
        splash_video(src, out, model=tiny_onnx)
    assert str(out) in str(caught.value)
    assert out.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]  # no partial file left
    out.unlink()
    splash_video(src, out, model=tiny_onnx, overwrite=True)  # asked for: the clip replaces it
    assert out.read_bytes() != b"the user's own file" and probe(out).width == W


def test_a_clip_gets_the_usual_file_permissions(tmp_path: Path, tiny_onnx: Path) -> None:
    """The partial file is made private (0600); the finished clip must get what a plain new file would."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    umask = os.umask(0o022)
    try:
        splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    finally:
        os.umask(umask)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644


def test_a_clip_that_does_not_read_back_is_not_published(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import colorsplash.runtime.video.clip as video_module

    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])

    def broken_encoder(reader: object, splasher: object, tmp: Path, output: Path, progress: bool) -> int:
        tmp.write_bytes(b"not a video")
        return 3

    monkeypatch.setattr(video_module, "_encode", broken_encoder)
    with pytest.raises(VideoError, match="out.mp4"):
        splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_run_started_just_after_a_kill_removes_its_partial_by_its_end(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run started at once after a kill (a job scheduler's retry after the OOM killer) left the killed run's
    partial file for good: too recent, at its start, to be told from a partial being started by another run. By
    its end that one is stale, and goes; a live run's (locked) stays."""
    fcntl = pytest.importorskip("fcntl")
    import types

    from colorsplash.runtime.video import clip

    # The run's clock: its start as it is, its end 10 s later (past the 2 s grace), whatever the machine's load:
    # with a real grace of 0.2 s a quick run ended within it, and a loaded one could start after it.
    readings: list[float] = []
    fake = types.SimpleNamespace(
        time=lambda: readings.append(time.time()) or readings[-1] + 10 * (len(readings) > 1),
        perf_counter=time.perf_counter,
        monotonic=time.monotonic,
    )
    monkeypatch.setattr(clip, "time", fake)
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=10)[0])
    outdir = tmp_path / "out"
    outdir.mkdir()
    killed, live = outdir / ".colorsplash-a.0123abcd.part.mp4", outdir / ".colorsplash-c.89abcdef.part.mp4"
    killed.touch()  # now: the killed run's encoder wrote it up to a moment ago
    live.touch()
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a run still writing it
    try:
        splash_video(src, outdir / "b.mp4", model=tiny_onnx)
    finally:
        os.close(fd)
    assert sorted(p.name for p in outdir.iterdir()) == sorted(["b.mp4", live.name])
    assert len(readings) == 2  # the start and the end: the clock the two clean-ups read
