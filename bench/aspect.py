"""Wide and tall photos: stretched to the model's square input, or padded to ``pad_aspect`` first.

The pet models were trained on photos of about 4:3 (and 3:2) stretched to a square. A 16:9 video frame or a
panorama stretched the same way squashes the subject further than any training photo. This script scores one
model with its config's ``pad_aspect`` set to each value of ``--pad`` (0: stretch every photo), on:

- **crops**: each validation pet photo cut to 3:2, 16:9, 2:1, 21:9 and 9:16 around its subject's centre (rows cut
  from a wider-than-tall photo, columns from a taller one), scored on the crop;
- **natural**: the validation photos as they are, only those outside 3:4..4:3 (the rest are the same either way).

Scores as ``peers.py``'s: gated IoU at the photo's resolution (probability upsampled bilinearly, cut at 0.5, zero
when the subject score is under the model's threshold); on pet-free photos the share coloured over 1 %.

Usage::

    python bench/aspect.py [--model M.onnx] [--pad 0,1.3333,1.5] [--limit N]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from peers import DEFAULT_DATA, photo_score, validation_sets
from shared_data import bad_data_exits

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation.pet_validation import PET_FREE
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.training.predictors import gated

CROPS = {"3:2": 1.5, "16:9": 16 / 9, "2:1": 2.0, "21:9": 21 / 9, "9:16": 9 / 16}
NATURAL = "natural"


def crop_around_subject(image: np.ndarray, mask: np.ndarray, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (RGB uint8 ``HxWx3``) and ``mask`` (``HxW``) cut to ``aspect`` (width:height) around the centre
    of the mask's subject pixels (value 1; the frame's centre without any), clamped to the frame."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask == 1)
    cy, cx = (ys.mean(), xs.mean()) if len(ys) else (h / 2, w / 2)
    if w / h < aspect:
        nh = int(round(w / aspect))
        y0 = int(np.clip(cy - nh / 2, 0, h - nh))
        return np.ascontiguousarray(image[y0 : y0 + nh]), mask[y0 : y0 + nh]
    nw = int(round(h * aspect))
    x0 = int(np.clip(cx - nw / 2, 0, w - nw))
    return np.ascontiguousarray(image[:, x0 : x0 + nw]), mask[:, x0 : x0 + nw]


def score(model: Model, set_name: str, image: np.ndarray, mask: np.ndarray) -> float:
    """``peers.py``'s score of ``model`` on one photo, its prediction gated as ``peers.py`` and ``splash`` gate it
    (:func:`~colorsplash.training.predictors.gated`)."""
    return photo_score(set_name, gated(model.predict_scored, model.presence_threshold)(image), mask)


def outside_4_3(shape: Sequence[int]) -> bool:
    h, w = shape[0], shape[1]
    return not 3 / 4 <= w / h <= 4 / 3


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="an exported .onnx (default: the bundled model)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    ap.add_argument("--pad", default="0,1.3333333,1.5", help="pad_aspect values to compare (0: stretch)")
    ap.add_argument("--limit", type=int, default=None, help="photos per set")
    args = ap.parse_args(argv)
    base = load_model(args.model, threads=2, precision="file")
    models = {
        p: dataclasses.replace(base, config=dataclasses.replace(base.config, pad_aspect=float(p)))
        for p in args.pad.split(",")
    }
    results: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for set_name, samples in validation_sets(args.data, args.limit).items():
        for sample in samples:
            with bad_data_exits():
                image, mask = data.load_pair(sample)
            views = {name: crop_around_subject(image, mask, a) for name, a in CROPS.items()}
            if outside_4_3(mask.shape):
                views[NATURAL] = (image, mask)
            for view, (img, msk) in views.items():
                if set_name != PET_FREE and not (msk == 1).any():
                    continue
                for pad, model in models.items():
                    results[(set_name, view, pad)].append(score(model, set_name, img, msk))
    print(f"model: {base.path.name} ({base.config.name}); file's pad_aspect {base.config.pad_aspect:.4f}")
    print("| set | view | photos | " + " | ".join(f"pad_aspect {p}" for p in models) + " |")
    print("|---|---|---|" + "---|" * len(models))
    for set_name, view in sorted({(s, v) for s, v, _ in results}):
        cells = []
        for pad in models:
            values = results[(set_name, view, pad)]
            shown = 100 * np.mean([v > 0.01 for v in values]) if set_name == PET_FREE else np.mean(values)
            cells.append(f"{shown:.1f} %" if set_name == PET_FREE else f"{shown:.4f}")
        print(f"| {set_name} | {view} | {len(results[(set_name, view, next(iter(models)))])} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
