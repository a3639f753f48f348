"""End to end through the CLI: train (both architectures), evaluate, export; a killed run resumes."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint, read_checkpoint  # noqa: E402

RUN_FILES = {"config.json", "metrics.csv", "curves.png", "overview.png", "val_predictions.png", "best.pt", "last.pt"}
TINY_UNET = ["--arch", "unet", "--unet-base", "4", "--unet-depth", "2"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 72x56 pictures in the seed layout (greyscale JPEG masks); with --val-fraction 0.25 one is held out."""
    root = tmp_path_factory.mktemp("data") / "cats"
    make_seed_set(root, n=8, h=56, w=72)
    return root


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


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


# ---------------------------------------------------------------- issue 16: items 12-14


def test_onecycle_schedule_runs_for_any_number_of_steps() -> None:
    """Issue 16 item 12: OneCycleLR's warm-up of 10 % is a zero-length phase for 10 steps (ZeroDivisionError)."""
    from colorsplash.training.steps import onecycle_schedule

    for steps in [*range(1, 40), 99, 100, 101, 200]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        sched = onecycle_schedule(opt, 1e-3, steps)
        lrs = []
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        assert all(0 < lr <= 1e-3 for lr in lrs), steps


@pytest.mark.parametrize(
    "n, extra",
    [
        (8, ["--epochs", "2", "--batch-size", "1", "--max-steps", "9", "--val-fraction", "0.25"]),  # 9 steps
        (1, ["--epochs", "1", "--val-fraction", "0.99"]),  # the only image falls into validation
    ],
    ids=["nine-steps", "one-image"],
)
def test_short_runs_train(n: int, extra: list[str], cats: Path, tmp_path: Path) -> None:
    """Issue 16 item 12: any positive epoch count on any non-empty set trains."""
    data = cats
    if n != 8:
        data = tmp_path / "data"
        make_seed_set(data, n=n, h=56, w=72)
    run = tmp_path / "run"
    assert main(["-q", "train", str(data), *TINY_UNET, "--size", "64", *extra, "-o", str(run)]) == 0
    assert {p.name for p in run.iterdir()} >= RUN_FILES


def test_cpu_bf16_detection() -> None:
    from colorsplash.training.steps import cpu_has_native_bf16

    avx2 = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma bmi2\n"
    assert not cpu_has_native_bf16(avx2)
    assert cpu_has_native_bf16(avx2.replace("avx2", "avx2 avx512f avx512_bf16"))
    assert cpu_has_native_bf16(avx2.replace("avx2", "avx2 amx_bf16 amx_tile"))
    assert cpu_has_native_bf16("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")  # Arm
    assert not cpu_has_native_bf16("")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU rule")
