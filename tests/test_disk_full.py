"""A batch whose results' disk fills up stops at the first file that could not be written for want of space,
saying how many were left and how to finish them: it went on, each later file failing the same way after its model
run (ten thousand photos: ten thousand lines and the time of their model runs)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from helpers.splash_cli import blob_file

from colorsplash.cli import main
from colorsplash.runtime import files
from colorsplash.runtime.batch import Outcome, Task, run_batch
from colorsplash.runtime.batch_report import disk_full


def _no_space(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_a_full_disk_stops_the_batch_and_says_how_to_finish(
    verb: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(6):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    monkeypatch.setattr(files, "_publish", _no_space)  # each result's last step: the disk is full
    code = main(["-q", verb, str(tmp_path / "in"), "-o", str(out), "-j", "1", "--model", str(tiny_onnx)])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    failed = [line for line in err if "No space left on device" in line]
    stopped = [line for line in err if line.startswith("stopped: the disk the results go to is full")]
    assert len(failed) == 1 and len(stopped) == 1, err
    assert "--skip-existing" in stopped[0]
    assert err[-1].startswith("6 file(s): done 0, skipped 0, failed 1, not done 5 "), err
    assert not out.exists() or list(out.iterdir()) == []  # no temporary file left either


def test_other_failures_let_the_batch_go_on(tmp_path: Path) -> None:
    def work(task: Task) -> Outcome:
        raise OSError(errno.EACCES, "Permission denied")

    said: list[str] = []
    tasks = [Task(tmp_path / f"{i}.png", tmp_path / f"{i}.splash.png") for i in range(3)]
    summary = run_batch(tasks, work, 1, False, report=said.append)
    assert (summary.failed, summary.not_done) == (3, 0) and len(said) == 3


def test_a_full_disk_is_found_under_the_writers_wording() -> None:
    try:
        try:
            _no_space()
        except OSError as err:
            raise OSError("cannot write out.jpg: No space left on device") from err
    except OSError as named:
        assert disk_full(named)
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied")) and not disk_full(ValueError("no"))


def test_a_full_disk_under_overwrite_does_not_advise_skip_existing(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--overwrite`` run stopped by a full disk was told to run the same command with ``--skip-existing``, which
    argparse refuses beside ``--overwrite`` ("not allowed with argument --overwrite") and which, put in its place,
    would keep the earlier run's results of the files not done. It says to run the same command again."""
    for i in range(3):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    argv = ["-q", "mask", str(tmp_path / "in"), "-o", str(out), "-j", "1", "--model", str(tiny_onnx)]
    assert main(argv) == 0
    capsys.readouterr()
    monkeypatch.setattr(files, "_publish", _no_space)
    assert main([*argv, "--overwrite"]) == 1
    stopped = [line for line in capsys.readouterr().err.splitlines() if line.startswith("stopped: ")]
    assert len(stopped) == 1 and "run the same command again" in stopped[0], stopped
    assert "with --skip-existing to do only those" not in stopped[0], stopped
