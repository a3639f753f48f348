"""Many photos at once: run the planned tasks (:mod:`colorsplash.runtime.planning`) through the pipeline with
one progress bar.

Photos go through three overlapped stages (:func:`colorsplash.runtime.pipeline.run_stages`): decoding, the model,
then refinement, effect and encoding, different photos in different stages at once (Pillow, OpenCV and ONNX Runtime
all release the GIL); a single photo takes the overlapped one-photo path instead
(:func:`colorsplash.runtime.pipeline.decode_and_plan`). Each file succeeds or fails on its own: a failure is one
line naming the file and the batch goes on, except on a full disk, which stops it
(:mod:`colorsplash.runtime.batch_report`).

Output names are all decided before anything is written (:func:`plan_tasks`), from each input's content format,
and checked against every input and every other output of the run. A result never replaces an input, nor an
existing file this run did not create unless ``overwrite`` is set (``--overwrite``); such files are one error line
each, or skipped with ``skip_existing`` (``--skip-existing``, which resumes an interrupted batch). Every result is
decoded again from its temporary file before it gets its name, so a result that cannot be opened is a failure.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from colorsplash.runtime.batch_report import (
    STOPPING,
    Outcome,
    Summary,
    interrupted_line,
    outcome_of,
    stopped_line,
)
from colorsplash.runtime.cpu import usable_cores
from colorsplash.runtime.edges.alpha import (
    AlphaResult,
    RefineSettings,
    alpha_to_uint8,
    finish_alpha,
    model_presence,
    plan_alpha,
)
from colorsplash.runtime.effects import composite
from colorsplash.runtime.files import NOT_OURS
from colorsplash.runtime.fused import GreySplash, fusable
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.runtime.no_subject import NoSubjectError, apply_on_empty
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import (
    DEFAULT_MAX_PIXELS,
    Photo,
    cost_limit,
    decode_image_bytes,
    probe_picture,
    read_picture_bytes,
)
from colorsplash.runtime.pictures.photo_write import encode_image, write_image, write_stdout
from colorsplash.runtime.pipeline import Planned, Stages, auto_jobs, dct_working_copy, decode_and_plan, run_items
from colorsplash.runtime.planning import (
    MASK_TAG,
    SPLASH_TAG,
    STDIO,
    OutputPlan,
    Task,
    expand_inputs,
    kept_existing,
    made_by_others,
    plan_tasks,
)
from colorsplash.runtime.result_notes import Written, result_notes
from colorsplash.runtime.wording import Wording

__all__ = [
    "MASK_TAG",
    "SPLASH_TAG",
    "STDIO",
    "MemoryBudget",
    "Outcome",
    "OutputPlan",
    "PhotoJob",
    "Summary",
    "Task",
    "expand_inputs",
    "plan_tasks",
    "run_batch",
]


class MemoryBudget:
    """Bytes of decoding and working memory that the photos in flight may hold together.

    A job waits until its estimated cost fits beside the others; a job larger than the whole budget still runs,
    alone. With the default budget (what one picture at the pixel limit may use, see
    :func:`colorsplash.runtime.pictures.photo_io.cost_limit`), two pictures near the limit never decode at once.
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


