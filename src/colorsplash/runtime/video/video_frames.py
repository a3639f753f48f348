"""Splashing a clip's frames in order: the model running ahead on the next frames, the probability smoothed over
time, each frame refined and blended (:class:`FrameSplasher`), and repeated frames splashed once
(:func:`unique_runs`). Frames are RGB (not BGR) uint8 ``HxWx3``. Reading and writing clips is
:mod:`colorsplash.runtime.video.clip`'s.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from colorsplash.runtime.batch import batch_model
from colorsplash.runtime.edges.alpha import RefineSettings, compute_alpha, model_presence, presence_of
from colorsplash.runtime.effects import composite
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.no_subject import apply_on_empty
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.video.temporal import SmoothingConfig, TemporalSmoother
from colorsplash.runtime.wording import Wording

__all__ = ["FrameSplasher", "Inferred", "check_video_options", "unique_runs", "video_options"]

log = logging.getLogger(__name__)


def video_options(options: SplashOptions | None) -> SplashOptions:
    """The options a clip is splashed with: ``edges=auto`` means the fast edge stage for video. A frame is seen
    in motion, not at 100 % zoom, and the matte stage costs about half as much time again per frame (720p: 10.3
    against 14.8 frames/s on a 2-core AVX2 CPU, ``bench/run_all.py --only video``)."""
    options = options or SplashOptions()
    return options.replace(edges="fast") if options.edges == "auto" else options


def check_video_options(options: SplashOptions) -> None:
    """Reject the photo options a video cannot honour, naming the option and the alternative."""
    if options.effect == "transparent":
        raise ValueError(
            "--effect transparent makes PNG cut-outs of photos; videos need an opaque effect "
            "(grey, blur, dim, sepia or color:#RRGGBB)"
        )
    if options.on_empty == "skip":
        raise ValueError("--on-empty skip would drop frames and change the clip's timing; use grey or copy")


class FrameSplasher:
    """Splash the frames of one clip, in order, with a temporally smoothed alpha.

    One instance per clip (it remembers the previous frame); not thread-safe. ``name`` is what the no-subject
    note (:func:`~colorsplash.runtime.no_subject.apply_on_empty`) calls the frames; :attr:`empty_frames` counts the
    frames without a subject and :attr:`empty_note` is that note for the most promising of them (``None``: a
    subject in every frame); :attr:`words` is how those lines are worded (the model's subject, CLI flags).
    """

    def __init__(
        self,
        model: Model,
        options: SplashOptions | None = None,
        smoothing: SmoothingConfig | None = None,
        settings: RefineSettings | None = None,
        name: str = "a frame",
    ) -> None:
        self.model = model
        self.options = video_options(options)
        check_video_options(self.options)
        self.settings = settings or RefineSettings()
        self.smoother = TemporalSmoother(smoothing if smoothing is not None else SmoothingConfig())
        self.name = name
        self.words = Wording.of(model, "cli", "clip")  # "skip" is refused for video up front
        self.empty_frames = 0
        self.empty_note: str | None = None
        self._last_empty = False
        self._empty_score = -1.0

    def infer(self, frame: np.ndarray, model: Model | None = None) -> Inferred:
        """The model's part of :meth:`alpha` for ``frame`` (RGB uint8 ``HxWx3``) with ``model`` (default
        :attr:`model`); it keeps no state, so several frames may run it at once, in any order."""
        small = self.settings.working_copy(frame, self.model.config.input_size)
        # Model input is resized from the working copy, exactly as alpha.model_alpha does for photos.
        low, presence = model_presence(model or self.model, small)
        return Inferred(small, low, presence)

    def finish_alpha(self, frame: np.ndarray, inferred: Inferred) -> np.ndarray:
        """The rest of :meth:`alpha`, from :meth:`infer`'s result for ``frame`` (RGB uint8 ``HxWx3``): frames in
        order (it smooths over time). Returns float32 ``HxW`` in [0, 1], 1 = keep colour."""
        prob = self.smoother.update(inferred.small, inferred.low)
        # The score follows the smoothing.
        presence = presence_of(self.model, prob, inferred.presence, self.smoother.score)
        result = compute_alpha(frame, prob, self.options, self.settings, inferred.small, presence)
        note = apply_on_empty(result, self.options.on_empty, self.name, words=self.words)
        self._last_empty = note is not None
        if note is not None:
            self.empty_frames += 1
            if result.score > self._empty_score:
                self.empty_note, self._empty_score = note, result.score
        return result.alpha

    def repeated(self, copies: int) -> None:
        """Count ``copies`` more of the last finished frame, written again without splashing it again (a repeat
        of the clip's timeline, see :func:`unique_runs`)."""
        if self._last_empty:
            self.empty_frames += copies

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """The frame's final alpha: float32 ``HxW`` in [0, 1], 1 = keep colour (``on_empty`` applied)."""
        return self.finish_alpha(frame, self.infer(frame))

    def splash(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``HxWx3`` frame -> its splash, RGB uint8 ``HxWx3``."""
        return composite(frame, self.alpha(frame), self.options)

    def splash_all(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """:meth:`splash` of every frame (RGB uint8 ``HxWx3`` in, the same out), in order, the model running
        ahead: on a CPU with several cores, one
        frame per core on single-threaded sessions side by side (:func:`colorsplash.runtime.batch.batch_model`),
        while this thread smooths, refines, blends and hands over the frames before them. The same frames as
        one :meth:`splash` after another; at most one frame per core plus one in flight."""
        model, workers = batch_model(self.model)
        with ThreadPoolExecutor(workers, thread_name_prefix="video-model") as pool:
            ahead: deque[tuple[np.ndarray, Future[Inferred]]] = deque()
            try:
                for frame in frames:
                    ahead.append((frame, pool.submit(self.infer, frame, model)))
                    if len(ahead) > workers:
                        yield self._splashed(*ahead.popleft())
                while ahead:
                    yield self._splashed(*ahead.popleft())
            finally:
                for _, future in ahead:  # stopped early (an error, Ctrl-C): runs not yet started are dropped
                    future.cancel()

    def _splashed(self, frame: np.ndarray, inferred: Future[Inferred]) -> np.ndarray:
        return composite(frame, self.finish_alpha(frame, inferred.result()), self.options)


@dataclass(frozen=True)
class Inferred:
    """A frame's model output (:meth:`FrameSplasher.infer`): its working copy (RGB uint8), the probability
    (float32 ``SxS`` in [0, 1]) and ``(subject score, threshold)``."""

    small: np.ndarray
    low: np.ndarray
    presence: tuple[float, float]


def unique_runs(frames: Iterable[np.ndarray], counts: deque[int]) -> Iterator[np.ndarray]:
    """Yield each run of identical consecutive frames once, appending its length to ``counts`` *before* the
    frame is yielded: a consumer may read ahead, and when it gets a frame's result, that frame's count is known.

    The reader repeats frames where the timeline has none (the slow stretches of a variable-rate clip, frames lost
    to damage): splashing each copy again would cost a model run and let the temporal smoothing drift on a still
    picture. ``frames``: RGB uint8 ``HxWx3``, compared byte for byte.
    """
    previous: np.ndarray | None = None
    run = 0
    for frame in frames:
        if previous is not None and np.array_equal(frame, previous):
            run += 1
            continue
        if previous is not None:
            counts.append(run)
            yield previous
        previous, run = frame, 1
    if previous is not None:
        counts.append(run)
        yield previous
