"""Audit a scenes set's pet-free photos for unlabelled pets: a model's guess, to be checked by eye.

For each photo with no labelled cat or dog: the ImageNet probability of any cat or dog class from the
EfficientNet-Lite1 classifier (the encoder the pet model is built on, at 240 px), and the share of the frame the
given pet model colours. Writes a TSV sorted by the ImageNet guess and a contact sheet of the top photos with their
ids on them; the photos that truly show a pet go into ``src/colorsplash/evaluation/excluded.tsv`` by hand.

    python bench/audit_scenes.py ../shared/data/coco-scenes -o runs/audit --top 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from shared_data import bad_data_exits, extra_needed

from colorsplash.evaluation.datasets import discover, is_subject_free
from colorsplash.runtime.model.onnx_model import load_model
from colorsplash.runtime.pictures.photo_io import read_rgb

with extra_needed("train", __name__):
    import torch

    from colorsplash.training.networks import EfficientNetLite
    from colorsplash.training.pretrained import load_imagenet_encoder

DOG_CLASSES, CAT_CLASSES = range(151, 269), range(281, 286)  # ImageNet-1k: dog breeds; domestic cats


def imagenet_pet_probability(net: EfficientNetLite, image: np.ndarray) -> float:
    """P(any ImageNet dog or domestic-cat class) of an RGB uint8 photo, resized to 240x240."""
    x = (cv2.resize(image, (240, 240), interpolation=cv2.INTER_AREA).astype(np.float32) - 127.0) / 128.0
    with torch.no_grad():
        prob = torch.softmax(net(torch.from_numpy(x.transpose(2, 0, 1))[None]), 1)[0]
    return float(prob[list(DOG_CLASSES) + list(CAT_CLASSES)].sum())


def contact_sheet(rows: list[tuple[float, float, str, Path]], path: Path, side: int = 220, cols: int = 6) -> None:
    """Thumbnails of ``rows`` with ``rank:id p`` written on each (PNG)."""
    n = len(rows)
    canvas = np.full(((n + cols - 1) // cols * side, cols * side, 3), 255, np.uint8)
    for k, (guess, _, name, image_path) in enumerate(rows):
        im = cv2.imread(str(image_path))
        h, w = im.shape[:2]
        s = side / max(h, w)
        im = cv2.resize(im, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        y, x = (k // cols) * side, (k % cols) * side
        canvas[y : y + im.shape[0], x : x + im.shape[1]] = im
        cv2.rectangle(canvas, (x, y), (x + 150, y + 16), (255, 255, 255), -1)
        cv2.putText(canvas, f"{k}:{name} {guess:.2f}", (x + 2, y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 200), 1)
    cv2.imwrite(str(path), canvas)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a scenes set (images/ + masks/ + objects.tsv)")
    ap.add_argument("-o", "--out", required=True, help="folder for audit.tsv and audit.png")
    ap.add_argument("--model", default=None, help="pet model .onnx (default: the bundled one)")
    ap.add_argument("--top", type=int, default=60, help="photos on the contact sheet")
    args = ap.parse_args()
    torch.set_num_threads(1)
    net = EfficientNetLite("lite1").eval()
    load_imagenet_encoder(net, "lite1", with_head=True)
    pet_model = load_model(args.model, threads=1)
    with bad_data_exits():  # a photo without its mask: one line naming it, no traceback
        samples = discover(args.data)
    rows = []
    for sample in samples:
        if not is_subject_free(sample):
            continue
        image = read_rgb(sample.image)
        coloured = float((pet_model.predict_probability(image) >= 0.5).mean())
        rows.append((imagenet_pet_probability(net, image), coloured, sample.name, sample.image))
    rows.sort(key=lambda r: -r[0])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["imagenet_pet\tcoloured\tname"] + [f"{g:.4f}\t{c:.4f}\t{n}" for g, c, n, _ in rows]
    (out / "audit.tsv").write_text("\n".join(lines) + "\n")
    contact_sheet(rows[: args.top], out / "audit.png")
    print(f"{len(rows)} pet-free photos; wrote {out / 'audit.tsv'} and {out / 'audit.png'}")


if __name__ == "__main__":
    main()
