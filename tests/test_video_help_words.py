"""``colorsplash video --help`` listed ``transparent (PNG cut-out)`` among the effects, which video refuses, and
spoke of "the photo" for ``--point``."""

from __future__ import annotations

import pytest

from colorsplash.cli import main


def test_video_help_says_transparent_is_refused_and_speaks_of_frames(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["video", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "transparent (PNG cut-out)" not in text
    assert "transparent (a photo's PNG cut-out) is refused for a clip" in text
    point = text.split("--point X,Y ")[-1].split("--on-empty")[0]
    assert "frame" in point and "photo" not in point, point


def test_splash_help_still_offers_transparent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["splash", "--help"]) == 0
    assert "transparent (PNG cut-out)" in " ".join(capsys.readouterr().out.split())
