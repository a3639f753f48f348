"""End to end through the CLI: train (both architectures), evaluate, export; a killed run resumes; staged
recipes; weight averaging of the last epochs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from helpers.train import (  # noqa: E402
    RUN_FILES,
    TINY_UNET,
    _read_csv,
    cats_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, cats)
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint, read_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "arch_args", [TINY_UNET, pytest.param(["--arch", "unet-lite0"], marks=pytest.mark.slow)], ids=["unet", "unet-lite0"]
)
def test_train_evaluate_export(
    arch_args: list[str], cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    rc = main(
        [
            "train",
            str(cats),
            *arch_args,
            "--size",
            "64",
            "--epochs",
            "2",
            "--batch-size",
            "4",
            "--max-steps",
            "3",
            "--val-fraction",
            "0.25",
            "-o",
            str(run),
        ]
    )
    assert rc == 0
    assert {p.name for p in run.iterdir()} >= RUN_FILES
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")], "temp files left in the run folder"
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == arch_args[1] and config["model"]["input_size"] == 64
    assert config["data"]["train_images"] == 7 and config["data"]["val_images"] == 1
    rows = _read_csv(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2] and int(rows[-1]["step"]) <= 3
    assert all(0.0 <= float(r["val_iou"]) <= 1.0 for r in rows)
    _, mcfg = load_checkpoint(run / "best.pt")  # no flags: the config travels in the file
    assert mcfg.arch == arch_args[1] and "val_iou" in mcfg.training["metrics"]
    printed = capsys.readouterr()
    # A progress bar per epoch, also when standard error is a log file (training runs in the background)
    assert "best validation IoU" in printed.out and "epoch 1/2" in printed.err

    # evaluate --split val without --val-fraction: the model's own training split is used.
    assert (
        main(["evaluate", str(cats), "--model", str(run / "best.pt"), "--split", "val", "-o", str(tmp_path / "ev_val")])
        == 0
    )
    val_rows = _read_csv(tmp_path / "ev_val" / "scores.csv")
    assert [r["name"] for r in val_rows] == ["cat5"] and (val_rows[0]["width"], val_rows[0]["height"]) == ("72", "56")
    assert main(["evaluate", str(cats), "--model", str(run / "best.pt"), "-o", str(tmp_path / "ev_pt")]) == 0
    pt_rows = _read_csv(tmp_path / "ev_pt" / "scores.csv")
    assert len(pt_rows) == 8 and (tmp_path / "ev_pt" / "worst.png").is_file()

    onnx_path = tmp_path / "model.onnx"
    assert main(["export", str(run / "best.pt"), "-o", str(onnx_path)]) == 0
    assert main(["evaluate", str(cats), "--model", str(onnx_path), "-o", str(tmp_path / "ev_onnx")]) == 0
    onnx_rows = _read_csv(tmp_path / "ev_onnx" / "scores.csv")
    for a, b in zip(pt_rows, onnx_rows, strict=True):  # same model, two runtimes: the same scores
        assert a["name"] == b["name"] and abs(float(a["iou"]) - float(b["iou"])) < 0.01

    q8_path = tmp_path / "q8.onnx"
    capsys.readouterr()
    assert (
        main(["export", str(run / "best.pt"), "-o", str(q8_path), "--int8", str(cats), "--calibration-images", "3"])
        == 0
    )
    assert "int8" in capsys.readouterr().out and q8_path.stat().st_size < onnx_path.stat().st_size
    assert (
        main(["export", str(run / "best.pt"), "-o", str(q8_path), "--int8", str(cats), "--calibration-images", "0"])
        == 2
    )
    assert "--calibration-images" in capsys.readouterr().err


def test_train_refuses_bad_data_and_existing_runs(
    cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    make_seed_set(bad, n=2)
    (bad / "mask" / "mask_cat1.jpg").unlink()
    assert main(["train", str(bad), *TINY_UNET, "--size", "64", "-o", str(tmp_path / "r1")]) == 2
    assert "cat1.jpg" in capsys.readouterr().err
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "last.pt").write_bytes(b"x")
    assert main(["train", str(cats), *TINY_UNET, "--size", "64", "-o", str(tmp_path / "r2")]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "nothing to resume" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_run_resumes(cats: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    run, epochs = tmp_path / "run", 8
    cmd = [
        sys.executable,
        "-m",
        "colorsplash",
        "train",
        str(cats),
        *TINY_UNET,
        "--size",
        "64",
        "--epochs",
        str(epochs),
        "--batch-size",
        "4",
        "--patience",
        "100",
        "-o",
        str(run),
    ]
    log_path = tmp_path / "first.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            cmd, stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
        try:
            deadline = time.monotonic() + 120
            while not (run / "last.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            proc.kill()  # SIGKILL: no chance to clean up, like a crash or a pulled plug
            proc.wait()
    assert proc.returncode < 0, f"the run ended before it could be killed:\n{log_path.read_text()[-2000:]}"
    saved = read_checkpoint(run / "last.pt")["run_state"]
    assert 1 <= saved["epoch"] < epochs

    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert f"after epoch {saved['epoch']} " in caplog.text
    assert f"epoch {saved['epoch'] + 1}: train loss" in caplog.text
    assert "epoch 1: train loss" not in caplog.text or saved["epoch"] == 0
    rows = _read_csv(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))
    steps = [int(r["step"]) for r in rows]
    assert steps == [steps[0] * (i + 1) for i in range(epochs)]  # no step repeated or lost across the kill
    assert read_checkpoint(run / "last.pt")["run_state"]["epoch"] == epochs
    assert {p.name for p in run.iterdir()} >= RUN_FILES
    # The resumed run ends on the weights of an uninterrupted one (same seed, one thread as the killed one had).
    assert main([*cmd[3:-1], str(tmp_path / "whole")]) == 0
    whole = read_checkpoint(tmp_path / "whole" / "last.pt")["state_dict"]
    resumed = read_checkpoint(run / "last.pt")["state_dict"]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), "the resumed run trained other weights"
    assert [r["val_iou"] for r in _read_csv(tmp_path / "whole" / "metrics.csv")] == [r["val_iou"] for r in rows]


@pytest.fixture
def tiny_recipe(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A two-stage recipe ``tiny`` of tiny unets: 64 px then 96 px, two epochs each."""
    from colorsplash.training import recipes

    model = {"arch": "unet", "base_channels": 4, "depth": 2, "name": "tiny-pets"}
    train = {"epochs": 2, "batch_size": 4, "val_fraction": 0.25, "patience": 10}
    monkeypatch.setitem(
        recipes.STAGE_PRESETS, "tiny-a", {"model": {**model, "input_size": 64}, "train": {**train, "lr": 1e-3}}
    )
    monkeypatch.setitem(
        recipes.STAGE_PRESETS, "tiny-b", {"model": {**model, "input_size": 96}, "train": {**train, "lr": 1e-4}}
    )
    monkeypatch.setitem(recipes.RECIPES, "tiny", ("tiny-a", "tiny-b"))
    return "tiny-a", "tiny-b"


