"""Streaming video input through the ffmpeg binary (:mod:`colorsplash.runtime.video.video_ffmpeg` finds and checks it):
probing a clip, reading its frames, and re-opening a written clip (:mod:`colorsplash.runtime.video.video_encode`
writes).

Frames travel as raw RGB (not BGR) uint8 ``HxWx3`` arrays through pipes, one at a time, so memory does not
grow with the clip's length.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypedDict

import numpy as np

from colorsplash.runtime.files import not_a_file
from colorsplash.runtime.video.video_colour import Colour, header_colour, with_assumed_matrix
from colorsplash.runtime.video.video_extras import Cover, has_file_tags, header_extras
from colorsplash.runtime.video.video_ffmpeg import VideoError as VideoError  # re-exported: callers import these here
from colorsplash.runtime.video.video_ffmpeg import ffmpeg_exe as ffmpeg_exe
from colorsplash.runtime.video.video_ffmpeg import ffmpeg_quiet as ffmpeg_quiet
from colorsplash.runtime.video.video_ffmpeg import ffmpeg_reason, unreadable
from colorsplash.runtime.video.video_ffmpeg import input_args as input_args

log = logging.getLogger(__name__)

# Largest frame ``video`` accepts by default: DCI 8K (8192x4320), the largest common delivery format. A video frame
# costs far more working memory than a photo pixel for pixel (decoder and encoder frame queues, x264 look-ahead):
# an 8000x8000 clip took 1.5 GB, so the photo limit (photo_io.DEFAULT_MAX_PIXELS, 100 MP) would be no guard here.
DEFAULT_MAX_VIDEO_PIXELS = 8192 * 4320


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learnt about a clip. ``width``/``height`` are those of the decoded frames
    (after any rotation flag is applied); ``fps`` is the rate the clip is read and written at, exact where ffmpeg
    reports a standard rate (for a variable-rate clip, the rate that keeps its frames, see
    :func:`colorsplash.runtime.video.video_timing.timeline_rate`); ``sar`` is the frames' sample (pixel) aspect ratio,
    width to height of one pixel (not 1 for anamorphic clips); ``colour``: the stream's colour tags (matrix,
    primaries, transfer; HDR is converted on reading, see :mod:`colorsplash.runtime.video.video_colour`); ``subtitles``:
    the clip has subtitle tracks (carried into the output where its container can hold them); ``attachments``: how
    many attached files it has (fonts for styled subtitles, mostly in .mkv); ``covers``: its cover pictures
    (streams marked attached pic); ``field_order``: ``"top first"`` or ``"bottom first"`` for an interlaced stream
    (camcorders, broadcast; deinterlaced on reading), ``""`` for progressive video; ``timecode``: the start timecode
    of a camera's clip (``HH:MM:SS:FF``, ``;`` before the frames for drop-frame), ``""`` when it has none;
    ``tagged``: the file has metadata of its own (recording date, title, location) or chapters
    (:func:`~colorsplash.runtime.video.video_extras.has_file_tags`); ``frames``: how many frames its packets' times
    place at ``fps`` (:func:`~colorsplash.runtime.video.video_timing.slots_written`), 0: unknown."""

    path: Path
    width: int
    height: int
    fps: Fraction
    codec: str
    audio_codec: str | None
    duration: float
    sar: Fraction = Fraction(1)
    colour: Colour = Colour()
    subtitles: bool = False
    field_order: str = ""
    timecode: str = ""
    attachments: int = 0
    covers: tuple[Cover, ...] = ()
    tagged: bool = False
    frames: int = 0

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def has_other_tracks(self) -> bool:
        """Whether the clip holds anything besides its picture for the remux to carry (sound, subtitles,
        timecode, attached files, cover pictures, the file's metadata and chapters)."""
        extras = self.subtitles or self.timecode or self.attachments or self.covers or self.tagged
        return bool(self.has_audio or extras)

    @property
    def estimated_frames(self) -> int | None:
        """:attr:`frames`, else ``duration * fps`` rounded (the longest stream's, often sound); ``None``: unknown."""
        return self.frames or round(self.duration * float(self.fps)) or None  # duration and fps are never negative


_SIZE_RE = re.compile(r"[ ,](\d+)x(\d+)[ ,\[]")
_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (\S+?)[\s,]")
_SUBTITLE_RE = re.compile(r"^\s*Stream #\d+:\d+.*?: Subtitle: ")
_TIMECODE_RE = re.compile(r"^\s+timecode\s*: (\d+:\d\d:\d\d[:;.]\d+)\s*$", re.MULTILINE)
_FIELD_RE = re.compile(r"[(,] ?(top|bottom) (?:coded )?first")


