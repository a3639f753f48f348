"""How well models hold up on degraded photos: the validation images of bench/peers.py, each degraded a few ways.

Users' photos are not the clean, sharp photos of the training sets: phone shots are blurred, web copies are
small and re-compressed, evenings are dark. This script scores each model (``.onnx`` or ``.pt``, see
:func:`colorsplash.training.predictors.load_predictor`) on the clean validation photos and on copies that are

- ``jpeg30``: re-encoded as JPEG at quality 30;
- ``small0.3``: shrunk to 30 % of each side (area average) and enlarged back (bilinear), like an upscaled thumbnail;
- ``blur2``: Gaussian-blurred with sigma 2 px;
- ``dark0.4``: multiplied by 0.4 (under-exposed).

The degradation is applied to the photo only; the mask and the scoring (foreground IoU at the original
resolution, Oxford border pixels ignored; on pet-free photos the share of photos over 1 % coloured and the mean
coloured share) are those of ``bench/peers.py``, and so are the sets (``unseen breeds`` and ``pet-free`` where the
data root has them). Models answer as in ``bench/peers.py`` (nothing coloured when the subject score is under the
model's threshold; a ``.pt`` checkpoint too, through :func:`~colorsplash.training.predictors.gated`, which before
scored it ungated). Prints one row per model and condition with the figure per data set.

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
from peers import DEFAULT_DATA, ours_predictor, photo_score, summarize, validation_sets
from shared_data import bad_data_exits

from colorsplash.evaluation import datasets as data
from colorsplash.runtime.model.onnx_model import default_model_path
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
    "clean": lambda image: image,
    "jpeg30": jpeg,
    "small0.3": small,
    "blur2": blur,
    "dark0.4": dark,
}


def load_sets(root: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(set name, RGB uint8 photo, uint8 mask) for every photo of :func:`peers.validation_sets`."""
    sets = validation_sets(root, limit)
    with bad_data_exits():
        return [(name, *data.load_pair(sample)) for name, samples in sets.items() for sample in samples]


def predictor(model: str | None) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """``.onnx`` (or the bundled model): as bench/peers.py runs ours; ``.pt``: the evaluate predictor (gated alike)."""
    if model is None or str(model).endswith(".onnx"):
        _, predict = ours_predictor(model) if model is not None else ours_predictor(default_model_path())
        return predict, str(model or default_model_path())
    predict, _, path = load_predictor(model)
    return predict, str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help=".onnx or .pt files (default: the bundled model)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="at most N photos per data set")
    args = parser.parse_args()
    photos = load_sets(args.data, args.limit)
    set_names = list(dict.fromkeys(name for name, _, _ in photos))
    print(f"{len(photos)} validation photos from {args.data}")
    print(f"{'condition':<10} {'model':<40} " + " ".join(f"{s:>16}" for s in set_names))
    for model in args.models or [None]:
        predict, path = predictor(model)
        for condition, degrade in CONDITIONS.items():
            scores: dict[str, list[float]] = {s: [] for s in set_names}
            for name, image, mask in photos:
                scores[name].append(photo_score(name, predict(degrade(image)), mask))
            cells = (summarize(s, scores[s]) for s in set_names)
            print(f"{condition:<10} {path[-40:]:<40} " + " ".join(f"{c:>16}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
