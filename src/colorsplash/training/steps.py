"""The pieces a training run is made of: distributed setup, the autocast choice, data preparation and loaders, one
epoch of optimiser steps, validation, the learning-rate schedule and the run's metric files. The loop that strings
them together (epochs, checkpoints, resume, early stopping, staged recipes) is :mod:`colorsplash.training.trainer`.

A run folder holds ``config.json``, ``metrics.csv``, ``best.pt`` (highest validation IoU), ``last.pt``
(resumable), ``curves.png``, ``overview.png`` and ``val_predictions.png``. Works single-process or under
``torchrun`` (DistributedDataParallel; :mod:`colorsplash.training.distributed`; rank 0 alone logs and writes).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from colorsplash.evaluation import datasets, mask_read
from colorsplash.evaluation.datasets import (
    UNSEEN_SUFFIX,
    Sample,
    Skips,
    base_set,
    breed,
    split_samples,
)
from colorsplash.evaluation.mask_read import corners_subject, warn_inverted_masks
from colorsplash.evaluation.metrics import iou, scores_any
from colorsplash.evaluation.negatives import discover_with_negatives, train_lone_negatives
from colorsplash.evaluation.read_notes import ReadNotes
from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.no_subject import no_subject_reason
from colorsplash.runtime.progress import bar_settings
from colorsplash.training import run_files
from colorsplash.training.augment import Augmenter
from colorsplash.training.config import TrainConfig
from colorsplash.training.copypaste import make_paster
from colorsplash.training.distributed import Dist
from colorsplash.training.losses import presence_loss, segmentation_loss
from colorsplash.training.networks import forward_train, has_presence, train_mode
from colorsplash.training.torch_dataset import SegmentationDataset, load_resized, negatives_summary, validation_iou
from colorsplash.training.val_masks import scored_validation, with_subject

log = logging.getLogger(__name__)
METRIC_FIELDS = ("epoch", "step", "train_loss", "val_loss", "val_iou", "lr", "seconds")
_FILES = ("run", f"{run_files.OVERVIEW}, {run_files.CURVES}, {run_files.VAL_PREDICTIONS}")  # -o DATA/images: no


@dataclass
class RunState:
    """Everything that changes during a run; saved in ``last.pt`` for resuming."""

    epoch: int = 0
    step: int = 0
    best_iou: float = -1.0
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    finished: bool = False  # the run reached its epoch budget, max_steps or early stop


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bfloat16 in hardware: x86 ``avx512_bf16`` or ``amx_bf16``, Arm ``bf16``.

    ``cpuinfo`` is the text of ``/proc/cpuinfo`` (read when ``None``; unreadable, as on macOS and Windows: False).
    Without these instructions autocast emulates bfloat16, which was 19x slower than float32 on an AVX2-only CPU.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):  # x86, Arm
            return bool(set(value.split()) & {"avx512_bf16", "amx_bf16", "bf16"})
    return False


@functools.cache
def _auto_bf16(device_type: str) -> tuple[bool, str]:
    if device_type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ok, "the GPU supports bfloat16" if ok else "the GPU has no bfloat16 support"
    if cpu_has_native_bf16():
        return True, "the CPU has native bfloat16 (avx512_bf16/amx_bf16/bf16)"
    return False, "the CPU has no native bfloat16 (no avx512_bf16/amx_bf16/bf16 flag): emulated, it is far slower"


def choose_bf16(cfg: TrainConfig) -> tuple[bool, str]:
    """Whether this process trains under bfloat16 autocast, and why: ``cfg.bf16`` when set, else (auto) on a
    CUDA GPU that supports it or a CPU with native bfloat16 instructions, float32 otherwise."""
    if cfg.bf16 is not None:
        return cfg.bf16, "asked for" if cfg.bf16 else "float32 asked for"
    return _auto_bf16("cuda" if torch.cuda.is_available() else "cpu")


def training_device(rank: int = 0) -> torch.device:
    """One CUDA GPU per process (rank modulo the GPUs) when PyTorch sees CUDA, else the CPU; on CUDA, cuDNN picks
    its fastest convolution algorithms and float32 matrix products may use TF32 (Ampere and later)."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return torch.device(f"cuda:{rank % torch.cuda.device_count()}")


