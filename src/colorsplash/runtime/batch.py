"""Many photos at once: expand inputs, plan output names, run a worker pool with one progress bar.

Photos go through three overlapped stages (:func:`colorsplash.runtime.pipeline.run_stages`): decoding, the model,
then refinement, effect and encoding, different photos in different stages at once (Pillow, OpenCV and ONNX Runtime
all release the GIL); a single photo takes the overlapped one-photo path instead
(:func:`colorsplash.runtime.pipeline.decode_and_plan`).
Each file succeeds or fails on its own: a failure is one line naming the file and the batch goes on.
Inputs are never overwritten and results are written atomically, so ``--skip-existing`` resumes a batch.
"""

from __future__ import annotations

import glob
import sys
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.runtime.alpha import (
    AlphaResult,
    NoSubjectError,
    RefineSettings,
    alpha_to_uint8,
    apply_on_empty,
    downscale,
    finish_alpha,
    plan_alpha,
)
from colorsplash.runtime.effects import apply_effect
from colorsplash.runtime.onnx_model import Model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.photo_io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    Photo,
    is_image_name,
    output_format,
    read_photo,
    write_image,
)
from colorsplash.runtime.pipeline import (
    Planned,
    Stages,
    auto_jobs,
    decode_and_plan,
    fusable,
    grey_splash_in_place,
    run_stages,
)

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
        """One photo end to end, its decoding overlapped with the model (see :func:`decode_and_plan`)."""
        if self.skip_existing and task.output.exists():
            return Outcome("skipped")
        if not task.source.is_file():
            raise ImageReadError(f"{task.source}: no such file")
        data = task.source.read_bytes()
        if not data:
            raise ImageReadError(f"{task.source}: file is empty (0 bytes); re-export or remove it")
        planned = decode_and_plan(data, str(task.source), self.model, self.options, self.settings, self.max_pixels)
        return self._write(self._prepare(task, planned.photo), planned)

    # The three stages of the batch pipeline (``stages``); ``__call__`` is their overlapped one-photo form.

    def load(self, task: Task) -> Outcome | Loaded:
        """Read and decode one photo and make its working copy (or skip it)."""
        if self.skip_existing and task.output.exists():
            return Outcome("skipped")
        photo = read_photo(task.source, self.max_pixels)
        loaded = self._prepare(task, photo)
        if isinstance(loaded, Outcome):
            return loaded
        loaded.small = downscale(photo.rgb, self.settings.work_side)
        return loaded

    def infer(self, loaded: Loaded) -> Loaded:
        """The model's probability for the working copy (the stage that runs on one thread)."""
        assert loaded.small is not None
        loaded.prob = self.model.predict_lowres(loaded.small)
        return loaded

    def finish(self, loaded: Loaded) -> Outcome:
        """Refinement, effect, encoding and writing."""
        assert loaded.small is not None and loaded.prob is not None
        rgb = loaded.photo.rgb
        plan = plan_alpha(rgb.shape[:2], loaded.prob, loaded.small, self.options, self.settings)
        return self._write(loaded, Planned(loaded.photo, plan))

    def stages(self) -> Stages[Outcome]:
        return Stages(self.load, self.infer, self.finish, lambda v: isinstance(v, Outcome))

    def _prepare(self, task: Task, photo: Photo) -> Outcome | Loaded:
        """Output name and format from the decoded photo; an Outcome when the file is skipped."""
        messages = list(photo.notes)
        fmt, ext = "PNG", task.output.suffix
        if not self.mask:
            fmt, ext = output_format(photo.format, task.source.suffix, self.options.effect == "transparent")
        output = task.output.with_suffix(ext)
        if output != task.output and self.skip_existing and output.exists():
            return Outcome("skipped", messages)
        if output.resolve() == task.source.resolve():
            raise ValueError(f"{task.source}: output would overwrite the input; use -o DIR")
        return Loaded(task, photo, output, fmt, messages)

    def _write(self, loaded: Outcome | Loaded, planned: Planned) -> Outcome:
        if isinstance(loaded, Outcome):
            return loaded
        photo, messages = loaded.photo, loaded.messages
        if not self.mask and fusable(planned.plan, self.options, photo.rgb):  # the default splash: one fused pass
            grey_splash_in_place(photo.rgb, planned.plan)
            write_image(loaded.output, photo.rgb, loaded.format, self.options.quality, photo.exif, photo.icc)
            return Outcome("done", messages)
        result: AlphaResult = finish_alpha(planned.plan, planned.guide(), self.options)
        try:
            note = apply_on_empty(result, self.options.on_empty, str(loaded.task.source))
        except NoSubjectError as err:
            return Outcome("skipped", [*messages, str(err)])
        if note:
            messages.append(note)
        if self.mask:
            write_image(loaded.output, alpha_to_uint8(result.alpha), "PNG")
        else:
            picture = apply_effect(photo.rgb, result.alpha, self.options.effect)
            write_image(loaded.output, picture, loaded.format, self.options.quality, photo.exif, photo.icc)
        return Outcome("done", messages)


@dataclass
class Loaded:
    """A photo between the pipeline's stages: decoded, with its output decided; ``small`` and ``prob`` filled by
    the load and model stages."""

    task: Task
    photo: Photo
    output: Path
    format: str
    messages: list[str]
    small: np.ndarray | None = None
    prob: np.ndarray | None = None


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
    """Worker threads by default (``--jobs auto``): see :func:`colorsplash.runtime.pipeline.auto_jobs`."""
    return auto_jobs()


def _results(tasks: Sequence[Task], work: Callable[[Task], Outcome],
             jobs: int) -> Generator[tuple[Task, Future[Outcome]], None, None]:
    """(task, future) pairs as tasks finish: the staged pipeline when ``work`` has stages and there is more than
    one task, else a plain thread pool (one task: the work's own overlapped path)."""
    stages = getattr(work, "stages", None)
    if stages is not None and len(tasks) > 1:
        yield from run_stages(tasks, stages(), jobs)
        return
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="colorsplash")
    try:
        futures = {pool.submit(work, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future
    finally:
        # On Ctrl-C: drop queued files; running ones finish (their writes are atomic).
        pool.shutdown(wait=True, cancel_futures=True)


def run_batch(tasks: Sequence[Task], work: Callable[[Task], Outcome], jobs: int | None = None,
              progress: bool = True, debug: bool = False,
              report: Callable[[str], None] | None = None) -> Summary:
    """Run ``work`` on every task (``jobs`` worker threads per stage, ``None``: :func:`default_jobs`) with one
    progress bar; messages go to ``report`` (default: above the bar on stderr). Returns the counts and the time
    taken."""
    say = report or (lambda text: tqdm.write(text, file=sys.stderr))
    summary = Summary()
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    results = _results(tasks, work, jobs or default_jobs())
    try:
        for task, future in results:
            outcome = _outcome(future, task, debug)
            for text in outcome.messages:
                say(text)
            setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
            bar.update()
    finally:
        results.close()  # on Ctrl-C: running files finish (their writes are atomic), queued ones are dropped
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary
