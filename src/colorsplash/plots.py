"""Figures written into a run folder (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage.segmentation import mark_boundaries  # noqa: E402

from colorsplash.data import IGNORE  # noqa: E402


def _save(fig: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=90, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def plot_curves(history: Sequence[dict[str, float]], path: Path) -> None:
    """Loss (train and validation) and validation IoU per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax1.legend()
    ax2.plot(epochs, [h["val_iou"] for h in history], "o-", color="tab:green")
    ax2.set(xlabel="epoch", ylabel="IoU", title="Validation IoU", ylim=(0, 1))
    ax2.grid(alpha=0.3)
    _save(fig, path)


def _montage(images: Sequence[np.ndarray]) -> np.ndarray:
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w = images[0].shape[:2]
    out = np.zeros((rows * h, cols * w) + images[0].shape[2:], dtype=images[0].dtype)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = im
    return out


def _outlined(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (mark_boundaries(image, (mask == 1).astype(int), color=(1, 1, 0)) * 255).astype(np.uint8)


def save_overview(dataset: Any, path: Path, count: int = 8) -> None:
    """The seed's montage of one augmented batch: images | masks | subjects outlined."""
    pairs = [dataset.raw(i) for i in range(min(count, len(dataset)))]
    images = [p[0] for p in pairs]
    masks = [np.where(p[1] == IGNORE, 128, p[1] * 255).astype(np.uint8) for p in pairs]
    outlined = [_outlined(im, m) for im, (_, m) in zip(images, pairs, strict=True)]
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    for ax, img, title in zip(axes, (_montage(images), _montage(masks), _montage(outlined)),
                              ("Images", "Masks", "Subjects outlined"), strict=True):
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.set_title(title)
        ax.axis("off")
    _save(fig, path)


def save_val_predictions(dataset: Any, probs: Sequence[np.ndarray], path: Path, count: int = 6) -> None:
    """Validation image | true mask | predicted probability, one row per image."""
    n = min(count, len(probs))
    if n == 0:
        return
    fig, axes = plt.subplots(n, 3, figsize=(9, 3 * n), squeeze=False)
    for i in range(n):
        image, mask = dataset.images[i], dataset.masks[i]
        for ax, img, title in zip(axes[i], (image, np.where(mask == IGNORE, 0.5, mask), probs[i]),
                                  ("image", "truth", "prediction"), strict=True):
            ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
    _save(fig, path)
