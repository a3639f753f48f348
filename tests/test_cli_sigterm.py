"""SIGTERM (``kill``, ``timeout``, a service manager) stops ``mask``, ``splash``, ``evaluate``, ``export`` and
``train`` as Ctrl-C does: exit status 143, "interrupted", and no partial file left where the results go (they were
killed outright and left ``.colorsplash-*.part.png`` files behind). ``video``'s own case: test_video_output_files.py."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.splash_cli import blob_file
from PIL import Image

WRITING = "a result is being written"
SLOW_WRITE = f"""
import sys, threading, time
from colorsplash.cli import main
from colorsplash.runtime import files
real = files._publish
once = threading.Lock()  # taken once, never let go: two writers' lines would run together
def slow(tmp, path, replace):  # the temporary file is complete and checked: it waits here for its name
    if once.acquire(blocking=False):
        print({WRITING!r}, flush=True)
    time.sleep(1.0)
    real(tmp, path, replace)
files._publish = slow
sys.exit(main(sys.argv[1:]))
"""


def terminated_while_writing(args: list[str], signum: int = signal.SIGTERM, nohup: bool = False) -> tuple[int, str]:
    """Run the CLI with ``args`` in a child process, send it ``signum`` while it writes its first file; its exit
    status and standard error. ``nohup``: the child starts with SIGHUP ignored, as under ``nohup``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, "-q", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # SIGHUP's disposition set either way: a test run started under nohup passes its SIG_IGN on to the child
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN if nohup else signal.SIG_DFL),  # noqa: PLW1509
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline() if ready else b""
    if WRITING not in line.decode():
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"the run wrote nothing within 120 s (said {line!r}): {err.decode()}")
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def partial_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".colorsplash-*"))


@pytest.mark.parametrize("verb", ["mask", "splash"])
def test_sigterm_mid_folder_leaves_no_partial_file(verb: str, tmp_path: Path, tiny_onnx: Path) -> None:
    for i in range(6):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    code, err = terminated_while_writing([verb, str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx)])
    assert code == 128 + signal.SIGTERM and "interrupted" in err, err
    assert partial_files(out) == []
    written = list(out.iterdir())
    # It said "interrupted" alone: what was done, and how to go on
    said = f"stopped: {len(written)} of 6 file(s) done, {6 - len(written)} not done; run the same command with "
    assert f"{said}--skip-existing to do the rest" in err, err
    assert written  # the photo being written when the signal came was finished, as on Ctrl-C
    for path in written:
        Image.open(path).load()


@pytest.mark.parametrize("nohup", [False, True])
def test_a_hangup_stops_a_folder_as_sigterm_does_unless_ignored(nohup: bool, tmp_path: Path, tiny_onnx: Path) -> None:
    """Closing the terminal or the ssh session (SIGHUP) killed the run outright: the photos being written were
    left as hidden ``.colorsplash-*.part`` files. It stops as on Ctrl-C (exit 129); under ``nohup``, which ignores
    SIGHUP, the run goes on to its end."""
    for i in range(4):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    argv = ["mask", str(tmp_path / "in"), "-o", str(out), "-j", "1", "--model", str(tiny_onnx)]
    code, err = terminated_while_writing(argv, signal.SIGHUP, nohup)
    assert partial_files(out) == []
    if nohup:
        assert code == 0 and len(list(out.iterdir())) == 4, err
    else:
        assert code == 128 + signal.SIGHUP and "interrupted" in err, err
        assert 1 <= len(list(out.iterdir())) < 4


def test_sigterm_while_evaluate_writes_its_report_leaves_no_partial_file(tmp_path: Path, tiny_onnx: Path) -> None:
    data = tmp_path / "set"
    for i in range(2):
        mask = blob_file(data / "images" / f"p{i}.png", i)
        (data / "masks").mkdir(exist_ok=True)
        Image.fromarray(mask * 255).save(data / "masks" / f"p{i}.png")
    out = tmp_path / "report"
    code, err = terminated_while_writing(["evaluate", str(data), "-o", str(out), "--model", str(tiny_onnx)])
    assert code == 128 + signal.SIGTERM and "interrupted" in err, err
    assert partial_files(out) == []


def test_sigterm_stops_train_as_ctrl_c_keeping_its_finished_epochs(tmp_path: Path) -> None:
    """``train`` stopped by SIGTERM (a service manager, ``timeout``) was killed outright: no line saying what was
    kept and how to go on, and a checkpoint being saved left its hidden temporary file in the run folder."""
    pytest.importorskip("torch")
    import time

    from helpers.layouts import make_seed_set
    from helpers.train import TINY_UNET

    from colorsplash.training.checkpoint import read_checkpoint

    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    run = tmp_path / "run"
    flags = [*TINY_UNET, "--size", "64", "--epochs", "500", "--batch-size", "4", "--val-fraction", "0.25"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorsplash", "-q", "train", str(tmp_path / "cats"), *flags, "-o", str(run)],
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not (run / "last.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before its first epoch was kept"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    said = err.decode()
    assert proc.returncode == 128 + signal.SIGTERM, said
    assert "training interrupted" in said and f"train --resume {run}" in said, said
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")], "hidden files left in the run folder"
    assert read_checkpoint(run / "last.pt")["run_state"]["epoch"] >= 1


def test_sigterm_while_export_writes_its_model_leaves_no_partial_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    """``export`` (minutes with ``--int8``) was killed outright by SIGTERM: its hidden temporary ONNX file stayed
    beside the model it was writing."""
    pytest.importorskip("torch")
    out = tmp_path / "out"
    out.mkdir()
    code, err = terminated_while_writing(["export", str(tiny_checkpoint), "-o", str(out / "model.onnx")])
    assert code == 128 + signal.SIGTERM and "interrupted" in err, err
    assert list(out.iterdir()) == []


def test_ctrl_c_on_one_photo_says_it_was_finished_not_to_run_again(tmp_path: Path, tiny_onnx: Path) -> None:
    """Ctrl-C on ``splash big.jpg``: the photo, once started, is finished whatever the moment (its write is atomic),
    and the run said "1 of 1 file(s) done, 0 not done; run the same command with --skip-existing to do the rest":
    there was no rest, and the same command as given failed on the result just written. It says that nothing was
    left undone, and at once that the photo is finished first (it said nothing until then)."""
    blob_file(tmp_path / "p.png", 0)
    argv = ["splash", str(tmp_path / "p.png"), "--model", str(tiny_onnx)]
    code, err = terminated_while_writing(argv, signal.SIGINT)
    assert code == 130 and "interrupted" in err, err
    assert "stopped: 1 of 1 file(s) done, none left undone" in err and "--skip-existing" not in err, err
    # said as it came, not once the photo was finished (seconds for a large one, which looked as if unheard)
    assert err.index("stopping: the files being worked on are finished first; Ctrl-C again") < err.index("stopped:")
    Image.open(tmp_path / "p.splash.png").load()