def test_staged_recipe_chains_stages_and_resumes(
    cats: Path,
    tmp_path: Path,
    tiny_recipe: tuple[str, str],
    terminal: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    capsys = terminal  # a terminal, so that -q is what hides the progress bars
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", "tiny", str(cats), "-o", str(run)]) == 0
    first, second = run / "stage1-tiny-a", run / "stage2-tiny-b"
    printed = capsys.readouterr()
    assert "epoch 1/2" not in printed.err  # -q: no progress bars
    assert str(second / "best.pt") in printed.out  # the recipe's model: the last stage's best.pt
    assert {p.name for p in first.iterdir()} >= RUN_FILES and {p.name for p in second.iterdir()} >= RUN_FILES
    _, cfg1 = load_checkpoint(first / "best.pt")
    _, cfg2 = load_checkpoint(second / "best.pt")
    assert (cfg1.input_size, cfg2.input_size) == (64, 96)
    assert cfg1.training["train_config"]["init_from"] is None  # stage 1 from fresh weights
    assert cfg2.training["train_config"]["init_from"] == str(first / "best.pt")
    assert cfg2.training["train_config"]["lr"] == 1e-4 and cfg2.training["preset"] == "tiny-b"
    assert read_checkpoint(second / "last.pt")["run_state"]["finished"]

    # A fresh start into the same folder is refused; --resume skips finished stages and redoes a lost one.
    assert main(["train", "--preset", "tiny", str(cats), "-o", str(run)]) == 2
    assert "--resume" in capsys.readouterr().err
    first_mtime = (first / "last.pt").stat().st_mtime_ns
    for path in second.iterdir():
        path.unlink()
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert "stage 1/2 (tiny-a) already finished" in caplog.text and "stage 2/2 (tiny-b) in" in caplog.text
    assert (first / "last.pt").stat().st_mtime_ns == first_mtime
    assert (second / "best.pt").is_file()
    rows = _read_csv(second / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]

    # Resuming a finished run trains no further epoch.
    caplog.clear()
    assert main(["train", "--resume", str(run)]) == 0
    assert "stage 2/2 (tiny-b) already finished" in caplog.text
    assert [int(r["epoch"]) for r in _read_csv(second / "metrics.csv")] == [1, 2]


def test_resume_refuses_a_recipe_whose_stages_changed(
    tmp_path: Path, tiny_recipe: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A run begun when ``tiny`` had other stages (a recipe renamed since) must not be finished with new ones."""
    run = tmp_path / "run"
    run.mkdir()
    record = {"recipe": "tiny", "stages": ["tiny-old", "tiny-b"], "model": {}, "train": {}}
    (run / "recipe.json").write_text(json.dumps(record))
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "recipe.json" in err and "tiny-old" in err and "-o NEW_DIR" in err
    assert sorted(p.name for p in run.iterdir()) == ["recipe.json"]  # nothing trained into the folder


@pytest.mark.slow
def test_weight_averaging_of_the_last_epochs(cats: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    base = [
        "train",
        str(cats),
        "--arch",
        "unet-lite0",
        "--size",
        "64",
        "--epochs",
        "3",
        "--batch-size",
        "4",
        "--val-fraction",
        "0.25",
        "--lr-schedule",
        "constant",
        "--lr",
        "1e-2",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*base, "--swa-epochs", "1", "-o", str(one)]) == 0
    assert main([*base, "--swa-epochs", "2", "-o", str(two)]) == 0
    assert "weight average of 1 epochs" in caplog.text and "weight average of 2 epochs" in caplog.text

    def weights(path: Path) -> dict[str, torch.Tensor]:
        return {k: v for k, v in read_checkpoint(path)["state_dict"].items() if k.endswith(".weight")}

    swa1, last1 = weights(one / "swa.pt"), weights(one / "last.pt")
    assert all(torch.equal(swa1[k], last1[k]) for k in last1)  # the average of one epoch is that epoch
    swa2, last2 = weights(two / "swa.pt"), weights(two / "last.pt")
    assert any(not torch.allclose(swa2[k], last2[k]) for k in last2)
    payload = read_checkpoint(two / "swa.pt")
    assert payload["model_config"]["training"]["metrics"]["swa_epochs"] == 2
    bn = [k for k in payload["state_dict"] if k.endswith("running_mean")]
    last_state = read_checkpoint(two / "last.pt")["state_dict"]
    assert bn and any(not torch.allclose(payload["state_dict"][k], last_state[k]) for k in bn)  # BN recomputed
    rows = _read_csv(two / "metrics.csv")
    assert len({r["lr"] for r in rows}) == 1  # constant schedule


def test_bad_schedule_settings_are_refused(cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(cats), *TINY_UNET, "--epochs", "2", "--swa-epochs", "3", "-o", str(tmp_path)]) == 2
    assert "swa_epochs" in capsys.readouterr().err


def test_resuming_a_finished_recipe_whose_data_moved_reads_none(
    tmp_path: Path, tiny_recipe: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """``train --resume RUN`` of a finished staged recipe whose data folder was moved since was refused ("the run's
    data folder(s) ...: not found", and ``--init RUN/last.pt``, a file a recipe's folder does not hold), though no
    stage reads it: each stage is said finished, as a single run's resume says it (the refusal is the stages')."""
    data = tmp_path / "cats"
    make_seed_set(data, n=8, h=56, w=72)
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", "tiny", str(data), "-o", str(run)]) == 0
    data.rename(tmp_path / "moved")
    caplog.set_level(logging.INFO)
    assert main(["-q", "train", "--resume", str(run)]) == 0
    assert "stage 2/2 (tiny-b) already finished" in caplog.text
