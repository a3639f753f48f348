"""Audit a labelled pet set for wrong labels: a model's guess, to be checked by eye.

For each photo: the share of the labelled pet's area where the model is sure of the opposite (probability above
0.9 on pixels labelled background: a pet part marked background, or an unlabelled second pet; below 0.1 on pixels
labelled pet: background marked pet), at the photo's resolution, border pixels not counted. Writes a TSV sorted by
the larger share and a gallery (photo with the model's outline | label | model) of the top photos; the labels that
truly are wrong go into ``src/colorsplash/evaluation/excluded.tsv`` by hand, with the reason. ``--names`` draws
the gallery of the photos named instead (excluded ones included, titled with their reason), as in the model card.

    python bench/audit_labels.py ../shared/data/oxford-breeds -o runs/audit-breeds --top 16
    python bench/audit_labels.py ../shared/data/oxford-breeds -o docs/img --names Russian_Blue_112 leonberger_167
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from shared_data import bad_data_exits, extra_needed

from colorsplash.evaluation.datasets import Sample, base_set, discover, load_pair
from colorsplash.evaluation.exclusions import excluded_reasons
from colorsplash.runtime.model.onnx_model import Model, load_model

with extra_needed("train", __name__):
    from colorsplash.training.plots import save_gallery

SURE = 0.9  # the model's probability taken as sure of a pet (1 - SURE: sure of background)
Row = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def suspicion(model: Model, sample: Sample) -> tuple[float, float, Row]:
    """(share of the labelled pet area where the model is sure of a pet on labelled background, share where it is
    sure of background on labelled pet, the gallery row titled with the sample's name)."""
    image, label = load_pair(sample)
    prob = model.predict_probability(image)
    pet_area = max(1, int((label == 1).sum()))
    on_background = float(((label == 0) & (prob > SURE)).sum()) / pet_area
    on_pet = float(((label == 1) & (prob < 1 - SURE)).sum()) / pet_area
    return on_background, on_pet, (sample.name, image, label, prob >= 0.5)


def titled(row: Row, note: str) -> Row:
    """``row`` with ``note`` after the photo's name in its title."""
    return (f"{row[0]}: {note}", *row[1:])


def draw_named(model: Model, samples: list[Sample], names: list[str], out: Path) -> Path:
    """The gallery of the photos ``names`` (titled with their ``excluded.tsv`` reason), written to ``out``."""
    by_name = {s.name: s for s in samples}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SystemExit(f"no photo named {', '.join(missing)} in this set")
    reasons = excluded_reasons()
    rows = []
    for name in names:
        sample = by_name[name]
        reason = reasons.get((base_set(sample.dataset), name), "not excluded")
        rows.append(titled(suspicion(model, sample)[2], reason))
    path = out / "label-audit.png"
    save_gallery(rows, path)
    return path


def screen(model: Model, samples: list[Sample], top: int, out: Path) -> tuple[Path, Path]:
    """``audit.tsv`` (every photo, most suspect first) and ``audit.png`` (the ``top`` most suspect) in ``out``.
    Photos are scored one at a time and the top ones run again for the gallery: full-size photos of a whole set
    are not all held in memory."""
    scored = sorted(((*suspicion(model, s)[:2], s) for s in samples), key=lambda r: -max(r[0], r[1]))
    lines = ["pet_on_background\tbackground_on_pet\tname"] + [f"{b:.4f}\t{p:.4f}\t{s.name}" for b, p, s in scored]
    (out / "audit.tsv").write_text("\n".join(lines) + "\n")
    rows = [
        titled(suspicion(model, s)[2], f"sure pet on background {b:.2f}, background on pet {p:.2f}")
        for b, p, s in scored[:top]
    ]
    save_gallery(rows, out / "audit.png")
    return out / "audit.tsv", out / "audit.png"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="a labelled pet set (oxford or paired layout)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="folder for audit.tsv and the gallery")
    ap.add_argument("--model", default=None, help="pet model .onnx (default: the bundled one)")
    ap.add_argument("--top", type=int, default=16, help="photos in the gallery")
    ap.add_argument("--names", nargs="+", default=None, help="draw these photos instead of screening the set")
    args = ap.parse_args()
    model = load_model(args.model, threads=1)
    args.out.mkdir(parents=True, exist_ok=True)
    with bad_data_exits():  # a set without a mask for a photo, or a pair it cannot read
        if args.names:
            path = draw_named(model, discover(args.data, keep_excluded=True), args.names, args.out)
            print(f"wrote {path} ({len(args.names)} photos)")
            return
        samples = discover(args.data)
        tsv, png = screen(model, samples, args.top, args.out)
    print(f"{len(samples)} photos; wrote {tsv} and {png}")


if __name__ == "__main__":
    main()
