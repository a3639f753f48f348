"""Stochastic weight averaging (Izmailov et al., 2018) for the last epochs of a run, via ``torch.optim.swa_utils``.

Why: once validation IoU stops rising, the weights of successive epochs wander around a flat region; their
average often sits nearer its centre and generalises better than any single epoch. Whether it pays off depends
on the run, so the average is validated and replaces ``best.pt`` only when it scores higher (on the bundled pet
model it did not: eight epochs at a constant LR of 2e-4 averaged to 0.872 validation IoU against 0.875 for the
best single epoch; see ``docs/model-card.md``). Batch-norm statistics do not average, so they are recomputed on
the training images (without augmentation) once the average is final.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn
from torch.utils.data import DataLoader

from colorsplash.training.config import TrainConfig
from colorsplash.training.torch_dataset import SegmentationDataset


def averaging(cfg: TrainConfig, epoch: int) -> bool:
    """True when epoch ``epoch`` (1-based, just finished) is one of the last ``cfg.swa_epochs`` of the run."""
    return cfg.swa_epochs > 0 and epoch > cfg.epochs - cfg.swa_epochs


class WeightAverage:
    """Uniform average of a model's weights over the epochs it is updated with."""

    def __init__(self, model: nn.Module) -> None:
        self.averaged = AveragedModel(model)

    @property
    def count(self) -> int:
        """How many weight sets are in the average."""
        return int(self.averaged.n_averaged.item())

    def update(self, model: nn.Module) -> None:
        self.averaged.update_parameters(model)

    def state_dict(self) -> dict[str, Any]:
        return self.averaged.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.averaged.load_state_dict(state)

    @torch.no_grad()
    def finalize(self, train: SegmentationDataset, batch_size: int, device: torch.device) -> nn.Module:
        """Recompute batch-norm statistics on the un-augmented training images; returns the averaged network
        (float32, in eval mode)."""
        plain = SegmentationDataset(train.images, train.masks, train.config, augmenter=None)
        loader = DataLoader(plain, batch_size=batch_size, shuffle=False)
        update_bn(loader, self.averaged, device)
        module: nn.Module = self.averaged.module
        return module.eval()
