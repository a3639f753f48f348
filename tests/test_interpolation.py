"""Weight-space blends: the interpolation itself, and a staged recipe whose model is a blend of its last stages."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint, read_checkpoint  # noqa: E402
from colorsplash.training.interpolation import interpolate_state_dicts  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pair() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    a = {"conv.weight": torch.zeros(2, 3), "bn.running_var": torch.ones(2), "bn.num_batches_tracked": torch.tensor(5)}
    b = {
        "conv.weight": torch.full((2, 3), 4.0),
        "bn.running_var": torch.full((2,), 3.0),
        "bn.num_batches_tracked": torch.tensor(9),
    }
    return a, b


def test_interpolation_goes_the_given_share_of_the_way() -> None:
    a, b = _pair()
    for weight, expected in ((0.0, 0.0), (0.25, 1.0), (1.0, 4.0)):
        out = interpolate_state_dicts(a, b, weight)
        assert torch.allclose(out["conv.weight"], torch.full((2, 3), expected))
        assert torch.allclose(out["bn.running_var"], torch.full((2,), 1.0 + 2.0 * weight))  # statistics too
        assert int(out["bn.num_batches_tracked"]) == 9 and out["bn.num_batches_tracked"].dtype == torch.int64
    assert torch.equal(a["conv.weight"], torch.zeros(2, 3))  # inputs untouched


@pytest.mark.parametrize(
    ("change", "message"), [("key", "different tensors"), ("shape", "(2, 3)"), ("weight", "between 0 and 1")]
)
def test_interpolation_refuses_what_does_not_match(change: str, message: str) -> None:
    a, b = _pair()
    weight = 0.5
    if change == "key":
        b["extra.bias"] = b.pop("conv.weight")
    elif change == "shape":
        b["conv.weight"] = torch.zeros(3, 2)
    else:
        weight = 1.5
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        interpolate_state_dicts(a, b, weight)


def test_a_head_only_the_fine_tune_has_comes_from_the_fine_tune() -> None:
    a, b = _pair()
    b["presence.fc.weight"] = torch.full((1, 4), 3.0)
    out = interpolate_state_dicts(a, b, 0.25)
    assert torch.equal(out["presence.fc.weight"], b["presence.fc.weight"])
    assert torch.allclose(out["conv.weight"], 0.75 * a["conv.weight"] + 0.25 * b["conv.weight"])


@pytest.mark.slow
def test_recipe_with_a_blend_ships_the_validated_blend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from colorsplash.training import recipes

    cats = tmp_path / "cats"
    make_seed_set(cats, n=8, h=56, w=72)
    model = {"arch": "unet", "base_channels": 4, "depth": 2, "input_size": 64, "name": "tiny-pets"}
    train = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "patience": 10}
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-a", {"model": model, "train": {**train, "lr": 1e-2}})
    monkeypatch.setitem(recipes.STAGE_PRESETS, "tiny-b", {"model": model, "train": {**train, "lr": 1e-1}})
    monkeypatch.setitem(recipes.RECIPES, "tiny", ("tiny-a", "tiny-b"))
    monkeypatch.setitem(recipes.RECIPE_BLENDS, "tiny", 0.25)
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", "tiny", str(cats), "-o", str(run)]) == 0
    blend = run / "blend.pt"
    assert f"model {blend}" in capsys.readouterr().out

    first, second = (read_checkpoint(run / s / "best.pt")["state_dict"] for s in ("stage1-tiny-a", "stage2-tiny-b"))
    mixed = read_checkpoint(blend)["state_dict"]
    moved = [k for k in first if first[k].is_floating_point() and not torch.equal(first[k], second[k])]
    assert moved, "the second stage changed no weight: the test would prove nothing"
    for key in moved:
        assert torch.allclose(mixed[key], 0.75 * first[key] + 0.25 * second[key], atol=1e-6)
    _, config = load_checkpoint(blend)
    metrics = config.training["metrics"]
    assert metrics["blend"]["weight"] == 0.25 and 0.0 <= metrics["val_iou"] <= 1.0
    assert config.training["preset"] == "tiny-b"  # the rest of the record is the last stage's

    # Resuming the finished run keeps the blend and reports its IoU again.
    made = blend.stat().st_mtime_ns
    assert main(["-q", "train", "--resume", str(run)]) == 0
    assert blend.stat().st_mtime_ns == made
    assert f"best validation IoU {metrics['val_iou']:.4f}" in capsys.readouterr().out


def test_a_blend_of_stages_saved_before_padding_goes_on_stretching(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A recipe run started before wide photos were padded (its stages' checkpoints have no ``pad_aspect``) and
    resumed (``train --resume``) stretches its photos to the end (``resumed_model_config``); its blend of the last
    two stages took the field's default and padded them, validated and saved so (``pad_aspect`` 4/3)."""
    from colorsplash.training.interpolation import blend_checkpoints

    payload = read_checkpoint(tiny_checkpoint)
    del payload["model_config"]["pad_aspect"]
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    blend_checkpoints(old, old, 0.5, tmp_path / "blend.pt")
    assert read_checkpoint(tmp_path / "blend.pt")["model_config"]["pad_aspect"] == 0