# The stream every decode reads: the first video stream that is not a cover picture, the one the header is read for
# (its size, colours, field order) and packet_times times. Left to itself, ffmpeg picks the largest video stream (or
# the one marked default): a clip with two (a dashcam's front and rear camera) had its frames from one and its rate
# from the other, dropping most frames.
FIRST_PICTURE = ("-map", "0:V:0")


def _header(path: Path) -> str:
    """ffmpeg's description of the input (what ``ffmpeg -i`` prints to stderr)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    return proc.stderr


def _classify_header(path: Path, text: str) -> tuple[str, str | None]:
    """Return (video codec, audio codec or None) or raise :class:`VideoError` saying what is wrong."""
    input_line = next((ln for ln in text.splitlines() if ln.startswith("Input #0")), None)
    if input_line is None:
        raise unreadable(path, text)
    if "_pipe," in input_line or "image2," in input_line:  # single-picture demuxers (animated GIFs are fine)
        raise VideoError(f"{path}: is a still picture, not a video; use `colorsplash splash` for photos")
    video = audio = None
    for line in text.splitlines():
        m = _STREAM_RE.match(line)
        if not m:
            continue
        if video is None and _is_picture_stream(line):
            video = m.group(2)
        elif m.group(1) == "Audio" and audio is None:
            audio = m.group(2)
    if video is None:
        raise VideoError(f"{path}: has no video stream (audio-only or data file); give a video clip")
    if video == "none":
        tag = re.search(r"Video: none \(([^)/]*)", text)
        name = repr(tag.group(1).strip()) if tag else "(unknown)"
        raise VideoError(
            f"{path}: video codec {name} is not supported by the "
            "bundled ffmpeg; re-encode the clip (e.g. to H.264 MP4) and try again"
        )
    return video, audio


def _is_picture_stream(line: str) -> bool:
    """Whether a line of ffmpeg's header describes a video stream that is not a cover picture (the clip's frames)."""
    m = _STREAM_RE.match(line)
    return m is not None and m.group(1) == "Video" and "(attached pic)" not in line


def _picture_stream_line(text: str) -> str | None:
    """The header line of the first video stream that is not a cover picture, ``None`` when there is none."""
    return next((line for line in text.splitlines() if _is_picture_stream(line)), None)


def _other_pictures_note(path: Path, text: str, size: tuple[int, int] | None) -> str | None:
    """The warning for a clip with more than one video stream besides cover pictures (a dashcam's front and rear
    camera): only the first (:data:`FIRST_PICTURE`, of ``size``) is splashed and written; ``None`` for one."""
    others = sum(1 for line in text.splitlines() if _is_picture_stream(line)) - 1
    if others < 1:
        return None
    first = f" ({size[0]}x{size[1]})" if size else ""
    them = "the other is" if others == 1 else f"the other {others} are"
    return (
        f"{path}: has {others + 1} video streams; only the first{first} is splashed and written, {them} left out "
        "(to splash another, copy it out first: ffmpeg -i IN -map 0:v:1 -c copy OUT)"
    )


def _header_size(text: str) -> tuple[int, int] | None:
    """(width, height) of the first video stream that is not a cover picture, from ffmpeg's header text."""
    size = _SIZE_RE.search(_picture_stream_line(text) or "")
    return (int(size.group(1)), int(size.group(2))) if size else None


_TIMING_RE = re.compile(r"\] stream (\d+): start_time: (\S+) duration: (\S+)\s*$")
_FORMAT_START_RE = re.compile(r"\] format: start_time: (\S+) ")
_INDEX_RE = re.compile(r"^\s*Stream #\d+:(\d+)")
_TAG_DURATION_RE = re.compile(r"^\s+DURATION\s*: (\d+):(\d+):([\d.]+)\s*$")


def _seconds(text: str) -> float | None:
    """ffmpeg's trace figure (``2.04``, ``NOPTS``) as seconds, ``None`` when unknown."""
    try:
        return float(text)
    except ValueError:
        return None


