"""``train -o RUN`` refuses, before reading any photo, a run folder that is a file or that holds files of a run's
names which no run wrote (they were replaced without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

pytest.importorskip("torch")

from helpers.train import TINY_UNET  # noqa: E402

from colorsplash.cli import main  # noqa: E402


def _train(data: Path, out: Path) -> list[str]:
    return ["train", str(data), *TINY_UNET, "--size", "64", "--epochs", "1", "-o", str(out)]


def test_run_folder_that_is_a_file_is_refused_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_seed_set(tmp_path / "cats", n=2)
    out = tmp_path / "run"
    out.write_bytes(b"mine")
    assert main(_train(tmp_path / "cats", out)) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Errno" not in err
    assert out.read_bytes() == b"mine"
