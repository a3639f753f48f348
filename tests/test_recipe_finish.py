"""``RECIPE_FINISH``: after its head stage, a recipe trains the segmentation network once more (the ``pets`` recipe:
the trunk-guided masks) from the model it made before the head stage, and gives the result the head stage's
presence head: ``RUN/final.pt`` is the recipe's model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers.layouts import make_seed_set  # noqa: E402

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.training import recipes  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from colorsplash.training.networks import build_model  # noqa: E402
from colorsplash.training.transplant import add_presence_head  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODEL = {"arch": "unet-lite0", "input_size": 64, "name": "tiny-pets"}
TRUNK = {"presence_trunk": "lite0", "presence_trunk_size": 32}
TRAIN = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "max_steps": 2, "bf16": False}


@pytest.fixture
def finishing_recipe(monkeypatch: pytest.MonkeyPatch) -> str:
    """``tinyf``: a segmentation stage, a head-only stage, then a guided stage with a slow encoder."""
    head_train = {**TRAIN, "trainable": "presence", "init_from": "ignored.pt", "lr": 1e-2}
    guided_train = {**TRAIN, "init_from": "ignored.pt", "encoder_lr_scale": 0.1, "presence_weight": 0.0}
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-seg", {"model": MODEL, "train": TRAIN})
    monkeypatch.setitem(
        recipes.STAGE_PRESETS, "tiny-head", {"model": {**MODEL, **TRUNK, "presence_head": True}, "train": head_train}
    )
    guided_model = {**MODEL, **TRUNK, "trunk_guidance": True}
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-guided", {"model": guided_model, "train": guided_train})
    monkeypatch.setitem(recipes.RECIPES, "tinyf", ("tiny-seg",))
    monkeypatch.setitem(recipes.RECIPE_HEADS, "tinyf", "tiny-head")
    monkeypatch.setitem(recipes.RECIPE_FINISH, "tinyf", "tiny-guided")
    return "tinyf"


def test_a_recipe_can_finish_with_a_stage_that_gets_the_head(
    finishing_recipe: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", finishing_recipe, str(tmp_path / "cats"), "-o", str(run)]) == 0
    seg, head = run / "stage1-tiny-seg" / "best.pt", run / "stage2-tiny-head" / "best.pt"
    guided, final = run / "stage3-tiny-guided" / "best.pt", run / "final.pt"
    assert str(final) in capsys.readouterr().out  # the recipe's model
    # the finishing stage starts from the model before the head stage, not from the head stage
    assert read_checkpoint(guided)["model_config"]["training"]["train_config"]["init_from"] == str(seg)
    made, from_head, from_guided = (read_checkpoint(p) for p in (final, head, guided))
    config = ModelConfig.from_dict(made["model_config"])
    assert config.presence_head and config.trunk_guidance
    assert config.presence_threshold == from_head["model_config"]["presence_threshold"]
    assert config.training["preset"] == "tiny-guided" and config.training["presence_head_from"] == str(head)
    weights = made["state_dict"]
    for name, tensor in from_head["state_dict"].items():
        if name.startswith("presence."):
            assert torch.equal(weights[name], tensor), name
    for name, tensor in from_guided["state_dict"].items():
        assert torch.equal(weights[name], tensor), name

    mtime = final.stat().st_mtime_ns
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert "stage 3 (tiny-guided) already finished" in caplog.text
    assert final.stat().st_mtime_ns == mtime  # kept: newer than both stages


def test_a_head_is_taken_only_from_a_checkpoint_that_has_one(tmp_path: Path) -> None:
    plain = ModelConfig(**MODEL)
    save_checkpoint(tmp_path / "plain.pt", build_model(plain), plain)
    with pytest.raises(ValueError, match="plain.pt: no presence head"):
        add_presence_head(tmp_path / "plain.pt", tmp_path / "plain.pt", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()
