"""Which photo-level "is there a pet?" score separates pet photos from pet-free ones best, and its threshold.

Scores compared on the validation sets of bench/peers.py (pet photos: feral valid, Oxford val, unseen breeds;
pet-free: the held-out coco-scenes photos; :func:`colorsplash.evaluation.pet_validation.validation_sets`), each
thresholded so that 98 % of the pet photos still pass (:func:`colorsplash.evaluation.presence.choose_threshold`;
the scores: :func:`colorsplash.evaluation.presence.gate_scores`, as the ``pets`` recipe's last step scores its
PyTorch model):

- ``head``: the model's presence output (ONNX output ``presence``), when the file has one;
- ``max``: the highest pixel probability (the rule older one-output files use);
- ``area``: the share of the model's input pixels at probability >= 0.5.

With ``--checkpoint IN.pt --write OUT.pt`` the threshold of ``--rule`` (``head``, or ``max`` for a model without a
presence output, whose runtime score is its highest probability) is stored in a copy of the checkpoint's config
(``ModelConfig.presence_threshold``, recorded as the recipe records it:
:func:`colorsplash.training.calibration.store_threshold`), to be exported with ``colorsplash export OUT.pt ...``.

    python bench/presence.py MODEL.onnx [--data ../shared/data] [--checkpoint best.pt --write calibrated.pt]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from peers import DEFAULT_DATA, validation_sets
from shared_data import bad_data_exits

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation.presence import PET_RECALL, GateReport, calibration_record, gate_scores, judge
from colorsplash.runtime.model.onnx_model import load_model


def scores(
    model_path: Path, sets: dict[str, list[data.Sample]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per rule, the scores of the pet photos and of the pet-free photos of ``sets``."""
    model = load_model(model_path, threads=2)

    def predict(image: np.ndarray) -> tuple[np.ndarray, float | None]:
        prob, score = model.predict_scored(image)
        return prob, score if model.has_presence else None

    found = gate_scores(predict, sets)
    return found.pets, found.free


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", type=Path, help="an exported .onnx")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--checkpoint", type=Path, help="the .pt the .onnx was exported from (with --write)")
    ap.add_argument("--write", type=Path, help="save the checkpoint here with the rule's threshold in its config")
    ap.add_argument(
        "--rule",
        choices=("head", "max"),
        default="head",
        help="the score the runtime uses: head (a presence output) or max (files without one)",
    )
    ap.add_argument(
        "--recall",
        type=float,
        default=None,
        help="share of validation pet photos that must pass the written threshold (default: the issue's bar, 0.98)",
    )
    args = ap.parse_args()
    sets = validation_sets(args.data, args.limit)
    with bad_data_exits():  # gate_scores reads every pair
        pets, free = scores(args.model, sets)
    reports: list[GateReport] = [judge(rule, pets[rule], free[rule]) for rule in pets if pets[rule]]
    print(f"{len(pets['max'])} pet photos, {len(free['max'])} pet-free photos")
    print("| score | threshold | pet photos passing | pet-free photos rejected |\n|---|---|---|---|")
    for r in reports:
        print(f"| {r.rule} | {r.threshold:.4f} | {100 * r.pet_recall:.1f} % | {100 * r.pet_free_rejected:.1f} % |")
    for recall in (0.99, 1.0):  # stricter than the bar: what more pet photos passing costs
        for rule in (r.rule for r in reports):
            x = judge(rule, pets[rule], free[rule], recall)
            print(
                f"| {x.rule} (recall {recall:.2f}) | {x.threshold:.4f} | {100 * x.pet_recall:.1f} % | "
                f"{100 * x.pet_free_rejected:.1f} % |"
            )
    if args.write is not None:
        head = next((r for r in reports if r.rule == args.rule), None)
        if head is None or args.checkpoint is None:
            raise SystemExit(f"--write needs --checkpoint and a model with the {args.rule!r} score")
        recall = PET_RECALL if args.recall is None else args.recall
        if args.recall is not None:
            head = judge(args.rule, pets[args.rule], free[args.rule], args.recall)
        from colorsplash.training.calibration import store_threshold
        from colorsplash.training.checkpoint import read_checkpoint

        payload = read_checkpoint(args.checkpoint)
        store_threshold(payload, calibration_record(head, recall, sets, str(args.model)), args.write)
        print(f"wrote {args.write} (presence_threshold {head.threshold:.4f})")


if __name__ == "__main__":
    main()
