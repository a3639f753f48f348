"""Training only the presence head on a frozen network (``--trainable presence``, ``--preset pets-presence``): the
head learns, the pixel output and batch-norm statistics stay exactly those of the starting weights, and
validation scores a photo the head rejects as an all-grey prediction."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from colorsplash.runtime.config import ModelConfig  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from colorsplash.training.config import TrainConfig  # noqa: E402
from colorsplash.training.networks import build_model, forward_train, freeze_for, train_mode  # noqa: E402
from colorsplash.training.steps import batch_loss, validate  # noqa: E402
from colorsplash.training.torch_dataset import SegmentationDataset  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HEAD = ModelConfig(arch="unet-lite0", input_size=64, presence_head=True, name="head-test")
CPU = torch.device("cpu")


def test_freezing_leaves_only_the_head_trainable() -> None:
    model = build_model(HEAD)
    freeze_for(model, "presence")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"presence.{n}" for n, _ in model.presence.named_parameters()}
    freeze_for(fresh := build_model(HEAD), "all")
    assert all(p.requires_grad for p in fresh.parameters())
    with pytest.raises(ValueError, match="presence head"):
        freeze_for(build_model(dataclasses.replace(HEAD, presence_head=False)), "presence")
    with pytest.raises(ValueError, match="trainable"):
        freeze_for(model, "decoder")
    with pytest.raises(ValueError, match="trainable"):
        TrainConfig(trainable="decoder")


def test_a_head_only_step_moves_the_head_and_nothing_else() -> None:
    """Not a weight nor a batch-norm running statistic outside the head changes."""
    torch.manual_seed(0)
    model = build_model(HEAD)
    freeze_for(model, "presence")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    train_mode(model, "presence")
    assert not model.encoder.training and not model.decoder.training and model.presence.training
    x, y = torch.randn(4, 3, 64, 64), torch.zeros(4, 1, 64, 64, dtype=torch.uint8)
    y[:2, 0, 10:40, 10:40] = 1
    logits, presence = forward_train(model, x, "presence")
    assert logits is None and presence is not None and presence.shape == (4, 1)
    batch_loss(logits, presence, y, TrainConfig(trainable="presence")).backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert changed and all(k.startswith("presence.") for k in changed), sorted(changed)
    with pytest.raises(ValueError, match="pixel logits"):
        batch_loss(None, None, y, TrainConfig())


def test_validation_scores_a_rejected_photo_as_all_grey() -> None:
    """A net that colours every pixel of pet-free photos scores 0; the same net whose head says "no pet" 1."""
    model = build_model(HEAD)
    ds = SegmentationDataset(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 64, 64), np.uint8), HEAD)
    cfg = TrainConfig(batch_size=2)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(10.0)  # every pixel "pet"
        model.presence.fc.weight.zero_()
        model.presence.fc.bias.fill_(10.0)  # "there is a pet"
        assert validate(model, ds, cfg, CPU)[0] == 0.0
        model.presence.fc.bias.fill_(-10.0)  # "no pet here"
        assert validate(model, ds, cfg, CPU)[0] == 1.0


def test_a_head_only_run_keeps_the_starting_masks(tmp_path: Path) -> None:
    """Through the trainer, from a checkpoint without a head: the saved network differs from the start only
    in its new head, and the run records what it trained."""
    from colorsplash.training.trainer import Trainer

    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    start = dataclasses.replace(HEAD, presence_head=False)
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "start.pt", build_model(start), start)
    tcfg = TrainConfig(
        data=(str(tmp_path / "cats"),),
        out_dir=str(tmp_path / "run"),
        epochs=2,
        batch_size=4,
        lr=1e-2,
        val_fraction=0.25,
        bf16=False,
        init_from=str(tmp_path / "start.pt"),
        trainable="presence",
    )
    Trainer(HEAD, tcfg, show_progress=False).fit()
    init = read_checkpoint(tmp_path / "start.pt")["state_dict"]
    for name in ("best.pt", "last.pt"):
        saved = read_checkpoint(tmp_path / "run" / name)
        weights = saved["state_dict"]
        assert {k for k in weights if not k.startswith("presence.")} == set(init)
        assert all(torch.equal(init[k], weights[k]) for k in init), f"{name}: a frozen weight moved"
        assert saved["model_config"]["training"]["train_config"]["trainable"] == "presence"
