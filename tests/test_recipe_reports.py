"""``train --resume`` of a recipe after a stop: a stage stopped in its last reports (``val_predictions.png``) writes
them, as a single run does (the stage's ``last.pt`` records its end, and ``--resume`` said "stage ... already
finished"); a partial ``final.pt`` or ``blend.pt`` a killed run left in the recipe's folder is removed, as a single
run's partial checkpoint is (the recipe's folder is no stage's: it stayed for good)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers.layouts import make_seed_set  # noqa: E402

from colorsplash.cli import main  # noqa: E402
from colorsplash.training import plots, recipes  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODEL = {"arch": "unet-lite0", "input_size": 64, "name": "tiny-pets"}
TRAIN = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "max_steps": 2, "bf16": False}


def test_a_stage_stopped_in_its_last_reports_writes_them_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-seg", {"model": MODEL, "train": TRAIN})
    monkeypatch.setitem(recipes.RECIPES, "tinys", ("tiny-seg",))
    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    run, stage = tmp_path / "run", tmp_path / "run" / "stage1-tiny-seg"

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as during:
        during.setattr(plots, "save_val_predictions", stopped)
        assert main(["-q", "train", "--preset", "tinys", str(tmp_path / "cats"), "-o", str(run)]) == 130
    assert not (stage / "val_predictions.png").exists() and (stage / "last.pt").is_file()
    killed = run / ".colorsplash-final.0123abcd.part.pt"  # a recipe killed while it wrote final.pt
    killed.write_bytes(b"half a checkpoint")
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert (stage / "val_predictions.png").is_file(), caplog.text
    assert "writing the last reports it was stopped before" in caplog.text
    assert "already finished" not in caplog.text
    assert not killed.exists() and f"{killed}: removed a partial file left by an interrupted run" in caplog.text
