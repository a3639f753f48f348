"""How often a progress bar redraws: often for a person at a terminal, rarely into a log file.

Short verbs (splash, mask, video, evaluate, export) draw no bar at all off a terminal (``cli.common.show_progress``);
training, which runs for hours in the background (``nohup ... > log``), keeps its bars there but redraws them once
a minute, so the log shows where the run is without filling with frames, each frame a line (:class:`LogLines`).
"""

from __future__ import annotations

import sys
from typing import Any

TERMINAL_SECONDS = 0.1  # tqdm's default
LOG_SECONDS = 60.0


def redraw_seconds() -> float:
    """Seconds between a bar's redraws on standard error (tqdm's ``mininterval``)."""
    return TERMINAL_SECONDS if stderr_is_terminal() else LOG_SECONDS


def stderr_is_terminal() -> bool:
    """Whether standard error is a terminal (``False`` when it is closed: ``2>&-`` leaves ``sys.stderr`` None)."""
    return sys.stderr is not None and sys.stderr.isatty()


class LogLines:
    """Standard error as a log file sees a bar: each frame a line of its own. tqdm draws every frame over the last
    with a carriage return and erases a finished bar with spaces; in a file that left one long line of frames and
    blanks (``^M`` in ``less``, one ``grep`` hit for a whole epoch). Blank frames (the erasures) are dropped."""

    def write(self, text: str) -> int:
        for frame in text.split("\r"):
            if frame.strip():
                sys.stderr.write(frame.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()


def bar_settings() -> dict[str, Any]:
    """A long-running bar's tqdm arguments: where it draws (standard error; off a terminal, as :class:`LogLines`)
    and how often (:func:`redraw_seconds`)."""
    return {"file": sys.stderr if stderr_is_terminal() else LogLines(), "mininterval": redraw_seconds()}
