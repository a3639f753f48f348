"""Failure gallery on everyday photos: the pet-free validation photos a model colours most, and pets with people
(coco-scenes photos the audit found a pet in, with hands and people around it; no pet mask exists for them, so
their truth panel is grey), as the product answers (nothing coloured when the subject score is under the model's
threshold).

    python bench/scene_gallery.py [--model M.onnx] [--data ../shared/data] -o docs/img/scenes-gallery.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from peers import DEFAULT_DATA, PET_FREE, ours_predictor, validation_sets
from shared_data import bad_data_exits, extra_needed

from colorsplash.evaluation import datasets as data
from colorsplash.runtime.model.onnx_model import default_model_path
from colorsplash.runtime.pictures.photo_io import read_rgb

with extra_needed("train", __name__):
    from colorsplash.training.plots import save_gallery

# Audited coco-scenes photos (excluded from the pet-free sets) where a pet is held by or beside people.
WITH_PEOPLE = ("000000309484", "000000375278", "000000279278")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--worst", type=int, default=5, help="pet-free photos shown (most coloured first)")
    ap.add_argument("--pets", type=int, default=3, help="photos of pets with people shown")
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args()
    _, predict = ours_predictor(args.model or default_model_path())
    rows = []
    free = []
    sets = validation_sets(args.data)
    if PET_FREE not in sets:
        raise SystemExit(f"no coco-scenes under {args.data}: this gallery shows its pet-free photos (pass --data DIR)")
    for sample in sets[PET_FREE]:
        with bad_data_exits():
            image, mask = data.load_pair(sample)
        pred = predict(image) >= 0.5
        free.append((float(pred.mean()), sample.name, image, mask, pred))
    free.sort(key=lambda r: -r[0])
    for share, name, image, mask, pred in free[: args.worst]:
        rows.append((f"pet-free {name}: {100 * share:.0f} % coloured", image, mask, pred))
    for name in WITH_PEOPLE[: args.pets]:
        image = read_rgb(args.data / "coco-scenes" / "images" / f"{name}.jpg")
        pred = predict(image) >= 0.5
        unknown = np.full(image.shape[:2], data.IGNORE, np.uint8)
        rows.append((f"pet with people {name}: {100 * pred.mean():.0f} % coloured", image, unknown, pred))
    save_gallery(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
