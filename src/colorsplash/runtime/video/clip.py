"""Colour splash for video clips: frames streamed through ffmpeg, alpha smoothed over time, audio kept.

Per frame: the model's low-resolution probability -> :class:`~colorsplash.runtime.video.temporal.TemporalSmoother`
(motion-compensated blend with the past, reset at scene cuts) -> full-resolution alpha with edge refinement
on that frame (:func:`colorsplash.runtime.edges.alpha.compute_alpha`) -> effect
(:func:`colorsplash.runtime.effects.apply_effect`).
Smoothing happens on the probability, before refinement and compositing, so edges still follow each frame.
The model runs ahead of that, on the next frames (one per core, single-threaded sessions side by side, as the
photo batch does), while the frames before them are smoothed, refined, blended and encoded in order
(:meth:`~colorsplash.runtime.video.video_frames.FrameSplasher.splash_all`): 720p 11.5-12.5 -> 14.8-14.9 frames/s on
a 2-core AVX2 CPU with the same output.

Frames are RGB (not BGR) uint8 ``HxWx3`` throughout. Memory is bounded by a few frames whatever the clip's length,
and frames larger than a pixel limit are refused before any is decoded.

Frames follow the input's timeline (:class:`~colorsplash.runtime.video.video_reader.FrameReader`): a frame lost to a
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
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

from colorsplash.runtime.edges.alpha import (
    check_point,
)
from colorsplash.runtime.files import (
    EXTENSION_ONLY,
    TOO_LONG,
    broken_link,
    extension_only,
    made_folders_tidied,
    names_folder,
    not_replaceable,
    publish,
    same_file,
)
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.planning import STDIO
from colorsplash.runtime.temp_names import name_fits
from colorsplash.runtime.video.temporal import NO_SMOOTHING, SmoothingConfig
from colorsplash.runtime.video.video_colour import colour_note
from colorsplash.runtime.video.video_encode import CONTAINERS, Encoder, container_for, mux_tracks, odd_size_note
from colorsplash.runtime.video.video_frames import (
    FrameSplasher,
    Inferred,
    check_video_options,
    unique_runs,
    video_options,
)
from colorsplash.runtime.video.video_io import DEFAULT_MAX_VIDEO_PIXELS, VideoError, VideoInfo, probe, verify_video
from colorsplash.runtime.video.video_reader import DecodeReport, FrameReader, damage_message, deinterlace_note
from colorsplash.runtime.video.video_temp import PartialFile, remove_stale_partials
from colorsplash.runtime.wording import option_name, option_use

__all__ = [
    "DEFAULT_MAX_VIDEO_PIXELS",
    "FrameSplasher",
    "Inferred",
    "VideoError",
    "VideoResult",
    "check_video_options",
    "splash_video",
    "unique_runs",
    "video_options",
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


def _publish(tmp: PartialFile, out: Path, overwrite: bool) -> None:
    """Give the finished temp file the permissions of a normally created file and its name ``out``
    (:func:`colorsplash.runtime.files.publish`: without ``overwrite``, a file that appeared at ``out`` while this
    ran is never replaced)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp.path, 0o666 & ~umask)
    try:
        publish(tmp.path, out, replace=overwrite)
    except FileExistsError as err:
        raise VideoError(
            f"{out}: appeared while this ran and was not made by it; not replaced, the splashed clip is discarded. "
            "Pass --overwrite to replace it, or choose another -o"
        ) from err
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
        Encoder(
            tmp, container, info.width, info.height, info.fps, splasher.options.quality, info.sar, output
        ) as encoder,
        tqdm(
            total=info.estimated_frames, unit="frame", desc=info.path.name, disable=not progress, dynamic_ncols=True
        ) as bar,
    ):
        counts: deque[int] = deque()
        for splashed in splasher.splash_all(unique_runs(itertools.chain([first], frames), counts)):
            repeat = counts.popleft()
            splasher.repeated(repeat - 1)
            for _ in range(repeat):
                encoder.write(splashed)
            bar.update(repeat)
    return encoder.frames


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
    """Splash a whole clip into ``output`` (same size and frame rate, the input's timeline; audio and subtitles
    copied).

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
    info = _checked_clip(input, output, options, overwrite, max_pixels)  # both as typed, for their messages
    loaded = model if isinstance(model, Model) else load_model(model)
    splasher = FrameSplasher(loaded, options, _smoothing(smooth), name=f"any frame of {src}")
    remove_stale_partials(out.parent, started)
    result = _splash_clip(info, splasher, out, progress, strict, overwrite)
    # Again at the end: the partial of a run killed just before this one began (a retry at once, after the OOM
    # killer) was too recent to be told from one being started, and was left for good without a word.
    remove_stale_partials(out.parent, time.time())
    return result


def _checked_clip(
    src: str | Path, out: str | Path, options: SplashOptions, overwrite: bool, max_pixels: int | None
) -> VideoInfo:
    """Everything :func:`splash_video` refuses before the model loads or anything is written: the output (see
    :func:`_check_output`), the options, the clip's header (readable, frames within ``max_pixels``) and a
    ``point`` outside the frames. Returns the clip's :class:`VideoInfo`."""
    _check_output(Path(src), out, overwrite)
    check_video_options(options)
    info = probe(src, max_pixels)
    if (note := colour_note(info.path, info.colour)) is not None:
        log.warning("%s", note)
    if (note := deinterlace_note(info)) is not None:
        log.info("%s", note)
    check_point(options.point, info.width, info.height, f"frames of {src}")  # also where no frame has a subject
    return info


