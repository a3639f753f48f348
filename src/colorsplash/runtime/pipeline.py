"""Overlapped execution: one photo's decoding, model and refinement at once; many photos' stages at once.

**One photo** (:func:`decode_and_plan`): a large JPEG is decoded twice in parallel: at full size in a worker
thread, and reduced for the model straight from its DCT coefficients (Pillow's ``draft`` mode: libjpeg scales by
1/2, 1/4 or 1/8 while decoding, for a fraction of the cost). While the full decode runs, the model and the edge
refinement's coefficients (:func:`colorsplash.runtime.edges.alpha.plan_alpha`) work on the reduced copy; then the blend
runs band by band while earlier bands are encoded (:mod:`colorsplash.runtime.pictures.jpeg_bands`). Other formats decode
once, then run the same steps. (Decoding the model's copy at 1/8 and the working copy from the full decode
measured no faster: the full-size reduction costs what the smaller DCT scale saves.)

**Many photos** (:func:`run_stages`): each photo goes through three stages, *load* (read and decode; a large
JPEG's working copy from its DCT, as for one photo: :func:`dct_working_copy`), *infer* (the model: on a CPU of
several cores one photo per core, each on one thread, see :func:`colorsplash.runtime.batch.batch_model`; else one
photo at a time) and *finish* (refinement, effect, encode, write), with different photos in different stages at
once. A bounded number of
photos is in flight, so memory stays bounded whatever the folder's size. :func:`run_items` picks that pipeline,
or a plain thread pool for work without stages.

Pixels are RGB (not BGR) uint8 ``HxWx3`` throughout.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from colorsplash.runtime.cpu import usable_cores
from colorsplash.runtime.edges.alpha import (
    AlphaPlan,
    model_presence,
    photo_guide,
    plan_alpha,
)
from colorsplash.runtime.edges.working import RefineSettings, shrink
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import (
    DEFAULT_MAX_PIXELS,
    Photo,
    decode_image_bytes,
    orient_pixels,
    pending_orientation,
)
from colorsplash.runtime.pictures.picture_open import READ_ERRORS, open_quiet

T = TypeVar("T")
_SWAPS_SIDES = (5, 6, 7, 8)  # EXIF orientations that turn the picture a quarter
_JPEG_SOI = b"\xff\xd8\xff"  # a JPEG's first bytes (start of image, then a marker)


# ------------------------------------------------------------------------------------------------ one photo


def reduced_jpeg(data: bytes, target_hw: tuple[int, int]) -> np.ndarray | None:
    """An upright RGB uint8 copy of a colour JPEG of exactly ``target_hw`` (upright height, width), decoded at the
    smallest DCT scale (1/1, 1/2, 1/4, 1/8) still at least that large, then area-resized as stored (the picture's
    part only: a side that is no multiple of the scale ends in a row or column partly of the encoder's padding) and
    turned upright; ``None`` when ``data`` is not a plain colour JPEG (the caller decodes fully instead).

    Cost on a 12 MP photo reduced to 1000x750: about a third of the full decode.
    """
    try:
        with open_quiet(io.BytesIO(data)) as img:  # our limit applies, not Pillow's
            if img.format not in ("JPEG", "MPO") or img.mode != "RGB":
                return None
            orientation = pending_orientation(img)
            th, tw = target_hw
            sw, sh = (tw, th) if orientation not in _SWAPS_SIDES else (th, tw)  # (width, height) as stored
            drafted = img.draft("RGB", (sw, sh))
            # The picture's part of the reduced decode (its last row and column hold the encoder's padding too)
            extent = (drafted[1][3], drafted[1][2]) if drafted else None
            rgb = np.asarray(img.convert("RGB"))
    except READ_ERRORS:
        return None  # the full decode reports the problem with the file's name
    if rgb.shape[0] < sh or rgb.shape[1] < sw:
        return None
    if rgb.shape[:2] != (sh, sw):  # shrunk as stored, where the padding lies, then turned as the full decode is
        rgb = shrink(rgb, (sh, sw), extent)
    return orient_pixels(rgb, orientation)


def dct_working_copy(data: bytes, hw: tuple[int, int], settings: RefineSettings, model_side: int) -> np.ndarray | None:
    """The working copy (RGB uint8, :meth:`RefineSettings.working_hw` of the upright ``hw``) of the picture file
    ``data``, decoded straight from its DCT (:func:`reduced_jpeg`); ``None`` when the photo is its own working copy,
    is not a plain colour JPEG, or its header disagrees with ``hw`` (the caller shrinks the decoded photo instead).

    The one owner of how the model's copy of a picture file is made: the one-photo path calls it before the full
    decode ends, the batch after, so a photo alone and in a folder get the same bits.
    """
    small_hw = settings.working_hw(*hw, model_side)
    if small_hw == hw or jpeg_upright_size(data) != hw:
        return None
    return reduced_jpeg(data, small_hw)


def jpeg_upright_size(data: bytes) -> tuple[int, int] | None:
    """:func:`upright_size` of a JPEG (MPO too); ``None`` for any other picture, not opened: only a JPEG's working
    copy comes from its DCT, and the orientation of a PNG is not in its header for Pillow, which decodes the whole
    PNG to find an EXIF chunk after its pixels (a second full decode of every PNG before the decode proper)."""
    return upright_size(data) if data.startswith(_JPEG_SOI) else None


def upright_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) of the picture once turned upright by its EXIF orientation, from the header only (but a PNG:
    Pillow decodes it to find its EXIF; :func:`jpeg_upright_size` reads JPEGs alone)."""
    try:
        with open_quiet(io.BytesIO(data)) as img:  # our limit applies, not Pillow's
            w, h = img.size
            return (w, h) if pending_orientation(img, header_size=True) in _SWAPS_SIDES else (h, w)
    except READ_ERRORS:
        return None


@dataclass
class Planned:
    """A decoded photo with its alpha plan (everything but the full-size refinement, effect and encoding)."""

    photo: Photo
    plan: AlphaPlan

    def guide(self) -> np.ndarray | None:
        """What the full-size refinement reads of the photo (see
        :func:`colorsplash.runtime.edges.alpha.photo_guide`)."""
        return photo_guide(self.photo.rgb, self.plan)


def decode_and_plan(
    data: bytes,
    name: str,
    model: Model,
    options: SplashOptions | None = None,
    settings: RefineSettings | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Planned:
    """Decode ``data`` and run the model and the refinement's coefficients, overlapped for JPEGs (see the module
    docstring); the alpha plan is the batch's (:meth:`colorsplash.runtime.batch.PhotoJob.load` makes the same
    working copy, :func:`dct_working_copy`), bit for bit.

    Raises:
        ImageReadError: unreadable picture (from :func:`colorsplash.runtime.pictures.photo_io.decode_image_bytes`).
        ValueError: ``options.point`` lies outside the photo.
    """
    settings = settings or RefineSettings()
    hw = jpeg_upright_size(data)
    small = None
    if hw is not None and max_pixels is not None and hw[0] * hw[1] > max_pixels:
        hw = None  # over the limit: let the full decode refuse it, without decoding a reduced copy first
    if hw is not None and settings.working_hw(*hw, model.config.input_size) != hw:
        with ThreadPoolExecutor(1, thread_name_prefix="decode") as pool:
            full = pool.submit(decode_image_bytes, data, max_pixels, name)
            small = dct_working_copy(data, hw, settings, model.config.input_size)
            plan = None
            if small is not None:
                with model.exclusive(False):  # the decode shares the cores: sleeping threads (Model.exclusive)
                    prob, presence = model_presence(model, small)
                plan = plan_alpha(hw, prob, small, options, settings, presence)
            photo = full.result()
        if plan is not None and photo.rgb.shape[:2] == hw:
            return Planned(photo, plan)
    else:
        photo = decode_image_bytes(data, max_pixels, name)
    small = settings.working_copy(photo.rgb, model.config.input_size)
    prob, presence = model_presence(model, small)
    return Planned(photo, plan_alpha(photo.rgb.shape[:2], prob, small, options, settings, presence))


# ------------------------------------------------------------------------------------------------ many photos


@dataclass
class Stages(Generic[T]):
    """The three steps of one item; each returns the next step's input, or a final result of type ``T`` to
    end the item early (e.g. a skipped file). ``infer`` runs on ``infer_workers`` threads (items at once)."""

    load: Callable[[Any], Any]
    infer: Callable[[Any], Any]
    finish: Callable[[Any], T]
    is_final: Callable[[Any], bool]
    infer_workers: int = 1


def auto_jobs(cores: int | None = None) -> int:
    """Worker threads for loading and for finishing with ``--jobs auto``: the cores this process may use, at
    least 2 (one decodes while another encodes), at most 8."""
    return max(2, min(8, usable_cores() if cores is None else cores))


def run_stages(
    items: Sequence[Any],
    stages: Stages[T],
    jobs: int,
    in_flight: int | None = None,
    leftovers: list[tuple[Any, Future[T]]] | None = None,
) -> Generator[tuple[Any, Future[T]], None, None]:
    """Run every item through ``stages`` with up to ``in_flight`` items (default ``2 * jobs + 2``) held at once;
    yields ``(item, future)`` as items finish, in completion order. An exception in any stage ends that item only
    (its future holds it). Closing the iterator early (Ctrl-C) lets running steps finish and drops the rest; the
    items that finished meanwhile (written, or failed) are added to ``leftovers``, the dropped ones are not.
    """
    run: _StagedRun[T] = _StagedRun(stages, jobs, in_flight or 2 * jobs + 2)
    feeder = threading.Thread(target=run.feed, args=(items,), name="feed", daemon=True)
    feeder.start()
    try:
        yield from run.finished()
    finally:
        run.close()
        while leftovers is not None and not run.done.empty():
            if not isinstance(got := run.done.get(), int):
                leftovers.append(got)


def run_items(
    items: Sequence[Any],
    work: Callable[[Any], T],
    jobs: int,
    leftovers: list[tuple[Any, Future[T]]] | None = None,
) -> Generator[tuple[Any, Future[T]], None, None]:
    """``(item, future)`` pairs as items finish: :func:`run_stages` when ``work`` has ``stages()`` (see
    :class:`colorsplash.runtime.batch.PhotoJob`) and there is more than one item, else a plain pool of ``jobs``
    threads (one item: the work's own overlapped path). Closing the iterator early (Ctrl-C, a full disk) lets
    running items finish, adding them to ``leftovers`` (so a caller counts what they wrote), and drops queued
    ones."""
    stages = getattr(work, "stages", None)
    if stages is not None and len(items) > 1:
        yield from run_stages(items, stages(), jobs, leftovers=leftovers)
        return
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="colorsplash")
    futures: dict[Future[T], Any] = {}
    seen: set[Future[T]] = set()
    try:
        futures.update((pool.submit(work, item), item) for item in items)  # inside: Ctrl-C here shuts the pool too
        for future in as_completed(futures):
            seen.add(future)
            yield futures[future], future
    finally:
        # On Ctrl-C: drop queued files; running ones finish (their writes are atomic).
        pool.shutdown(wait=True, cancel_futures=True)
        if leftovers is not None:
            leftovers += [(futures[f], f) for f in futures if f not in seen and f.done() and not f.cancelled()]


class _StagedRun(Generic[T]):
    """One :func:`run_stages` call: a thread pool per stage, a bound of ``capacity`` items in flight, and the queue
    of finished items (and, last, the count of items fed in)."""

    def __init__(self, stages: Stages[T], jobs: int, capacity: int) -> None:
        self.stages, self.capacity = stages, capacity
        self.limit = threading.Semaphore(capacity)
        self.done: queue.Queue[tuple[Any, Future[T]] | int] = queue.Queue()
        self.stop = threading.Event()
        self.loaders = ThreadPoolExecutor(jobs, thread_name_prefix="load")
        self.model = ThreadPoolExecutor(max(1, stages.infer_workers), thread_name_prefix="model")
        self.finishers = ThreadPoolExecutor(jobs, thread_name_prefix="finish")

    def feed(self, items: Sequence[Any]) -> None:
        """Start items as room frees up; then put how many went in (the consumer stops once it has seen them)."""
        count = 0
        for item in items:
            self.limit.acquire()
            if self.stop.is_set():
                break
            count += 1
            result: Future[T] = Future()
            self._step(item, result, self.loaders, self.stages.load, item, self._after_load(item, result))
        self.done.put(count)

    def finished(self) -> Generator[tuple[Any, Future[T]], None, None]:
        """``(item, future)`` pairs in completion order until every item fed in has come out."""
        seen, total = 0, -1
        while seen != total:
            got = self.done.get()
            if isinstance(got, int):
                total = got
                continue
            seen += 1
            yield got

    def close(self) -> None:
        """Stop feeding (unblock the feeder if it waits for room), let running steps finish, drop queued ones."""
        self.stop.set()
        for _ in range(self.capacity):
            self.limit.release()
        for pool in (self.loaders, self.model, self.finishers):
            pool.shutdown(wait=True, cancel_futures=True)

    def _settle(self, item: Any, result: Future[T], value: Any = None, error: BaseException | None = None) -> None:
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(value)
        self.limit.release()
        self.done.put((item, result))

    def _step(
        self,
        item: Any,
        result: Future[T],
        pool: ThreadPoolExecutor,
        fn: Callable[[Any], Any],
        arg: Any,
        then: Callable[[Any], None] | None,
    ) -> None:
        """Run ``fn(arg)`` on ``pool``; its value goes to ``then`` (the next stage), or settles the item when it
        is final (or there is no next stage); an exception settles the item with it."""

        def run() -> None:
            try:
                value = fn(arg)
            except BaseException as err:  # carried to the consumer in the item's future
                self._settle(item, result, error=err)
                return
            if then is None or self.stages.is_final(value):
                self._settle(item, result, value)
            else:
                then(value)

        try:
            pool.submit(run)
        except RuntimeError as err:  # the pool was shut down
            if self.stop.is_set():  # by the consumer (close): the item never started, it is dropped, not failed
                self.limit.release()
                return
            self._settle(item, result, error=err)

    def _after_load(self, item: Any, result: Future[T]) -> Callable[[Any], None]:
        """After loading: the model, then finishing."""

        def after_infer(value: Any) -> None:
            self._step(item, result, self.finishers, self.stages.finish, value, None)

        def after_load(value: Any) -> None:
            self._step(item, result, self.model, self.stages.infer, value, after_infer)

        return after_load
