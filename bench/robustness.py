"""How well models hold up on degraded photos: the validation images of bench/peers.py, each degraded a few ways.

Users' photos are not the clean, sharp photos of the training sets: phone shots are blurred, web copies are
small and re-compressed, evenings are dark. This script scores each model (``.onnx`` or ``.pt``, see
:func:`colorsplash.training.predictors.load_predictor`) on the clean validation photos and on copies that are

- ``jpeg30``: re-encoded as JPEG at quality 30;
- ``small0.3``: shrunk to 30 % of each side (area average) and enlarged back (bilinear), like an upscaled thumbnail;
- ``blur2``: Gaussian-blurred with sigma 2 px;
- ``dark0.4``: multiplied by 0.4 (under-exposed).

The degradation is applied to the photo only; the mask and the scoring (foreground IoU at the original
resolution, Oxford border pixels ignored) are those of :mod:`colorsplash.evaluation.evaluate`.
Prints one row per model and
condition with the mean IoU per data set.

Usage::

    python bench/robustness.py [MODEL ...] [--data ../shared/data] [--limit N]

With no model, the bundled one is scored.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from peers import DEFAULT_DATA, SET_NAMES, validation_sets

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation import metrics
from colorsplash.training.predictors import load_predictor


def jpeg(image: np.ndarray, quality: int = 30) -> np.ndarray:
    """RGB uint8 -> the same photo after a JPEG round trip at ``quality`` (RGB uint8)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def small(image: np.ndarray, factor: float = 0.3) -> np.ndarray:
    h, w = image.shape[:2]
    tiny = cv2.resize(image, (max(8, round(w * factor)), max(8, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(tiny, (w, h), interpolation=cv2.INTER_LINEAR)


def blur(image: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma)


def dark(image: np.ndarray, gain: float = 0.4) -> np.ndarray:
    return (image.astype(np.float32) * gain).astype(np.uint8)


CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda image: image, "jpeg30": jpeg, "small0.3": small, "blur2": blur, "dark0.4": dark}


def load_sets(root: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(set name, RGB uint8 photo, uint8 mask) for every photo of :func:`peers.validation_sets`."""
    return [(name, *data.load_pair(sample)) for name, samples in validation_sets(root, limit).items()
            for sample in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help=".onnx or .pt files (default: the bundled model)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="at most N photos per data set")
    args = parser.parse_args()
    photos = load_sets(args.data, args.limit)
    print(f"{len(photos)} validation photos from {args.data}")
    print(f"{'condition':<10} {'model':<40} " + " ".join(f"{s:>12}" for s in SET_NAMES))
    for model in args.models or [None]:
        predict, _, path = load_predictor(model)
        for condition, degrade in CONDITIONS.items():
            scores: dict[str, list[float]] = {s: [] for s in SET_NAMES}
            for name, image, mask in photos:
                scores[name].append(metrics.iou(predict(degrade(image)), mask))
            means = (np.mean(scores[s]) if scores[s] else float("nan") for s in SET_NAMES)
            print(f"{condition:<10} {str(path)[-40:]:<40} " + " ".join(f"{m:>12.4f}" for m in means), flush=True)


if __name__ == "__main__":
    main()
