"""Weight-space interpolation of two checkpoints of one network (WiSE-FT, Wortsman et al., 2022).

Why: a fine-tune with heavy augmentation (the pet recipe's ``robust`` stage) makes the pet model far steadier
on blurred and low-resolution photos but a touch less accurate on clean ones; the weights part-way between it
and the checkpoint it started from keep the clean accuracy and most of the robustness (see ``docs/model-card.md``).
Both checkpoints must come from the same architecture, the second fine-tuned from the first, so that their
weights lie in one basin; interpolating unrelated networks gives noise.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint
from colorsplash.training.config import TrainConfig, resumed_model_config
from colorsplash.training.networks import build_model

log = logging.getLogger(__name__)


def interpolate_state_dicts(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor], weight: float
) -> dict[str, torch.Tensor]:
    """``(1 - weight) * first + weight * second`` for every floating tensor (batch-norm running statistics
    included); integer buffers such as ``num_batches_tracked`` are taken from ``second``, and so are tensors only
    ``second`` has (a head added by the fine-tune, such as the presence head of ``--preset pets-scenes``).

    Raises:
        ValueError: ``weight`` outside [0, 1], ``first`` holds a tensor ``second`` lacks, or shapes differ.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend weight must be between 0 and 1, got {weight}")
    if not first.keys() <= second.keys():
        odd = sorted(set(first) - set(second))[:3]
        raise ValueError(
            f"the checkpoints hold different tensors (e.g. {', '.join(odd)}); blend only two "
            "checkpoints of the same architecture"
        )
    out: dict[str, torch.Tensor] = {name: b.clone() for name, b in second.items() if name not in first}
    for name, a in first.items():
        b = second[name]
        if a.shape != b.shape:
            raise ValueError(f"tensor {name} is {tuple(a.shape)} in one checkpoint and {tuple(b.shape)} in the other")
        out[name] = torch.lerp(a.float(), b.float(), weight).to(b.dtype) if b.is_floating_point() else b.clone()
    return out


def blend_checkpoints(
    first: str | Path,
    second: str | Path,
    weight: float,
    out: str | Path,
    tcfg: TrainConfig | None = None,
    show_progress: bool = True,
) -> float | None:
    """Write ``out``: the weights ``weight`` of the way from ``first`` to ``second``, with ``second``'s config (as the
    run it ends continues: :func:`~colorsplash.training.config.resumed_model_config`, stretched before padding).

    With ``tcfg``, the blend is validated on the validation split of ``tcfg.data`` (as training splits it) and
    its IoU is recorded in the checkpoint's metrics and returned; without, ``None`` is returned.
    """
    a, b = read_checkpoint(first), read_checkpoint(second)
    mcfg = resumed_model_config(b["model_config"])  # a recipe's stages: one run (started before padding: stretched)
    if ModelConfig.from_dict(a["model_config"]).arch != mcfg.arch:
        raise ValueError(f"{first} and {second} are different architectures; blend only a checkpoint and its fine-tune")
    model = build_model(mcfg)
    model.load_state_dict(interpolate_state_dicts(a["state_dict"], b["state_dict"], weight))
    metrics: dict[str, Any] = {"blend": {"first": str(first), "second": str(second), "weight": weight}}
    val_iou = None
    if tcfg is not None:
        val_iou = _validate(model, mcfg, tcfg, show_progress)
        metrics["val_iou"] = val_iou
        log.info("blend %.2f of %s -> %s: val IoU %.4f", weight, first, second, val_iou)
    training = {**mcfg.training, "metrics": metrics}
    save_checkpoint(out, model, dataclasses.replace(mcfg, training=training), train_config=b.get("train_config"))
    return val_iou


def _validate(model: torch.nn.Module, mcfg: ModelConfig, tcfg: TrainConfig, show_progress: bool) -> float:
    from colorsplash.training.steps import prepare_data, validate

    data = prepare_data(tcfg, mcfg, show_progress, report=False)  # the stages logged the split
    val_iou, _ = validate(model, data.val, tcfg, torch.device("cpu"))
    return val_iou
