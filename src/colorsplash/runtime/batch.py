"""Many photos at once: expand inputs, plan output names, run a worker pool with one progress bar.

A thread pool overlaps decoding and encoding (Pillow, OpenCV and ONNX Runtime all release the GIL) with the
model. Each file succeeds or fails on its own: a failure is one line naming the file and the batch goes on.
Inputs are never overwritten and results are written atomically, so ``--skip-existing`` resumes a batch.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from colorsplash.runtime.alpha import NoSubjectError, RefineSettings, alpha_to_uint8, apply_on_empty, predict_alpha
from colorsplash.runtime.effects import composite
from colorsplash.runtime.onnx_model import Model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.photo_io import DEFAULT_MAX_PIXELS, is_image_name, output_format, read_photo, write_image

SPLASH_TAG = ".splash"
MASK_TAG = ".mask"
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Task:
    """One input file and where its result goes (the extension may change once the content is known)."""

    source: Path
    output: Path


@dataclass
class Outcome:
    """What became of one file: ``status`` is ``done``, ``skipped`` or ``failed``; ``messages`` are for the user."""

    status: str
    messages: list[str] = field(default_factory=list)


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        total = self.done + self.skipped + self.failed
        rate = f" ({self.done / self.seconds:.1f} files/s)" if self.seconds > 0 and self.done else ""
        return (f"{total} file(s): done {self.done}, skipped {self.skipped}, failed {self.failed} "
                f"in {self.seconds:.1f} s{rate}")


def _is_previous_output(path: Path) -> bool:
    """``cat.splash.jpg`` or ``cat.mask.png``: our own results, not inputs for a rerun."""
    return path.stem.endswith((SPLASH_TAG, MASK_TAG))


def _folder_files(folder: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = []
    for p in found:
        if p.name.startswith(".") or not p.is_file() or not is_image_name(p) or _is_previous_output(p):
            continue
        if exclude is not None and exclude in p.resolve().parents:
            continue
        files.append(p)
    return sorted(files)


def expand_inputs(inputs: Sequence[str], recursive: bool = False,
                  exclude: Path | None = None) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """Files, folders and glob patterns -> ``(file, folder it was found under or None)`` pairs and error lines.

    Folders give their picture files (by extension; ``--recursive`` descends), skipping hidden files, earlier
    results (``*.splash.*``, ``*.mask.*``) and anything under ``exclude`` (the output folder).
    """
    items: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            items.extend((f, path) for f in _folder_files(path, recursive, exclude))
        elif path.is_file():
            items.append((path, None))
        elif any(c in raw for c in _GLOB_CHARS):
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=recursive))
            files = [m for m in matches if m.is_file() and is_image_name(m) and not _is_previous_output(m)]
            if not files:
                errors.append(f"{raw}: no picture matches this pattern")
            items.extend((f, None) for f in files)
        else:
            errors.append(f"{raw}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f, root in items:  # the same file named twice (a folder and a glob) is done once
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((f, root))
    return unique, errors


def plan_tasks(items: Iterable[tuple[Path, Path | None]], out_dir: Path | None,
               name: Callable[[Path, bool], str]) -> tuple[list[Task], list[str]]:
    """Output paths: beside the input, or under ``out_dir`` mirroring each folder argument's tree.

    ``name(source, in_out_dir)`` gives the output file name. Two inputs that would write the same output and an
    output that is one of the inputs are error lines, never overwrites.
    """
    items = list(items)
    inputs = {f.resolve() for f, _ in items}
    tasks: list[Task] = []
    errors: list[str] = []
    taken: dict[Path, Path] = {}
    for src, root in items:
        if out_dir is None:
            folder = src.parent
        else:
            folder = out_dir / src.parent.relative_to(root) if root is not None else out_dir
        out = folder / name(src, out_dir is not None)
        key = out.resolve()
        if key in inputs:
            errors.append(f"{src}: its output {out} is an input file; refusing to overwrite it (use -o DIR)")
        elif key in taken:
            errors.append(f"{src}: its output {out} is already the output of {taken[key]}; skipped (use -o DIR)")
        else:
            taken[key] = src
            tasks.append(Task(src, out))
    return tasks, errors


def splash_name(src: Path, in_out_dir: bool) -> str:
    return f"{src.stem}{SPLASH_TAG}{src.suffix}"


def mask_name(src: Path, in_out_dir: bool) -> str:
    return f"{src.stem}.png" if in_out_dir else f"{src.stem}{MASK_TAG}.png"


@dataclass
class PhotoJob:
    """Splash (or mask) one file: a callable ``Task -> Outcome`` shared by the worker threads.

    Raises (from ``__call__``):
        ImageReadError, ValueError, OSError: the file cannot be read, processed or written.
    """

    model: Model
    options: SplashOptions = field(default_factory=SplashOptions)
    mask: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    skip_existing: bool = False
    settings: RefineSettings = field(default_factory=RefineSettings)

    def __call__(self, task: Task) -> Outcome:
        if self.skip_existing and task.output.exists():
            return Outcome("skipped")
        photo = read_photo(task.source, self.max_pixels)
        messages = list(photo.notes)
        fmt, ext = "PNG", task.output.suffix
        if not self.mask:
            fmt, ext = output_format(photo.format, task.source.suffix, self.options.effect == "transparent")
        output = task.output.with_suffix(ext)
        if output != task.output and self.skip_existing and output.exists():
            return Outcome("skipped", messages)
        if output.resolve() == task.source.resolve():
            raise ValueError(f"{task.source}: output would overwrite the input; use -o DIR")
        result = predict_alpha(self.model, photo.rgb, self.options, self.settings)
        try:
            note = apply_on_empty(result, self.options.on_empty, str(task.source))
        except NoSubjectError as err:
            return Outcome("skipped", [*messages, str(err)])
        if note:
            messages.append(note)
        if self.mask:
            write_image(output, alpha_to_uint8(result.alpha), "PNG")
        else:
            picture = composite(photo.rgb, result.alpha, self.options)
            write_image(output, picture, fmt, self.options.quality, photo.exif, photo.icc)
        return Outcome("done", messages)


def _outcome(future: Future[Outcome], task: Task, debug: bool) -> Outcome:
    """The worker's outcome, or its exception as one ``failed`` line that names the file."""
    try:
        return future.result()
    except Exception as err:  # the per-file boundary: report in one line and let the batch go on
        text = str(err) or type(err).__name__
        if not isinstance(err, (ValueError, OSError, RuntimeError)):
            text = f"unexpected {type(err).__name__}: {text} (--debug shows the traceback)"
        if str(task.source) not in text:
            text = f"{task.source}: {text}"
        lines = [text]
        if debug:
            lines.insert(0, "".join(traceback.format_exception(err)).rstrip())
        return Outcome("failed", lines)


def default_jobs() -> int:
    """Worker threads by default: one per core, at most 4 (each holds one photo in memory)."""
    return max(1, min(4, os.cpu_count() or 1))


def run_batch(tasks: Sequence[Task], work: Callable[[Task], Outcome], jobs: int | None = None,
              progress: bool = True, debug: bool = False,
              report: Callable[[str], None] | None = None) -> Summary:
    """Run ``work`` on every task in a thread pool with one progress bar; messages go to ``report``
    (default: above the bar on stderr). Returns the counts and the time taken."""
    say = report or (lambda text: tqdm.write(text, file=sys.stderr))
    summary = Summary()
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    pool = ThreadPoolExecutor(max_workers=jobs or default_jobs(), thread_name_prefix="colorsplash")
    try:
        futures = {pool.submit(work, task): task for task in tasks}
        for future in as_completed(futures):
            outcome = _outcome(future, futures[future], debug)
            for text in outcome.messages:
                say(text)
            setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
            bar.update()
    finally:
        # On Ctrl-C: drop queued files; running ones finish (their writes are atomic).
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary
