"""Streaming video input and output through the ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel.

Frames travel as raw RGB (not BGR) uint8 ``HxWx3`` arrays through pipes, one at a time, so memory does not
grow with the clip's length. Output is written to a hidden temporary file beside the destination and renamed
into place only when complete, so an interrupted run leaves no half-written file. Audio is copied from the
input in a second, cheap remux step (re-encoded only when the output container cannot hold the codec).
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import tempfile
from collections.abc import Generator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

log = logging.getLogger(__name__)

# Largest frame ``video`` accepts by default: DCI 8K (8192x4320), the largest common delivery format. A video frame
# costs far more working memory than a photo pixel for pixel (decoder and encoder frame queues, x264 look-ahead):
# an 8000x8000 clip took 1.5 GB, so the photo limit (photo_io.DEFAULT_MAX_PIXELS, 100 MP) would be no guard here.
DEFAULT_MAX_VIDEO_PIXELS = 8192 * 4320

INSTALL_HINT = "install the video extra: pip install 'colorsplash[video]' (or pip install imageio-ffmpeg)"


class VideoError(ValueError):
    """A clip could not be read or written; the message names the file and says what to do."""


@dataclass(frozen=True)
class Container:
    """How one output extension is written: ffmpeg muxer, video encoder and the audio fallback encoder."""

    muxer: str
    video_codec: str
    audio_codec: str


CONTAINERS: dict[str, Container] = {
    ".mp4": Container("mp4", "libx264", "aac"),
    ".m4v": Container("mp4", "libx264", "aac"),
    ".mov": Container("mov", "libx264", "aac"),
    ".mkv": Container("matroska", "libx264", "aac"),
    ".webm": Container("webm", "libvpx-vp9", "libopus"),
    ".avi": Container("avi", "mpeg4", "libmp3lame"),
}


def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary; raises :class:`VideoError` when imageio-ffmpeg is missing."""
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise VideoError(f"video needs the bundled ffmpeg; {INSTALL_HINT}") from err
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_quiet() -> list[str]:
    """The start of every ffmpeg command here: the binary, no banner, no keyboard, errors only."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learnt about a clip. ``width``/``height`` are those of the decoded frames
    (after any rotation flag is applied); ``fps`` is exact where ffmpeg reports a standard rate."""

    path: Path
    width: int
    height: int
    fps: Fraction
    codec: str
    audio_codec: str | None
    duration: float

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def estimated_frames(self) -> int | None:
        """``duration * fps`` rounded (for progress bars); ``None`` when either is unknown."""
        n = round(self.duration * float(self.fps))
        return n if n > 0 else None


_SIZE_RE = re.compile(r"[ ,](\d+)x(\d+)[ ,\[]")
_STREAM_RE = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (\S+?)[\s,]")


def _header(path: Path) -> str:
    """ffmpeg's description of the input (what ``ffmpeg -i`` prints to stderr)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
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
        last = text.strip().splitlines()[-1] if text.strip() else "no output"
        raise VideoError(f"{path}: not a video file ffmpeg can read ({last.strip()})")
    if "_pipe," in input_line or "image2," in input_line:  # single-picture demuxers (animated GIFs are fine)
        raise VideoError(f"{path}: is a still picture, not a video; use `colorsplash splash` for photos")
    video = audio = None
    for line in text.splitlines():
        m = _STREAM_RE.match(line)
        if not m:
            continue
        if m.group(1) == "Video" and video is None and "(attached pic)" not in line:
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


def _header_size(text: str) -> tuple[int, int] | None:
    """(width, height) of the first video stream that is not a cover picture, from ffmpeg's header text."""
    for line in text.splitlines():
        m = _STREAM_RE.match(line)
        if m and m.group(1) == "Video" and "(attached pic)" not in line:
            size = _SIZE_RE.search(line)
            return (int(size.group(1)), int(size.group(2))) if size else None
    return None


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
    return imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=["-fps_mode", "passthrough", "-an"])


def probe(path: str | Path, max_pixels: int | None = None) -> VideoInfo:
    """Describe a clip without decoding its frames.

    Args:
        path: the clip.
        max_pixels: refuse frames larger than this (checked on the header, before any frame is decoded);
            ``None``: no limit.

    Raises:
        VideoError: missing file, not a video, no video stream, unsupported codec, frames over ``max_pixels``.
    """
    p = Path(path)
    if not p.is_file():
        raise VideoError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: file is empty (0 bytes)")
    header = _header(p)
    codec, audio = _classify_header(p, header)
    size = _header_size(header)
    if size is not None:
        check_pixels(p, *size, max_pixels)
    reader = _open_reader(p)
    try:
        meta = next(reader)
    except (OSError, RuntimeError) as err:
        raise VideoError(f"{p}: cannot decode the video ({_last_line(str(err))})") from err
    finally:
        reader.close()
    assert isinstance(meta, dict)
    width, height = meta["size"]
    check_pixels(p, int(width), int(height), max_pixels)  # also when the header gave no size
    fps = _exact_fps(float(meta.get("fps") or 0.0))
    if fps == 0:
        log.warning("%s: frame rate unknown; writing at 25 fps", p)
        fps = Fraction(25)
    return VideoInfo(p, int(width), int(height), fps, codec, audio, float(meta.get("duration") or 0.0))


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("===")]
    return lines[-1] if lines else "no details"


