"""A batch whose results' disk fills up stops at the first file that could not be written for want of space,
saying how many were left and how to finish them: it went on, each later file failing the same way after its model
run (ten thousand photos: ten thousand lines and the time of their model runs)."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from helpers.splash_cli import blob_file

from colorsplash.cli import main
from colorsplash.runtime import files
from colorsplash.runtime.batch import Outcome, Task, run_batch
from colorsplash.runtime.batch_report import disk_full
from colorsplash.runtime.pipeline import Stages, _StagedRun, run_stages


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


def _stop_while_running(then: Callable[[Path], Outcome]) -> Callable[[Task], Outcome]:
    """Work where ``0.png`` finds the disk full once another file is running, which ``then`` finishes."""
    started = threading.Event()

    def work(task: Task) -> Outcome:
        if task.source.name == "0.png":
            assert started.wait(10)
            _no_space()
        started.set()
        time.sleep(0.3)  # still running when the batch stops
        return then(task.output)

    return work


def _written(out: Path) -> Outcome:
    out.write_bytes(b"x")
    return Outcome("done")


def _also_full(out: Path) -> Outcome:
    _no_space()
    return Outcome("done")


@pytest.mark.parametrize("running", [_written, _also_full])
def test_files_running_when_the_disk_fills_are_counted_as_what_became_of_them(
    running: Callable[[Path], Outcome], tmp_path: Path
) -> None:
    """With ``-j`` over 1, a file still running when another found the disk full was counted "not done" although
    it was then written (``done 0, not done 5`` with a result on disk); a file that also found the disk full is
    not done, without a line of its own (it would repeat the first's)."""
    tasks = [Task(tmp_path / f"{i}.png", tmp_path / f"{i}.splash.png") for i in range(6)]
    lines: list[str] = []
    summary = run_batch(tasks, _stop_while_running(running), 2, False, report=lines.append)
    written = len(list(tmp_path.iterdir()))
    assert (summary.done, summary.failed, summary.not_done) == (written, 1, 5 - written), lines
    assert written >= (running is _written) and len(lines) == 2, lines
    assert f"{5 - written} file(s) not done" in lines[-1], lines


def test_staged_items_running_at_a_stop_come_back_as_leftovers() -> None:
    """The staged pipeline (``splash``/``mask`` on a folder): closing it early hands back the items that finished
    while it closed, so the batch counts what they wrote; the dropped ones are not among them."""
    first_out, finishing = threading.Event(), threading.Event()

    def finish(i: int) -> int:
        if i != 0:
            finishing.set()
            assert first_out.wait(10)
            time.sleep(0.2)
        return i

    stages: Stages[int] = Stages(load=lambda i: i, infer=lambda i: i, finish=finish, is_final=lambda v: False)
    leftovers: list[tuple[Any, Future[int]]] = []
    results = run_stages(list(range(20)), stages, jobs=2, in_flight=4, leftovers=leftovers)
    first = next(results)
    # Another item inside its finish as the pipeline closes (on a loaded machine it could still be loading, and be
    # dropped: the test then failed with no leftover)
    assert finishing.wait(10)
    first_out.set()
    results.close()
    left = sorted(item for item, future in leftovers)
    assert first[0] == 0 and left and len(left) <= 3 and all(f.result() == i for i, f in leftovers), left


def test_an_item_started_as_the_pipeline_closes_is_dropped_not_failed() -> None:
    """The feeder may start an item just as a full disk closes the pipeline: its load could not be submitted to the
    pool shut down meanwhile. It was settled with that RuntimeError, and came back as a leftover: counted failed,
    with the line 'NAME: cannot schedule new futures after shutdown'. It is dropped (not done) as the queued are."""
    stages: Stages[int] = Stages(load=lambda i: i, infer=lambda i: i, finish=lambda i: i, is_final=lambda v: False)
    run: _StagedRun[int] = _StagedRun(stages, jobs=1, capacity=2)
    run.close()
    run._step(7, Future(), run.loaders, stages.load, 7, None)
    assert run.done.empty(), run.done.get()


def test_a_full_disk_whose_other_files_all_finished_does_not_say_none_was_done(tmp_path: Path) -> None:
    """Two photos, -j 2: the first found the disk full while the second was running, which was then written. The
    last line said "stopped: ...; 0 file(s) not done. ... with --skip-existing to do only those": nothing was
    stopped, and 'those' were none; it names the one file not written."""
    tasks = [Task(tmp_path / f"{i}.png", tmp_path / f"{i}.splash.png") for i in range(2)]
    lines: list[str] = []
    summary = run_batch(tasks, _stop_while_running(_written), 2, False, report=lines.append)
    assert (summary.done, summary.failed, summary.not_done) == (1, 1, 0), lines
    assert lines[-1] == (
        "the disk the results go to is full: the file above was not written, the others finished. Free some space "
        "there, then run the same command with --skip-existing to do only it (or choose another place with -o)"
    ), lines
