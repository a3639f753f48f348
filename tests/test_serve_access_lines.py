"""``serve --access-log``'s lines when standard output's reader has gone (``serve --access-log | head``): one
warning, and the server goes on without them; logging printed a 60-line traceback for every request after."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from colorsplash.cli.serve import uvicorn_logging  # noqa: E402


def _access_handler(stream: object) -> logging.Handler:
    """The handler ``serve --access-log`` writes its access lines through, as uvicorn's logging config makes it."""
    config = uvicorn_logging(True)["log_config"]["handlers"]["access"]
    module, name = config["class"].rsplit(".", 1)
    handler: logging.Handler = getattr(importlib.import_module(module), name)(stream)
    return handler


def test_a_closed_reader_is_said_once_and_later_lines_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader has gone: writing raises BrokenPipeError (Python ignores SIGPIPE)
    with os.fdopen(write, "w") as stream:
        handler = _access_handler(stream)
        access = logging.getLogger("test.access_lines")
        access.propagate = False
        access.addHandler(handler)
        try:
            with caplog.at_level(logging.WARNING, logger="colorsplash.cli.serve"):
                for _ in range(3):
                    access.warning('127.0.0.1:5000 "GET /api/health HTTP/1.1" 200')
        finally:
            access.removeHandler(handler)
    said = [r.getMessage() for r in caplog.records if r.name == "colorsplash.cli.serve"]
    assert len(said) == 1 and said[0].startswith("access log: cannot write to standard output (Broken pipe"), said
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False), ({"NO_COLOR": ""}, None), ({}, None)],
)
def test_no_color_and_a_dumb_terminal_turn_uvicorns_colours_off(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], coloured: bool | None
) -> None:
    """uvicorn coloured the access lines (``^[[32m200 OK^[[0m``) on any terminal; None: its own choice."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    formatters = uvicorn_logging(True)["log_config"]["formatters"]
    # uvicorn's two formatters; colorsplash's own ("plain", for its lines) has no colours to turn off
    assert {name: formatters[name].get("use_colors") for name in ("default", "access")} == dict.fromkeys(
        ("default", "access"), coloured
    )
