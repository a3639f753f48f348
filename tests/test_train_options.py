"""Training settings and data (issue 16 items 12-14 and later audits): the one-cycle schedule and short runs,
bf16 only where the CPU has it, empty masks, the split and its held-out breeds, skipped bad pairs, and a
presence head trained with copy-paste."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from helpers.train import (  # noqa: E402
    QUICK,
    RUN_FILES,
    TINY_UNET,
    cats_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, cats)
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    from colorsplash.runtime.model.config import default_model_config
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

    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.runtime.model.onnx_model import load_model
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


def test_split_counts_after_skipped_bad_pairs_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit (custom subject): with --skip-bad the log said '26 training, 4 validation photos' and then trained on
    23 (config.json's count) without saying so."""
    from helpers.layouts import save_picture

    from colorsplash.runtime.model.config import ModelConfig
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


def test_skip_bad_counts_every_photo_left_out_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``train --skip-bad``'s count left out the photos without a mask (said on a line of their own), and each pass
    (training, validation photos) said its own count: one line now counts them all, as ``evaluate`` does."""
    from helpers.layouts import save_picture

    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    data = tmp_path / "data"
    make_seed_set(data, n=10, h=48, w=64)
    for i in (0, 5):  # masks of another shape
        save_picture(data / "mask" / f"mask_cat{i}.jpg", np.zeros((10, 10), np.uint8))
    for i in (2, 7):  # no mask
        (data / "mask" / f"mask_cat{i}.jpg").unlink()
    config = TrainConfig(data=(str(data),), skip_bad=True, val_fraction=0.3)
    caplog.set_level(logging.INFO)
    summary = prepare_data(config, ModelConfig(arch="unet", input_size=32, base_channels=4, depth=2), False).summary
    assert summary["train_images"] + summary["val_images"] == 6
    said = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage() and "--skip-bad" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("skipped 4 photo(s) (--skip-bad): 2 mask too small, 2 no mask"), said
    assert "cat2.jpg" in said[0] and "cat5.jpg" in said[0]


def test_skip_bad_says_why_when_no_pair_is_left(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The run says the pairs ``--skip-bad`` left out once, after both passes: when every pair of a pass was bad,
    the load stopped with "no usable image/mask pairs" before that, and nothing said which pairs or why."""
    from helpers.layouts import save_picture

    from colorsplash.evaluation.datasets import DataError
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    data = tmp_path / "data"
    make_seed_set(data, n=4, h=48, w=64)
    for i in range(4):  # every mask of another shape
        save_picture(data / "mask" / f"mask_cat{i}.jpg", np.zeros((10, 10), np.uint8))
    config = TrainConfig(data=(str(data),), skip_bad=True, val_fraction=0.3)
    with pytest.raises(DataError, match="no usable image/mask pairs"):
        prepare_data(config, ModelConfig(arch="unet", input_size=32, base_channels=4, depth=2), False)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipped ")]
    assert len(said) == 1 and "mask too small" in said[0] and "cat0.jpg" in said[0], caplog.text


def test_a_lite_encoder_at_32_px_is_refused_before_the_data_is_read(
    cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (trainaudit): ``train DATA --size 32`` (the smallest size ``--help`` offered) with the default unet-lite0
    and a batch of one photo (``--batch-size 1``, or a folder of two photos: one trains) read the data and stopped
    in PyTorch's words, "Expected more than 1 value per channel when training, got input size [1, 672, 1, 1]": the
    encoder's deepest features are one pixel. It is refused at once, saying which sizes train."""
    run = tmp_path / "run"
    argv = ["train", str(cats), "--size", "32", "--batch-size", "1", "--epochs", "1", "--max-steps", "1"]
    assert main([*argv, "-o", str(run)]) == 2
    err = capsys.readouterr().err
    assert "--size 32: the unet-lite0 encoder shrinks the input 32 times" in err and "--size 64 or more" in err
    assert not run.exists()
    assert main(["-q", *argv, "--arch", "unet", "--unet-base", "4", "--unet-depth", "2", "-o", str(run)]) == 0
