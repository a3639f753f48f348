"""Streaming video output through the bundled ffmpeg: the output containers, the frame encoder and the audio and
subtitle remux.

Frames arrive as RGB (not BGR) uint8 ``HxWx3`` arrays and go to ffmpeg through a pipe, one at a time. The caller
writes to a hidden temporary file beside the destination and renames it into place only when complete
(:mod:`colorsplash.runtime.video.video_temp`), so an interrupted run leaves no half-written file. Audio is copied from
the input in a second, cheap remux step (re-encoded only when the output container cannot hold the codec), and so are
subtitles (converted to the container's text format when needed).
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

from colorsplash.runtime.files import TOO_LARGE_FILE
from colorsplash.runtime.video.video_colour import is_hd
from colorsplash.runtime.video.video_extras import carried, dropped_note, wanted
from colorsplash.runtime.video.video_ffmpeg import last_line, output_arg
from colorsplash.runtime.video.video_io import VideoError, VideoInfo, ffmpeg_quiet, input_args

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Container:
    """How one output extension is written: ffmpeg muxer, video encoder, the audio fallback encoder, the
    subtitle format text subtitles are converted to when they cannot be copied (``None``: none). Which hold
    attached files and cover art: :func:`colorsplash.runtime.video.video_extras.carried`."""

    muxer: str
    video_codec: str
    audio_codec: str
    subtitle_codec: str | None = None


# The audio encoders' formats: (ffprobe's codec name, in words)
_SOUND_NAMES = {"aac": ("aac", "AAC"), "libopus": ("opus", "Opus"), "libmp3lame": ("mp3", "MP3")}
CONTAINERS: dict[str, Container] = {
    ".mp4": Container("mp4", "libx264", "aac", "mov_text"),
    ".m4v": Container("mp4", "libx264", "aac", "mov_text"),
    ".mov": Container("mov", "libx264", "aac", "mov_text"),
    ".mkv": Container("matroska", "libx264", "aac", "srt"),
    ".webm": Container("webm", "libvpx-vp9", "libopus", "webvtt"),
    ".avi": Container("avi", "mpeg4", "libmp3lame"),
}


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


def odd_size_note(output: Path, width: int, height: int) -> str | None:
    """The warning for a frame size that ``output``'s codec can only keep exactly in a less playable form
    (H.264 4:4:4, see :func:`_pix_fmt`), or ``None``. The size is kept (the clip matches its input pixel for
    pixel); the note says how to get a widely playable file instead."""
    codec = container_for(output).video_codec
    if _pix_fmt(codec, width, height) == "yuv420p":
        return None
    return (
        f"{output}: {width}x{height} has an odd side, so the H.264 video is written as 4:4:4 (High 4:4:4) to keep "
        "that size; Safari/QuickTime, iOS, TVs and most hardware players cannot play it. For a widely playable "
        "file write .webm (VP9 keeps the size) or give an input cropped to an even size"
    )


def colour_filters(width: int, height: int, pix_fmt: str) -> str:
    """How RGB frames become YUV, as ``-vf`` filters, and how the stream says so: BT.709 for HD (1280 wide or
    720 high and up), BT.601 (SMPTE 170M) below, as players assume for untagged video of that size, limited
    (TV) range. The same matrix converts the frames and is written in the stream's colour tags (matrix,
    primaries, transfer, range), so players that read the tags and players that guess both show the colours."""
    matrix, tag = ("bt709", "bt709") if is_hd(width, height) else ("bt601", "smpte170m")
    return (
        f"scale=out_color_matrix={matrix}:out_range=tv,format={pix_fmt},"
        f"setparams=range=tv:colorspace={tag}:color_primaries={tag}:color_trc={tag}"
    )


def _filters(codec: str, width: int, height: int, sar: Fraction) -> list[str]:
    """``-vf`` (colour conversion and tags, pixel format, the input's sample aspect ratio) and ``-pix_fmt``."""
    pix_fmt = _pix_fmt(codec, width, height)
    setsar = f"setsar=sar={sar.numerator}/{sar.denominator}:max=65535"  # H.264's limit; default 100 rounds
    return ["-vf", f"{colour_filters(width, height, pix_fmt)},{setsar}", "-pix_fmt", pix_fmt]


def _faststart(container: Container) -> list[str]:
    # Index at the front of MP4/MOV files, so browsers can start playing before the whole file arrived.
    return ["-movflags", "+faststart"] if container.muxer in ("mp4", "mov") else []


def _keep_times(container: Container) -> list[str]:
    """AVI has no timestamps, only a frame count: the AAC priming (sound starting ~21 ms before the picture) shifted
    the picture by a fraction of a frame, which the muxer rounded into an empty frame after the first (every
    frame after it a frame late, 61 frames indexed for 60). Its timestamps are written as they are instead."""
    return ["-avoid_negative_ts", "disabled"] if container.muxer == "avi" else []


_DISK_FULL_RE = re.compile(r"No space left on device|Disk quota exceeded")
_TOO_LARGE_RE = re.compile(r"File too large")
# ffmpeg is killed by SIGXFSZ past the file size limit (`ulimit -f`): Python ignores the signal, its children get it
# back, and ffmpeg said nothing ("video encoder failed (no details)").
_FILE_SIZE_SIGNAL = getattr(signal, "SIGXFSZ", None)


def ffmpeg_said(returncode: int | None, said: str) -> str:
    """What ffmpeg ``said`` as it ended with ``returncode``: "File too large" when the file size limit killed it."""
    if _FILE_SIZE_SIGNAL is not None and returncode == -_FILE_SIZE_SIGNAL:
        return "File too large"
    return said


def _no_room(said: str) -> bool:
    """Whether ffmpeg ``said`` it could not write for want of room: a full disk, or a file over the file
    system's size limit. Another way of writing the same tracks would not help."""
    return bool(_DISK_FULL_RE.search(said) or _TOO_LARGE_RE.search(said))


def write_failure(name: object, folder: Path, what: str, said: str) -> str:
    """The line for ffmpeg failing to write into ``folder``: ``name`` (the file the message is about), ``what``
    failed, ffmpeg ``said`` why; a full disk or a file system's size limit is named, with what to do."""
    if _DISK_FULL_RE.search(said):
        todo = f"the disk holding {folder} is full; free space there or choose another -o"
    elif _TOO_LARGE_RE.search(said):
        todo = f"the clip is {TOO_LARGE_FILE} (another -o)"
    else:
        return f"{name}: {what} ({said})"
    return f"{name}: {what} ({said}): {todo}; nothing was written"


def _stderr_tail(handle: IO[bytes]) -> str:
    handle.seek(0)
    return last_line(handle.read().decode("utf-8", "replace"))


class Encoder:
    """Encode RGB uint8 ``HxWx3`` frames into ``path`` (video only) through an ffmpeg pipe.

    Use as a context manager: a clean exit finishes the file; an exception (Ctrl-C included) kills ffmpeg,
    and the caller deletes the partial file.
    """

    def __init__(
        self,
        path: Path,
        container: Container,
        width: int,
        height: int,
        fps: Fraction,
        quality: int,
        sar: Fraction = Fraction(1),
        output: Path | None = None,
    ) -> None:
        """``sar``: the sample (pixel) aspect ratio to write, the input's, so anamorphic clips keep their shape;
        ``output``: the file ``path`` will become (a partial file's final name), named in error messages."""
        self.path, self.width, self.height = path, width, height
        self.output = output or path
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
            *_filters(codec, width, height, sar),
            *video_quality_args(codec, quality),
            *_faststart(container),
            "-f",
            container.muxer,
            output_arg(path),
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
            said = ffmpeg_said(self._proc.wait(), _stderr_tail(self._log))
            raise VideoError(write_failure(self.output, self.output.parent, "video encoder stopped", said)) from err
        self.frames += 1

    def close(self) -> None:
        """Finish the file; raises :class:`VideoError` with ffmpeg's last message when encoding failed."""
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        tail = ffmpeg_said(rc, _stderr_tail(self._log))
        self._log.close()
        if rc != 0:
            raise VideoError(write_failure(self.output, self.output.parent, "video encoder failed", tail))

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


def _track_choices(
    container: Container, info: VideoInfo, extras: tuple[list[str], frozenset[str]]
) -> list[tuple[list[str], frozenset[str]]]:
    """The ways to carry the source's tracks, best first, each as (ffmpeg arguments, kinds of
    :data:`colorsplash.runtime.video.video_extras.KIND_WORDS` kept): audio copied, else re-encoded with the container's
    codec; subtitles copied, else converted to the container's text format, else left out; ``extras`` (attached
    files and cover art the container holds: :func:`colorsplash.runtime.video.video_extras.carried`), else left out."""
    no: tuple[list[str], frozenset[str]] = ([], frozenset())
    sounds = [["-map", "1:a", "-c:a", "copy"], ["-map", "1:a", "-c:a", container.audio_codec]]
    texts = [(["-map", "1:s", "-c:s", "copy"], frozenset({"subtitles"}))] if info.subtitles else []
    if info.subtitles and container.subtitle_codec:
        texts.append((["-map", "1:s", "-c:s", container.subtitle_codec], frozenset({"subtitles"})))
    return [
        (sound + text + extra, kept_text | kept_extra)
        for extra, kept_extra in ([extras, no] if extras[0] else [no])
        for text, kept_text in [*texts, no]
        for sound in (sounds if info.has_audio else [[]])
    ]


def mux_tracks(video: Path, info: VideoInfo, out: Path, container: Container) -> None:
    """Write ``out`` = the video stream of ``video`` + every audio and subtitle stream, attached file and cover
    picture of ``info``'s clip: audio copied when the container accepts the codec, else re-encoded with the
    container's audio codec; subtitles copied, else converted to the container's text format; attached files
    (fonts for styled subtitles) and cover art where the container holds them
    (:mod:`colorsplash.runtime.video.video_extras`). What is left out (subtitles that are pictures, as on DVDs and
    Blu-rays, cannot become text) is named in a warning (:func:`colorsplash.runtime.video.video_extras.dropped_note`).
    The source's start timecode (``HH:MM:SS:FF``, ``;`` for drop-frame) is written where
    the container holds one (a ``tmcd`` track in .mov/.mp4, a tag in .mkv/.webm; .avi has none)."""
    source = info.path
    base = [*ffmpeg_quiet(), "-y", *input_args(video), *input_args(source), "-map", "0:v:0", "-map_metadata", "1"]
    base += ["-metadata:s:v:0", f"timecode={info.timecode}"] if info.timecode else []
    tail = ["-c:v", "copy", *_faststart(container), *_keep_times(container), "-f", container.muxer, output_arg(out)]
    errors: list[str] = []
    with carried(container.muxer, source, info.attachments, info.covers) as extras:
        for args, kept in _track_choices(container, info, extras):
            proc = subprocess.run(
                base + args + tail,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
                start_new_session=True,
            )
            if proc.returncode == 0:
                if dropped := wanted(info.subtitles, info.attachments, info.covers) - kept:
                    log.warning("%s", dropped_note(source, out, dropped))
                if ["-c:a", container.audio_codec] == args[2:4]:
                    log.info("%s", _reencoded_line(info.audio_codec, container.audio_codec, out.suffix, errors[-1]))
                return
            errors.append(ffmpeg_said(proc.returncode, last_line(proc.stderr)))
            if _no_room(errors[-1]):
                break  # no other way of carrying the tracks fits either
            # a detail: routine where the container does not take the clip's sound as it is (AAC into .webm)
            log.debug("tracks into %s failed with %s (%s); trying another way", out.suffix, " ".join(args), errors[-1])
    raise VideoError(_tracks_failure(info, out, errors[-1]))


def _reencoded_line(source: str | None, encoder: str, suffix: str, said: str) -> str:
    """The line on a clip's sound (codec ``source``) re-encoded with ``encoder`` after copying it into ``suffix``
    failed (ffmpeg ``said``): the container does not hold that codec, or, the codec being the one it is re-encoded
    to, copying failed for another reason, which is named ("AAC re-encoded as AAC: .mp4 does not hold it")."""
    codec, words = _SOUND_NAMES.get(encoder, (encoder, encoder))
    if source == codec:
        return f"the sound ({source}) could not be copied into {suffix} as it is ({said}); re-encoded as {words}"
    return f"the sound ({source}) re-encoded as {words}: {suffix} does not hold it"


def _tracks_failure(info: VideoInfo, out: Path, said: str) -> str:
    """The line for :func:`mux_tracks` failing every way: the kinds of track it was carrying from ``info``'s clip
    (its audio, subtitles, timecode), a full disk named as such (:func:`write_failure`)."""
    has = (("audio", info.has_audio), ("subtitles", info.subtitles), ("timecode", info.timecode))
    kinds = [kind for kind, there in has if there]
    what = f"could not carry its {' and '.join(kinds) or 'tracks'} into {out.suffix}"
    line = write_failure(info.path, out.parent, what, said)
    if _no_room(said):  # another extension would not help
        return line
    return f"{line}; try another output extension such as {'.mp4' if out.suffix.lower() == '.mkv' else '.mkv'}"
