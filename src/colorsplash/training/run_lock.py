"""One ``train`` process per run folder: two in one folder would write over each other's checkpoints.

While it trains, ``train`` holds an exclusive ``flock`` on ``RUN/.train.lock`` (:data:`run_files.LOCK`), which
records its process id, host and start time for the refusal's words. The kernel drops the lock when the process
ends, however it ends (``kill -9`` included), so a run that was killed never blocks the next ``--resume``: there is
no stale lock to remove by hand (a killed run leaves the unlocked file, which the next run takes). A run that ends
removes the file while it still holds the lock; a process that opened it just before then finds, once it holds
the lock, that the name no longer leads to its file, and starts again on the name's new file.

Torch-free (the CLI takes the lock before it imports the trainer). Under ``torchrun`` only the main process takes
it. POSIX only: where ``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from colorsplash.runtime.files import made_folders_tidied, missing_folders, unwritable_folder
from colorsplash.training import run_files

try:  # POSIX; elsewhere nothing is locked (never refuse on a guess)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


# Times the run folder is made again when another run's end removed it, empty, before its lock file was opened
_MAKE_TRIES = 5


class RunBusyError(ValueError):
    """Another process is training in the run folder now."""


class RunFolderError(ValueError):
    """No file can be made in the run folder (read-only, no permission)."""


@contextlib.contextmanager
def run_lock(run: Path, *, main: bool = True, create: bool = True) -> Iterator[None]:
    """Hold the run folder ``run``'s lock while the block runs.

    Args:
        main: whether this is the process that takes it (rank 0 under ``torchrun``; the others pass through).
        create: make ``run`` when missing (a new run), and the folders above it. The folders made here that are
            empty when the block ends (the run stopped before writing anything) are removed again. With ``create``
            False a missing folder is not locked: the caller's own check says it is missing.

    Raises:
        RunBusyError: another process holds the lock; the message names it and what to do.
        RunFolderError: the folder (or its lock file) cannot be made there; the message names it and what to do
            (another ``-o``, or with ``create`` False, as for ``--resume``, a copy of the run to continue).
    """
    if not main or fcntl is None or not (create or run.is_dir()):
        yield
        return
    path = run / run_files.LOCK
    with made_folders_tidied(run) as made:  # the folders made here, when the run stopped before writing anything
        try:
            fd = _made_and_locked(run, path, made)
        except OSError as err:  # a read-only place, no permission (RunBusyError is not one: it goes up as it is)
            why = unwritable_folder(run) or err.strerror or err  # a file in the way is named, not "Not a directory"
            # --resume takes no -o: a run folder that cannot be written is continued from a copy
            advice = "choose another with -o NEW_DIR" if create else "copy it where you can write and --resume the copy"
            raise RunFolderError(f"{run}: cannot write in this run folder ({why}); {advice}") from err
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # still held: a process waiting on this file retries on a new one (see _locked)
            os.close(fd)  # drops the lock


def _made_and_locked(run: Path, path: Path, made: list[Path]) -> int:
    """Make ``run`` (and the folders above it) and lock its lock file ``path``: the descriptor. Another run with
    the same ``-o`` that ends before writing anything removes the empty folder it made, and may do so between the
    ``mkdir`` here and the lock file's ``open`` (which then finds no folder): the folder is made again, a few
    times, before the ``FileNotFoundError`` is let go up (it said "cannot write in this run folder (No such file or
    directory)"). Folders made again are added to ``made`` (see :func:`made_folders_tidied`)."""
    tries = 0
    while True:
        made += missing_folders(run) if tries else []
        run.mkdir(parents=True, exist_ok=True)
        try:
            return _locked(path, run)
        except FileNotFoundError:
            tries += 1
            if tries == _MAKE_TRIES:
                raise


def _locked(path: Path, run: Path) -> int:
    """An open descriptor of ``path`` holding its lock; :class:`RunBusyError` when another process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        held = False
        try:
            _take(fd, run)
            held = _same_file(fd, path)
            if held:
                _record_holder(fd)  # a full disk fails here: the file is ours (held), not left to keep the folder
                return fd
        except BaseException:
            if held:
                with contextlib.suppress(OSError):
                    path.unlink()
            os.close(fd)
            raise
        os.close(fd)  # the holder before us removed the name as it ended: lock the name's new file


def _take(fd: int, run: Path) -> None:
    """Lock ``fd`` (``run``'s lock file) without waiting; :class:`RunBusyError` naming the holder when another
    process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
        raise RunBusyError(
            f"{run}: another colorsplash train is training in this folder now ({holder}); two runs in one folder "
            f"would write over each other's checkpoints. Wait for it to end or stop it (then continue it with "
            f"--resume {shlex.quote(str(run))}), or start a new run with -o NEW_DIR"
        ) from None


def _record_holder(fd: int) -> None:
    """Write who holds the lock into its file ``fd``, for another process's refusal."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}, since {started}\n".encode(), 0)


def _same_file(fd: int, path: Path) -> bool:
    """Whether the name ``path`` still leads to the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)
