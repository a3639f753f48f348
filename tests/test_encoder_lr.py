"""The encoder's learning rate as a share of the run's (TrainConfig.encoder_lr_scale, --encoder-lr-scale)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers.layouts import make_seed_set  # noqa: E402

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint  # noqa: E402
from colorsplash.training.config import TrainConfig  # noqa: E402
from colorsplash.training.networks import build_model, freeze_for, param_groups  # noqa: E402
from colorsplash.training.recipes import STAGE_PRESETS  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LITE0 = ModelConfig(arch="unet-lite0", input_size=64)


def _encoder_ids(model: torch.nn.Module) -> set[int]:
    return {id(p) for p in model.encoder.parameters()}


def test_groups_split_the_encoder_from_the_rest() -> None:
    model = build_model(LITE0)
    groups = param_groups(model, 1e-3, 0.1)
    assert [g["lr"] for g in groups] == [1e-3, pytest.approx(1e-4)]
    fast, slow = ({id(p) for p in g["params"]} for g in groups)
    assert slow == _encoder_ids(model)
    assert fast == {id(p) for p in model.parameters()} - slow
    # the full rate for everyone is one group, as before the option
    assert [len(g["params"]) for g in param_groups(model, 1e-3, 1.0)] == [len(list(model.parameters()))]


def test_frozen_weights_are_in_no_group() -> None:
    model = build_model(LITE0)
    freeze_for(model, "decoder")
    groups = param_groups(model, 1e-3, 0.1)
    assert len(groups) == 1  # the encoder is frozen: no slow group
    assert not {id(p) for p in groups[0]["params"]} & _encoder_ids(model)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="frozen"):
        param_groups(model, 1e-3, 0.1)


def test_one_step_moves_the_encoder_by_its_share() -> None:
    """AdamW's first step moves every weight by about its group's rate: the encoder's by a tenth."""
    torch.manual_seed(0)
    model = build_model(LITE0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    opt = torch.optim.AdamW(param_groups(model, 1e-2, 0.1), weight_decay=0.0)
    model(torch.randn(2, 3, 64, 64)).mean().backward()
    opt.step()
    moved = {name: (p.detach() - before[name]).abs().max().item() for name, p in model.named_parameters()}
    enc = max(v for k, v in moved.items() if k.startswith("encoder."))
    rest = max(v for k, v in moved.items() if not k.startswith("encoder."))
    assert enc == pytest.approx(1e-3, rel=0.05)
    assert rest == pytest.approx(1e-2, rel=0.05)


@pytest.mark.parametrize("scale", [0.0, -0.1, 1.5])
def test_bad_shares_are_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="encoder_lr_scale"):
        TrainConfig(encoder_lr_scale=scale)


def test_a_run_keeps_the_share_in_its_schedule(tmp_path: Path) -> None:
    """End to end through the CLI: the saved optimiser has two groups whose one-cycle peaks keep the share."""
    data = tmp_path / "cats"
    make_seed_set(data, n=4, h=56, w=72)
    run = tmp_path / "run"
    args = ["-q", "train", str(data), "--arch", "unet-lite0", "--size", "64", "--epochs", "1", "--batch-size", "2"]
    assert main([*args, "--lr", "1e-3", "--encoder-lr-scale", "0.25", "--val-fraction", "0.25", "-o", str(run)]) == 0
    payload = read_checkpoint(run / "last.pt")
    peaks = [g["max_lr"] for g in payload["optimizer"]["param_groups"]]
    assert peaks == [pytest.approx(1e-3), pytest.approx(2.5e-4)]
    assert payload["train_config"]["encoder_lr_scale"] == 0.25


def test_the_guided_all_preset_trains_the_encoder_slowly() -> None:
    train = STAGE_PRESETS["pets-lite1-guided-all"]["train"]
    assert train["trainable"] == "all" and train["encoder_lr_scale"] == 0.1 and train["epochs"] == 1
    assert STAGE_PRESETS["pets-lite1-guided-all"]["model"]["trunk_guidance"]