def _splash_clip(
    info: VideoInfo, splasher: FrameSplasher, out: Path, progress: bool, strict: bool, overwrite: bool
) -> VideoResult:
    """Write the checked clip ``info`` splashed into ``out`` (:func:`_write_clip`), tell the user about damage and
    frames without a subject, and say what was written."""
    start = time.perf_counter()
    n, report = _write_clip(info, splasher, out, progress, strict, overwrite)
    seconds = time.perf_counter() - start
    if report.damaged:
        log.warning("%s; written to %s", damage_message(info, report, written=True), out)
    if report.dropped:  # bursts faster than any rate the clip was recorded at (no rate keeps every frame)
        log.warning(
            "%s: %d of its frames came less than a frame interval after the one before (faster than %s fps) and "
            "were left out, as a player at that rate shows them",
            info.path,
            report.dropped,
            float(info.fps),
        )
    _report_empty(splasher, n, info.path)
    return VideoResult(
        info.path,
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
        return
    words = splasher.words
    there = f"{option_use('on_empty', splasher.options.on_empty, words.spelling)} there"
    if splasher.options.invert:  # the one policy (apply_on_empty): all background, kept in colour
        there = f"all background there ({option_name('invert', words.spelling)}): kept in full colour"
    log.info("%s: no %s found in %d of %d frames (%s)", src, words.subject, splasher.empty_frames, frames, there)


def _smoothing(smooth: bool | SmoothingConfig) -> SmoothingConfig:
    """``splash_video``'s ``smooth``: a config as given, the default one for ``True``, none for ``False``."""
    return smooth if isinstance(smooth, SmoothingConfig) else SmoothingConfig() if smooth else NO_SMOOTHING


def _check_output(src: Path, output: str | Path, overwrite: bool) -> None:
    """Refuse pipes (a clip is read and written by seeking), an ``output`` that is the input, a folder (also one
    named with a trailing ``/``, as typed: ``Path`` drops it), exists (without ``overwrite``) or has no known
    container."""
    out = Path(output)
    if src == STDIO or out == STDIO:
        where = "read from standard input" if src == STDIO else "written to standard output"
        raise ValueError(f"a clip cannot be {where} (video needs seeking); name a file instead")
    if not name_fits(out):  # before anything asks the system about it (it answers "File name too long")
        raise ValueError(f"{out.name!r}: the output's name is {TOO_LONG}; choose a shorter -o")
    if same_file(src, out):
        raise ValueError(f"{out}: output is the input file; choose another -o (the input is never overwritten)")
    if out.is_dir() or names_folder(str(output)):
        raise ValueError(f"{out}: is a folder; name the clip to write, e.g. -o {out / (src.stem + '.splash.mp4')}")
    if (problem := not_replaceable(out, "--overwrite")) is not None:  # before --overwrite is named
        raise ValueError(f"{out}: {problem}")
    if os.path.lexists(out) and not overwrite:  # a link to nothing too: publishing would refuse it after the work
        what = f" ({broken_link(out)})" if not out.exists() else ""
        raise ValueError(f"{out}: already exists{what}; pass --overwrite to replace it, or choose another -o")
    if extension_only(out, lambda name: name.lower() in CONTAINERS):
        example = out.with_name(f"{src.stem}.splash{out.name}")
        raise ValueError(f"{out}: {EXTENSION_ONLY}; name the clip to write, e.g. -o {example}")
    container_for(out)


def _write_clip(
    info: VideoInfo, splasher: FrameSplasher, out: Path, progress: bool, strict: bool, overwrite: bool
) -> tuple[int, DecodeReport]:
    """Encode every frame into a hidden partial file beside ``out``, add the other tracks (:func:`mux_tracks`), verify,
    rename it to ``out`` (replacing a file there only with ``overwrite``); every partial file is removed on any
    error.
    Returns (frames written, the decoder's report). Missing folders of ``out`` are made, and removed again when
    nothing was written (as ``splash -o`` makes them)."""
    temps: list[PartialFile] = []
    with made_folders_tidied(out.parent):
        try:
            temps.append(PartialFile(out))
            with contextlib.closing(FrameReader(info)) as reader:  # closing stops the decoder on errors and Ctrl-C
                n = _encode(reader, splasher, temps[0].path, out, progress)
            report = reader.report
            if report.damaged and strict:
                raise VideoError(damage_message(info, report, written=False))
            if info.has_other_tracks:
                temps.append(PartialFile(out))
                mux_tracks(temps[0].path, info, temps[1].path, container_for(out))
            verify_video(temps[-1].path, out)
            _publish(temps[-1], out, overwrite)
        finally:
            for tmp in temps:
                tmp.discard()  # the published one was renamed away: only its lock is left to drop
    return n, report
