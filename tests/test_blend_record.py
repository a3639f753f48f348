"""What a weight blend writes (:mod:`colorsplash.training.interpolation`): the fine-tune's training settings, a
record of which checkpoint was which, the tensors' own precision, and a refusal to blend two architectures."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from colorsplash.training.checkpoint import read_checkpoint  # noqa: E402
from colorsplash.training.interpolation import blend_checkpoints, interpolate_state_dicts  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pair(tiny_checkpoint: Path, tmp_path: Path) -> tuple[Path, Path, dict]:
    payload = read_checkpoint(tiny_checkpoint)
    first, second = tmp_path / "start.pt", tmp_path / "robust.pt"
    torch.save({**payload, "train_config": {"stage": "start"}}, first)
    torch.save({**payload, "train_config": {"stage": "robust"}}, second)
    return first, second, payload


def test_the_blend_records_its_checkpoints_and_keeps_the_fine_tunes_settings(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    first, second, _ = _pair(tiny_checkpoint, tmp_path)
    blend_checkpoints(first, second, 0.3, tmp_path / "blend.pt")
    saved = read_checkpoint(tmp_path / "blend.pt")
    assert saved["train_config"] == {"stage": "robust"}  # the run it ends continues
    record = saved["model_config"]["training"]["metrics"]["blend"]
    assert record == {"first": str(first), "second": str(second), "weight": 0.3}


def test_two_architectures_are_not_blended(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Weights of another architecture are no point on the way to the fine-tune: refused, naming both files."""
    first, second, payload = _pair(tiny_checkpoint, tmp_path)
    torch.save({**payload, "model_config": {**payload["model_config"], "arch": "unet-lite0"}}, first)
    with pytest.raises(ValueError, match="different architectures"):
        blend_checkpoints(first, second, 0.5, tmp_path / "blend.pt")
    assert not (tmp_path / "blend.pt").exists()


def test_half_precision_weights_stay_half_precision() -> None:
    """A float16 checkpoint's blend is float16 (computed in float32), not twice the size on disk."""
    a = {"w": torch.zeros(3, dtype=torch.float16)}
    b = {"w": torch.full((3,), 2.0, dtype=torch.float16)}
    out = interpolate_state_dicts(a, b, 0.25)
    assert out["w"].dtype == torch.float16 and torch.equal(out["w"], torch.full((3,), 0.5, dtype=torch.float16))
