"""What became of each file of a batch, and of the run: one file's :class:`Outcome`, the run's :class:`Summary`,
and :func:`outcome_of`, the per-file error boundary, which also decides when going on is pointless.

A file's failure is one line naming it, and the batch goes on, except when the disk the results go to is full
(``ENOSPC``, or the user's quota, ``EDQUOT``): every file after it would fail the same way after its model run, a
line each (ten thousand photos, ten thousand lines and the time of their model runs), so that outcome stops the
batch (:func:`colorsplash.runtime.batch.run_batch` says how many files were left and how to finish them).
"""

from __future__ import annotations

import errno
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import cv2

from colorsplash.runtime.options import OptionError
from colorsplash.runtime.planning import Task
from colorsplash.runtime.wording import printable

_FULL = {errno.ENOSPC, errno.EDQUOT}


@dataclass
class Outcome:
    """What became of one file: ``status`` is ``done``, ``skipped`` or ``failed``; ``messages`` are for the user
    (one line each: :meth:`Summary.add` escapes the line breaks and control characters a file name brings);
    ``stops_batch``: the failure would fail every file after it (the disk is full); ``trace``: the traceback
    ``--debug`` shows above a failure's line, said as it is."""

    status: str
    messages: list[str] = field(default_factory=list)
    stops_batch: bool = False
    trace: str = ""


@dataclass
class Summary:
    """The run's counts; ``not_done``: files the batch stopped before (see :func:`stopped_line`)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_done: int = 0
    seconds: float = 0.0
    model: str = ""  # the model that ran, as :attr:`Model.label` names it ("" when none ran)
    stopped_by_disk: bool = False  # an outcome said the disk is full: the batch stops (see :func:`stopped_line`)

    def add(self, outcome: Outcome, say: Callable[[str], None]) -> None:
        """Count one file's outcome and say its messages, one line each (a file named ``"a\\n1 file(s): done"``
        or holding a terminal's escape sequence shows them as ``\\n``, ``\\x1b``: :func:`printable`)."""
        if outcome.trace:
            say(outcome.trace)
        for text in outcome.messages:
            say(printable(text))
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        self.stopped_by_disk |= outcome.stops_batch

    def add_after_stop(self, left: int, finished: list[Outcome], say: Callable[[str], None]) -> None:
        """Count the ``left`` files after the one that stopped the batch: those ``finished`` while it stopped as
        what became of them (a file written is done), the rest, and those that also found the disk full (their
        lines would repeat the first's), as not done."""
        for outcome in finished:
            if outcome.stops_batch:
                continue
            self.add(outcome, say)
            left -= 1
        self.not_done = left

    def line(self) -> str:
        total = self.done + self.skipped + self.failed + self.not_done
        rate = f" ({self.done / self.seconds:.1f} files/s)" if self.seconds > 0 and self.done else ""
        model = f"; {self.model}" if self.model else ""
        left = f", not done {self.not_done}" if self.not_done else ""
        return (
            f"{total} file(s): done {self.done}, skipped {self.skipped}, failed {self.failed}{left} "
            f"in {self.seconds:.1f} s{rate}{model}"
        )


def stopped_line(not_done: int, replacing: bool = False) -> str:
    """The line that ends a batch stopped by a full disk (:attr:`Outcome.stops_batch`); ``replacing``: the batch
    replaces existing results (``--overwrite``), which ``--skip-existing`` may not join (argparse refuses the two
    together) and, put in its place, would keep the earlier results of the files not done."""
    again = (
        "run the same command again (it does every file again)"
        if replacing
        else f"run the same command with --skip-existing to do only {'those' if not_done else 'it'}"
    )
    if not not_done:  # the files running when it stopped all finished: nothing was stopped but that file
        said = "the disk the results go to is full: the file above was not written, the others finished"
    else:
        said = f"stopped: the disk the results go to is full; {not_done} file(s) not done"
    return f"{said}. Free some space there, then {again} (or choose another place with -o)"


# Said at once when Ctrl-C (SIGTERM, SIGHUP) comes with files still being worked on: they are finished first, which
# for a large photo took many seconds without a word (a user pressed Ctrl-C again, not knowing it was heard).
STOPPING = "stopping: the files being worked on are finished first; Ctrl-C again stops at once (they are not written)"


def interrupted_line(summary: Summary, total: int, replacing: bool = False) -> str:
    """The line a batch of ``total`` files stopped by Ctrl-C (or SIGTERM, SIGHUP) says before "interrupted": what
    was done (the files being written when it came were finished) and how to go on (it said "interrupted" alone).
    When those were all that was left (one photo: it is finished whenever the signal comes), nothing is left to
    go on with: it said "1 of 1 file(s) done, 0 not done; run the same command with --skip-existing to do the
    rest", and the same command, as given, then failed on the result just written."""
    if not summary.not_done:
        return (
            f"stopped: {summary.done} of {total} file(s) done, none left undone (the files being written were finished)"
        )
    again = "run the same command again" if replacing else "run the same command with --skip-existing to do the rest"
    return f"stopped: {summary.done} of {total} file(s) done, {summary.not_done} not done; {again}"


def outcome_of(future: Future[Outcome], task: Task, debug: bool) -> Outcome:
    """The worker's outcome, or its exception as one ``failed`` line that names the file."""
    try:
        return future.result()
    except Exception as err:  # the per-file boundary: report in one line and let the batch go on
        text = str(err.spelt("cli") if isinstance(err, OptionError) else err) or type(err).__name__
        if _out_of_memory(err):
            text = "not enough memory for this picture; run it alone (-j 1) or lower --max-pixels"
        elif not isinstance(err, (ValueError, OSError, RuntimeError)):
            text = f"unexpected {type(err).__name__}: {text} (--debug shows the traceback)"
        if task.label not in text:
            text = f"{task.label}: {text}"
        trace = "".join(traceback.format_exception(err)).rstrip() if debug else ""
        return Outcome("failed", [text], stops_batch=disk_full(err), trace=trace)


def disk_full(err: BaseException) -> bool:
    """Whether ``err``, or an error it was raised from (the writers name the file over the system's error), says
    the disk or the user's quota is full."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _out_of_memory(err: BaseException) -> bool:
    """A failed allocation: NumPy's and Python's MemoryError, or OpenCV's "Insufficient memory" error."""
    return isinstance(err, MemoryError) or (isinstance(err, cv2.error) and "Insufficient memory" in str(err))
