"""Many photos at once: expand inputs, plan output names, run a worker pool with one progress bar.

Photos go through three overlapped stages (:func:`colorsplash.runtime.pipeline.run_stages`): decoding, the model,
then refinement, effect and encoding, different photos in different stages at once (Pillow, OpenCV and ONNX Runtime
all release the GIL); a single photo takes the overlapped one-photo path instead
(:func:`colorsplash.runtime.pipeline.decode_and_plan`). Each file succeeds or fails on its own: a failure is one
line naming the file and the batch goes on.

Output names are all decided before anything is written (:func:`plan_tasks`), from each input's content format
(a PNG named ``.jpg`` gives a ``.png`` result), and checked against every input and every other output of the run.
A result never replaces an input, nor an existing file this run did not create unless ``overwrite`` is set
(``--overwrite``); such files are one error line each, or skipped with ``skip_existing`` (``--skip-existing``,
which resumes an interrupted batch). Every result is decoded again from its temporary file before it gets its
name, so a result that cannot be opened is a failure, never a "done".
"""

from __future__ import annotations

import glob
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
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
from colorsplash.runtime.effects import composite
from colorsplash.runtime.files import name_fits
from colorsplash.runtime.onnx_model import Model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.photo_io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    Photo,
    check_encoded,
    cost_limit,
    decode_image_bytes,
    encode_image,
    format_for_suffix,
    is_image_name,
    output_format,
    probe_picture,
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
STDIO = Path("-")  # standard input as a source, standard output as an output
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Task:
    """One input and where its result goes, decided before anything is written.

    Attributes:
        source: the input file (:data:`STDIO` for standard input, then ``data`` holds its bytes).
        output: the result file (:data:`STDIO` for standard output).
        format: Pillow format of the result (``JPEG``, ``PNG``...).
        source_format: the input's format when planned; a file whose content changed since fails.
    """

    source: Path
    output: Path
    format: str = "PNG"
    source_format: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return "standard input" if self.source == STDIO else str(self.source)


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


