"""Audit a data set for validation photos that are near-copies of training photos (the same shot exported twice or
re-augmented, as Roboflow exports do), which make the validation figure optimistic.

Each photo gets a 16x16 average hash (greyscale, area-reduced, thresholded at its mean: 256 bits); every
validation photo is paired with its nearest training photo. Writes ``copies.tsv`` (bits apart, validation photo,
nearest training photo; nearest first) and ``copies.png`` (the closest pairs side by side, bits apart written on
each). Pairs that truly are one shot go into ``src/colorsplash/evaluation/excluded.tsv`` by hand: the training copy,
so the validation set stays as the data set splits it. The set's photos already listed there are left out, so a
second run shows what is left.

    python bench/audit_copies.py ../shared/data/feral-cats -o runs/audit-copies --top 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from shared_data import bad_data_exits

from colorsplash.evaluation.datasets import Sample, discover
from colorsplash.runtime.pictures.photo_io import read_rgb

HASH_SIDE = 16


def average_hash(sample: Sample) -> np.ndarray:
    """The photo's ``HASH_SIDE**2``-bit average hash (bool), from its greyscale reduced by area."""
    grey = cv2.cvtColor(read_rgb(sample.image), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (small > small.mean()).ravel()


def nearest_training(samples: list[Sample]) -> list[tuple[int, Sample, Sample]]:
    """For every validation photo: (hash bits apart, it, its nearest training photo), nearest first."""
    train = [s for s in samples if s.split != "val"]
    val = [s for s in samples if s.split == "val"]
    if not train or not val:
        raise SystemExit("the set needs its own training and validation photos (a splits.tsv or an official list)")
    th = np.stack([average_hash(s) for s in train])
    pairs = []
    for sample in val:
        bits = (th != average_hash(sample)).sum(axis=1)
        j = int(bits.argmin())
        pairs.append((int(bits[j]), sample, train[j]))
    return sorted(pairs, key=lambda p: p[0])


def contact_sheet(pairs: list[tuple[int, Sample, Sample]], path: Path, side: int = 160, cols: int = 3) -> None:
    """The ``pairs`` side by side (validation | training), bits apart written on each (PNG)."""
    tiles = []
    for bits, val, train in pairs:
        both = [cv2.resize(cv2.imread(str(s.image)), (side, side), interpolation=cv2.INTER_AREA) for s in (val, train)]
        tile = np.hstack(both)
        cv2.putText(tile, str(bits), (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 255), 2)
        tiles.append(tile)
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(path), np.vstack(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a data set with its own split (e.g. feral-cats with splits.tsv)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="folder for copies.tsv and copies.png")
    ap.add_argument("--top", type=int, default=12, help="closest pairs on the contact sheet")
    args = ap.parse_args()
    with bad_data_exits():  # a photo without its mask: one line naming it, no traceback
        samples = discover(args.data)
    pairs = nearest_training(samples)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["bits_apart\tvalidation\tnearest_training"] + [f"{b}\t{v.name}\t{t.name}" for b, v, t in pairs]
    (args.out / "copies.tsv").write_text("\n".join(lines) + "\n")
    written = [args.out / "copies.tsv"]
    if args.top > 0:
        contact_sheet(pairs[: args.top], args.out / "copies.png")
        written.append(args.out / "copies.png")
    print(f"{len(pairs)} validation photos; wrote {' and '.join(map(str, written))}")


if __name__ == "__main__":
    main()
