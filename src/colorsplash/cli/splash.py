"""``colorsplash splash INPUT... [-o DIR]`` and ``colorsplash mask INPUT... [-o DIR]``.

Parses arguments and calls :mod:`colorsplash.runtime.batch`; the splash options come from the one definition in
:mod:`colorsplash.runtime.options`. Per-file problems are one line each and the batch goes on; the exit status is 1 when
any file failed, 0 otherwise. Lines go straight to stderr (above the progress bar): they are the command's
output, not log records.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from colorsplash.cli.common import add_runtime_arguments
from colorsplash.runtime.limits import DEFAULT_MAX_PIXELS
from colorsplash.runtime.options import OPTION_NAMES, add_arguments, options_from_namespace

# The mask is the alpha: the options about the picture itself (effect, quality) do not apply.
MASK_OPTIONS = tuple(n for n in OPTION_NAMES if n not in ("effect", "quality"))


def _positive_int(value: str) -> int:
    v = int(value)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {value}")
    return v


def _jobs(value: str) -> int | None:
    """``auto`` (``None``: the runtime decides) or a positive whole number."""
    return None if value == "auto" else _positive_int(value)


def _common(parser: argparse.ArgumentParser, what: str) -> None:
    """Arguments shared by ``splash`` and ``mask``; ``what`` names the outputs in the ``-o`` help."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="photo files, folders or glob patterns (quoted, e.g. 'shots/*.jpg'); never modified")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="descend into sub-folders (and let ** in patterns match them)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave files whose output already exists (resume an interrupted batch)")
    parser.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N|auto",
                        help="worker threads for decoding and for encoding; the model runs beside them on its own "
                             "thread (default auto: one per core, 2 to 8)")
    parser.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS, metavar="N",
                        help=f"refuse pictures larger than this (default {DEFAULT_MAX_PIXELS:,}; guards "
                             "against decompression bombs)")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help="ONNX model file (default: $COLORSPLASH_MODEL or the bundled pet model)")
    parser.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                        help=f"folder for the {what} (created if needed)")
    add_runtime_arguments(parser)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "splash", help="colour splash for photos: subject in colour, background grey",
        description="Splash photos at full resolution in their own format (EXIF and ICC profile kept). Results "
                    "go beside each input as <stem>.splash.<ext>, or under -o DIR mirroring folder inputs.")
    _common(parser, "results")
    add_arguments(parser)
    parser.set_defaults(func=run_splash)

    mask = sub.add_parser(
        "mask", help="subject alpha of photos as 8-bit PNG (255 = subject)",
        description="Write the soft subject alpha, same width and height as the upright photo: DIR/<stem>.png "
                    "with -o DIR, else <stem>.mask.png beside each input.")
    _common(mask, "masks")
    add_arguments(mask, MASK_OPTIONS)
    mask.set_defaults(func=run_mask)


def run_splash(args: argparse.Namespace) -> int:
    return _run(args, mask=False)


def run_mask(args: argparse.Namespace) -> int:
    return _run(args, mask=True)


def _run(args: argparse.Namespace, mask: bool) -> int:
    # Imported here so `colorsplash --help` stays fast.
    from colorsplash.runtime import batch
    from colorsplash.runtime.onnx_model import load_model
    from colorsplash.runtime.photo_io import IMAGE_EXTENSIONS

    quiet, debug = getattr(args, "quiet", False), getattr(args, "debug", False)
    out_dir: Path | None = args.output
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"-o {out_dir}: exists and is not a folder")
    exclude = out_dir.resolve() if out_dir is not None else None
    items, errors = batch.expand_inputs(args.inputs, args.recursive, exclude)
    tasks, plan_errors = batch.plan_tasks(items, out_dir, batch.mask_name if mask else batch.splash_name)
    errors += plan_errors
    if not tasks and not errors:
        errors.append(f"no pictures found in {' '.join(args.inputs)} (looked for "
                      f"{', '.join(IMAGE_EXTENSIONS)}{'' if args.recursive else '; add --recursive for sub-folders'})")
    for line in errors:
        print(line, file=sys.stderr)
    summary = batch.Summary()
    if tasks:
        model = load_model(args.model, precision=args.precision, device=args.device)
        job = batch.PhotoJob(model, options_from_namespace(args), mask=mask,
                             max_pixels=args.max_pixels, skip_existing=args.skip_existing)
        summary = batch.run_batch(tasks, job, jobs=args.jobs, progress=not quiet, debug=debug)
    summary.failed += len(errors)
    if summary.failed or not quiet:
        print(summary.line(), file=sys.stderr)
    return 1 if summary.failed else 0
