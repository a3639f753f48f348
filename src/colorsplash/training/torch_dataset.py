"""In-memory training data: pairs decoded once, resized to the network's input, augmented per draw."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch

from colorsplash.evaluation.datasets import NEGATIVE, DataError, Sample, Skips, iter_pairs
from colorsplash.evaluation.read_notes import ReadNotes
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.preprocess import fit_to_input, normalize, pad_fill
from colorsplash.training.augment import Augmenter
from colorsplash.training.config import NEGATIVE_SHARE
from colorsplash.training.copypaste import Paster

log = logging.getLogger(__name__)


def load_resized(
    samples: Sequence[Sample],
    config: ModelConfig,
    skip_bad: bool = False,
    show_progress: bool = True,
    notes: ReadNotes | None = None,
    skips: Skips | None = None,
    none_left: str = "no usable image/mask pairs were found",
) -> tuple[np.ndarray, np.ndarray, list[Sample]]:
    """Decode every pair and fit it to the network's ``S x S`` input as inference does (``config.pad_aspect``:
    :func:`~colorsplash.runtime.model.preprocess.fit_to_input`; a mask's padding is background, 0); what reading found
    goes to ``notes`` and the pairs ``skip_bad`` left out to ``skips``, for the run to say once (without: said at
    the end, :func:`~colorsplash.evaluation.datasets.iter_pairs`).

    Returns:
        images: uint8 ``N x S x S x 3`` RGB; masks: uint8 ``N x S x S`` (0/1/255); the samples kept.

    Raises:
        DataError: on the first bad pair, unless ``skip_bad``; when no pair is left (``none_left``; the pairs left
            out said first, ``skips`` too: the run's own once-only line is not reached).
    """
    images, masks, kept = [], [], []
    size, fill = config.input_size, pad_fill(config)
    for sample, image, mask in iter_pairs(samples, skip_bad, "loading", show_progress, skips, notes):
        images.append(fit_to_input(image, size, config.pad_aspect, fill))
        masks.append(fit_to_input(mask, size, config.pad_aspect, 0, nearest=True))
        kept.append(sample)
    if not kept:
        if skips is not None:
            skips.say()
        raise DataError(none_left)
    return np.stack(images), np.stack(masks), kept


def negatives_per_epoch(subject: int, negatives: int) -> int:
    """How many of ``negatives`` photos an epoch of ``subject`` subject photos draws: all of them, at most a
    :data:`NEGATIVE_SHARE` of the epoch (one negative for every three subject photos, rounded up: at least one)."""
    most = max(1, math.ceil(subject * NEGATIVE_SHARE / (1 - NEGATIVE_SHARE)))
    return min(negatives, most)


def draw_seed(seed: int, epoch: int, photo: int) -> int:
    """The seed of the augmentation and compositing draws of photo ``photo`` in epoch ``epoch`` of a run seeded
    ``seed``: one per photo and epoch, not per process or loader worker, so that which worker or ``torchrun``
    process loads a photo, and when, does not change what it is drawn as (``-j 0`` and ``-j 2`` train the same
    weights), and a resumed run draws its epochs as an uninterrupted one does."""
    return int(np.random.SeedSequence([seed, epoch, photo]).generate_state(1)[0])


def validation_iou(scores: Sequence[tuple[float, bool]]) -> float:
    """The validation IoU of ``(IoU, is a negative)`` per photo: their mean, but with ``--negatives`` among them the
    negatives weigh :data:`NEGATIVE_SHARE` of it together, as in a training epoch. A plain mean let a seeded quarter
    of many negatives outnumber the subject photos (11 to 4): a model colouring nothing scored 0.67, best of its
    run, and ``best.pt`` found no subject."""
    subject = [iou for iou, negative in scores if not negative]
    negatives = [iou for iou, negative in scores if negative]
    if not subject or not negatives:
        return float(np.mean([iou for iou, _ in scores]))
    return float((1 - NEGATIVE_SHARE) * np.mean(subject) + NEGATIVE_SHARE * np.mean(negatives))


class SegmentationDataset(torch.utils.data.Dataset):
    """Yields ``(x, y)``: float32 ``3 x S x S`` normalised RGB and uint8 ``1 x S x S`` mask (0/1/255).

    ``negatives``: the indices of the photos given as negatives; when they are more than
    :func:`negatives_per_epoch` allows, an epoch (:meth:`draw_negatives`) holds every other photo and a seeded
    draw of that many of them (index ``i`` of the epoch is photo ``order[i]``). ``scored_negatives``: those of a
    validation set, all of them kept, weighed by :func:`validation_iou`. After :meth:`start_epoch`, each
    photo's augmentation and composite are drawn from its own seed (:func:`draw_seed`)."""

    def __init__(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        config: ModelConfig,
        augmenter: Augmenter | None = None,
        paster: Paster | None = None,
        negatives: Sequence[int] = (),
        scored_negatives: Sequence[int] = (),
    ) -> None:
        self.images, self.masks, self.config, self.augmenter = images, masks, config, augmenter
        self.scored_negatives = frozenset(scored_negatives)  # validation: weighed by validation_iou, never drawn
        self.paster = paster
        self.negatives = np.asarray(negatives, np.int64)
        self.subject = np.setdiff1d(np.arange(len(images)), self.negatives)
        self.per_epoch = negatives_per_epoch(len(self.subject), len(self.negatives))
        self.order: np.ndarray | None = None
        self.epoch_seed: tuple[int, int] | None = None  # (run seed, epoch) once start_epoch is called
        if self.per_epoch < len(self.negatives):
            self.draw_negatives(0, 0)

    def draw_negatives(self, seed: int, epoch: int) -> None:
        """The negatives of epoch ``epoch`` of a run seeded ``seed`` (the same in every process), when not all of
        them fit (:func:`negatives_per_epoch`); otherwise every photo, every epoch."""
        if self.per_epoch >= len(self.negatives):
            return
        chosen = np.random.default_rng([seed, epoch]).choice(self.negatives, self.per_epoch, replace=False)
        self.order = np.concatenate([self.subject, np.sort(chosen)])

    def start_epoch(self, seed: int, epoch: int) -> None:
        """Make this dataset epoch ``epoch`` of a run seeded ``seed``: its negatives (:meth:`draw_negatives`) and,
        for every photo, draws seeded by :func:`draw_seed` (the same in every process and loader worker)."""
        self.draw_negatives(seed, epoch)
        self.epoch_seed = (seed, epoch)

    def __len__(self) -> int:
        return len(self.images) if self.order is None else len(self.order)

    def reseed(self, seed: int) -> None:
        """Restart the augmentation's and the compositing's random draws from ``seed``."""
        if self.augmenter is not None:
            self.augmenter.reseed(seed)
        if self.paster is not None:
            self.paster.rng = np.random.default_rng(seed)

    def raw(self, index: int, force_paste: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The (composited, augmented) uint8 image ``SxSx3`` RGB and mask ``SxS`` before normalisation;
        ``force_paste``: paste a pet whenever ``index`` is a pet-free photo (for the overview). After
        :meth:`start_epoch` the draws are photo ``index``'s of that epoch, whatever was drawn before."""
        if self.epoch_seed is not None and (self.augmenter is not None or self.paster is not None):
            self.reseed(draw_seed(*self.epoch_seed, index))
        image, mask = self.images[index], self.masks[index]
        if self.paster is not None and self.paster.applies(index, force_paste):
            image, mask = self.paster(index, self.images, self.masks)
        if self.augmenter is not None:
            image, mask = self.augmenter(image, mask)
        return image, mask

    def overview_indices(self, count: int) -> list[int]:
        """Indices for ``overview.png``: the first photos, and half of them pet-free ones when pets get pasted
        (so the composites show)."""
        if self.paster is None or not self.paster.things:
            return list(range(min(count, len(self))))
        scenes = sorted(self.paster.things)[: count // 2]
        return list(range(min(count - len(scenes), len(self)))) + scenes

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.raw(index if self.order is None else int(self.order[index]))
        x = normalize(image, self.config.normalization)
        return torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(mask))[None]


def negatives_summary(train: SegmentationDataset, val: Sequence[Sample], report: bool) -> dict[str, int]:
    """The negatives a run trains on (``train``'s) and validates on (of ``val``), for ``config.json``'s data
    summary; ``report``: log them in one line."""
    out = {
        "train_negatives": len(train.negatives),
        "negatives_per_epoch": train.per_epoch,
        "val_negatives": sum(s.kind == NEGATIVE for s in val),
    }
    if report:
        drawn = "all of them each epoch"
        if train.per_epoch < len(train.negatives):
            drawn = f"{train.per_epoch} drawn afresh each epoch: one for every three subject photos, rounded up"
        log.info(
            "negatives: %d for training (%s), %d for validation", len(train.negatives), drawn, out["val_negatives"]
        )
    return out