def _video_stream_timing(lines: Iterable[str]) -> float | None:
    """From ``ffmpeg -v trace -i`` output: where the first video stream (not a cover picture) ends, in seconds
    from the file's start: its start offset plus its duration (the stream's own, or Matroska's ``DURATION`` tag).
    ``None`` when the header gives no length for it."""
    timings: dict[int, tuple[float | None, float | None]] = {}
    tags: dict[int, float] = {}
    file_start, video, current = 0.0, None, None
    for line in lines:
        if (timing := _TIMING_RE.search(line)) is not None:
            timings[int(timing.group(1))] = (_seconds(timing.group(2)), _seconds(timing.group(3)))
        elif (fmt := _FORMAT_START_RE.search(line)) is not None:
            file_start = _seconds(fmt.group(1)) or 0.0
        elif (index := _INDEX_RE.match(line)) is not None:
            current = int(index.group(1))
            if video is None and _is_picture_stream(line):
                video = current
        elif current is not None and (tag := _TAG_DURATION_RE.match(line)) is not None:
            h, m, s = tag.groups()
            tags[current] = int(h) * 3600 + int(m) * 60 + float(s)
    if video is None:
        return None
    start, duration = timings.get(video, (None, None))
    duration = duration if duration is not None else tags.get(video)
    if duration is None:
        return None
    return (start if start is not None else file_start) - file_start + duration


def video_stream_seconds(path: Path) -> float | None:
    """How long the clip's video stream lasts by its own header entry (a file's duration is that of its longest
    stream, often the sound or a cover picture's track), from the file's start; ``None`` when the header does not
    say. Reads the header only; ffmpeg's trace log is streamed, never held whole (it grows with the sample count)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "trace", *input_args(path)]
    with subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as proc:
        assert proc.stderr is not None
        return _video_stream_timing(proc.stderr)


_SAR_RE = re.compile(r"SAR (\d+):(\d+)")
_ROTATION_RE = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


def _header_rotation(text: str) -> int:
    """The first display-matrix rotation in ffmpeg's header text, in degrees 0-359 (0 when none): phones' clips
    say it there, not in the ``rotate`` tag imageio reads."""
    m = _ROTATION_RE.search(text)
    return round(float(m.group(1))) % 360 if m else 0


def _header_sar(text: str, rotate: int) -> Fraction:
    """The sample aspect ratio of the first video stream that is not a cover picture, from ffmpeg's header text:
    the stream's (the last ``SAR`` of its line; the bracketed one is the codec's, overridden), turned with
    the frames when a rotation flag turns them a quarter; 1 when unknown."""
    found = _SAR_RE.findall(_picture_stream_line(text) or "")
    num, den = (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)
    if num <= 0 or den <= 0:
        return Fraction(1)
    return Fraction(den, num) if rotate % 180 == 90 else Fraction(num, den)


def check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`VideoError` when a ``width x height`` frame is over ``max_pixels`` (``None``: no limit)."""
    if max_pixels is not None and width * height > max_pixels:
        raise VideoError(
            f"{path}: {width}x{height} frames are more than the video pixel limit {max_pixels:,}; "
            "raise it with --max-pixels if you trust the file"
        )


def verify_video(path: Path, output: Path) -> None:
    """Re-open the header of a clip just written to ``path`` (a temporary name of ``output``); raise
    :class:`VideoError` naming ``output`` unless it holds a video stream ffmpeg can read."""
    try:
        _classify_header(path, _header(path))
    except VideoError as err:
        raise VideoError(f"{output}: the written video does not read back ({err}); nothing was replaced") from err


