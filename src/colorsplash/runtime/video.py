"""Colour splash for video clips: frames streamed through ffmpeg, alpha smoothed over time, audio kept.

Per frame: the model's low-resolution probability -> :class:`~colorsplash.runtime.temporal.TemporalSmoother`
(motion-compensated blend with the past, reset at scene cuts) -> full-resolution alpha with edge refinement
on that frame (:func:`colorsplash.runtime.alpha.compute_alpha`) -> effect
(:func:`colorsplash.runtime.effects.apply_effect`).
Smoothing happens on the probability, before refinement and compositing, so edges still follow each frame.
The model runs ahead of that, on the next frames (one per core, single-threaded sessions side by side, as the
photo batch does), while the frames before them are smoothed, refined, blended and encoded in order
(:meth:`FrameSplasher.splash_all`): 720p 11.5-12.5 -> 14.8-14.9 frames/s on a 2-core AVX2 CPU with the same output.

Frames are RGB (not BGR) uint8 ``HxWx3`` throughout. Memory is bounded by a few frames whatever the clip's length,
and frames larger than a pixel limit are refused before any is decoded.

Frames follow the input's timeline (:class:`~colorsplash.runtime.video_reader.FrameReader`): a frame lost to a
damaged stretch is replaced by the previous one, so the copied audio stays in sync, and the damage is reported
(:attr:`VideoResult.damaged`, a warning) or, with ``strict``, refused.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.runtime.alpha import (
    RefineSettings,
    apply_on_empty,
    check_point,
    compute_alpha,
    model_presence,
    presence_of,
)
from colorsplash.runtime.batch import batch_model
from colorsplash.runtime.effects import composite
from colorsplash.runtime.files import publish
from colorsplash.runtime.onnx_model import Model, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.temporal import NO_SMOOTHING, SmoothingConfig, TemporalSmoother
from colorsplash.runtime.video_encode import Encoder, container_for, mux_audio, odd_size_note
from colorsplash.runtime.video_io import DEFAULT_MAX_VIDEO_PIXELS, VideoError, VideoInfo, probe, verify_video
from colorsplash.runtime.video_reader import DecodeReport, FrameReader
from colorsplash.runtime.video_temp import PartialFile, remove_stale_partials

__all__ = [
    "DEFAULT_MAX_VIDEO_PIXELS",
    "FrameSplasher",
    "Inferred",
    "VideoError",
    "VideoResult",
    "check_video_options",
    "splash_video",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoResult:
    """What :func:`splash_video` wrote; ``empty_frames``: frames in which no subject was found (``on_empty``
    applied to them; a warning when that is every frame)."""

    input: Path
    output: Path
    frames: int
    width: int
    height: int
    fps: Fraction
    audio: bool
    seconds: float
    scene_cuts: int
    decode: DecodeReport = field(default_factory=DecodeReport)
    empty_frames: int = 0

    @property
    def damaged(self) -> bool:
        """The input had decoding errors: the output was written with lost frames filled (see :attr:`decode`)."""
        return self.decode.damaged

    @property
    def frames_per_second(self) -> float:
        """Processing speed (frames per wall-clock second, decoding and encoding included)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


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
    note (:func:`~colorsplash.runtime.alpha.apply_on_empty`) calls the frames; :attr:`empty_frames` counts the
    frames without a subject and :attr:`empty_note` is that note for the most promising of them (``None``: a
    subject in every frame).
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
        self.empty_frames = 0
        self.empty_note: str | None = None
        self._empty_score = -1.0

    def infer(self, frame: np.ndarray, model: Model | None = None) -> Inferred:
        """The model's part of :meth:`alpha` (``model``, default :attr:`model`); it keeps no state, so several
        frames may run it at once, in any order."""
        small = self.settings.working_copy(frame, self.model.config.input_size)
        # Model input is resized from the working copy, exactly as alpha.model_alpha does for photos.
        low, presence = model_presence(model or self.model, small)
        return Inferred(small, low, presence)

    def finish_alpha(self, frame: np.ndarray, inferred: Inferred) -> np.ndarray:
        """The rest of :meth:`alpha`, from :meth:`infer`'s result for ``frame``: frames in order (it smooths
        over time)."""
        prob = self.smoother.update(inferred.small, inferred.low)
        # The score follows the smoothing.
        presence = presence_of(self.model, prob, inferred.presence, self.smoother.score)
        result = compute_alpha(frame, prob, self.options, self.settings, inferred.small, presence)
        note = apply_on_empty(result, self.options.on_empty, self.name)  # "skip" is refused for video up front
        if note is not None:
            self.empty_frames += 1
            if result.score > self._empty_score:
                self.empty_note, self._empty_score = note, result.score
        return result.alpha

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """The frame's final alpha: float32 ``HxW`` in [0, 1], 1 = keep colour (``on_empty`` applied)."""
        return self.finish_alpha(frame, self.infer(frame))

    def splash(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``HxWx3`` frame -> its splash, RGB uint8 ``HxWx3``."""
        return composite(frame, self.alpha(frame), self.options)

    def splash_all(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """:meth:`splash` of every frame, in order, the model running ahead: on a CPU with several cores, one
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


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    with contextlib.suppress(OSError):
        return b.exists() and os.path.samefile(a, b)
    return False


def _publish(tmp: PartialFile, out: Path, overwrite: bool) -> None:
    """Give the finished temp file the permissions of a normally created file and move it into place: without
    ``overwrite`` never over a file that appeared while this run encoded (:func:`colorsplash.runtime.files.publish`).

    Raises:
        ValueError: ``out`` exists now and ``overwrite`` is false.
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.path, 0o666 & ~umask)
    try:
        publish(tmp.path, out, replace=overwrite)
    except FileExistsError:
        raise ValueError(
            f"{out}: made by another program while this run worked; not replaced (pass --overwrite to replace it)"
        ) from None
    tmp.release()


def _encode(reader: FrameReader, splasher: FrameSplasher, tmp: Path, output: Path, progress: bool) -> int:
    """Splash every frame ``reader`` yields into ``tmp`` (video only); returns the frame count."""
    info = reader.info
    container = container_for(output)
    frames = iter(reader)
    first = next(frames, None)  # a zero-frame clip fails here, before an encoder is started
    if first is None:
        raise VideoError(f"{info.path}: the video stream has no frames; nothing to splash")
    note = odd_size_note(output, info.width, info.height)
    if note:
        log.warning("%s", note)
    with (
        Encoder(tmp, container, info.width, info.height, info.fps, splasher.options.quality, info.sar) as encoder,
        tqdm(
            total=info.estimated_frames, unit="frame", desc=info.path.name, disable=not progress, dynamic_ncols=True
        ) as bar,
    ):
        for splashed in splasher.splash_all(itertools.chain([first], frames)):
            encoder.write(splashed)
            bar.update(1)
    return encoder.frames


def damage_message(info: VideoInfo, report: DecodeReport, written: bool) -> str:
    """One line describing a damaged input: what the decoder said and what was (or was not) done about it."""
    said = (
        f"{info.path}: damaged video: {report.errors} decoding errors (last: {report.last_error})"
        if report.errors
        else f"{info.path}: damaged video"
    )
    short = (
        f"; the video ends after {report.seconds:.1f} s of the {report.expected_seconds:.1f} s the file's header "
        "gives it (cut off)"
        if report.cut_short
        else ""
    )
    if not written:
        lost = f"; {report.filled} of {report.frames} frames missing" if report.filled else ""
        return f"{said}{lost}{short}; nothing written (--strict)"
    if report.filled:
        return (
            f"{said}; {report.filled} of {report.frames} frames were missing and were replaced by the previous "
            f"frame, so the sound stays in sync{short}"
        )
    return f"{said}{short}" if short else f"{said}; damaged frames kept as the decoder could conceal them"


def splash_video(
    input: str | Path,
    output: str | Path,
    model: Model | str | Path | None = None,
    options: SplashOptions | None = None,
    smooth: bool | SmoothingConfig = True,
    progress: bool = False,
    max_pixels: int | None = DEFAULT_MAX_VIDEO_PIXELS,
    strict: bool = False,
    overwrite: bool = False,
) -> VideoResult:
    """Splash a whole clip into ``output`` (same size and frame rate, the input's timeline; audio copied).

    Args:
        input: any video ffmpeg decodes.
        output: ``.mp4``/``.m4v``/``.mov``/``.mkv`` (H.264), ``.webm`` (VP9) or ``.avi`` (MPEG-4); written to a
            hidden temporary file beside it, re-opened, and renamed when complete (an interrupted run leaves
            nothing behind; partial files of killed runs in that folder are removed).
        model: a loaded model, a path to an ONNX file, or ``None`` for the default model.
        options: the splash options (``transparent`` and ``on_empty=skip`` are refused for video).
        smooth: temporal smoothing on (default), off, or a :class:`SmoothingConfig`.
        progress: show a progress bar (frames done, rate, ETA) on stderr.
        max_pixels: refuse clips whose frames have more pixels (``None``: no limit).
        strict: refuse a damaged input (decoding errors) instead of writing it with the lost frames filled.
        overwrite: replace an existing ``output`` (never the input); without it an existing file is an error.

    Returns:
        what was written; ``result.damaged`` (also logged as a warning) when the input had decoding errors.

    Raises:
        VideoError: unreadable input, no frames, frames over ``max_pixels``, unsupported codec or output
            extension, unwritable folder, a damaged input with ``strict``.
        ValueError: output is the input or exists (without ``overwrite``), options a video cannot honour, or
            a ``point`` outside the frames.
    """
    started = time.time()
    src, out = Path(input), Path(output)
    options = video_options(options)
    _check_output(src, out, overwrite)
    check_video_options(options)
    info = probe(src, max_pixels)
    check_point(options.point, info.width, info.height, f"frames of {src}")  # also where no frame has a subject
    loaded = model if isinstance(model, Model) else load_model(model)
    splasher = FrameSplasher(loaded, options, _smoothing(smooth), name=f"any frame of {src}")
    remove_stale_partials(out.parent, started)
    start = time.perf_counter()
    n, report = _write_clip(info, splasher, out, progress, strict, overwrite)
    seconds = time.perf_counter() - start
    if report.damaged:
        log.warning("%s; written to %s", damage_message(info, report, written=True), out)
    _report_empty(splasher, n, src)
    return VideoResult(
        src,
        out,
        n,
        info.width,
        info.height,
        info.fps,
        info.has_audio,
        seconds,
        splasher.smoother.cuts,
        report,
        splasher.empty_frames,
    )


def _report_empty(splasher: FrameSplasher, frames: int, src: Path) -> None:
    """Tell the user about frames without a subject: the no-subject note as a warning when no frame had one
    (the whole clip got ``on_empty``), a count when some had none."""
    if splasher.empty_note is None:
        return
    if splasher.empty_frames >= frames:
        log.warning("%s", splasher.empty_note)
    else:
        log.info(
            "%s: no subject found in %d of %d frames (--on-empty %s there)",
            src,
            splasher.empty_frames,
            frames,
            splasher.options.on_empty,
        )


def _smoothing(smooth: bool | SmoothingConfig) -> SmoothingConfig:
    """``splash_video``'s ``smooth``: a config as given, the default one for ``True``, none for ``False``."""
    return smooth if isinstance(smooth, SmoothingConfig) else SmoothingConfig() if smooth else NO_SMOOTHING


def _check_output(src: Path, out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that is the input, exists (without ``overwrite``) or has no known container."""
    if _same_file(src, out):
        raise ValueError(f"{out}: output is the input file; choose another -o (the input is never overwritten)")
    if out.is_dir():
        raise ValueError(f"{out}: is a folder; name the clip to write, e.g. -o {out / (src.stem + '.splash.mp4')}")
    if out.exists() and not overwrite:
        raise ValueError(f"{out}: already exists; pass --overwrite to replace it, or choose another -o")
    container_for(out)


def _write_clip(
    info: VideoInfo, splasher: FrameSplasher, out: Path, progress: bool, strict: bool, overwrite: bool = False
) -> tuple[int, DecodeReport]:
    """Encode every frame into a hidden partial file beside ``out``, add the audio, verify, rename it to ``out``
    (replacing a file there only with ``overwrite``); every partial file is removed on any error. Returns (frames
    written, the decoder's report)."""
    temps: list[PartialFile] = []
    try:
        temps.append(PartialFile(out))
        with contextlib.closing(FrameReader(info)) as reader:  # closing stops the decoder on errors and Ctrl-C
            n = _encode(reader, splasher, temps[0].path, out, progress)
        report = reader.report
        if report.damaged and strict:
            raise VideoError(damage_message(info, report, written=False))
        if info.has_audio:
            temps.append(PartialFile(out))
            mux_audio(temps[0].path, info.path, temps[1].path, container_for(out))
        verify_video(temps[-1].path, out)
        _publish(temps[-1], out, overwrite)
    finally:
        for tmp in temps:
            tmp.discard()  # the published one was renamed away: only its lock is left to drop
    return n, report
