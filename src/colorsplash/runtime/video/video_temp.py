"""Temporary files of ``video`` runs: created locked, and removed by a later run when a killed one left them.

A clip is written under a hidden temporary name beside the output (:func:`colorsplash.runtime.temp_names.temp_path_for`,
so the name fits whenever the output's name fits) and renamed when complete. While a run works on such a file it
holds an exclusive ``flock`` on it. The kernel drops that lock when the process ends, however it ends (``kill -9``
included), so a later run can tell a partial file whose owner is gone (unlocked) from one that a running process is
still writing (locked), and removes only the former.

Only names that ``temp_path_for`` makes for a video extension are ever considered: a user's own files never match,
and neither do other commands' temporary pictures (those are not locked, so they are left alone).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path

from colorsplash.runtime.files import broken_link, unwritable_folder
from colorsplash.runtime.temp_names import TEMP_SUFFIX, TEMP_TOKEN, is_temp_name, temp_path_for
from colorsplash.runtime.video.video_encode import CONTAINERS
from colorsplash.runtime.video.video_io import VideoError

try:  # POSIX; elsewhere no stale file is ever removed (never guess about a file another process may own)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# A partial file this recent is left alone even when unlocked: a concurrent run may have created it a moment ago
# and not locked it yet.
_GRACE_SECONDS = 2.0
_TOKEN_RE = re.compile(r"\." + TEMP_TOKEN + re.escape(TEMP_SUFFIX) + r"\.[A-Za-z0-9]+$")


class PartialFile:
    """A hidden temporary file beside ``output``, created empty and locked until :meth:`release` or :meth:`discard`.

    Other processes (ffmpeg) may write to :attr:`path`; the lock is on our own descriptor of the same file.
    """

    def __init__(self, output: Path) -> None:
        folder = output.parent
        if folder.exists() and not folder.is_dir():
            raise VideoError(f"{output}: {folder} is a file, not a folder; choose another -o")
        if folder.is_symlink() and not folder.exists():  # mkdir below would say "File exists"
            raise VideoError(f"{output}: {folder} is {broken_link(folder)}; choose another -o")
        if not folder.is_dir():  # made, as splash -o makes its folder (the caller removes it again if unused)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                why = unwritable_folder(folder) or err.strerror
                message = f"{output}: cannot make the output folder {folder} ({why}); choose another -o"
                raise VideoError(message) from err
        self.path = temp_path_for(output)
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise VideoError(f"{output}: cannot write to folder {folder} ({err.strerror}); choose another -o") from err
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh file: nobody else can hold it

    def release(self) -> None:
        """Drop the lock (the file stays; call after it was renamed into place)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Remove the file (if still there) and drop the lock."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.release()


def is_video_partial(name: str) -> bool:
    """Whether ``name`` is a temporary name that ``temp_path_for`` makes for a video output."""
    return (
        is_temp_name(name)
        and name.lower().endswith(tuple(TEMP_SUFFIX + ext for ext in CONTAINERS))
        and _TOKEN_RE.search(name) is not None
    )


def _remove_if_unowned(path: Path) -> bool:
    """Remove ``path`` when no process holds its lock (its run ended without cleaning up); True when removed.

    Raises OSError when the file cannot be removed.
    """
    assert fcntl is not None
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live run holds it
            return False
        path.unlink()  # under our lock: nobody can be writing it now
        return True
    finally:
        os.close(fd)


def remove_stale_partials(folder: Path, started: float) -> list[Path]:
    """Remove the video partial files in ``folder`` left by runs that were killed; returns what was removed.

    A file is removed only when its name is one of ours (:func:`is_video_partial`), it was last modified more than
    a moment before ``started`` (a ``time.time()`` value: this run's start, or its end, when a partial too recent
    at the start is stale by then) and no live process holds its lock. Errors are logged, never raised: cleaning
    up is a courtesy, not the job.
    """
    if fcntl is None or not folder.is_dir():
        return []
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        if not is_video_partial(entry.name):
            continue
        path = Path(entry.path)
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_mtime > started - _GRACE_SECONDS:
                continue
            if _remove_if_unowned(path):
                removed.append(path)
                log.info("%s: removed a partial file left by an interrupted run", path)
        except OSError as err:
            log.warning("%s: could not remove a partial file left by an interrupted run (%s)", path, err.strerror)
    return removed