class MemoryBudget:
    """Bytes of decoding and working memory that the photos in flight may hold together.

    A job waits until its estimated cost fits beside the others; a job larger than the whole budget still runs,
    alone. With the default budget (what one picture at the pixel limit may use, see
    :func:`colorsplash.runtime.photo_io.cost_limit`), two pictures near the limit never decode at once.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._cond = threading.Condition()

    def acquire(self, cost: int) -> None:
        """Wait until ``cost`` fits beside the others (or nothing else is held), then hold it."""
        with self._cond:
            while self.used and self.used + cost > self.limit:
                self._cond.wait()
            self.used += cost

    def release(self, cost: int) -> None:
        with self._cond:
            self.used -= cost
            self._cond.notify_all()

    @contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        self.acquire(cost)
        try:
            yield
        finally:
            self.release(cost)


def _is_previous_output(path: Path) -> bool:
    """``cat.splash.jpg`` or ``cat.mask.png``: our own results, not inputs for a rerun."""
    return path.stem.endswith((SPLASH_TAG, MASK_TAG))


def _folder_files(folder: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    # The output folder is left out only when it lies inside the scanned one (`photos -r -o photos/out`):
    # `splash . -o .` must still find the pictures in `.`.
    exclude = exclude if exclude is not None and folder.resolve() in exclude.parents else None
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


@dataclass(frozen=True)
class OutputPlan:
    """Where results go and what may be replaced.

    Attributes:
        out_dir: a folder for the results (``-o DIR``), mirroring folder inputs; ``None``: beside each input.
        out_file: the one result file (``-o FILE``, its extension picks the format) or :data:`STDIO`.
        mask: masks (8-bit PNG alpha) instead of splashes.
        alpha: the result has transparency (PNG, WebP or TIFF only).
        overwrite: replace existing files (never an input); else they are errors, or skipped with ``skip_existing``.
    """

    out_dir: Path | None = None
    out_file: Path | None = None
    mask: bool = False
    alpha: bool = False
    overwrite: bool = False
    skip_existing: bool = False


def _result_name(src: Path, fmt: str, ext: str, plan: OutputPlan, folder: Path) -> str:
    if not plan.mask:
        return f"{src.stem}{SPLASH_TAG}{ext}"
    # In a folder of its own a mask takes the photo's stem (DIR/cat.png); beside photos it is tagged.
    other_folder = plan.out_dir is not None and folder.resolve() != src.parent.resolve()
    return f"{src.stem}.png" if other_folder else f"{src.stem}{MASK_TAG}.png"


def _planned_output(src: Path, root: Path | None, source_format: str | None,
                    plan: OutputPlan) -> tuple[Path, str]:
    """(output path, its Pillow format) for one input, from its content format."""
    fmt, ext = ("PNG", ".png") if plan.mask else output_format(source_format, src.suffix, plan.alpha)
    if plan.out_file == STDIO:
        return STDIO, fmt
    if plan.out_file is not None:  # -o FILE: its extension picks the format (checked by the caller)
        return plan.out_file, format_for_suffix(plan.out_file.suffix) or fmt
    if plan.out_dir is None:
        folder = src.parent
    else:
        folder = plan.out_dir / src.parent.relative_to(root) if root is not None else plan.out_dir
    return folder / _result_name(src, fmt, ext, plan, folder), fmt


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def plan_tasks(items: Iterable[tuple[Path, Path | None]], plan: OutputPlan,
               max_pixels: int | None = DEFAULT_MAX_PIXELS, stdin: bytes | None = None) -> tuple[list[Task], list[str]]:
    """Decide every output before anything is written: one :class:`Task` per input, or one error line.

    Each input's header is read (its content format names the result; unreadable and over-limit files fail
    here). An output that is an input, the output of an earlier input, too long a name or an existing file
    (unless ``plan.overwrite`` / ``plan.skip_existing``) is an error line naming the input, never a write.
    ``stdin`` holds standard input's bytes when ``items`` has :data:`STDIO`.
    """
    items = list(items)
    inputs = {f.resolve() for f, _ in items if f != STDIO}
    identities = {i for f, _ in items if f != STDIO and (i := _identity(f)) is not None}
    hint = "rename one of them" if plan.out_dir or plan.out_file else "rename one of them or use -o DIR"
    tasks: list[Task] = []
    errors: list[str] = []
    taken: dict[str, str] = {}  # casefolded: on macOS and Windows A.png and a.png are one file
    for src, root in items:
        label = "standard input" if src == STDIO else str(src)
        try:
            info = probe_picture(stdin if src == STDIO and stdin is not None else src, label, max_pixels)
        except ImageReadError as err:
            errors.append(str(err))
            continue
        out, fmt = _planned_output(src, root, info.format, plan)
        problem = _output_problem(out, inputs, identities, taken, plan, hint)
        if problem:
            errors.append(f"{label}: {problem}")
            continue
        if out != STDIO:
            taken[str(out.resolve()).casefold()] = label
        tasks.append(Task(src, out, fmt, info.format, stdin if src == STDIO else None))
    return tasks, errors


def _output_problem(out: Path, inputs: set[Path], identities: set[tuple[int, int]], taken: dict[str, str],
                    plan: OutputPlan, hint: str) -> str | None:
    """Why ``out`` must not be written (one line), or ``None``."""
    if out == STDIO:
        return None
    if not name_fits(out):
        return f"its output name {out.name!r} is longer than 255 bytes; rename the input"
    key = out.resolve()
    if key in inputs or (os.path.lexists(out) and _identity(out) in identities):
        return f"its output {out} is an input file; refusing to overwrite it ({hint})"
    if str(key).casefold() in taken:
        return f"its output {out} is already the output of {taken[str(key).casefold()]}; not written ({hint})"
    if os.path.lexists(out) and not (plan.overwrite or plan.skip_existing):
        return (f"its output {out} already exists and was not made by this run; not replaced "
                "(--overwrite replaces it, --skip-existing keeps it)")
    return None


@dataclass
class PhotoJob:
    """Splash (or mask) one planned file: a callable ``Task -> Outcome`` shared by the worker threads.

    The picture's header is read again first: its decode cost is held in ``budget`` while the picture is in
    memory, and a file whose format changed since planning fails. Every result is decoded again before it gets
    its name (see :func:`colorsplash.runtime.photo_io.write_image`).

    Raises (from ``__call__``):
        ImageReadError, ValueError, OSError: the file cannot be read, processed or written.
    """

    model: Model
    options: SplashOptions = field(default_factory=SplashOptions)
    mask: bool = False
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    skip_existing: bool = False
    settings: RefineSettings = field(default_factory=RefineSettings)
    overwrite: bool = False
    budget: MemoryBudget | None = None

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = MemoryBudget(cost_limit(self.max_pixels or DEFAULT_MAX_PIXELS))

    def __call__(self, task: Task) -> Outcome:
        """One photo end to end, its decoding overlapped with the model (see :func:`decode_and_plan`)."""
        read = self._read(task)
        if isinstance(read, Outcome):
            return read
        data, cost = read
        assert self.budget is not None
        with self.budget.hold(cost):
            planned = decode_and_plan(data, task.label, self.model, self.options, self.settings, self.max_pixels)
            return self._write(task, planned)

    # The three stages of the batch pipeline (``stages``); ``__call__`` is their overlapped one-photo form. The
    # photo's decode cost is held in the budget from ``load`` until ``finish`` (or an error) lets it go.

    def load(self, task: Task) -> Outcome | Loaded:
        """Read and decode one photo and make its working copy (or skip it)."""
        read = self._read(task)
        if isinstance(read, Outcome):
            return read
        data, cost = read
        assert self.budget is not None
        self.budget.acquire(cost)
        loaded = Loaded(task, cost)
        with self._released_on_error(loaded):
            loaded.photo = decode_image_bytes(data, self.max_pixels, task.label)
            loaded.small = downscale(loaded.photo.rgb, self.settings.work_side)
        return loaded

    def infer(self, loaded: Loaded) -> Loaded:
        """The model's probability for the working copy (the stage that runs on one thread)."""
        with self._released_on_error(loaded):
            assert loaded.small is not None
            loaded.prob = self.model.predict_lowres(loaded.small)
        return loaded

    def finish(self, loaded: Loaded) -> Outcome:
        """Refinement, effect, encoding and writing."""
        try:
            assert loaded.photo is not None and loaded.small is not None and loaded.prob is not None
            rgb = loaded.photo.rgb
            plan = plan_alpha(rgb.shape[:2], loaded.prob, loaded.small, self.options, self.settings)
            return self._write(loaded.task, Planned(loaded.photo, plan))
        finally:
            self._release(loaded)

    def stages(self) -> Stages[Outcome]:
        return Stages(self.load, self.infer, self.finish, lambda v: isinstance(v, Outcome))

    def _read(self, task: Task) -> Outcome | tuple[bytes, int]:
        """The input's bytes and decode cost, or the ``skipped`` outcome; a file whose format changed since
        planning fails."""
        if self.skip_existing and task.output != STDIO and os.path.lexists(task.output):
            return Outcome("skipped")
        data = task.data if task.data is not None else task.source.read_bytes()
        info = probe_picture(data, task.label, self.max_pixels)
        if info.format != task.source_format:
            raise ValueError(f"{task.label}: its content changed while this ran (was {task.source_format}, "
                             f"now {info.format}); run again")
        return data, info.cost

    @contextmanager
    def _released_on_error(self, loaded: Loaded) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._release(loaded)
            raise

    def _release(self, loaded: Loaded) -> None:
        if loaded.cost and self.budget is not None:
            self.budget.release(loaded.cost)
            loaded.cost = 0

    def _write(self, task: Task, planned: Planned) -> Outcome:
        photo = planned.photo
        messages = list(photo.notes)
        if not self.mask and fusable(planned.plan, self.options, photo.rgb):  # the default splash: one fused pass
            grey_splash_in_place(photo.rgb, planned.plan)
            self._emit(task, photo.rgb, self.options.quality, photo.exif, photo.icc)
            return Outcome("done", messages)
        result: AlphaResult = finish_alpha(planned.plan, planned.guide(), self.options)
        try:
            note = apply_on_empty(result, self.options.on_empty, task.label)
        except NoSubjectError as err:
            return Outcome("skipped", [*messages, str(err)])
        if note:
            messages.append(note)
        if self.mask:
            self._emit(task, alpha_to_uint8(result.alpha), 95, None, None)
        else:
            picture = composite(photo.rgb, result.alpha, self.options)
            self._emit(task, picture, self.options.quality, photo.exif, photo.icc)
        return Outcome("done", messages)

    def _emit(self, task: Task, picture: np.ndarray, quality: int, exif: bytes | None, icc: bytes | None) -> None:
        """Write the result to its planned file (re-opened before its rename) or to standard output."""
        if task.output == STDIO:
            _write_stdout(encode_image(picture, task.format, quality, exif, icc), task.format, picture.shape)
        else:
            write_image(task.output, picture, task.format, quality, exif, icc, replace=self.overwrite)


@dataclass
class Loaded:
    """A photo between the pipeline's stages: ``photo`` and ``small`` filled by ``load``, ``prob`` by ``infer``;
    ``cost`` is what it holds in the memory budget (0 once released)."""

    task: Task
    cost: int
    photo: Photo | None = None
    small: np.ndarray | None = None
    prob: np.ndarray | None = None


def _write_stdout(data: bytes, fmt: str, shape: tuple[int, ...]) -> None:
    """Check that ``data`` reads back, then write it to standard output (binary)."""
    check_encoded(data, fmt, (shape[1], shape[0]), "standard output")
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _outcome(future: Future[Outcome], task: Task, debug: bool) -> Outcome:
    """The worker's outcome, or its exception as one ``failed`` line that names the file."""
    try:
        return future.result()
    except Exception as err:  # the per-file boundary: report in one line and let the batch go on
        text = str(err) or type(err).__name__
        if not isinstance(err, (ValueError, OSError, RuntimeError)):
            text = f"unexpected {type(err).__name__}: {text} (--debug shows the traceback)"
        if task.label not in text:
            text = f"{task.label}: {text}"
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
