"""One ``train`` per run folder: a second process training in the same folder (a new run with the same ``-o``, or
``--resume`` of a run still training) wrote over the first's checkpoints; it is refused, naming the holder."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from colorsplash.training import run_files
from colorsplash.training.run_lock import RunBusyError, run_lock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="runs are locked with flock (POSIX)")


def test_a_second_holder_is_refused_and_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with run_lock(run):
        assert (run / run_files.LOCK).read_text().startswith(f"process {os.getpid()} on ")
        with pytest.raises(RunBusyError) as refused, run_lock(run):
            pytest.fail("a second holder got the lock")
        message = str(refused.value)
        assert message.startswith(f"{run}: another colorsplash train is training in this folder now (process ")
        assert f"--resume {run}" in message and "-o NEW_DIR" in message
    with run_lock(run, create=False):  # released: the next run takes it
        pass


def test_the_command_the_refusal_gives_can_be_pasted(tmp_path: Path) -> None:
    """A run folder with a space: the refusal said ``--resume /x/my run``, a command that names two arguments."""
    run = tmp_path / "my run"
    with run_lock(run), pytest.raises(RunBusyError) as refused, run_lock(run):
        pass
    assert f"--resume {shlex.quote(str(run))}" in str(refused.value)


def test_a_new_folder_left_empty_is_removed_and_a_users_folder_is_kept(tmp_path: Path) -> None:
    """A run that stopped before writing anything leaves no folder of its own making, and never removes one it
    did not make; the lock file goes with the run."""
    new, given = tmp_path / "new", tmp_path / "given"
    given.mkdir()
    with pytest.raises(KeyError), run_lock(new):
        raise KeyError("the data is missing")
    with run_lock(given):
        pass
    assert not new.exists() and given.is_dir() and not list(given.iterdir())
    with run_lock(new):
        (new / run_files.CONFIG).write_text("{}")
    assert [p.name for p in new.iterdir()] == [run_files.CONFIG]


def test_every_folder_a_stopped_run_made_is_removed_however_deep(tmp_path: Path) -> None:
    """``-o runs/2026/cats`` made three folders; a run that stopped before writing anything removes all three (the
    deepest first: a folder holding the next one is not empty), and never ``tmp_path``, which was there."""
    with pytest.raises(KeyError), run_lock(tmp_path / "runs" / "2026" / "cats"):
        raise KeyError("the data is missing")
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_missing_run_folder_makes_no_folder(tmp_path: Path) -> None:
    """``--resume runs/gone`` (``create=False``): the lock makes nothing, so the caller's own check can say the run
    folder is missing."""
    gone = tmp_path / "runs" / "gone"
    with run_lock(gone, create=False):
        assert not (tmp_path / "runs").exists()
    assert list(tmp_path.iterdir()) == []


def test_only_the_main_process_of_a_distributed_run_takes_the_lock(tmp_path: Path) -> None:
    """Under ``torchrun`` every rank enters the lock; only rank 0 (``main``) takes it: the others are not refused
    as a second run."""
    run = tmp_path / "run"
    with run_lock(run), run_lock(run, main=False):
        assert (run / run_files.LOCK).is_file()


def test_the_holder_is_named_without_what_a_killed_run_left_in_the_lock_file(tmp_path: Path) -> None:
    """A killed run leaves its lock file with its own line; the next holder's line replaces it whole, so a third
    process's refusal names the holder alone, not the holder followed by the end of a longer old line."""
    run = tmp_path / "run"
    run.mkdir()
    (run / run_files.LOCK).write_text(f"process 1 on {'a-very-long-host-name.' * 8}example, since 2020-01-01\n")
    with run_lock(run):
        assert (run / run_files.LOCK).read_text().count("\n") == 1
        with pytest.raises(RunBusyError) as refused, run_lock(run):
            pass
    assert "a-very-long-host-name" not in str(refused.value)