def test_bf16_only_where_the_cpu_has_it(
    cats: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16 item 13: by default bf16 autocast only on a CPU with native bf16; the choice is logged and saved."""
    from colorsplash.runtime.config import default_model_config
    from colorsplash.training import steps
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.trainer import Trainer

    mcfg = dataclasses.replace(default_model_config("unet", 64), base_channels=4, depth=2)
    caplog.set_level(logging.INFO)
    for native, expected in ((False, "float32"), (True, "bfloat16")):
        monkeypatch.setattr(steps, "cpu_has_native_bf16", lambda native=native: native)
        steps._auto_bf16.cache_clear()
        run = tmp_path / expected
        cfg = TrainConfig(data=(str(cats),), out_dir=str(run), epochs=1, max_steps=1, batch_size=4, val_fraction=0.25)
        assert cfg.bf16 is None  # auto by default
        Trainer(mcfg, cfg, show_progress=False).fit()
        recorded = json.loads((run / "config.json").read_text())["precision"]
        assert recorded["autocast"] == expected and "native bfloat16" in recorded["reason"]
        assert f"precision: {'bfloat16 autocast' if native else 'float32'}" in caplog.text
        _, saved = load_checkpoint(run / "best.pt")
        assert saved.training["autocast"] == expected
    steps._auto_bf16.cache_clear()
    assert steps.choose_bf16(TrainConfig(bf16=False))[0] is False  # an explicit choice wins
    assert steps.choose_bf16(TrainConfig(bf16=True))[0] is True


def test_warns_when_most_masks_are_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16 item 14: all-black masks would train to IoU 0 without a word."""
    from helpers.layouts import save_picture

    data = tmp_path / "data"
    make_seed_set(data, n=6, h=56, w=72)
    for i in range(5):  # 5 of 6 masks black (a value under 128 that is not a 0/1 mask's 1)
        save_picture(data / "mask" / f"mask_cat{i}.png", np.full((56, 72), 90, np.uint8))
        (data / "mask" / f"mask_cat{i}.jpg").unlink()
    caplog.set_level(logging.WARNING)
    run = tmp_path / "run"
    assert (
        main(
            [
                "-q",
                "train",
                str(data),
                *TINY_UNET,
                "--size",
                "64",
                "--epochs",
                "1",
                "--max-steps",
                "1",
                "--val-fraction",
                "0.01",
                "-o",
                str(run),
            ]
        )
        == 0
    )
    assert "training masks are empty" in caplog.text and "not black" in caplog.text
    summary = json.loads((run / "config.json").read_text())["data"]
    assert summary["empty_train_masks"] >= summary["train_images"] - 1 >= 4


@pytest.mark.slow
def test_pets_and_pet_free_scenes_train_a_presence_head_with_copy_paste(cats: Path, tmp_path: Path) -> None:
    """Pet photos plus a scenes set: pets are pasted onto the pet-free photos (shown in overview.png), the
    presence head trains with the masks, and the export carries the score as a second output."""
    import dataclasses

    import numpy as np
    from helpers.layouts import save_picture

    from colorsplash.runtime.config import ModelConfig
    from colorsplash.runtime.onnx_model import load_model
    from colorsplash.training.config import AugmentConfig, TrainConfig
    from colorsplash.training.export import export_onnx
    from colorsplash.training.trainer import Trainer

    scenes = tmp_path / "scenes"
    lines = ["image\tmask\tclass"]
    for i in range(6):
        save_picture(scenes / "images" / f"s{i}.jpg", np.full((40, 52, 3), 30 * i, np.uint8))
        person = np.zeros((40, 52), np.uint8)
        person[5:35, 10 + i : 20 + i] = 255
        save_picture(scenes / "masks" / f"person00_s{i}.png", person)
        lines.append(f"s{i}\tperson00_s{i}\tperson")
    (scenes / "objects.tsv").write_text("\n".join(lines) + "\n")
    mcfg = ModelConfig(arch="unet-lite0", input_size=64, presence_head=True)
    tcfg = TrainConfig(
        data=(str(cats), str(scenes)),
        out_dir=str(tmp_path / "run"),
        epochs=1,
        batch_size=4,
        max_steps=2,
        val_fraction=0.25,
        bf16=False,
        augment=AugmentConfig(copy_paste=1.0),
    )
    trainer = Trainer(mcfg, tcfg, show_progress=False)
    train = trainer.data.train
    assert train.paster is not None and len(train.paster.things) >= 1
    pasted = train.raw(sorted(train.paster.things)[0])[1]
    assert (pasted == 1).any()  # a pet on a pet-free photo
    trainer.fit()
    assert (tmp_path / "run" / "overview.png").is_file()
    best = tmp_path / "run" / "best.pt"
    out = tmp_path / "m.onnx"
    export_onnx(best, out)
    model = load_model(out)
    assert model.has_presence and 0.0 <= model.predict_scored(np.zeros((30, 30, 3), np.uint8))[1] <= 1.0
    assert dataclasses.asdict(trainer.cfg.augment)["copy_paste"] == 1.0


QUICK = [*TINY_UNET, "--size", "64", "--epochs", "1", "--max-steps", "1", "--val-fraction", "0.25"]


def test_train_dot_names_the_folder_and_evaluate_warns_on_sets_it_did_not_train_on(
    cats: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit item 2: ``train .`` recorded the data set "" (and split by that name), and ``evaluate --split val`` on a
    renamed copy of the folder scored training photos as validation ones without a word."""
    import shutil

    from colorsplash.evaluation.datasets import discover, split_samples

    run = tmp_path / "run"
    monkeypatch.chdir(cats)
    assert main(["-q", "train", ".", *QUICK, "-o", str(run)]) == 0
    recorded = json.loads((run / "config.json").read_text())["data"]
    assert recorded["datasets"] == ["cats"]
    _, held_out = split_samples(discover(cats), 0.25, 0)  # "." splits as the folder under its own name
    assert recorded["val_names"] == [s.name for s in held_out]
    monkeypatch.chdir(tmp_path)
    shutil.copytree(cats, tmp_path / "my_cats")
    caplog.clear()
    assert main(["evaluate", str(cats), "--model", str(run / "best.pt"), "--split", "val", "-o", "ev1"]) == 0
    assert "not trained on" not in caplog.text
    assert main(["evaluate", "my_cats", "--model", str(run / "best.pt"), "--split", "val", "-o", "ev2"]) == 0
    assert "--split val: the model was not trained on data set(s) my_cats (it records cats)" in caplog.text


def test_training_logs_its_split_and_the_breeds_it_holds_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit item 9: an Oxford-layout folder's Birman photos went to validation only, and nothing said so."""
    from helpers.layouts import make_oxford_set

    make_oxford_set(tmp_path / "ox", [f"Abyssinian_{i}" for i in range(4)] + ["Birman_1", "Birman_2"])
    caplog.set_level(logging.INFO)
    assert main(["train", str(tmp_path / "ox"), *QUICK, "--batch-size", "2", "-o", str(tmp_path / "run")]) == 0
    assert "ox-unseen: 0 training, 2 validation photos" in caplog.text
    assert "ox: 2 photo(s) of the breed(s) Birman held out whole as ox-unseen" in caplog.text
    trained, held = (int(n) for n in re.search(r" ox: (\d+) training, (\d+) validation photos", caplog.text).groups())
    assert trained + held == 4  # the Abyssinian photos


def test_resume_refuses_other_flags_and_data_instead_of_ignoring_them(
    cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit item 6: ``--resume RUN --epochs 41 DATA`` trained as saved and said nothing of the ignored flags."""
    run = tmp_path / "run"
    assert main(["train", "--resume", str(run), "--epochs", "41", "--aug-hflip", "-o", str(run), str(cats)]) == 2
    err = capsys.readouterr().err
    assert "own saved config" in err and "would be ignored" in err
    assert f"data folder(s) {cats}" in err and "--epochs" in err and "--aug-hflip" in err and "-o/--output" in err
    assert "--init" in err  # how to train a run further
    assert main(["train", "--help"]) == 0
    assert "own saved config" in " ".join(capsys.readouterr().out.split())


def test_interrupted_run_says_what_it_kept_and_resumes_from_another_folder(
    cats: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit items 7 and 8: a run recorded its data folders as typed, so --resume worked only from the folder it
    was started in; Ctrl-C said only "interrupted", not what was kept nor how to go on."""
    import shutil

    from colorsplash.training import trainer as trainer_module

    real_epoch, calls = trainer_module.train_epoch, []

    def second_epoch_interrupted(*args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)  # type: ignore[arg-type]

    start = tmp_path / "start"
    shutil.copytree(cats, start / "cats")
    monkeypatch.chdir(start)
    monkeypatch.setattr(trainer_module, "train_epoch", second_epoch_interrupted)
    args = ["-q", "train", "cats", *TINY_UNET, "--size", "64", "--epochs", "2", "--batch-size", "4", "-o", "runs/r"]
    assert main([*args, "--val-fraction", "0.25"]) == 130
    err = capsys.readouterr().err
    assert "runs/r/last.pt keeps epoch 1 of 2" in err and "continue with: colorsplash train --resume runs/r" in err
    assert json.loads(Path("runs/r/config.json").read_text())["train"]["data"] == [os.path.join(os.getcwd(), "cats")]

    payload = read_checkpoint("runs/r/last.pt")  # as a run saved before paths were stored absolute
    payload["train_config"].update(data=["cats"], out_dir="runs/r")
    torch.save(payload, "runs/r/last.pt")
    monkeypatch.setattr(trainer_module, "train_epoch", real_epoch)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    run = start / "runs" / "r"
    assert main(["-q", "train", "--resume", str(run)]) == 0
    assert [int(r["epoch"]) for r in _read_csv(run / "metrics.csv")] == [1, 2]
    assert f"model {run / 'best.pt'}" in capsys.readouterr().out


def test_init_from_a_network_of_another_shape_is_one_clear_line(
    cats: Path, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit item 10: --init with another --unet-base printed PyTorch's 46-line size-mismatch dump."""
    args = [
        "-q",
        "train",
        str(cats),
        "--arch",
        "unet",
        "--size",
        "64",
        "--unet-depth",
        "2",
        "--init",
        str(tiny_checkpoint),
    ]
    assert main([*args, "--unet-base", "8", "--epochs", "1", "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert str(tiny_checkpoint) in err and "--unet-base 4 (this run: 8)" in err and "--unet-depth" not in err


def test_ctrl_c_after_the_last_epoch_says_every_epoch_is_kept() -> None:
    """Ctrl-C during the last reports said "the epoch in progress is lost" of a run whose epochs had all finished."""
    import types

    from colorsplash.cli.train import _kept

    done = types.SimpleNamespace(kept_epoch=5, cfg=types.SimpleNamespace(epochs=5))
    assert "holds all 5 epochs" in _kept("runs/r", done) and "lost" not in _kept("runs/r", done)  # type: ignore[arg-type]
    midway = types.SimpleNamespace(kept_epoch=3, cfg=types.SimpleNamespace(epochs=5))
    assert "keeps epochs 1-3 of 5 (the epoch in progress is lost)" in _kept("runs/r", midway)  # type: ignore[arg-type]


def test_split_counts_after_skipped_bad_pairs_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit (custom subject): with --skip-bad the log said '26 training, 4 validation photos' and then trained on
    23 (config.json's count) without saying so."""
    from helpers.layouts import save_picture

    from colorsplash.runtime.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    data = tmp_path / "data"
    make_seed_set(data, n=8, h=48, w=64)
    for i in (0, 5):  # masks of another shape: skipped
        save_picture(data / "mask" / f"mask_cat{i}.jpg", np.zeros((10, 10), np.uint8))
    config = TrainConfig(data=(str(data),), skip_bad=True, val_fraction=0.3)
    caplog.set_level(logging.INFO)
    prepared = prepare_data(config, ModelConfig(arch="unet", input_size=32, base_channels=4, depth=2), False)
    summary = prepared.summary
    assert summary["train_images"] + summary["val_images"] == 6
    expected = f"after the bad pairs skipped: {summary['train_images']} training, {summary['val_images']} validation"
    assert expected in caplog.text


def test_a_run_names_its_model_and_subject(tmp_path: Path) -> None:
    """Audit (custom subject): every model a user trained was 'colorsplash', finding 'subject' (serve's page and
    /api/health show both); only the pet presets could name theirs."""
    data = tmp_path / "data"
    make_seed_set(data, n=4, h=48, w=64)
    run = tmp_path / "run"
    flags = ["--size", "64", "--epochs", "1", "--max-steps", "1", "--name", "cars", "--subject", "red car"]
    assert main(["-q", "train", str(data), *TINY_UNET, *flags, "-o", str(run)]) == 0
    config = read_checkpoint(run / "best.pt")["model_config"]
    assert (config["name"], config["subject"]) == ("cars", "red car")


def test_the_epoch_bar_redraws_once_a_minute_into_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (custom subject): the epoch bar's loss postfix redrew it after every batch, so a log (stderr not a
    terminal, where bars redraw once a minute: runtime.progress) got one frame per optimiser step."""
    data = tmp_path / "data"
    make_seed_set(data, n=10, h=48, w=64)
    flags = ["--size", "32", "--epochs", "1", "--batch-size", "2", "--val-fraction", "0.01", "--no-augment"]
    assert main(["train", str(data), *TINY_UNET, *flags, "-o", str(tmp_path / "run")]) == 0
    frames = capsys.readouterr().err.count("loss=")
    assert frames <= 1, f"{frames} redraws of the epoch bar in under a minute"


def test_resuming_a_finished_run_says_it_has_nothing_to_train(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit (custom subject): --resume on a finished run said 'resuming runs/x after epoch 2' and 'done', as if
    it had trained on; it trains nothing, and --init is the way to train further."""
    data = tmp_path / "data"
    make_seed_set(data, n=4, h=48, w=64)
    run = tmp_path / "run"
    assert main(["-q", "train", str(data), *TINY_UNET, "--size", "32", "--epochs", "1", "-o", str(run)]) == 0
    caplog.set_level(logging.INFO)
    # Nor does it read the data again or rewrite the run's files (it did both before saying so): the data folder
    # may be gone by now.
    shutil.rmtree(data)
    written = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    assert main(["train", "--resume", str(run)]) == 0
    assert "finished already (epoch 1 of 1): nothing to train" in caplog.text and "--init" in caplog.text
    assert f"resuming {run} after" not in caplog.text
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == written


def test_a_missing_starting_checkpoint_is_refused_before_the_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (docs): a stage preset run outside the repository read the whole data set, then failed with
    'models/pets-lite1.pt: checkpoint not found'; --init of a missing file likewise."""
    monkeypatch.chdir(tmp_path)
    unread = str(tmp_path / "no-such-data")  # read first, this would fail on the data folder instead
    assert main(["train", unread, "--preset", "pets-lite1-presence", "-o", str(tmp_path / "run")]) == 2
    said = capsys.readouterr().err
    assert "pets-lite1.pt: checkpoint not found: --preset pets-lite1-presence starts from" in said
    assert "--init PATH" in said
    assert main(["train", unread, *TINY_UNET, "--init", "gone.pt", "-o", str(tmp_path / "run")]) == 2
    assert "--init " in capsys.readouterr().err and not (tmp_path / "run").exists()
