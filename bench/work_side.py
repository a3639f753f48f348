"""How the edge stages' quality depends on the working copy's size (``RefineSettings.work_side``).

The edge stages compute their coefficients on a reduced copy of the photo and bring them to full size guided by the
photo itself (a "fast guided filter"): the larger the photo against ``work_side``, the coarser the coefficients.
This measures what that costs on the 27 photos of ``../shared/data/alphamatting`` (true alphas), each at its own
size (about 800 px) and enlarged ``--scale`` times (bicubic, so about 2400 px at 3), given the true alpha degraded
as a model would see it: area-reduced to the model's input size (``--model-side``, 384 px), blurred (sigma 1
model pixel) and moved by one model pixel.

Figures against the true alpha, whole photo, for each edge stage and working size: SAD (sum of absolute
differences / 1000, at the photo's own size: enlarged photos' sums are divided by ``scale**2``), MSE (x 1000),
pixels misclassified at 0.5 (% of the band where the true alpha is neither 0 nor 1, dilated by 1 % of the long side),
and the time of :func:`colorsplash.runtime.edges.alpha.compute_alpha` (ms, median).

``--colour-scales`` also compares the fast stage's colour estimates on copies of that many times the model's
input (``RefineSettings.colour_scale``; never larger than the working copy).

Usage::

    python bench/work_side.py [--sides 1024,768,512] [--colour-scales 2,1] [--scale 3] [--photos 27] [--square]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from shared_data import SHARED_DATA

from colorsplash.runtime.edges.alpha import RefineSettings, compute_alpha
from colorsplash.runtime.options import SplashOptions

DATA = SHARED_DATA / "alphamatting"


def degraded(true: np.ndarray, side: int, square: bool = False) -> np.ndarray:
    """The true alpha as a model's probability: reduced to ``side`` px (the model's input; ``square``: stretched
    to ``side x side`` as the bundled model's map is), blurred and moved by one model pixel."""
    h, w = true.shape
    s = side / max(h, w)
    size = (side, side) if square else (max(1, round(w * s)), max(1, round(h * s)))
    small = cv2.resize(true, size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    return np.roll(small, (1, 1), axis=(0, 1)).astype(np.float32)


def figures(alpha: np.ndarray, true: np.ndarray, scale: int) -> tuple[float, float, float]:
    """(SAD / 1000 at the photo's own size, MSE x 1000, % of the soft band misclassified at 0.5)."""
    diff = np.abs(alpha - true)
    soft = ((true > 0.02) & (true < 0.98)).astype(np.uint8)
    k = max(3, round(0.01 * max(true.shape)) * 2 + 1)
    band = cv2.dilate(soft, np.ones((k, k), np.uint8)).astype(bool)
    wrong = ((alpha >= 0.5) != (true >= 0.5)) & band
    return float(diff.sum() / 1000 / scale**2), float((diff**2).mean() * 1000), float(100 * wrong.sum() / band.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sides", default="1024,768,512", help="working sizes to compare (long side, px)")
    parser.add_argument("--scale", type=int, default=3, help="also enlarge each photo this many times (1: skip)")
    parser.add_argument("--photos", type=int, default=27)
    parser.add_argument("--model-side", type=int, default=384, help="the model's input size (bundled: 384)")
    parser.add_argument(
        "--colour-scales", default="2,1", help="RefineSettings.colour_scale values for the fast stage (comma-separated)"
    )
    parser.add_argument(
        "--square", action="store_true", help="the model's map stretched to a square, as the bundled model gives it"
    )
    args = parser.parse_args()
    sides = [int(s) for s in args.sides.split(",")]
    variants = [("fast", side, float(c)) for side in sides for c in args.colour_scales.split(",")]
    variants += [("matte", side, RefineSettings().colour_scale) for side in sides]  # the matte ignores it
    names = sorted(p.name for p in (DATA / "images").iterdir())[: args.photos]
    scales = [1] if args.scale <= 1 else [1, args.scale]
    for scale in scales:
        rows: dict[tuple[str, int, float], list[tuple[float, float, float, float]]] = {}
        for name in names:
            rgb = cv2.imread(str(DATA / "images" / name), cv2.IMREAD_COLOR_RGB)
            true = cv2.imread(str(DATA / "alpha" / name), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
            if scale > 1:
                size = (rgb.shape[1] * scale, rgb.shape[0] * scale)
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
                true = np.clip(cv2.resize(true, size, interpolation=cv2.INTER_CUBIC), 0, 1)
            prob = degraded(true, args.model_side, args.square)
            for edges, side, colour in variants:
                options = SplashOptions(edges=edges)
                settings = RefineSettings(work_side=side, colour_scale=colour)
                t = time.perf_counter()
                alpha = compute_alpha(rgb, prob, options, settings).alpha
                ms = (time.perf_counter() - t) * 1000
                rows.setdefault((edges, side, colour), []).append((*figures(alpha, true, scale), ms))
        h, w = rgb.shape[:2]
        print(f"photos x{scale} (last {w}x{h}), {len(names)} photos: SAD, MSE x1000, % band misclassified, ms")
        for (edges, side, colour), vals in rows.items():
            sad, mse, wrong = (statistics.mean(v[k] for v in vals) for k in range(3))
            ms = statistics.median(v[3] for v in vals)
            print(
                f"  edges={edges:5s} work_side={side:4d} colour_scale={colour:3.1f}: SAD {sad:6.2f}  MSE {mse:6.2f}  "
                f"band wrong {wrong:5.2f} %  {ms:6.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
