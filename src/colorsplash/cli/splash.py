"""``colorsplash splash INPUT... [-o DIR|FILE|-]`` and ``colorsplash mask INPUT... [-o DIR|FILE|-]``.

Parses arguments and calls :mod:`colorsplash.runtime.batch`; the splash options come from the one definition in
:mod:`colorsplash.runtime.options`. Per-file problems are one line each and the batch goes on; the exit status is 1 when
any file failed, 0 otherwise. Lines go straight to stderr (above the progress bar): they are the command's
output, not log records.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorsplash.cli.common import (
    add_jobs_argument,
    add_max_pixels_argument,
    add_model_argument,
    add_output_argument,
    add_overwrite_argument,
    add_runtime_arguments,
    show_progress,
    sigterm_as_interrupt,
)
from colorsplash.cli.option_flags import add_arguments, options_from_namespace
from colorsplash.runtime.flags import arg_type, non_empty_name
from colorsplash.runtime.options import MASK_OPTION_NAMES
from colorsplash.runtime.pictures.limits import DEFAULT_MAX_PIXELS
from colorsplash.runtime.wording import printable
from colorsplash.server import SERVER_MAX_PIXELS

if TYPE_CHECKING:
    from colorsplash.runtime.batch import OutputPlan, Summary, Task
    from colorsplash.runtime.options import SplashOptions


def _common(parser: argparse.ArgumentParser, what: str) -> None:
    """Arguments shared by ``splash`` and ``mask``; ``what`` names the outputs in the ``-o`` help."""
    parser.add_argument(
        "inputs",
        nargs="+",
        type=arg_type(non_empty_name("name a photo, a folder (. for the current one) or a pattern")),
        metavar="INPUT",
        help="photo files, folders or glob patterns (quoted, e.g. 'shots/*.jpg'), or - for "
        "standard input; never modified",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true", help="descend into sub-folders (and let ** in patterns match them)"
    )
    _add_existing_arguments(parser)
    add_jobs_argument(
        parser,
        "worker threads for decoding and for encoding (default auto: one per core, 2 to 8); the model runs beside "
        "them, on a CPU of several cores one photo per core",
        auto=True,
    )
    add_max_pixels_argument(
        parser,
        DEFAULT_MAX_PIXELS,
        "about 2.5 GB of working memory for one picture at the limit (serve's default is "
        f"{SERVER_MAX_PIXELS:,}: its memory is shared by other people's photos); guards against decompression "
        "bombs. Counted in 8-bit RGB pixels: a picture that costs more memory to decode (16-bit, float, alpha) "
        "counts as more; the photos in flight together stay within what one picture at the limit may use",
    )
    add_model_argument(parser)
    add_output_argument(
        parser,
        f"folder for the {what} (created if needed); with one input, a file whose extension "
        "(.jpg .png .webp .tif .bmp .gif) picks the format; - for standard output (the default when INPUT is -)",
        metavar="DIR|FILE|-",
        advice="name a folder or a file, or leave -o out to write beside each photo",
    )
    add_runtime_arguments(parser)


def _add_existing_arguments(parser: argparse.ArgumentParser) -> None:
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--skip-existing",
        action="store_true",
        help="leave files whose output already exists (resume an interrupted batch)",
    )
    add_overwrite_argument(
        existing,
        "existing output files; without it or --skip-existing, an existing file is "
        "an error line for its input and is left as it is",
    )


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "splash",
        help="colour splash for photos: subject in colour, background grey",
        description="Splash photos at full resolution in their own format (EXIF, ICC profile, XMP and IPTC "
        "kept, less what the result no longer has: gain maps, a Motion Photo's video, develop settings, "
        "thumbnails). Results "
        "go beside each input as <stem>.splash.<ext>, <ext> from the picture's content (a PNG named "
        ".jpg gives .png; HEIC and AVIF give .jpg), or under -o DIR mirroring folder inputs. An existing file is never "
        "replaced without --overwrite, an input never.",
    )
    _common(parser, "results")
    add_arguments(parser)
    parser.set_defaults(func=run_splash)

    mask = sub.add_parser(
        "mask",
        help="subject alpha of photos as 8-bit PNG (255 = subject)",
        description="Write the soft subject alpha, same width and height as the upright photo: DIR/<stem>.png "
        "with -o DIR, else (and when DIR is the photo's own folder) <stem>.mask.png beside each "
        "input.",
    )
    _common(mask, "masks")
    add_arguments(mask, MASK_OPTION_NAMES, mask=True)
    mask.set_defaults(func=run_mask)


def run_splash(args: argparse.Namespace) -> int:
    with sigterm_as_interrupt():  # as Ctrl-C: the photos being written finish, no partial file is left
        return _run(args, mask=False)


def run_mask(args: argparse.Namespace) -> int:
    with sigterm_as_interrupt():
        return _run(args, mask=True)


def _run(args: argparse.Namespace, mask: bool) -> int:
    # Imported here so `colorsplash --help` stays fast.
    from colorsplash.runtime import batch
    from colorsplash.runtime.pictures.photo_io import IMAGE_EXTENSIONS

    quiet = getattr(args, "quiet", False)
    options = options_from_namespace(args)
    plan = _output_plan(args, mask, alpha=not mask and options.effect == "transparent")
    if args.inputs == ["-"]:
        items: list[tuple[Path, Path | None]] = [(batch.STDIO, None)]
        errors: list[str] = []
        stdin = _read_stdin(args.max_pixels)
    else:
        exclude = plan.out_dir.resolve() if plan.out_dir is not None else None
        items, errors = batch.expand_inputs(args.inputs, args.recursive, exclude)
        stdin = None
    if plan.out_file is not None and len(items) > 1:
        raise ValueError(
            f"-o {plan.out_file} names one file, but {len(items)} pictures were given or found; give -o a folder"
        )
    tasks, plan_errors = batch.plan_tasks(items, plan, args.max_pixels, stdin)
    errors += plan_errors
    if not tasks and not errors:  # one line, no "1 file(s): ... failed 1" after it: no file was there to fail
        print(
            f"no pictures found in {' '.join(args.inputs)} (looked for "
            f"{', '.join(IMAGE_EXTENSIONS)}{'' if args.recursive else '; add --recursive for sub-folders'})",
            file=sys.stderr,
        )
        return 1
    for line in errors:  # one line each, whatever a file's name holds (see Summary.add)
        print(printable(line), file=sys.stderr)
    summary = _splash_tasks(args, tasks, options, mask) if tasks else batch.Summary()
    summary.failed += len(errors)
    if summary.failed or not quiet:
        print(summary.line(), file=sys.stderr)
    return 1 if summary.failed else 0


# Picture extensions Pillow may not register here (phones' and cameras' formats; compositing and editing formats a
# mask may be asked in: OpenEXR, DPX, Cineon, Radiance HDR, Photoshop's large documents, GIMP's own).
_OTHER_PICTURE_SUFFIXES = frozenset(
    {".heic", ".heif", ".avif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raw"}
    | {".exr", ".dpx", ".cin", ".hdr", ".psb", ".xcf"}
)


_STDIN_FLOOR = 64 << 20  # bytes standard input may always hold: a small --max-pixels leaves room for metadata


def _read_stdin(max_pixels: int) -> bytes:
    """All of standard input (the picture for INPUT ``-``), at most what one picture within ``max_pixels`` may
    cost in memory (:func:`~colorsplash.runtime.pictures.photo_io.cost_limit`, about 2.5 GB by default; 64 MiB at least,
    for metadata): no picture's file within the limit is larger. ``< /dev/zero`` was read until the system killed the
    run, without a word.

    Raises:
        ValueError: standard input is closed (``<&-``) or a terminal (nothing piped in), or holds more than that.
    """
    from colorsplash.runtime.pictures.photo_io import cost_limit
    from colorsplash.runtime.pictures.signatures import SIGNATURE_BYTES, starts_as_picture

    if sys.stdin is None:
        raise ValueError("- (standard input): standard input is closed; pipe a picture into it or name a file")
    if sys.stdin.isatty():  # a picture is never typed: the run waited, without a word, for one to be
        raise ValueError("- (standard input): standard input is the terminal; pipe a picture into it or name a file")
    prefix = sys.stdin.buffer.read(SIGNATURE_BYTES)
    if not starts_as_picture(prefix):  # a clip, text, `< /dev/zero`: refused by its first bytes, the rest unread
        return prefix  # (a 3 GB clip was read whole, twice over in memory, to be called "not a picture")
    limit, held = max(cost_limit(max_pixels), _STDIN_FLOOR), io.BytesIO(prefix)
    held.seek(0, io.SEEK_END)
    # Into one buffer that grows in place and is handed over as it is (BytesIO.getvalue): a list of pieces joined
    # at the end held the picture twice at the peak (6 GB for a 3 GB one).
    while (size := held.tell()) <= limit and (chunk := sys.stdin.buffer.read(min(1 << 20, limit + 1 - size))):
        held.write(chunk)
    if held.tell() > limit:
        raise ValueError(
            f"- (standard input): holds more than {limit:,} bytes, more than any picture within --max-pixels "
            f"{max_pixels:,}; pipe one picture into it (a larger one needs a larger --max-pixels)"
        )
    return held.getvalue()


def _splash_tasks(args: argparse.Namespace, tasks: list[Task], options: SplashOptions, mask: bool) -> Summary:
    """Run the planned ``tasks``; none when ``--skip-existing`` keeps every output, already there: the model is
    not loaded (seconds of start-up for nothing, or a refusal of a model file no photo needed)."""
    from colorsplash.runtime import batch
    from colorsplash.runtime.model.onnx_model import load_model
    from colorsplash.runtime.planning import kept_existing

    if all(kept_existing(task.output, args.skip_existing) for task in tasks):
        if not getattr(args, "quiet", False):
            print("every output is there already (--skip-existing); the model was not loaded", file=sys.stderr)
        return batch.Summary(skipped=len(tasks))
    model = load_model(args.model, precision=args.precision, device=args.device)
    job = batch.PhotoJob(
        model,
        options,
        mask=mask,
        max_pixels=args.max_pixels,
        skip_existing=args.skip_existing,
        overwrite=args.overwrite,
    )
    debug = getattr(args, "debug", False)
    summary = batch.run_batch(tasks, job, jobs=args.jobs, progress=show_progress(args), debug=debug)
    summary.model = model.label
    return summary


def _output_plan(args: argparse.Namespace, mask: bool, alpha: bool) -> OutputPlan:
    """``-o`` read as a folder, one file (a picture extension, not an existing folder) or ``-`` (standard output,
    also the default for ``-`` as INPUT). Raises ValueError for a combination that cannot work."""
    from colorsplash.runtime import batch
    from colorsplash.runtime.files import EXTENSION_ONLY, extension_only, names_folder
    from colorsplash.runtime.pictures.photo_write import ALPHA_FORMATS, FORMAT_EXTENSIONS, format_for_suffix

    out = None if args.output is None else Path(args.output)
    if "-" in args.inputs and args.inputs != ["-"]:
        raise ValueError("- (standard input) must be the only INPUT")
    common = {"mask": mask, "alpha": alpha, "overwrite": args.overwrite, "skip_existing": args.skip_existing}
    if out == batch.STDIO or (out is None and args.inputs == ["-"]):
        if sys.stdout is None:  # started with standard output closed (`>&-`)
            raise ValueError("standard output is closed; redirect it to a file or a pipe, or use -o FILE")
        if sys.stdout.isatty():
            raise ValueError("refusing to write a picture to a terminal; redirect standard output or use -o FILE")
        return batch.OutputPlan(out_file=batch.STDIO, **common)
    # os.path.isdir, not Path.is_dir, which raises under a folder the user may not search ("[Errno 13] Permission
    # denied: 'locked/sub/out'"): the planner then names that folder (files.unwritable_folder)
    is_dir = out is not None and (os.path.isdir(out) or names_folder(args.output))  # -o shots.jpg/ is a folder
    if out is not None and not is_dir and extension_only(out, lambda name: format_for_suffix(name) is not None):
        stem = Path(args.inputs[0]).stem if os.path.isfile(args.inputs[0]) else "photo"
        raise ValueError(
            f"-o {out}: {EXTENSION_ONLY}; name the file to write, e.g. -o {out.with_name(stem + out.name)}"
        )
    if out is not None and not is_dir and format_for_suffix(out.suffix) is None and _picture_suffix(out):
        written = " ".join(sorted({ext for exts in FORMAT_EXTENSIONS.values() for ext in exts}))
        raise ValueError(f"-o {out}: {out.suffix} pictures are not written here; name a {written} file or a folder")
    if out is None or is_dir or format_for_suffix(out.suffix) is None:
        if out is not None and os.path.exists(out) and not is_dir:
            raise ValueError(f"-o {out}: {_not_an_output(out)}")
        if out is not None and args.inputs == ["-"]:
            raise ValueError(f"-o {out}: with - as INPUT, -o must be a picture file name or -")
        return batch.OutputPlan(out_dir=out, **common)
    fmt = format_for_suffix(out.suffix)
    if alpha and fmt not in ALPHA_FORMATS:
        raise ValueError(f"-o {out}: {fmt} cannot hold the transparent result; name a .png, .webp or .tif file")
    return batch.OutputPlan(out_file=out, **common)


def _not_an_output(out: Path) -> str:
    """Why ``-o OUT``, something other than a folder whose name has no picture extension, is refused, and what to
    give instead (it said "exists and is not a folder" of ``-o /dev/null``, which names neither)."""
    from colorsplash.runtime.files import not_replaceable

    problem = not_replaceable(out)
    if problem is None:  # a plain file
        return "is a file, not a folder, and has no picture extension: -o names a folder or a picture file (.jpg ...)"
    return f"{problem} (results are written to files only; standard output: -o -)"


def _picture_suffix(path: Path) -> bool:
    """Whether ``path``'s extension names a picture format (one Pillow knows, or a camera's), so that ``-o`` with
    it means a file, never a folder to create."""
    from PIL import Image

    suffix = path.suffix.lower()
    # No extension is no picture's: Pillow 10's SPIDER writer registers the extension of whatever it saved to, ""
    # for a stream, and `-o out` was then refused as "pictures are not written here".
    return bool(suffix) and (suffix in Image.registered_extensions() or suffix in _OTHER_PICTURE_SUFFIXES)
