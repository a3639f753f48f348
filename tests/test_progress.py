"""Progress bars: frequent on a terminal, rare in a log file (training keeps them there)."""

from __future__ import annotations

import sys

import pytest

from colorsplash.runtime.progress import LOG_SECONDS, TERMINAL_SECONDS, redraw_seconds


def test_bars_redraw_rarely_into_a_log_and_often_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert redraw_seconds() == LOG_SECONDS
    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert redraw_seconds() == TERMINAL_SECONDS < LOG_SECONDS


def test_a_closed_standard_error_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """``2>&-`` leaves ``sys.stderr`` None: asking it isatty() failed the run with no message (review)."""
    from colorsplash.runtime.progress import stderr_is_terminal

    monkeypatch.setattr(sys, "stderr", None)
    assert stderr_is_terminal() is False and redraw_seconds() == LOG_SECONDS
