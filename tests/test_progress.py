"""Progress bars: frequent on a terminal, rare in a log file (training keeps them there)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

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


def test_a_bar_in_a_log_is_lines_without_carriage_returns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``train data -o run 2> train.log``: each bar's frames were drawn over each other with carriage returns and
    erased with spaces, so the log held ``^Mloading: 0%|...^M      ^M`` runs on one line; each frame is a line."""
    from colorsplash.evaluation.datasets import discover_all, iter_pairs

    make_seed_set(tmp_path / "cats", n=3)
    assert len(list(iter_pairs(discover_all([tmp_path / "cats"]), show_progress=True))) == 3
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.startswith("loading:") and err.endswith("\n") and "\n\n" not in err
