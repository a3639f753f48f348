"""Figures written into a run folder (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

from colorsplash.evaluation.datasets import IGNORE  # noqa: E402
from colorsplash.runtime.files import LOST_WRITES, atomic_path  # noqa: E402


def _opens(written: Path) -> None:
    """Re-open a PNG just written, decoding it whole; ``OSError`` if it does not (then it is not published)."""
    try:
        with Image.open(written) as picture:
            picture.load()
    except (OSError, SyntaxError, ValueError) as err:  # UnidentifiedImageError is an OSError
        raise OSError(f"the figure written does not read back ({err}); {LOST_WRITES}") from err


def _save(fig: Any, path: Path, replace: bool = True) -> None:
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        with atomic_path(path, _opens if fmt == "png" else None, replace=replace) as tmp:
            fig.savefig(tmp, dpi=90, bbox_inches="tight", format=fmt)
    finally:
        plt.close(fig)


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
    for ax in (ax1, ax2):  # whole epochs: a run of 3 was drawn with ticks at epoch 1.5 and 2.5
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)


def _montage(images: Sequence[np.ndarray]) -> np.ndarray:
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w = images[0].shape[:2]
    out = np.zeros((rows * h, cols * w) + images[0].shape[2:], dtype=images[0].dtype)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * h : (r + 1) * h, c * w : (c + 1) * w] = im
    return out


def _outlined(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (255, 255, 0)) -> np.ndarray:
    """RGB uint8 ``HxWx3`` with the subject's (``mask == 1``) boundary drawn in ``color`` (RGB, default yellow)."""
    # OpenCV instead of skimage.mark_boundaries: scikit-image is a dev dependency, not a training one.
    subject = (mask == 1).astype(np.uint8)
    edge = cv2.morphologyEx(subject, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    out = image.copy()
    out[edge] = color
    return out


def save_overview(dataset: Any, path: Path, count: int = 8) -> None:
    """The seed's montage of one augmented batch: images | masks | subjects outlined. With copy-paste on, half
    are pet-free photos with a pasted pet (``dataset.overview_indices``)."""
    indices = dataset.overview_indices(count) if hasattr(dataset, "overview_indices") else range(count)
    pairs = [
        dataset.raw(i, force_paste=True) if getattr(dataset, "paster", None) is not None else dataset.raw(i)
        for i in indices
        if i < len(dataset)
    ]
    images = [p[0] for p in pairs]
    masks = [np.where(p[1] == IGNORE, 128, p[1] * 255).astype(np.uint8) for p in pairs]
    outlined = [_outlined(im, m) for im, (_, m) in zip(images, pairs, strict=True)]
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    for ax, img, title in zip(
        axes,
        (_montage(images), _montage(masks), _montage(outlined)),
        ("Images", "Masks", "Subjects outlined"),
        strict=True,
    ):
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
        for ax, img, title in zip(
            axes[i],
            (image, np.where(mask == IGNORE, 0.5, mask), probs[i]),
            ("image", "truth", "prediction"),
            strict=True,
        ):
            ax.imshow(img, cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=1)
            ax.set_title(title)
            ax.axis("off")
    _save(fig, path)


def _display_size(image: np.ndarray, longest: int = 320) -> np.ndarray:
    h, w = image.shape[:2]
    scale = longest / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_NEAREST)


def save_gallery(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], path: Path, replace: bool = True
) -> None:
    """One row per ``(title, RGB uint8 HxWx3 image, uint8 HxW truth 0/1/IGNORE, bool HxW prediction)``:
    image with the predicted outline | truth | prediction. Pictures are shrunk for display only; an existing
    ``path`` is replaced only with ``replace``."""
    fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.2 * len(rows)), squeeze=False)
    for ax_row, (title, image, truth, pred) in zip(axes, rows, strict=True):
        shown = _outlined(image, pred.astype(np.uint8))
        truth_grey = np.where(truth == IGNORE, 128, truth * 255).astype(np.uint8)
        panels = (shown, truth_grey, pred.astype(np.uint8) * 255)
        for ax, img, label in zip(ax_row, panels, (title, "truth", "prediction"), strict=True):
            ax.imshow(_display_size(img), cmap=None if img.ndim == 3 else "gray", vmin=0, vmax=255)
            ax.set_title(label, fontsize=9)
            ax.axis("off")
    _save(fig, path, replace)
