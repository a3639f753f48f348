"""Issue 13's targets against one model's per-set scores, with how precisely the sets measure them.

Reads a ``bench/peers.py --json`` result and prints, per validation set, the mean (for ``pet-free``: the share of
photos with more than 1 % of the frame coloured), its 95 % bootstrap interval over the photos (seeded; the
interval of the mean score, :func:`colorsplash.evaluation.metrics.paired_bootstrap` against zeros), the median,
and the target with a verdict: ``met`` or ``not met`` when the whole interval lies on one side of it, else
``within the set's noise`` (the set is too small to tell, though the mean says which side it is on).

    python bench/targets.py result.json [--model NAME]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from compare import LEVEL, ROUNDS, model_scores
from peers import PET_FREE

from colorsplash.evaluation.metrics import paired_bootstrap

# issue 13: mean IoU at least this on the pet sets; at most this share of pet-free photos more than 1 % coloured
TARGETS = {"feral valid": 0.88, "Oxford val": 0.95, "unseen breeds": 0.94, PET_FREE: 0.05}
COLOURED = 0.01  # a pet-free photo counts as coloured above this share of its frame


def target_line(set_name: str, scores: list[float]) -> str:
    """One table row: the set's statistic, its interval, median and the verdict against its target."""
    values = np.asarray(scores, np.float64)
    lower_is_better = set_name == PET_FREE
    if lower_is_better:
        values = (values > COLOURED).astype(np.float64)
    mean, low, high = paired_bootstrap(np.zeros_like(values), values, ROUNDS, LEVEL)
    target = TARGETS.get(set_name)
    if target is None:
        verdict = "no target"
    elif (high < target) if lower_is_better else (low >= target):
        verdict = "met"
    elif (low > target) if lower_is_better else (high < target):
        verdict = "not met"
    else:
        side = "meets" if (mean <= target if lower_is_better else mean >= target) else "misses"
        verdict = f"within the set's noise (the mean {side} it)"
    shown = "n/a" if target is None else (f"<= {target:.0%}" if lower_is_better else f">= {target}")
    stat = f"{mean:.1%} [{low:.1%}, {high:.1%}]" if lower_is_better else f"{mean:.3f} [{low:.3f}, {high:.3f}]"
    median = "" if lower_is_better else f"{np.median(values):.3f}"
    return f"| {set_name} | {values.size} | {stat} | {median} | {shown} | {verdict} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("result", type=Path, help="a peers.py --json result")
    ap.add_argument("--model", default=None, help="part of the model's name, when the file holds several")
    args = ap.parse_args()
    name, scores = model_scores(args.result, args.model, "--model")
    print(f"{name} ({args.result})\n")
    print(f"| set | photos | mean [{LEVEL:.0%} interval] | median | target | verdict |\n|---|---|---|---|---|---|")
    for set_name, per_photo in scores.items():
        print(target_line(set_name, list(per_photo.values())))
    print(f"\n(pet-free: the share of photos with more than {COLOURED:.0%} coloured; {ROUNDS} bootstrap rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