def _exact_fps(fps: float) -> Fraction:
    """29.97 -> 30000/1001 (NTSC rates are printed rounded), 25.0 -> 25; 0 means unknown."""
    if fps <= 0:
        return Fraction(0)
    ntsc = round(fps * 1.001)
    if abs(fps - ntsc / 1.001) < 0.006 and abs(fps - round(fps)) > 0.006:
        return Fraction(ntsc * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


class _RotationNotice(logging.Filter):
    """Drop imageio-ffmpeg's warning that a rotated clip decodes to a swapped size: that is intended (frames
    come out upright and are written upright)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("The frame size for reading")


def _open_reader(path: Path) -> Generator[bytes | dict, None, None]:
    import imageio_ffmpeg

    lib_log = logging.getLogger("imageio_ffmpeg")
    if not any(isinstance(f, _RotationNotice) for f in lib_log.filters):
        lib_log.addFilter(_RotationNotice())

    # passthrough: every decoded frame exactly once (no duplicates or drops for variable frame rates),
    # so the output has the input's frame count.
    *options, _, source = input_args(path)  # "-i" and the clip's name, which imageio-ffmpeg places itself
    return imageio_ffmpeg.read_frames(
        source, pix_fmt="rgb24", input_params=options, output_params=[*FIRST_PICTURE, "-fps_mode", "passthrough", "-an"]
    )


def probe(path: str | Path, max_pixels: int | None = None) -> VideoInfo:
    """Describe a clip without decoding its frames.

    Args:
        path: the clip.
        max_pixels: refuse frames larger than this (checked on the header, before any frame is decoded);
            ``None``: no limit.

    Raises:
        VideoError: missing file, not a video, no video stream, unsupported codec, frames over ``max_pixels``.
    """
    from colorsplash.runtime.video.video_timing import packet_times, slots_written, timeline_rate  # uses this ffmpeg

    p = Path(path)
    if not p.is_file():
        said = not_a_file(path, advice="give a video file")  # named as typed: Path("https://x/c") reads "https:/x/c"
        raise VideoError(f"{os.fspath(path)}: {said}")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: file is empty (0 bytes); copy or export the clip again")
    header = _header(p)
    codec, audio = _classify_header(p, header)
    size = _header_size(header)
    if (note := _other_pictures_note(p, header, size)) is not None:
        log.warning("%s", note)
    if size is not None:
        check_pixels(p, *size, max_pixels)
    meta = _decoder_meta(p)
    width, height = meta["size"]
    check_pixels(p, int(width), int(height), max_pixels)  # also when the header gave no size
    fps = timeline_rate(_exact_fps(float(meta.get("fps") or 0.0)), times := packet_times(p))
    if fps == 0:
        log.warning("%s: frame rate unknown; writing at 25 fps", p)
        fps = Fraction(25)
    rotate = int(meta.get("rotate") or 0) or _header_rotation(header)
    sar = _header_sar(header, rotate)
    coded = size or ((int(height), int(width)) if rotate % 180 == 90 else (int(width), int(height)))
    colour = with_assumed_matrix(header_colour(_picture_stream_line(header) or ""), *coded)
    duration = float(meta.get("duration") or 0.0)
    extras, frames = _header_extras(header), slots_written(times, fps)
    return VideoInfo(p, int(width), int(height), fps, codec, audio, duration, sar, colour, frames=frames, **extras)


def _decoder_meta(path: Path) -> dict:
    """What the decoder reports before the first frame (size, rate, duration, rotation), by imageio-ffmpeg."""
    reader = _open_reader(path)
    try:
        meta = next(reader)
    except (OSError, RuntimeError) as err:
        why = ffmpeg_reason(str(err))  # ffmpeg's own last line ("Conversion failed!") says nothing of the clip
        raise VideoError(
            f"{path}: cannot decode the video ({why}); it may be damaged: copy or export the clip again"
        ) from err
    finally:
        reader.close()
    assert isinstance(meta, dict)
    return meta


class _HeaderExtras(TypedDict):
    """:class:`VideoInfo`'s fields read from ffmpeg's header text beside the picture's own (see there)."""

    subtitles: bool
    field_order: str
    timecode: str
    attachments: int
    covers: tuple[Cover, ...]
    tagged: bool


def _header_extras(header: str) -> _HeaderExtras:
    """From ffmpeg's header text: whether there are subtitle tracks, the field order of an interlaced picture
    stream (``"top first"``, ``""`` when progressive or unknown), the start timecode (``""`` when none), the
    number of attached files and the cover pictures (:func:`colorsplash.runtime.video.video_extras.header_extras`),
    whether the file has metadata of its own (:func:`colorsplash.runtime.video.video_extras.has_file_tags`)."""
    lines = header.splitlines()
    field = _FIELD_RE.search(_picture_stream_line(header) or "")
    timecode = _TIMECODE_RE.search(header)
    attachments, covers = header_extras(lines)
    return _HeaderExtras(
        subtitles=any(_SUBTITLE_RE.match(line) for line in lines),
        field_order=f"{field.group(1)} first" if field else "",
        timecode=timecode.group(1) if timecode else "",
        attachments=attachments,
        covers=covers,
        tagged=has_file_tags(lines),
    )


def read_frames(info: VideoInfo) -> Generator[np.ndarray, None, None]:
    """Yield the clip's frames in order as RGB uint8 ``HxWx3``; see
    :class:`colorsplash.runtime.video.video_reader.FrameReader` (timing, damaged input, errors)."""
    from colorsplash.runtime.video.video_reader import FrameReader  # a separate module keeps each file short

    with contextlib.closing(FrameReader(info)) as reader:
        yield from reader
