"""CLI verb ``colorsplash evaluate``: score a model on data sets at each photo's original resolution.

Writes ``scores.csv``, ``summary.json`` and ``worst.png`` into ``-o`` (default ``eval/<model folder>-<model
stem>``). An ONNX
model needs only the light runtime; a ``.pt`` checkpoint and the gallery need the ``train`` extra.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from colorsplash.cli.common import (
    add_data_argument,
    add_model_argument,
    add_negatives_argument,
    add_output_argument,
    add_overwrite_argument,
    show_progress,
    sigterm_as_interrupt,
)
from colorsplash.runtime.flags import arg_type, non_negative_int, unit_float
from colorsplash.runtime.model.config import DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION, ModelConfig
from colorsplash.runtime.wording import model_description, printable


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate",
        help="score a model on a data set at original resolution",
        description="Score a model (.onnx or .pt) on data folders (the layouts train reads) at each photo's original "
        "resolution, as splash colours it (a photo under the model's subject gate counts as nothing coloured): IoU, "
        "Dice and pixel accuracy per set, written to the report folder as scores.csv (one row per photo), "
        "summary.json (the means, tied to the model file by its SHA-256; export --metrics embeds it) and "
        "worst.png (the photos scored worst).",
    )
    add_data_argument(p)
    add_negatives_argument(
        p,
        "folders of photos that do not show the subject (as train --negatives; --split val: the quarter "
        "training held out): scored as all background, IoU and Dice 1 with nothing coloured and 0 with any pixel "
        "coloured, in their set's row and the overall one (the row 'with subject', summary.json's with_subject: the "
        "subject photos alone); the table and summary.json (without_subject) give the share of them with more than "
        "1 %% of the frame coloured",
    )
    add_model_argument(p, ".onnx or .pt file")
    add_output_argument(p, "report folder (default: eval/<model's folder name>-<model stem>, e.g. eval/cats-best)")
    _add_split_arguments(p)
    _add_scoring_arguments(p)
    add_overwrite_argument(p, "an earlier report in the report folder")
    p.set_defaults(func=run_evaluate)


def _add_scoring_arguments(p: argparse.ArgumentParser) -> None:
    """``--threshold``, ``--worst``, ``--no-gate`` and ``--skip-bad``: how photos are scored and which are left out."""
    p.add_argument(
        "--threshold",
        "--cutoff",
        dest="cutoff",
        type=arg_type(unit_float),
        default=0.5,
        metavar="P",
        help="probability cut-off 0..1 counted as subject when scoring, as splash's --threshold P --hard (default: "
        "0.5; --cutoff is its former name)",
    )
    p.add_argument(
        "--worst",
        type=arg_type(non_negative_int),
        default=8,
        metavar="N",
        help="photos in the gallery of worst predictions, worst.png (default: 8; 0: no gallery)",
    )
    p.add_argument(
        "--no-gate",
        dest="gate",
        action="store_false",
        help="score the network's probability on every photo; by default a photo whose subject score is under the "
        "model's threshold, or with no pixel at the cut-off, counts as nothing coloured, as splash and mask treat it",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip photos without a mask, unreadable files and masks of another size with a warning; summary.json "
        "and the table count them by reason",
    )


def _add_split_arguments(p: argparse.ArgumentParser) -> None:
    """``--split``, ``--val-fraction`` and ``--seed``: which part of each set to score, as train splits it."""
    p.add_argument(
        "--split",
        choices=("all", "val", "train"),
        default="all",
        help="score only the set's validation or training part, as train would split it (default: all); the "
        "split follows each folder's name: a warning says when a set is not one the model was trained on",
    )
    p.add_argument(
        "--val-fraction",
        type=arg_type(unit_float),
        default=None,
        help=f"for --split: default the model's training value, else {DEFAULT_VAL_FRACTION}",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"for --split: default the model's training seed, else {DEFAULT_SPLIT_SEED}",
    )


def split_settings(args: argparse.Namespace, config: ModelConfig, model: Path) -> tuple[float, int]:
    """``--val-fraction``/``--seed`` when given, else the values the model (the file ``model``) was trained with,
    else defaults: ``--split val`` then scores exactly the images training held out. A record that cannot say them
    is refused for ``--split train``/``val``, naming the file; ``--split all`` splits nothing."""
    fraction, seed = args.val_fraction, args.seed
    try:
        trained_fraction, trained_seed = config.trained_split()
    except ValueError as err:
        if args.split != "all" and (fraction is None or seed is None):
            raise ValueError(f"{model}: {err}; give --val-fraction and --seed for --split {args.split}") from err
        trained_fraction, trained_seed = DEFAULT_VAL_FRACTION, DEFAULT_SPLIT_SEED
    return (float(trained_fraction if fraction is None else fraction), int(trained_seed if seed is None else seed))


def run_evaluate(args: argparse.Namespace) -> int:
    with sigterm_as_interrupt():  # as Ctrl-C: a report file being written is removed, not left half-written
        return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    from colorsplash.evaluation import evaluate as ev
    from colorsplash.evaluation.datasets import DataError, Skips
    from colorsplash.training.predictors import load_predictor

    if not args.data and not args.negatives:
        raise ValueError("name at least one data folder or --negatives folder to score the model on")
    predict_fn, config, model_path = load_predictor(args.model, gate=args.gate, cutoff=args.cutoff)
    out = Path(args.output) if args.output else ev.report_folder(model_path)
    fraction, seed = split_settings(args, config, model_path)
    found = _find_samples(args, out)  # first: a folder read from is refused even holding an earlier report
    ev.check_report_folder(out, args.overwrite)
    ev.warn_unknown_sets(found, config, args.split)
    samples = ev.select_split(found, args.split, fraction, seed)
    if not samples:
        raise DataError(ev.empty_split([*args.data, *args.negatives], found, args.split, fraction, seed))
    ev.warn_sets_left_out(found, samples, args.split)
    skips = Skips()
    scores = ev.evaluate_model(
        predict_fn, samples, args.cutoff, skip_bad=args.skip_bad, show_progress=show_progress(args), skips=skips
    )
    skips.say()
    if not scores:
        raise DataError(
            "no image could be scored: every pair was bad or its mask scored no pixel (see the warnings above)"
        )
    summary: dict[str, Any] = {
        **ev.model_record(model_path, config),
        **_run_record(args, config, fraction, seed),
        "skipped": skips.total,
        "skipped_reasons": skips.counts(),
        **ev.summarize(scores),
    }
    summary["worst"] = [  # named as scores.csv names them (write_scores_csv)
        {"dataset": printable(s.dataset), "name": printable(s.name), "image": printable(s.image), "iou": s.iou}
        for s in _gallery(predict_fn, scores, samples, out / "worst.png", args)
    ]
    # Without --overwrite, a report file another run made while this one scored is not replaced (as splash's)
    ev.write_scores_csv(scores, out / "scores.csv", replace=args.overwrite)
    ev.write_summary_json(summary, out / "summary.json", replace=args.overwrite)
    gallery = args.worst > 0 and _can_draw_gallery()
    _print_report(config, Path(model_path), args, ev.format_summary(summary), out, gallery)
    return 0


def _find_samples(args: argparse.Namespace, out: Path) -> list[Any]:
    """The samples of the data folders and of the ``--negatives`` folders; refused when a photo is in both, or when
    the report folder ``out`` is one they are read from."""
    from colorsplash.evaluation.negatives import discover_with_negatives

    files = ("report", "scores.csv, summary.json, worst.png")
    found, negatives = discover_with_negatives(args.data, args.negatives, args.skip_bad, out, files)
    return [*found, *negatives]  # the split's photos without a mask: counted with the skipped


def _run_record(args: argparse.Namespace, config: ModelConfig, fraction: float, seed: int) -> dict[str, Any]:
    """What was scored and how, for ``summary.json``."""
    return {
        "model_name": config.name,
        "arch": config.arch,
        "input_size": config.input_size,
        "data": list(args.data),
        **({"negatives": list(args.negatives)} if args.negatives else {}),
        "split": args.split,
        "val_fraction": fraction,
        "seed": seed,
        "threshold": args.cutoff,
        "gate": args.gate,
        # the subject-score threshold the gate used (the printed line names it; summary.json said only "gate": true)
        "gate_threshold": config.presence_threshold if args.gate else None,
    }


def _print_report(
    config: ModelConfig, model: Path, args: argparse.Namespace, table: str, out: Path, gallery: bool
) -> None:
    """The report on standard output: what was scored (the ``model`` file, named as every verb names a model:
    :func:`~colorsplash.runtime.wording.model_description`) and how, the table, and the files written."""
    gate = f"subject gate {config.presence_threshold:.3g}" if args.gate else "no subject gate"
    what = f"{model_description(config, model.name)} ({config.arch} at {config.input_size}px)"
    print(f"{what} on {args.split} images, cut-off {args.cutoff}, {gate}:")
    print(table)
    written = [out / "scores.csv", out / "summary.json"]
    written += [out / "worst.png"] if gallery else []  # none without matplotlib (the light runtime)
    print(f"wrote {', '.join(map(str, written[:-1]))} and {written[-1]}")


def _can_draw_gallery() -> bool:
    """Whether :func:`_gallery` draws ``worst.png`` (matplotlib, from the ``train`` extra, is installed)."""
    try:
        from colorsplash.training.plots import save_gallery  # noqa: F401
    except ImportError:
        return False
    return True


def _gallery(predict_fn: Any, scores: Any, samples: Any, path: Path, args: argparse.Namespace) -> list[Any]:
    """The worst-case gallery (matplotlib, from the ``train`` extra); skipped with a note when it is missing."""
    from colorsplash.evaluation.evaluate import save_worst_gallery, worst

    if args.worst == 0:  # no gallery asked for
        _drop_earlier_gallery(path, "--worst 0 draws none", args.overwrite)
        return []
    try:
        from colorsplash.training.plots import save_gallery
    except ImportError:
        # Notes on standard error: standard output is the report's table, which users redirect into a file.
        print(f"note: no {path.name} (the gallery needs matplotlib: pip install 'colorsplash[train]')", file=sys.stderr)
        _drop_earlier_gallery(path, "this report could not redraw it", args.overwrite)
        return worst(scores, args.worst)
    save = functools.partial(save_gallery, replace=args.overwrite)
    return save_worst_gallery(predict_fn, scores, samples, save, path, args.cutoff, args.worst)


def _drop_earlier_gallery(path: Path, why: str, overwrite: bool) -> None:
    """Remove an earlier report's gallery at ``path``, which ``overwrite`` (``--overwrite``) let this report replace
    and this report does not draw (``why``): left, it would pass for this report's. Said in a note on standard
    error. Without ``overwrite`` the folder held no report file as the run began: one there now is another run's."""
    if overwrite and path.is_file():
        path.unlink()
        print(f"note: removed {path}, the earlier report's gallery ({why})", file=sys.stderr)
