"""Training only the presence head on a frozen network (``--trainable presence``, ``--preset pets-presence``): the
head learns, the pixel output and batch-norm statistics stay exactly those of the starting weights, and
validation scores a photo the head rejects as an all-grey prediction. The head reads either the encoder's
deepest features or a frozen ImageNet trunk (``ModelConfig.presence_trunk``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from colorsplash.training.config import TrainConfig  # noqa: E402
from colorsplash.training.networks import build_model, forward_train, freeze_for, train_mode  # noqa: E402
from colorsplash.training.steps import batch_loss, validate  # noqa: E402
from colorsplash.training.torch_dataset import SegmentationDataset  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HEAD = ModelConfig(arch="unet-lite0", input_size=64, presence_head=True, name="head-test")
TRUNK = dataclasses.replace(HEAD, presence_trunk="lite0", presence_trunk_size=32, name="trunk-test")
CPU = torch.device("cpu")
BOTH = pytest.mark.parametrize("config", [HEAD, TRUNK], ids=["encoder-head", "trunk-head"])


@BOTH
def test_freezing_leaves_only_the_head_trainable(config: ModelConfig) -> None:
    model = build_model(config)
    freeze_for(model, "presence")
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"presence.{n}" for n, _ in model.presence.named_parameters()}
    freeze_for(fresh := build_model(config), "all")
    assert all(p.requires_grad for n, p in fresh.named_parameters() if not n.startswith("presence_trunk."))
    with pytest.raises(ValueError, match="presence head"):
        freeze_for(build_model(dataclasses.replace(HEAD, presence_head=False)), "presence")
    with pytest.raises(ValueError, match="trainable"):
        freeze_for(model, "everything")
    with pytest.raises(ValueError, match="trainable"):
        TrainConfig(trainable="everything")


def test_a_decoder_step_moves_the_decoder_and_head_only() -> None:
    """``trainable="decoder"``: the encoder's weights and batch-norm statistics do not move, the decoder's do."""
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(HEAD, presence_head=False))
    freeze_for(model, "decoder")
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"decoder", "head"}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    train_mode(model, "decoder")
    assert not model.encoder.training and model.decoder.training and model.head.training
    x, y = torch.randn(4, 3, 64, 64), torch.zeros(4, 1, 64, 64, dtype=torch.uint8)
    y[:2, 0, 10:40, 10:40] = 1
    logits, presence = forward_train(model, x, "decoder")
    assert logits is not None and presence is None
    batch_loss(logits, presence, y, TrainConfig(trainable="decoder")).backward()
    opt.step()
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert changed == {"decoder", "head"}, sorted(changed)


@BOTH
def test_a_head_only_step_moves_the_head_and_nothing_else(config: ModelConfig) -> None:
    """Not a weight nor a batch-norm running statistic outside the head changes (the trunk's neither)."""
    torch.manual_seed(0)
    model = build_model(config)
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


@BOTH
def test_a_head_only_run_keeps_the_starting_masks(config: ModelConfig, tmp_path: Path) -> None:
    """Through the trainer, from a checkpoint without a head: the saved network differs from the start only
    in its new head, and the run records what it trained."""
    from colorsplash.training.trainer import Trainer

    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    start = dataclasses.replace(config, presence_head=False, presence_trunk=None)
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
    Trainer(config, tcfg, show_progress=False).fit()
    init = read_checkpoint(tmp_path / "start.pt")["state_dict"]
    for name in ("best.pt", "last.pt"):
        saved = read_checkpoint(tmp_path / "run" / name)
        weights = saved["state_dict"]
        assert {k for k in weights if not k.startswith(("presence.", "presence_trunk."))} == set(init)
        assert all(torch.equal(init[k], weights[k]) for k in init), f"{name}: a frozen weight moved"
        assert saved["model_config"]["training"]["train_config"]["trainable"] == "presence"


def test_trunk_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="presence_head"):
        ModelConfig(arch="unet-lite0", presence_trunk="lite0")
    with pytest.raises(ValueError, match="presence_trunk must be one of"):
        dataclasses.replace(HEAD, presence_trunk="resnet")
    with pytest.raises(ValueError, match="multiple of 32 up to input_size"):
        dataclasses.replace(TRUNK, presence_trunk_size=96)