def _autocast(cfg: TrainConfig, device: torch.device | None = None) -> contextlib.AbstractContextManager[Any]:
    """bfloat16 autocast on ``device`` when :func:`choose_bf16` says so, else nothing (float32)."""
    if not choose_bf16(cfg)[0]:
        return contextlib.nullcontext()
    kind = device.type if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    return torch.autocast(kind, dtype=torch.bfloat16)


def _to_device(x: torch.Tensor, cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last and x.dim() == 4 else x


@dataclass
class TrainData:
    train: SegmentationDataset
    val: SegmentationDataset
    summary: dict[str, Any]


def warn_empty_masks(masks: np.ndarray) -> int:
    """Count the masks (uint8 ``N x S x S``, 0/1/IGNORE) with no subject pixel; warn when they are most of them
    (such a set trains a model that finds nothing, to validation IoU 0), or when most look inverted
    (:func:`~colorsplash.evaluation.mask_read.warn_inverted_masks`). Returns the count of empty ones."""
    empty = int(sum(1 for m in masks if not (m == 1).any()))
    mask_read.warn_empty_masks(empty, len(masks), "training", "the model will learn to find nothing")
    warn_inverted_masks(sum(corners_subject(m) for m in masks), len(masks), "training")
    return empty


def log_split(train: list[Sample], val: list[Sample]) -> None:
    """Log the split: training and validation photos per data set, and, per Oxford-layout folder, the breeds whose
    photos are held out whole as ``<set>-unseen`` (see :data:`colorsplash.evaluation.datasets.HELD_OUT_BREEDS`)."""
    for name in sorted({s.dataset for s in (*train, *val)}):
        counts = [sum(s.dataset == name for s in part) for part in (train, val)]
        log.info("%s: %d training, %d validation photos", name, *counts)
    unseen: dict[str, list[Sample]] = {}
    for sample in val:
        if sample.dataset.endswith(UNSEEN_SUFFIX):
            unseen.setdefault(base_set(sample.dataset), []).append(sample)
    for name, held in sorted(unseen.items()):
        log.info(
            "%s: %d photo(s) of the breed(s) %s held out whole as %s%s: validation only, never trained on",
            name,
            len(held),
            ", ".join(sorted({breed(s.name) for s in held})),
            name,
            UNSEEN_SUFFIX,
        )


# When --skip-bad left out every validation pair (the training ones read): not "no usable pairs" of the whole data
_NO_VALIDATION = (
    "no usable image/mask pairs among the validation photos (the training photos read); fix or remove those left out, "
    "or pass --val-fraction 0 to validate on the training photos"
)


def prepare_data(cfg: TrainConfig, mcfg: ModelConfig, show_progress: bool, report: bool = True) -> TrainData:
    """Discover, split and cache the data sets of ``cfg.data`` and the negatives of ``cfg.negatives``; ``report``:
    log the split (:func:`log_split`) and the notes of the data, once a run (rank 0 alone under torchrun)."""
    samples, negatives = discover_with_negatives(cfg.data, cfg.negatives, cfg.skip_bad, Path(cfg.out_dir), _FILES)
    samples += negatives
    train_s, val_s = split_samples(samples, cfg.val_fraction, cfg.seed)
    train_s = train_lone_negatives(train_s, val_s)
    if not train_s:  # a tiny set whose every image fell into validation: train on them all rather than fail
        if report:  # once a run (the later reads, report False, find the same)
            log.warning("the split left no training images (%d in validation); training on all of them", len(val_s))
        train_s, val_s = val_s, []
    if report:
        log_split(train_s, val_s)
    listed, notes, skips = len(train_s) + len(val_s), ReadNotes(), Skips()
    ti, tm, train_s = load_resized(train_s, mcfg, cfg.skip_bad, show_progress, notes, skips)
    negative = [i for i, s in enumerate(train_s) if s.kind == datasets.NEGATIVE]
    empty = warn_empty_masks(np.delete(tm, negative, axis=0))
    if not val_s:  # tiny sets: validate on the training images rather than not at all
        if report:
            log.warning("no validation images (val fraction %.2f); validating on the training set", cfg.val_fraction)
        vi, vm, val_s = ti, tm, train_s
    else:
        vi, vm, val_s = load_resized(val_s, mcfg, cfg.skip_bad, show_progress, notes, skips, _NO_VALIDATION)
    vi, vm, val_s = scored_validation((ti, tm, train_s), (vi, vm, val_s), report)  # masks that score a pixel
    if report:  # once per run, both passes' photos (the stages' later reads, report False, were said)
        notes.say()
        skips.say()
    if report and len(train_s) + (len(val_s) if val_s is not train_s else 0) < listed:  # --skip-bad dropped some
        log.info("after the bad pairs skipped: %d training, %d validation photos", len(train_s), len(val_s))
    vi, vm, val_s = with_subject((ti, tm, train_s), (vi, vm, val_s), report)  # not negatives alone
    augmenter = Augmenter(cfg.augment, seed=cfg.seed) if cfg.augment.enabled else None
    summary = {
        "datasets": sorted({s.dataset for s in samples}),
        "train_images": len(train_s),
        "val_images": len(val_s),
        "val_names": [s.name for s in val_s],
        "empty_train_masks": empty,
    }
    paster = make_paster(train_s, tm, cfg.augment, mcfg.input_size, cfg.seed, mcfg.pad_aspect)
    train = SegmentationDataset(ti, tm, mcfg, augmenter, paster, negative)
    if negatives:
        summary.update(negatives_summary(train, val_s if val_s is not train_s else [], report))
    val_negatives = [i for i, s in enumerate(val_s) if s.kind == datasets.NEGATIVE]
    return TrainData(train, SegmentationDataset(vi, vm, mcfg, scored_negatives=val_negatives), summary)


def make_loader(ds: SegmentationDataset, cfg: TrainConfig, d: Dist, epoch: int) -> DataLoader:
    """The batches of epoch ``epoch`` for process ``d``: a seeded shuffle (one process) or this process's share of it
    (``torchrun``), each photo drawn from its own seed (:meth:`SegmentationDataset.start_epoch`), so that the
    epoch's batches follow from the run's seed and settings alone, not from ``cfg.num_workers`` or from the runs
    and epochs before (a resumed run trains on what an uninterrupted one would)."""
    sampler: DistributedSampler | None = None
    if d.world > 1:
        sampler = DistributedSampler(ds, d.world, d.rank, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    per_rank = max(1, cfg.batch_size // d.world)
    drop = len(ds) > per_rank * d.world
    ds.start_epoch(cfg.seed, epoch)  # the same in every process and worker: the sampler splits one epoch
    return DataLoader(
        ds,
        batch_size=per_rank,
        shuffle=sampler is None,
        sampler=sampler,
        generator=gen,
        num_workers=cfg.num_workers,
        drop_last=drop,
        persistent_workers=False,
    )


# Validation counts a photo as pet-free (an all-background prediction) when its presence probability is below this:
# the pooled IoU then scores what the product shows (a pet-free photo kept grey scores 1, a pet photo gated away 0).
VAL_PRESENCE_THRESHOLD = 0.5


def batch_loss(
    logits: torch.Tensor | None, presence: torch.Tensor | None, y: torch.Tensor, cfg: TrainConfig
) -> torch.Tensor:
    """What a run minimises: the segmentation loss of ``logits`` (``None`` when only the presence head trains) plus
    ``cfg.presence_weight`` x the presence BCE (or the BCE alone when ``logits`` is ``None``)."""
    if logits is None:
        if presence is None:
            raise ValueError("batch_loss needs pixel logits, presence logits or both")
        return presence_loss(presence, y)
    loss = segmentation_loss(logits, y, cfg.dice_weight, cfg.lovasz_weight)
    if presence is not None:
        loss = loss + cfg.presence_weight * presence_loss(presence, y)
    return loss


@torch.no_grad()
def predict_batches(
    model: nn.Module, ds: SegmentationDataset, cfg: TrainConfig, device: torch.device
) -> Iterator[tuple[np.ndarray, float, float | None]]:
    """Yield ``(probability S x S float32, loss, presence probability or None)`` per validation image, in order."""
    model.eval()
    with_presence = has_presence(model)
    for start in range(0, len(ds), cfg.batch_size):
        items = [ds[i] for i in range(start, min(start + cfg.batch_size, len(ds)))]
        x = _to_device(torch.stack([a for a, _ in items]), cfg, device)
        y = torch.stack([b for _, b in items]).to(device)
        with _autocast(cfg, device):
            logits, presence = model(x, with_presence=True) if with_presence else (model(x), None)
        for i in range(len(items)):
            p_i = None if presence is None else presence[i : i + 1]
            seg_i = None if cfg.trainable == "presence" else logits[i : i + 1]
            loss = float(batch_loss(seg_i, p_i, y[i : i + 1], cfg))
            score = None if p_i is None else float(torch.sigmoid(p_i.float()))
            yield torch.sigmoid(logits[i, 0].float()).cpu().numpy(), loss, score


def validate(model: nn.Module, ds: SegmentationDataset, cfg: TrainConfig, device: torch.device) -> tuple[float, float]:
    """Per-image IoU (0.5, network's size; no subject by :func:`~colorsplash.runtime.no_subject.no_subject_reason` at
    :data:`VAL_PRESENCE_THRESHOLD` predicts none; masks scoring no pixel left out) as :func:`validation_iou`, loss."""
    ious, losses = [], []
    for i, (prob, loss, score) in enumerate(predict_batches(model, ds, cfg, device)):
        empty = no_subject_reason(score, VAL_PRESENCE_THRESHOLD, float(prob.max()) if prob.size else 0.0)
        if scores_any(ds.masks[i]):
            ious.append((iou(prob * (empty is None), ds.masks[i]), i in ds.scored_negatives))  # no subject: 0s
        losses.append(loss)
    if not ious:  # prepare_data refuses such data
        raise ValueError("no validation photo's mask leaves a pixel scored: there is no IoU to validate on")
    return validation_iou(ious), float(np.mean(losses))


def train_epoch(
    model: nn.Module,
    loader: DataLoader,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    cfg: TrainConfig,
    state: RunState,
    device: torch.device,
    d: Dist,
    show_progress: bool = True,
) -> float:
    train_mode(model, cfg.trainable)
    total, count = 0.0, 0
    bar = tqdm(
        loader,
        desc=f"epoch {state.epoch + 1}/{cfg.epochs}",
        unit="batch",
        disable=not (show_progress and d.main),
        leave=False,
        dynamic_ncols=True,
        **bar_settings(),
    )
    for x, y in bar:
        x, y = _to_device(x, cfg, device), y.to(device)
        with _autocast(cfg, device):
            logits, presence = forward_train(model, x, cfg.trainable)
        loss = batch_loss(logits, presence, y, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        state.step += 1
        total, count = total + loss.item(), count + 1
        # refresh=False: the bar redraws at its own pace (once a minute into a log), not after every batch
        bar.set_postfix(loss=f"{total / count:.4f}", best_iou=f"{max(state.best_iou, 0):.3f}", refresh=False)
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


def onecycle_schedule(
    opt: torch.optim.Optimizer, max_lr: float | list[float], steps: int
) -> torch.optim.lr_scheduler.OneCycleLR:
    """Warm-up then cosine decay over ``steps`` optimiser steps (any ``steps >= 1``); ``max_lr`` is the peak, or one
    peak per parameter group of ``opt``.

    The warm-up is 10 % of the steps, but never shorter than 1.5 steps: OneCycleLR divides by the warm-up's length
    less one step, so 10 % of a 10-step run is a zero-length phase (a ZeroDivisionError on the first step) and
    fewer steps give a negative one. One spare step past ``steps`` keeps a last partial step from overrunning it.
    """
    total = steps + 1
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=max(0.1, 1.5 / total))


def write_metrics(run: Path, history: list[dict[str, float]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS)
    writer.writeheader()
    writer.writerows(history)
    atomic_write(run / run_files.METRICS, buf.getvalue())


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True, default=str))
