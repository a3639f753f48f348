"""A run folder given where a checkpoint file is expected (``export RUN``, ``train --init RUN``) is named as a
folder with the file to give, not "checkpoint not found" (the folder is there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

pytest.importorskip("torch")

from colorsplash.cli import main  # noqa: E402


def test_export_of_a_run_folder_names_its_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and str(run / "best.pt") in err
    assert not (tmp_path / "m.onnx").exists()


def test_init_from_a_run_folder_names_its_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_seed_set(tmp_path / "cats", n=2)
    run = tmp_path / "run"
    run.mkdir()
    args = ["train", str(tmp_path / "cats"), "--arch", "unet", "--size", "64", "--init", str(run)]
    assert main([*args, "-o", str(tmp_path / "new")]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "best.pt" in err
