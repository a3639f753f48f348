"""Before/after crops at 200 % of the edge stage on Oxford photos, for the docs (not a test).

Before: today's pipeline (``edges="fast"``, plain blend of the observed pixel). After: the matte stage and the
decontaminated blend (``edges="matte"``, :func:`colorsplash.runtime.effects.composite`). Each crop is the
``--size`` px square where the two splashes differ most, enlarged 2x without smoothing, before on the left.

Usage::

    python bench/edge_crops.py [--names Abyssinian_106,Bengal_110,Abyssinian_170] [--out docs/img]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from shared_data import SHARED_DATA

from colorsplash.runtime.edges.alpha import model_alpha
from colorsplash.runtime.effects import apply_effect, composite
from colorsplash.runtime.model.onnx_model import load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import read_photo
from colorsplash.runtime.pictures.photo_write import write_image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = SHARED_DATA / "oxford-pets" / "images"


def most_changed(before: np.ndarray, after: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` square where the two pictures differ most (sum of RGB distances)."""
    diff = np.abs(before.astype(np.float32) - after.astype(np.float32)).sum(axis=2)
    score = cv2.boxFilter(diff, -1, (size, size), normalize=False, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    h, w = diff.shape
    score = score[: max(1, h - size + 1), : max(1, w - size + 1)]
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(y), int(x)


def crops(name: str, size: int, out: Path) -> Path:
    model = load_model(None)
    rgb = read_photo(PHOTOS / f"{name}.jpg").rgb
    before = apply_effect(rgb, model_alpha(model, rgb, SplashOptions(edges="fast")).alpha, "grey")
    matte = SplashOptions(edges="matte")
    after = composite(rgb, model_alpha(model, rgb, matte).alpha, matte)
    y, x = most_changed(before, after, size)
    pair = [
        cv2.resize(p[y : y + size, x : x + size], None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
        for p in (before, after)
    ]
    gap = np.full((pair[0].shape[0], 6, 3), 255, np.uint8)
    path = out / f"edges-{name}.png"
    write_image(path, np.concatenate([pair[0], gap, pair[1]], axis=1), "PNG")
    print(f"{path}: {name} at x={x}, y={y}, {size} px square, 200 %")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", default="Abyssinian_106,Bengal_110,Abyssinian_170")
    parser.add_argument("--size", type=int, default=96, help="crop side in photo pixels")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names.split(","):
        crops(name, args.size, args.out)


if __name__ == "__main__":
    main()