@dataclass
class PhotoJob:
    """Splash (or mask) one planned file: a callable ``Task -> Outcome`` shared by the worker threads.

    The picture's header is read again first: its decode cost is held in ``budget`` while the picture is in
    memory, and a file whose format changed since planning fails. Every result is decoded again before it gets
    its name (see :func:`colorsplash.runtime.pictures.photo_write.write_image`).

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
        """Read and decode one photo and make its working copy as the one-photo path does (or skip it)."""
        read = self._read(task)
        if isinstance(read, Outcome):
            return read
        data, cost = read
        assert self.budget is not None
        self.budget.acquire(cost)
        loaded = Loaded(task, cost)
        with self._released_on_error(loaded):
            loaded.photo = decode_image_bytes(data, self.max_pixels, task.label)
            rgb, side = loaded.photo.rgb, self.model.config.input_size
            # The one-photo path's copy (a large JPEG's from its DCT), so a photo alone and in a folder match
            small = dct_working_copy(data, rgb.shape[:2], self.settings, side)
            loaded.small = small if small is not None else self.settings.working_copy(rgb, side)
        return loaded

    def infer(self, loaded: Loaded, model: Model | None = None) -> Loaded:
        """The model's (``model``, default ``self.model``) probability for the working copy."""
        with self._released_on_error(loaded):
            assert loaded.small is not None
            loaded.prob, loaded.presence = model_presence(model or self.model, loaded.small)
        return loaded

    def finish(self, loaded: Loaded) -> Outcome:
        """Refinement, effect, encoding and writing."""
        try:
            assert loaded.photo is not None and loaded.small is not None and loaded.prob is not None
            rgb = loaded.photo.rgb
            plan = plan_alpha(rgb.shape[:2], loaded.prob, loaded.small, self.options, self.settings, loaded.presence)
            return self._write(loaded.task, Planned(loaded.photo, plan))
        finally:
            self._release(loaded)

    def stages(self) -> Stages[Outcome]:
        """The batch's stages; on a CPU with several cores the model stage runs one photo per core, each on one
        thread (see :func:`batch_model`)."""
        model, workers = batch_model(self.model)
        infer = self.infer if model is self.model else functools.partial(self.infer, model=model)
        return Stages(self.load, infer, self.finish, lambda v: isinstance(v, Outcome), workers)

    def _read(self, task: Task) -> Outcome | tuple[bytes, int]:
        """The input's bytes and decode cost, or the ``skipped`` outcome; a file whose format changed since
        planning fails."""
        if kept_existing(task.output, self.skip_existing):
            return Outcome("skipped")
        if made_by_others(task.output, self.overwrite, self.skip_existing):
            # Another run wrote it since planning: fail now (the write would refuse it), not after the model ran. One
            # argument, as the write's own refusal: OSError(errno, text) read "[Errno 17] cannot write ..."
            raise OSError(f"cannot write {task.output}: it {NOT_OURS}")
        # read_picture_bytes: a photo removed since planning said "[Errno 2] No such file or directory: 'a.png'"
        data = task.data if task.data is not None else read_picture_bytes(task.source)
        info = probe_picture(data, task.label, self.max_pixels)
        if info.format != task.source_format:
            raise ValueError(
                f"{task.label}: its content changed while this ran (was {task.source_format}, "
                f"now {info.format}); run again"
            )
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
        """:meth:`_write_result`; with ``skip_existing``, an output another run made meanwhile is skipped, not failed
        (two runs resuming one folder at once)."""
        try:
            return self._write_result(task, planned)
        except OSError as err:
            # The output itself appeared (not a file in the way of its folder, which mkdir reports the same way)
            if self.skip_existing and isinstance(err.__cause__, FileExistsError) and os.path.isfile(task.output):
                return Outcome("skipped", [f"{task.output}: made meanwhile by another run; left as it is"])
            raise

    def _write_result(self, task: Task, planned: Planned) -> Outcome:
        photo = planned.photo
        written: Written = "mask" if self.mask else "cut-out" if self.options.effect == "transparent" else "splash"
        messages = result_notes(photo, written, task.format)
        if not self.mask and fusable(planned.plan, self.options, photo.rgb):  # the default splash: one fused pass
            # Band by band just before each is encoded: later bands blend while earlier ones encode.
            splash = GreySplash(photo.rgb, planned.plan)
            self._emit(task, photo.rgb, self.options.quality, photo, splash)
            return Outcome("done", messages)
        result: AlphaResult = finish_alpha(planned.plan, planned.guide(), self.options)
        try:
            note = apply_on_empty(result, self.options.on_empty, task.label, self.mask, Wording.of(self.model, "cli"))
        except NoSubjectError as err:  # on standard output, nothing written reads as an empty picture: it failed
            gone = ", so nothing was written to standard output" if task.output == STDIO else ""
            # Nothing written: what reading it noted, no note on what the file leaves out (metadata, transparency)
            return Outcome("failed" if gone else "skipped", [*photo.notes, f"{err}{gone}"])
        if note:
            messages.append(note)
        if self.mask:
            self._emit(task, alpha_to_uint8(result.alpha), 95, None)
        else:
            picture = composite(photo.rgb, result.alpha, self.options, photo.alpha)
            self._emit(task, picture, self.options.quality, photo)
        return Outcome("done", messages)

    def _emit(
        self,
        task: Task,
        picture: np.ndarray,
        quality: int,
        photo: Photo | None,
        prepare: Callable[[slice], None] | None = None,
    ) -> None:
        """Write the result to its planned file (re-opened before its rename) or to standard output, carrying
        ``photo``'s EXIF, ICC profile, XMP, IPTC and chroma resolution (``None``: a mask, nothing carried);
        ``prepare`` makes the picture's rows as they are encoded (see :func:`encode_image`)."""
        exif, icc, xmp, iptc = (photo.exif, photo.icc, photo.xmp, photo.iptc) if photo else (None, None, None, None)
        full_chroma = photo is not None and photo.full_chroma
        lossless = photo is not None and photo.lossless
        if task.output == STDIO:
            data = encode_image(
                picture,
                task.format,
                quality,
                exif,
                icc,
                prepare,
                full_chroma=full_chroma,
                xmp=xmp,
                iptc=iptc,
                lossless=lossless,
            )
            write_stdout(data, task.format, picture.shape)
        else:
            write_image(
                task.output,
                picture,
                task.format,
                quality,
                exif,
                icc,
                self.overwrite,
                prepare,
                full_chroma=full_chroma,
                xmp=xmp,
                iptc=iptc,
                lossless=lossless,
            )


