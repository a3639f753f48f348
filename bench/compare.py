"""Is one model better than another beyond the photos' sampling noise? Paired per-photo comparison of two
``bench/peers.py --json`` results.

For each validation set both results scored (on the photos both scored, paired by name): the two means, the mean
per-photo difference with its 95 % bootstrap interval, seeded (:func:`colorsplash.evaluation.metrics.paired_bootstrap`),
the photos moved by more than 0.05 either way, and a verdict: ``better`` or ``worse`` when the interval excludes
0, else ``within noise``. On ``pet-free`` the score is the coloured share of the frame, so lower is better.

    python bench/compare.py before.json after.json [--before-model NAME] [--after-model NAME]

A file with several models (``peers.py`` with peers) needs the model's name (the table's row name, or a part of it
that no other row's name holds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from peers import PET_FREE

from colorsplash.evaluation.metrics import paired_bootstrap

MOVED = 0.05  # a photo counts as moved when its score changes by more than this
ROUNDS, LEVEL = 10000, 0.95  # bootstrap resamples and interval level


def model_scores(path: Path, name: str | None, flag: str) -> tuple[str, dict[str, dict[str, float]]]:
    """(model name, ``{set: {photo: score}}``) of the model in a ``peers.py --json`` file (the only one, the one
    named ``name`` in full, or the one whose name contains ``name``: ``ours (X)`` is part of its edge rows' names,
    ``ours (X), edges=fast``). Exits saying to pass ``flag`` (the option that sets ``name``) when that is not one
    model."""
    models: list[dict[str, Any]] = json.loads(path.read_text())["models"]
    chosen = [m for m in models if m["name"] == name] or [m for m in models if name is None or name in m["name"]]
    if len(chosen) != 1:
        names = ", ".join(m["name"] for m in models)
        raise SystemExit(f"{path}: pick one model of {names} ({flag}: part of its name)")
    return chosen[0]["name"], chosen[0]["per_image_iou"]


def compare_set(set_name: str, before: dict[str, float], after: dict[str, float]) -> str:
    """One table row for a set: photos, means, difference and interval, photos moved, verdict."""
    photos = sorted(before.keys() & after.keys())
    a, b = [before[p] for p in photos], [after[p] for p in photos]
    mean, low, high = paired_bootstrap(a, b, ROUNDS, LEVEL)
    lower_is_better = set_name == PET_FREE
    up = sum(y - x > MOVED for x, y in zip(a, b, strict=True))
    down = sum(x - y > MOVED for x, y in zip(a, b, strict=True))
    better, worse = (down, up) if lower_is_better else (up, down)
    verdict = "within noise"
    if low > 0 or high < 0:
        verdict = "better" if (low > 0) != lower_is_better else "worse"
    return (
        f"| {set_name} | {len(photos)} | {sum(a) / len(a):.4f} | {sum(b) / len(b):.4f} | {mean:+.4f} "
        f"[{low:+.4f}, {high:+.4f}] | {better} / {worse} | {verdict} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path, help="peers.py --json result of the reference model")
    ap.add_argument("after", type=Path, help="peers.py --json result of the candidate")
    ap.add_argument("--before-model", default=None, help="part of the reference model's name, when several")
    ap.add_argument("--after-model", default=None, help="part of the candidate's name, when several")
    args = ap.parse_args()
    name_a, scores_a = model_scores(args.before, args.before_model, "--before-model")
    name_b, scores_b = model_scores(args.after, args.after_model, "--after-model")
    print(f"before: {name_a} ({args.before})\nafter:  {name_b} ({args.after})\n")
    head = ["set", "photos", "before", "after", f"after - before [{LEVEL:.0%} interval]"]
    head += [f"photos better / worse by > {MOVED}", "verdict"]
    print("| " + " | ".join(head) + " |\n" + "|---" * len(head) + "|")
    for set_name in scores_a:
        if set_name in scores_b:
            print(compare_set(set_name, scores_a[set_name], scores_b[set_name]))
    print(f"\n(pet-free: the coloured share of the frame, lower is better; {ROUNDS} bootstrap rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
