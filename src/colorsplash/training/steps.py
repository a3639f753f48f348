"""Training: data -> augmented batches -> U-Net, with validation, checkpoints, resume and early stopping.

A run folder holds ``config.json``, ``metrics.csv``, ``best.pt`` (highest validation IoU), ``last.pt``
(resumable), ``curves.png``, ``overview.png`` and ``val_predictions.png``. Works single-process or under
``torchrun`` (DistributedDataParallel; gloo on CPU, nccl on GPU; rank 0 alone logs and writes).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from colorsplash.evaluation.datasets import discover_all, split_samples
from colorsplash.evaluation.metrics import iou
from colorsplash.runtime.config import ModelConfig
from colorsplash.runtime.files import atomic_write
from colorsplash.training.augment import Augmenter
from colorsplash.training.config import TrainConfig
from colorsplash.training.copypaste import make_paster
from colorsplash.training.dataset import SegmentationDataset, load_resized
from colorsplash.training.losses import presence_loss, segmentation_loss
from colorsplash.training.networks import forward_train

log = logging.getLogger(__name__)
METRIC_FIELDS = ("epoch", "step", "train_loss", "val_loss", "val_iou", "lr", "seconds")


@dataclass
class RunState:
    """Everything that changes during a run; saved in ``last.pt`` for resuming."""

    epoch: int = 0
    step: int = 0
    best_iou: float = -1.0
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    finished: bool = False  # the run reached its epoch budget, max_steps or early stop


@dataclass
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), world)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _autocast(cfg: TrainConfig) -> contextlib.AbstractContextManager[Any]:
    if not cfg.bf16:
        return contextlib.nullcontext()
    return torch.autocast("cuda" if torch.cuda.is_available() else "cpu", dtype=torch.bfloat16)


def _to_device(x: torch.Tensor, cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last and x.dim() == 4 else x


@dataclass
class TrainData:
    train: SegmentationDataset
    val: SegmentationDataset
    summary: dict[str, Any]


def prepare_data(cfg: TrainConfig, mcfg: ModelConfig, show_progress: bool) -> TrainData:
    """Discover, split and cache the data sets named in ``cfg.data``."""
    samples = discover_all(cfg.data, skip_bad=cfg.skip_bad)
    train_s, val_s = split_samples(samples, cfg.val_fraction, cfg.seed)
    if not train_s:
        raise ValueError("the split left no training images; lower --val-fraction or add data")
    ti, tm, train_s = load_resized(train_s, mcfg.input_size, cfg.skip_bad, show_progress)
    if not val_s:  # tiny sets: validate on the training images rather than not at all
        log.warning("no validation images (val fraction %.2f); validating on the training set", cfg.val_fraction)
        vi, vm, val_s = ti, tm, train_s
    else:
        vi, vm, val_s = load_resized(val_s, mcfg.input_size, cfg.skip_bad, show_progress)
    augmenter = Augmenter(cfg.augment, seed=cfg.seed) if cfg.augment.enabled else None
    summary = {"datasets": sorted({s.dataset for s in samples}), "train_images": len(train_s),
               "val_images": len(val_s), "val_names": [s.name for s in val_s]}
    paster = make_paster(train_s, tm, cfg.augment, mcfg.input_size, cfg.seed)
    train = SegmentationDataset(ti, tm, mcfg, augmenter, paster)
    return TrainData(train, SegmentationDataset(vi, vm, mcfg), summary)


def make_loader(ds: SegmentationDataset, cfg: TrainConfig, d: Dist, epoch: int) -> DataLoader:
    sampler: DistributedSampler | None = None
    if d.world > 1:
        sampler = DistributedSampler(ds, d.world, d.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    per_rank = max(1, cfg.batch_size // d.world)
    drop = len(ds) > per_rank * d.world
    return DataLoader(ds, batch_size=per_rank, shuffle=sampler is None, sampler=sampler, generator=gen,
                      num_workers=cfg.num_workers, drop_last=drop, persistent_workers=False)


@torch.no_grad()
def predict_batches(model: nn.Module, ds: SegmentationDataset, cfg: TrainConfig,
                    device: torch.device) -> Iterator[tuple[np.ndarray, float]]:
    """Yield ``(probability S x S float32, loss)`` per validation image, in order."""
    model.eval()
    for start in range(0, len(ds), cfg.batch_size):
        items = [ds[i] for i in range(start, min(start + cfg.batch_size, len(ds)))]
        x = _to_device(torch.stack([a for a, _ in items]), cfg, device)
        y = torch.stack([b for _, b in items]).to(device)
        with _autocast(cfg):
            logits = model(x)
        for i in range(len(items)):
            loss = float(segmentation_loss(logits[i:i + 1], y[i:i + 1], cfg.dice_weight, cfg.lovasz_weight))
            yield torch.sigmoid(logits[i, 0].float()).cpu().numpy(), loss


def validate(model: nn.Module, ds: SegmentationDataset, cfg: TrainConfig,
             device: torch.device) -> tuple[float, float]:
    """Mean per-image IoU (threshold 0.5, at the network's resolution) and mean loss."""
    ious, losses = [], []
    for i, (prob, loss) in enumerate(predict_batches(model, ds, cfg, device)):
        ious.append(iou(prob, ds.masks[i]))
        losses.append(loss)
    return float(np.mean(ious)), float(np.mean(losses))


def train_epoch(model: nn.Module, loader: DataLoader, opt: torch.optim.Optimizer,
                sched: torch.optim.lr_scheduler.LRScheduler, cfg: TrainConfig, state: RunState,
                device: torch.device, d: Dist, show_progress: bool = True) -> float:
    model.train()
    total, count = 0.0, 0
    bar = tqdm(loader, desc=f"epoch {state.epoch + 1}/{cfg.epochs}", unit="batch",
               disable=not (show_progress and d.main),
               leave=False, dynamic_ncols=True)
    for x, y in bar:
        x, y = _to_device(x, cfg, device), y.to(device)
        with _autocast(cfg):
            logits, presence = forward_train(model, x)
        loss = segmentation_loss(logits, y, cfg.dice_weight, cfg.lovasz_weight)
        if presence is not None:
            loss = loss + cfg.presence_weight * presence_loss(presence, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        state.step += 1
        total, count = total + loss.item(), count + 1
        bar.set_postfix(loss=f"{total / count:.4f}", best_iou=f"{max(state.best_iou, 0):.3f}")
        if cfg.max_steps is not None and state.step >= cfg.max_steps:
            break
    return total / max(count, 1)


def total_steps(cfg: TrainConfig, n_train: int, world: int) -> int:
    """Optimiser steps of the whole run, counted exactly as :func:`make_loader` batches (the LR schedule
    raises if stepped past its total)."""
    per_rank = max(1, cfg.batch_size // world)
    # DistributedSampler pads every rank to ceil(n / world) samples; the loader drops the last partial batch
    # only when there is more than one batch's worth.
    on_rank = -(-n_train // world)
    drop = n_train > per_rank * world
    per_epoch = max(1, on_rank // per_rank if drop else -(-on_rank // per_rank))
    total = per_epoch * cfg.epochs
    return min(total, cfg.max_steps) if cfg.max_steps else total


def write_metrics(run: Path, history: list[dict[str, float]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    writer.writerows(history)
    atomic_write(run / "metrics.csv", buf.getvalue())


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, default=str))