def test_a_lock_that_cannot_be_written_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk failed the lock file's first write: the empty lock file stayed, and kept the run folder made for
    it (the start refused, ``runs/new/.train.lock`` left behind)."""
    import errno

    from colorsplash.training import run_lock as module

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, "_record_holder", full)
    new = tmp_path / "runs" / "new"
    with pytest.raises(module.RunFolderError, match="No space left on device"), run_lock(new):
        pass
    assert list(tmp_path.iterdir()) == []


def test_the_folders_made_above_a_new_run_left_empty_are_removed_too(tmp_path: Path) -> None:
    """``-o runs/mine`` with no ``runs``: a run refused before writing anything (a data set a stage needs is
    missing) left ``runs`` behind, made by the lock, though it says nothing is written. A folder above that holds
    something else is kept."""
    with pytest.raises(KeyError), run_lock(tmp_path / "runs" / "cats" / "mine"):
        raise KeyError("the data is missing")
    assert list(tmp_path.iterdir()) == []
    with run_lock(tmp_path / "runs" / "cats" / "mine"):
        (tmp_path / "runs" / "notes.txt").write_text("the user's")
    assert [p.name for p in tmp_path.rglob("*")] == ["runs", "notes.txt"]


def test_a_missing_folder_to_resume_is_not_made(tmp_path: Path) -> None:
    with run_lock(tmp_path / "gone", create=False):
        pass
    assert not (tmp_path / "gone").exists()


def test_a_killed_holder_does_not_block_the_next_run(tmp_path: Path) -> None:
    """The kernel drops the lock of a process killed with SIGKILL: no stale lock to remove by hand."""
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from colorsplash.training.run_lock import run_lock\n"
            "with run_lock(pathlib.Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()",
            str(run),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(RunBusyError, match=f"process {holder.pid} on "), run_lock(run):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert (run / run_files.LOCK).exists()  # killed: its file stays, unlocked
    with run_lock(run):
        assert (run / run_files.LOCK).read_text().startswith(f"process {os.getpid()} on ")


def test_a_holder_ending_while_another_opens_the_file_leaves_one_holder(tmp_path: Path) -> None:
    """A process that opened the lock file just before its holder ended (and removed it) must not hold a lock on
    a file no one else sees: it takes the name's new file, so a third process is refused."""
    run = tmp_path / "run"
    run.mkdir()
    with run_lock(run):
        stale = os.open(run / run_files.LOCK, os.O_RDWR)  # opened by a latecomer while the run still holds it
    try:
        from colorsplash.training import run_lock as module

        real_open = os.open
        calls: list[int] = []

        def open_the_stale_file_first(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
            calls.append(1)
            return os.dup(stale) if len(calls) == 1 else real_open(path, flags, mode)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(module.os, "open", open_the_stale_file_first)
            with run_lock(run):
                patch.setattr(module.os, "open", real_open)
                assert len(calls) == 2  # the stale file was locked, seen to be gone, and the name's new file taken
                with pytest.raises(RunBusyError), run_lock(run):
                    pass
    finally:
        os.close(stale)


@pytest.mark.parametrize("made_by_both", [True, False])
def test_a_folder_removed_by_another_run_between_making_and_locking_is_made_again(
    made_by_both: bool, tmp_path: Path
) -> None:
    """Two runs with one ``-o``: the first ends before writing anything and removes the empty folder it made just
    after the second made (or found) it and before the second opened its lock file there. The second ended on
    "cannot write in this run folder (No such file or directory)"; it makes the folder again and takes the lock,
    and removes that folder again when it ends empty, as a folder of its own making."""
    from colorsplash.training import run_lock as module

    run = tmp_path / "runs" / "run"
    if not made_by_both:
        run.mkdir(parents=True)  # the first run made it; the second found it there
    real_open = os.open
    calls: list[str] = []

    def the_other_run_ends_first(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if not calls:  # the first run's end: its lock file gone, its empty folders removed
            run.rmdir()
            run.parent.rmdir()
        calls.append(os.fspath(path))
        return real_open(path, flags, mode)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module.os, "open", the_other_run_ends_first)
        with run_lock(run):
            patch.setattr(module.os, "open", real_open)
            assert (run / run_files.LOCK).read_text().startswith(f"process {os.getpid()} on ")
            with pytest.raises(RunBusyError), run_lock(run):
                pass
    assert len(calls) == 2 and not run.parent.exists()  # made again here, and left empty: removed again


def test_train_into_a_folder_being_trained_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same ``-o`` twice (the first still in its first epoch: its config.json is a run's, which a new run may
    replace) and ``--resume`` of a run still training: both refused before a file is written."""
    pytest.importorskip("torch")
    from helpers.layouts import make_seed_set
    from helpers.train import QUICK

    from colorsplash.cli import main

    data, run = tmp_path / "cats", tmp_path / "run"
    make_seed_set(data, n=8, h=56, w=72)
    run.mkdir()
    (run / run_files.CONFIG).write_text('{"model": {}, "train": {}}')  # as a run in its first epoch leaves it
    (run / run_files.LAST).write_bytes(b"the first run's checkpoint")
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with run_lock(run):
        assert main(["train", str(data), *QUICK, "-o", str(tmp_path / "fresh")]) == 0  # another folder: fine
        (run / run_files.LAST).unlink()
        assert main(["train", str(data), *QUICK, "-o", str(run)]) != 0
        assert "another colorsplash train is training in this folder now" in capsys.readouterr().err
        (run / run_files.LAST).write_bytes(before[run_files.LAST])
        assert main(["train", "--resume", str(run)]) != 0
        assert f"{run}: another colorsplash train is training in this folder now" in capsys.readouterr().err
        assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != run_files.LOCK} == before


def test_a_run_that_ended_while_the_new_one_started_is_not_written_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train -o RUN`` looked whether RUN held a run, then loaded torch and only then took the lock: a run that
    was training there (its first epoch: nothing refused) and ended in between left its ``last.pt``, which the new
    run wrote over. The folder is looked at again once the lock is held."""
    pytest.importorskip("torch")
    from helpers.layouts import make_seed_set
    from helpers.train import QUICK

    from colorsplash.cli import main
    from colorsplash.cli import train as train_cli

    data, run = tmp_path / "cats", tmp_path / "run"
    make_seed_set(data, n=8, h=56, w=72)
    run.mkdir()
    (run / run_files.CONFIG).write_text('{"model": {}, "train": {}}')  # the other run, in its first epoch

    def the_other_run_ends_now() -> bool:  # between the check and the lock
        if not (run / run_files.LAST).exists():
            (run / run_files.LAST).write_bytes(b"the other run's checkpoint")
        return True

    monkeypatch.setattr(train_cli, "_main_process", the_other_run_ends_now)
    assert main(["train", str(data), *QUICK, "-o", str(run)]) != 0
    assert f"{run} already holds a run; pass --resume {run}" in capsys.readouterr().err
    assert (run / run_files.LAST).read_bytes() == b"the other run's checkpoint"


def test_a_recipe_stage_folder_is_locked_while_it_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A staged recipe held only RUN's lock: ``train --resume RUN/stage1-...`` (a run of its own) could train in
    the stage folder beside the recipe. The stage's folder is locked while it trains, so the other is refused."""
    pytest.importorskip("torch")
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training import recipe_run
    from colorsplash.training.config import TrainConfig

    stage = tmp_path / "run" / "stage1-pets-lite1"
    seen: list[str] = []

    class Probe:  # stands in for the trainer: asks, while "training", whether another run could take the folder
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def fit(self) -> object:
            with pytest.raises(RunBusyError) as refused, run_lock(stage, create=False):
                pass
            seen.append(str(refused.value))
            return "state"

    monkeypatch.setattr(recipe_run, "Trainer", Probe)
    cfg = TrainConfig(out_dir=str(stage))
    assert recipe_run._fit_stage("1/1 (pets)", stage, ModelConfig(), cfg, False, False) == "state"
    assert seen and seen[0].startswith(f"{stage}: another colorsplash train is training in this folder now")
    with run_lock(stage, create=False):  # released once the stage ends
        pass


def _lock_file_refused(monkeypatch: pytest.MonkeyPatch, refusal: OSError) -> None:
    """The system refuses to open the run's lock file with ``refusal`` (its errno and words; the path added), as a
    read-only disk or a folder without write permission does (root may write anywhere: refused here instead)."""
    from colorsplash.training import run_lock as module

    real_open = os.open

    def refuse(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(run_files.LOCK):
            raise type(refusal)(refusal.errno, refusal.strerror, str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(module.os, "open", refuse)


def test_a_run_folder_where_nothing_can_be_written_is_said_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only place for the run (the lock file cannot be made) ended in a raw "[Errno 13] Permission denied:
    '.../.train.lock'", naming a file the user never asked for; it names the run folder and what to do, and leaves
    no folder it made behind. (Root may write anywhere: the refusal is made by the system call here.)"""
    from colorsplash.training import run_lock as module

    _lock_file_refused(monkeypatch, PermissionError(13, "Permission denied"))
    run = tmp_path / "runs" / "mine"
    with pytest.raises(module.RunFolderError) as refused, run_lock(run):
        pytest.fail("the block ran without the lock")
    assert (
        str(refused.value)
        == f"{run}: cannot write in this run folder (Permission denied); choose another with -o NEW_DIR"
    )
    assert not (tmp_path / "runs").exists()


def test_a_run_to_resume_where_nothing_can_be_written_is_not_sent_to_o(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``train --resume RUN`` of a run on a read-only disk said "choose another with -o NEW_DIR", a flag --resume
    refuses: it says to continue a copy of the run."""
    from colorsplash.training import run_lock as module

    _lock_file_refused(monkeypatch, OSError(30, "Read-only file system"))
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(module.RunFolderError) as refused, run_lock(run, create=False):
        pytest.fail("the block ran without the lock")
    message = str(refused.value)
    assert message.startswith(f"{run}: cannot write in this run folder (")
    assert " -o " not in message and "--resume the copy" in message