@dataclass
class Loaded:
    """A photo between the pipeline's stages: ``photo`` and ``small`` filled by ``load``, ``prob`` by ``infer``;
    ``cost`` is what it holds in the memory budget (0 once released)."""

    task: Task
    cost: int
    photo: Photo | None = None
    small: np.ndarray | None = None
    prob: np.ndarray | None = None
    presence: tuple[float, float] | None = None


def batch_model(model: Model) -> tuple[Model, int]:
    """The model for a batch's model stage and how many photos it runs at once.

    On a CPU with several cores: the same file single-threaded, one photo per core. ONNX Runtime spreads one run
    over the cores with 77 % efficiency on 2 cores (int8 model: 80.7 ms on one thread, 45.6 ms on two), so runs side
    by side finish more photos per second (measured 22.3 against 19.4 photos/s). Otherwise (one core, a GPU, or a
    stand-in that is not a loaded file) ``model`` itself, one photo at a time.
    """
    cores = usable_cores()
    if cores < 2 or not isinstance(model, Model) or model.device != "cpu":
        return model, 1
    return load_model(model.path, threads=1, precision="file", device="cpu"), cores


def run_batch(
    tasks: Sequence[Task],
    work: Callable[[Task], Outcome],
    jobs: int | None = None,
    progress: bool = True,
    debug: bool = False,
    report: Callable[[str], None] | None = None,
) -> Summary:
    """Run ``work`` on every task (``jobs`` worker threads per stage, ``None``: ``--jobs auto``, see
    :func:`~colorsplash.runtime.pipeline.auto_jobs`) with one
    progress bar; messages go to ``report`` (default: above the bar on stderr). Returns the counts and the time
    taken."""
    say = report or (lambda text: tqdm.write(text, file=sys.stderr))
    summary = Summary()
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    leftovers: list[tuple[Task, Future[Outcome]]] = []
    results = run_items(tasks, work, jobs or auto_jobs(), leftovers)
    stopped, interrupted, n, replacing = False, False, 0, isinstance(work, PhotoJob) and work.overwrite
    try:
        for n, (task, future) in enumerate(results, 1):
            summary.add(outcome_of(future, task, debug), say)
            bar.update()
            if stopped := summary.stopped_by_disk and n < len(tasks):  # the files after it would fail alike
                break
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: what was done and how to go on is said, then it stops
        interrupted = True
        if n < len(tasks):  # files still at work, finished before it stops: said now, not once they are
            say(STOPPING)
        raise
    finally:
        results.close()  # on Ctrl-C: running files finish (their writes are atomic), queued ones are dropped
        bar.close()
        if stopped or interrupted:  # the files that were running when it stopped count as what became of them
            summary.add_after_stop(len(tasks) - n, [outcome_of(f, t, debug) for t, f in leftovers], say)
            say(
                interrupted_line(summary, len(tasks), replacing)
                if interrupted
                else stopped_line(summary.not_done, replacing)
            )
    summary.seconds = time.perf_counter() - start
    return summary
