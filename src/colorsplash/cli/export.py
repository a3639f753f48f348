"""CLI verb ``colorsplash export``: a training checkpoint -> one ONNX file carrying its config (needs PyTorch)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from colorsplash.cli.common import (
    add_output_argument,
    add_overwrite_argument,
    need_torch,
    show_progress,
    sigterm_as_interrupt,
)
from colorsplash.runtime.flags import arg_type, non_empty_name, positive_int
from colorsplash.training.config import DEFAULT_CALIBRATION_IMAGES, INT8_DATA_ADVICE


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX",
        usage="colorsplash export [-h] CHECKPOINT -o PATH [--overwrite] [--fp16 | --int8 DATA [DATA ...]]\n"
        "                          [--calibration-images N] [--metrics SUMMARY_JSON] [--debug] [-q]",
        description="Export a training checkpoint to one ONNX file that carries its config (architecture, input "
        "size, normalisation, subject, presence threshold, training record): use it with --model. Float32 weights "
        "by default; --fp16 or --int8 make it smaller.",
    )
    # Optional for argparse only: after --int8 DATA... it was taken for a data folder, and argparse's "required:
    # checkpoint" did not say why; run_export says it.
    p.add_argument(
        "checkpoint",
        nargs="?",
        type=arg_type(non_empty_name("name a .pt checkpoint, e.g. the best.pt of a run folder")),
        metavar="CHECKPOINT",
        help="a .pt checkpoint (best.pt or last.pt of a run)",
    )
    add_output_argument(p, "the .onnx file to write (its name must end in .onnx)", required=True)
    add_overwrite_argument(p, "an existing -o file")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    precision.add_argument(
        "--int8",
        nargs="+",
        type=arg_type(non_empty_name(INT8_DATA_ADVICE)),
        metavar="DATA",
        help="quantise to int8 (faster on most CPUs, ~1/4 the size), calibrated on photos from these folders: "
        "the training split of a data set folder (as train split it), or every photo of a folder of photos (no "
        "masks needed); a line says how many came from where",
    )
    p.add_argument(
        "--calibration-images",
        type=arg_type(positive_int),
        default=DEFAULT_CALIBRATION_IMAGES,
        metavar="N",
        help=f"photos used to calibrate --int8 (default: {DEFAULT_CALIBRATION_IMAGES})",
    )
    p.add_argument(
        "--metrics",
        type=arg_type(non_empty_name("name an evaluate summary.json, or leave --metrics out to embed no scores")),
        metavar="SUMMARY_JSON",
        help="embed an `evaluate` summary.json (scores at original resolution) in the metadata; it must score "
        "this checkpoint, or an ONNX file exported from it",
    )
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    with sigterm_as_interrupt():  # as Ctrl-C: the model being written (minutes with --int8) leaves no partial file
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    if args.checkpoint is None:
        after = " (--int8 takes every word after it as a data folder: name the checkpoint before --int8)"
        raise ValueError(f"no checkpoint given{after if args.int8 else ''}: colorsplash export CHECKPOINT -o OUT.onnx")
    need_torch("export")
    from colorsplash.training.export import export_onnx, read_evaluation
    from colorsplash.training.export_checks import check_output

    out = Path(args.output)
    check_output(args.checkpoint, args.output, args.overwrite)  # as typed: a trailing / names a folder
    evaluation = read_evaluation(args.metrics, args.checkpoint) if args.metrics else None
    config = export_onnx(
        args.checkpoint,
        out,
        fp16=args.fp16,
        evaluation=evaluation,
        int8_data=args.int8,
        calibration_images=args.calibration_images,
        show_progress=show_progress(args),
        overwrite=args.overwrite,
    )
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {config.arch} at {config.input_size}px, {config.precision})"
    )
    return 0
