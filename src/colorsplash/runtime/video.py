"""Colour splash for video clips: frames streamed through ffmpeg, alpha smoothed over time, audio kept.

Per frame: the model's low-resolution probability -> :class:`~colorsplash.runtime.temporal.TemporalSmoother`
(motion-compensated blend with the past, reset at scene cuts) -> full-resolution alpha with edge refinement
on that frame (:func:`colorsplash.runtime.alpha.compute_alpha`) -> effect
(:func:`colorsplash.runtime.effects.apply_effect`).
Smoothing happens on the probability, before refinement and compositing, so edges still follow each frame.

Frames are RGB (not BGR) uint8 ``HxWx3`` throughout. Memory is bounded by a few frames whatever the clip's length.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.runtime.alpha import RefineSettings, apply_on_empty, compute_alpha, downscale
from colorsplash.runtime.effects import composite
from colorsplash.runtime.onnx_model import Model, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.temporal import NO_SMOOTHING, SmoothingConfig, TemporalSmoother
from colorsplash.runtime.video_io import (
    Encoder,
    VideoError,
    VideoInfo,
    container_for,
    mux_audio,
    probe,
    read_frames,
    temp_path_beside,
)

__all__ = ["FrameSplasher", "VideoError", "VideoResult", "check_video_options", "splash_video"]


@dataclass(frozen=True)
class VideoResult:
    """What :func:`splash_video` wrote."""

    input: Path
    output: Path
    frames: int
    width: int
    height: int
    fps: Fraction
    audio: bool
    seconds: float
    scene_cuts: int

    @property
    def frames_per_second(self) -> float:
        """Processing speed (frames per wall-clock second, decoding and encoding included)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def check_video_options(options: SplashOptions) -> None:
    """Reject the photo options a video cannot honour, naming the option and the alternative."""
    if options.effect == "transparent":
        raise ValueError("--effect transparent makes PNG cut-outs of photos; videos need an opaque effect "
                         "(grey, blur, dim, sepia or color:#RRGGBB)")
    if options.on_empty == "skip":
        raise ValueError("--on-empty skip would drop frames and change the clip's timing; use grey or copy")


class FrameSplasher:
    """Splash the frames of one clip, in order, with a temporally smoothed alpha.

    One instance per clip (it remembers the previous frame); not thread-safe.
    """

    def __init__(self, model: Model, options: SplashOptions | None = None,
                 smoothing: SmoothingConfig | None = None, settings: RefineSettings | None = None) -> None:
        self.model = model
        self.options = options or SplashOptions()
        check_video_options(self.options)
        self.settings = settings or RefineSettings()
        self.smoother = TemporalSmoother(smoothing if smoothing is not None else SmoothingConfig())

    def alpha(self, frame: np.ndarray) -> np.ndarray:
        """The frame's final alpha: float32 ``HxW`` in [0, 1], 1 = keep colour (``on_empty`` applied)."""
        small = downscale(frame, self.settings.work_side)
        # Model input is resized from the working copy, exactly as alpha.predict_alpha does for photos.
        prob = self.smoother.update(small, self.model.predict_lowres(small))
        result = compute_alpha(frame, prob, self.options, self.settings, small)
        apply_on_empty(result, self.options.on_empty, "a frame")  # "skip" is refused for video up front
        return result.alpha

    def splash(self, frame: np.ndarray) -> np.ndarray:
        """RGB uint8 ``HxWx3`` frame -> its splash, RGB uint8 ``HxWx3``."""
        return composite(frame, self.alpha(frame), self.options)


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    with contextlib.suppress(OSError):
        return b.exists() and os.path.samefile(a, b)
    return False


def _unlink(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _publish(tmp: Path, out: Path) -> None:
    """Give the finished temp file the permissions of a normally created file and move it into place."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, out)


def _encode(info: VideoInfo, splasher: FrameSplasher, tmp: Path, output: Path, progress: bool) -> int:
    """Splash every frame of ``info`` into ``tmp`` (video only); returns the frame count."""
    container = container_for(output)
    with contextlib.closing(read_frames(info)) as frames:  # closing stops the decoder on errors and Ctrl-C
        first = next(frames, None)  # a zero-frame clip fails here, before an encoder is started
        if first is None:
            raise VideoError(f"{info.path}: the video stream has no frames; nothing to splash")
        with Encoder(tmp, container, info.width, info.height, info.fps, splasher.options.quality) as encoder, \
                tqdm(total=info.estimated_frames, unit="frame", desc=info.path.name, disable=not progress,
                     dynamic_ncols=True) as bar:
            for frame in itertools.chain([first], frames):
                encoder.write(splasher.splash(frame))
                bar.update(1)
        return encoder.frames


def splash_video(input: str | Path, output: str | Path, model: Model | str | Path | None = None,
                 options: SplashOptions | None = None, smooth: bool | SmoothingConfig = True,
                 progress: bool = False) -> VideoResult:
    """Splash a whole clip into ``output`` (same size, frame rate and frame count; audio copied).

    Args:
        input: any video ffmpeg decodes.
        output: ``.mp4``/``.m4v``/``.mov``/``.mkv`` (H.264), ``.webm`` (VP9) or ``.avi`` (MPEG-4); written to a
            temporary file beside it and renamed when complete (an interrupted run leaves nothing behind).
        model: a loaded model, a path to an ONNX file, or ``None`` for the default model.
        options: the splash options (``transparent`` and ``on_empty=skip`` are refused for video).
        smooth: temporal smoothing on (default), off, or a :class:`SmoothingConfig`.
        progress: show a progress bar (frames done, rate, ETA) on stderr.

    Raises:
        VideoError: unreadable input, no frames, unsupported codec or output extension, unwritable folder.
        ValueError: output is the input, or options a video cannot honour.
    """
    src, out = Path(input), Path(output)
    options = options or SplashOptions()
    if _same_file(src, out):
        raise ValueError(f"{out}: output is the input file; choose another -o (the input is never overwritten)")
    container_for(out)
    check_video_options(options)
    info = probe(src)
    loaded = model if isinstance(model, Model) else load_model(model)
    config = smooth if isinstance(smooth, SmoothingConfig) else SmoothingConfig() if smooth else NO_SMOOTHING
    splasher = FrameSplasher(loaded, options, config)
    start = time.perf_counter()
    tmp_video = temp_path_beside(out)
    tmp_final: Path | None = None
    try:
        n = _encode(info, splasher, tmp_video, out, progress)
        if info.has_audio:
            tmp_final = temp_path_beside(out)
            mux_audio(tmp_video, src, tmp_final, container_for(out))
            _publish(tmp_final, out)
        else:
            _publish(tmp_video, out)
    finally:
        _unlink(tmp_video)
        _unlink(tmp_final)
    return VideoResult(src, out, n, info.width, info.height, info.fps, info.has_audio,
                       time.perf_counter() - start, splasher.smoother.cuts)