def test_trunk_head_reads_the_photo_and_stays_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trunk sees the input (not the encoder), is frozen and stays in eval mode when the network trains;
    training the head alone never runs the segmentation network."""
    torch.manual_seed(0)
    model = build_model(TRUNK).eval()
    x = torch.randn(2, 3, 64, 64)
    seg, presence = model(x, with_presence=True)
    assert seg.shape == (2, 1, 64, 64) and presence.shape == (2, 1)
    model.train()
    assert model.encoder.training and not model.presence_trunk.training
    assert not any(p.requires_grad for p in model.presence_trunk.parameters())
    model.eval()

    def no_encoder(_: torch.Tensor) -> list[torch.Tensor]:
        raise AssertionError("the encoder ran")

    monkeypatch.setattr(model.encoder, "features", no_encoder)
    assert torch.allclose(model(x, presence_only=True), presence)


def test_trunk_starts_from_imagenet_and_quantisation_ends_skip_it(tmp_path: Path) -> None:
    from colorsplash.training.export import export_onnx
    from colorsplash.training.pretrained import imagenet_weights_path, init_presence_trunk
    from colorsplash.training.quantize import end_convolutions

    model = build_model(TRUNK)
    init_presence_trunk(model)
    imagenet = torch.load(imagenet_weights_path("lite0"), map_location="cpu", weights_only=True)
    assert torch.equal(model.presence_trunk.net._conv_head.weight, imagenet["_conv_head.weight"])
    save_checkpoint(tmp_path / "t.pt", model, TRUNK)
    export_onnx(tmp_path / "t.pt", tmp_path / "t.onnx")
    ends = end_convolutions(tmp_path / "t.onnx")
    assert len(ends) == 2 and not any("presence_trunk" in name for name in ends), ends


def test_a_recipe_can_end_with_a_head_stage(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``RECIPE_HEADS``: after its stages, a recipe trains the head alone from the model it made; the head
    stage's best.pt is the recipe's model, with the stages' masks, and --resume skips it once finished."""
    import logging

    from colorsplash.cli import main
    from colorsplash.training import recipes

    make_seed_set(tmp_path / "cats", n=8, h=56, w=72)
    model = {"arch": "unet-lite0", "input_size": 64, "name": "tiny-pets"}
    train = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "max_steps": 2, "bf16": False}
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-seg", {"model": model, "train": train})
    head_model = {**model, "presence_head": True, "presence_trunk": "lite0", "presence_trunk_size": 32}
    head_train = {**train, "trainable": "presence", "init_from": "ignored.pt", "lr": 1e-2}
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-head", {"model": head_model, "train": head_train})
    monkeypatch.setitem(recipes.RECIPES, "tinyh", ("tiny-seg",))
    monkeypatch.setitem(recipes.RECIPE_HEADS, "tinyh", "tiny-head")
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", "tinyh", str(tmp_path / "cats"), "-o", str(run)]) == 0
    seg, head = run / "stage1-tiny-seg" / "best.pt", run / "stage2-tiny-head" / "best.pt"
    assert str(head) in capsys.readouterr().out
    made = read_checkpoint(head)
    assert made["model_config"]["training"]["train_config"]["init_from"] == str(seg)
    start = read_checkpoint(seg)["state_dict"]
    assert all(torch.equal(start[k], made["state_dict"][k]) for k in start)
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert "stage 2 (tiny-head) already finished" in caplog.text


def test_validation_leaves_out_a_photo_whose_mask_scores_no_pixel() -> None:
    """``evaluate`` leaves out a photo whose mask scores no pixel (a trimap all border): IoU 1.0, nothing against
    nothing, lifted the mean. ``train``'s validation (its val IoU picks best.pt, stops early and is the model's
    recorded score) still counted it as 1.0: the same net scored 0.5 there and 0.0 in ``evaluate``."""
    from colorsplash.evaluation.metrics import IGNORE

    model = build_model(HEAD)
    masks = np.stack([np.ones((64, 64), np.uint8), np.full((64, 64), IGNORE, np.uint8)])
    ds = SegmentationDataset(np.zeros((2, 64, 64, 3), np.uint8), masks, HEAD)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(-10.0)  # every pixel background: wrong on the first photo
        model.presence.fc.weight.zero_()
        model.presence.fc.bias.fill_(10.0)  # "there is a pet"
        assert validate(model, ds, TrainConfig(batch_size=2), CPU)[0] == 0.0
