"""How often a progress bar redraws: often for a person at a terminal, rarely into a log file.

Short verbs (splash, mask, video, evaluate, export) draw no bar at all off a terminal (``cli.common.show_progress``);
training, which runs for hours in the background (``nohup ... > log``), keeps its bars there but redraws them once
a minute, so the log shows where the run is without filling with frames.
"""

from __future__ import annotations

import sys

TERMINAL_SECONDS = 0.1  # tqdm's default
LOG_SECONDS = 60.0


def redraw_seconds() -> float:
    """Seconds between a bar's redraws on standard error (tqdm's ``mininterval``)."""
    return TERMINAL_SECONDS if stderr_is_terminal() else LOG_SECONDS


def stderr_is_terminal() -> bool:
    """Whether standard error is a terminal (``False`` when it is closed: ``2>&-`` leaves ``sys.stderr`` None)."""
    return sys.stderr is not None and sys.stderr.isatty()
