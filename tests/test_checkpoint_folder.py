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


def test_a_missing_checkpoint_names_what_its_run_folder_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (trainaudit): ``export RUN/best.pt`` of a run whose best.pt was removed, of a run stopped before its
    first epoch ended (its config.json alone) or of a recipe's run folder (final.pt) said only "checkpoint not
    found"; it names the checkpoints the folder holds, or why it holds none and what to do."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    out = str(tmp_path / "m.onnx")
    assert main(["export", str(run / "best.pt"), "-o", out]) == 2
    assert "holds no checkpoint (it was stopped before its first epoch ended" in capsys.readouterr().err
    (run / "last.pt").write_bytes(b"")
    (run / ".last.pt.part").write_bytes(b"")
    assert main(["export", str(run / "best.pt"), "-o", out]) == 2
    assert f"{run / 'best.pt'}: checkpoint not found; {run} holds last.pt: name it" in capsys.readouterr().err
    (run / "final.pt").write_bytes(b"")
    assert main(["evaluate", str(tmp_path), "--model", str(run / "best.pt")]) == 2
    assert f"{run} holds final.pt, last.pt: name one" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "gone" / "best.pt"), "-o", out]) == 2
    assert "name the best.pt or last.pt of a run folder" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