def read_frames(info: VideoInfo) -> Generator[np.ndarray, None, None]:
    """Yield the clip's frames in order as RGB uint8 ``HxWx3``; see
    :class:`colorsplash.runtime.video_reader.FrameReader` (timing, damaged input, errors)."""
    from colorsplash.runtime.video_reader import FrameReader  # a separate module keeps each file short

    with contextlib.closing(FrameReader(info)) as reader:
        yield from reader


def container_for(path: Path) -> Container:
    """The :class:`Container` for an output path's extension, or a :class:`VideoError` listing the choices."""
    c = CONTAINERS.get(path.suffix.lower())
    if c is None:
        raise VideoError(
            f"{path}: unsupported output extension {path.suffix or '(none)'!r}; use one of {', '.join(CONTAINERS)}"
        )
    return c


def video_quality_args(codec: str, quality: int) -> list[str]:
    """Map the splash ``quality`` (1..100, JPEG-like) to the encoder's constant-quality setting:
    95 -> x264 CRF 18 (visually lossless), 75 -> CRF 23 (x264's default)."""
    crf = round(42 - quality / 4)
    if codec == "libvpx-vp9":
        return ["-crf", str(round(crf * 1.35)), "-b:v", "0", "-row-mt", "1", "-deadline", "good", "-cpu-used", "4"]
    if codec == "mpeg4":
        return ["-q:v", str(max(2, min(31, round(2 + (100 - quality) * 0.29))))]
    return ["-crf", str(crf), "-preset", "veryfast"]


def _pix_fmt(codec: str, width: int, height: int) -> str:
    # H.264 4:2:0 needs even sizes; 4:4:4 keeps an odd size exact (fewer players support it, so only then).
    if codec == "libx264" and (width % 2 or height % 2):
        return "yuv444p"
    return "yuv420p"


def _faststart(container: Container) -> list[str]:
    # Index at the front of MP4/MOV files, so browsers can start playing before the whole file arrived.
    return ["-movflags", "+faststart"] if container.muxer in ("mp4", "mov") else []


def _stderr_tail(handle: IO[bytes]) -> str:
    handle.seek(0)
    return _last_line(handle.read().decode("utf-8", "replace"))


class Encoder:
    """Encode RGB uint8 ``HxWx3`` frames into ``path`` (video only) through an ffmpeg pipe.

    Use as a context manager: a clean exit finishes the file; an exception (Ctrl-C included) kills ffmpeg,
    and the caller deletes the partial file.
    """

    def __init__(self, path: Path, container: Container, width: int, height: int, fps: Fraction, quality: int) -> None:
        self.path, self.width, self.height = path, width, height
        codec = container.video_codec
        cmd = [
            *ffmpeg_quiet(),
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-framerate",
            str(fps),
            "-i",
            "pipe:0",
            "-an",
            "-c:v",
            codec,
            "-pix_fmt",
            _pix_fmt(codec, width, height),
            *video_quality_args(codec, quality),
            *_faststart(container),
            "-f",
            container.muxer,
            str(path),
        ]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the encoder; closed in close/abort)
        # A new session: Ctrl-C reaches only Python, which then stops ffmpeg itself (no half-flushed file
        # left for the muxer to "finish").
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True
        )
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one frame (RGB uint8 ``height x width x 3``)."""
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {self.height}x{self.width}x3, got {frame.dtype} {frame.shape}")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except (BrokenPipeError, OSError) as err:
            self._proc.wait()
            raise VideoError(f"{self.path}: video encoder stopped ({_stderr_tail(self._log)})") from err
        self.frames += 1

    def close(self) -> None:
        """Finish the file; raises :class:`VideoError` with ffmpeg's last message when encoding failed."""
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        tail = _stderr_tail(self._log)
        self._log.close()
        if rc != 0:
            raise VideoError(f"{self.path}: video encoder failed ({tail})")

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(OSError):
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        self._log.close()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def mux_audio(video: Path, source: Path, out: Path, container: Container) -> None:
    """Write ``out`` = the video stream of ``video`` + every audio stream of ``source`` (copied when the
    container accepts the codec, else re-encoded with the container's audio codec)."""
    base = [
        *ffmpeg_quiet(),
        "-y",
        "-i",
        str(video),
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-map",
        "1:a",
        "-map_metadata",
        "1",
        "-c:v",
        "copy",
    ]
    tail = [*_faststart(container), "-f", container.muxer, str(out)]
    errors = []
    for audio_args in (["-c:a", "copy"], ["-c:a", container.audio_codec]):
        proc = subprocess.run(
            base + audio_args + tail,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            start_new_session=True,
        )
        if proc.returncode == 0:
            return
        errors.append(_last_line(proc.stderr))
        log.info("audio copy into %s failed (%s); re-encoding with %s", out.suffix, errors[-1], container.audio_codec)
    raise VideoError(
        f"{source}: could not carry the audio track into {out.suffix} ({errors[-1]}); "
        "try another output extension such as .mkv"
    )
