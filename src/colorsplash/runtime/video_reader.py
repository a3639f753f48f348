"""Decoding a clip into frames on a constant-rate timeline, and reporting damage met on the way.

Frames are RGB (not BGR) uint8 ``HxWx3``, streamed from the ffmpeg binary through a pipe one at a time, so memory
does not grow with the clip's length. See :class:`FrameReader`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from colorsplash.runtime.video_colour import decode_filters
from colorsplash.runtime.video_io import VideoError, VideoInfo, ffmpeg_quiet, video_stream_seconds


@dataclass
class DecodeReport:
    """What the decoder met while a clip was read (filled in as :class:`FrameReader` finishes).

    Attributes:
        frames: frames delivered, at the clip's constant rate.
        filled: of those, copies of the previous frame standing in where the timeline had no frame: frames
            lost to damage (or the gaps of a variable-rate clip), so everything after stays in time with the sound.
        dropped: decoded frames left out because two fell within one frame interval (variable-rate clips).
        errors: decoder error messages (damaged or truncated data).
        last_error: the last of them, without ffmpeg's ``[codec @ 0x...]`` prefix.
        seconds: the time the frames cover (``frames / fps``).
        expected_seconds: how long the video stream lasts by the file's header (0: unknown): its own entry
            (:func:`~colorsplash.runtime.video_io.video_stream_seconds`) when the frames end well before the file,
            else the file's duration. Longer than ``seconds`` when the end of the video could not be decoded (a
            cut-off file); sound or a cover picture running longer than the video is not counted.
    """

    frames: int = 0
    filled: int = 0
    dropped: int = 0
    errors: int = 0
    last_error: str = ""
    seconds: float = 0.0
    expected_seconds: float = 0.0

    @property
    def cut_short(self) -> bool:
        """The frames end well before the video stream should: over half a second and over a tenth of it."""
        missing = self.expected_seconds - self.seconds
        return missing > max(0.5, 0.1 * self.expected_seconds)

    @property
    def damaged(self) -> bool:
        """The decoder reported errors (frames lost or concealed), or the video ends well before its header says."""
        return self.errors > 0 or self.cut_short


_PROGRESS_RE = re.compile(r"^([a-z_0-9]+)=(.*)$")
_REPEATED_RE = re.compile(r"Last message repeated (\d+) times")
_PREFIX_RE = re.compile(r"^(\[[^]]*\]\s*)+")


def parse_decoder_log(text: str, report: DecodeReport) -> None:
    """Fill ``report`` from the stderr of a reader run with ``-loglevel error -progress pipe:2``: every line that
    is not a ``key=value`` progress line is an error message."""
    for line in text.splitlines():
        line = line.strip()
        progress = _PROGRESS_RE.match(line)
        if progress:
            key, value = progress.groups()
            if key in ("dup_frames", "drop_frames") and value.isdigit():
                setattr(report, "filled" if key == "dup_frames" else "dropped", int(value))
            continue
        repeated = _REPEATED_RE.search(line)
        if repeated:
            report.errors += int(repeated.group(1))
        elif line:
            report.errors += 1
            report.last_error = _PREFIX_RE.sub("", line) or line


def deinterlace_filter(info: VideoInfo) -> str:
    """The start of the decoding ``-vf`` for ``info``: for an interlaced stream, ffmpeg's ``bwdif`` (motion-adaptive)
    on the frames flagged interlaced, one frame out per frame in (the clip's rate kept, each frame's two fields
    woven into one picture without combing); ``""`` for progressive video. Splashed as they are, the fields' comb
    teeth (every other line from another moment) would be kept and matted as edges."""
    return "bwdif=mode=send_frame:parity=auto:deint=interlaced," if info.field_order else ""


def deinterlace_note(info: VideoInfo) -> str | None:
    """The line that says an interlaced clip is deinterlaced, ``None`` for progressive video."""
    if not info.field_order:
        return None
    return (
        f"{info.path}: interlaced video ({info.field_order}) is deinterlaced (bwdif), one frame per frame: "
        "the output is progressive"
    )


class FrameReader:
    """Decode a clip into RGB (not BGR) uint8 ``HxWx3`` frames at the constant rate ``info.fps``.

    Frames follow the clip's timestamps, not merely its decoded frames: where frames are missing (a damaged
    stretch, a variable-rate gap) the previous frame is repeated, so frame ``k`` always shows time ``k / fps``
    and the audio copied from the input stays in sync. :attr:`report` says what happened, once iteration ended.
    Use :meth:`close` (or ``contextlib.closing``) to stop the decoder early.
    """

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self.report = DecodeReport()
        cmd = [
            *ffmpeg_quiet(),
            "-nostats",
            "-progress",
            "pipe:2",
            "-i",
            str(info.path),
            "-an",
            "-sn",
            "-dn",
            "-vf",
            f"{deinterlace_filter(info)}{decode_filters(info.colour)}",
            "-fps_mode",
            "cfr",
            "-r",
            str(info.fps),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:1",
        ]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the reader; closed in close)
        # A new session, as for the Encoder: Ctrl-C reaches only Python, which stops ffmpeg itself.
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True
        )

    def __iter__(self) -> Generator[np.ndarray, None, None]:
        """Yield the frames (read-only views; copy to modify).

        Raises:
            VideoError: the decoder failed (truncated or corrupt file).
        """
        h, w = self.info.height, self.info.width
        size = h * w * 3
        assert self._proc.stdout is not None
        while True:
            raw = self._proc.stdout.read(size)
            if len(raw) < size:
                break
            self.report.frames += 1
            yield np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3)
        rc = self._proc.wait()
        self.report.seconds = self.report.frames / float(self.info.fps)
        self.report.expected_seconds = self._expected_seconds()
        self._log.seek(0)
        parse_decoder_log(self._log.read().decode("utf-8", "replace"), self.report)
        if rc != 0 or raw:
            detail = self.report.last_error or f"ffmpeg exit status {rc}"
            raise VideoError(f"{self.info.path}: decoding failed ({detail}); the file may be truncated or corrupt")

    def _expected_seconds(self) -> float:
        """The length the frames are checked against (:attr:`DecodeReport.expected_seconds`): the file's duration,
        or, when the frames end well before it, the video stream's own (the file's is its longest stream's, often
        the sound's); unknown (0) when the header gives none and other streams may be longer."""
        whole = self.info.duration
        if not DecodeReport(seconds=self.report.seconds, expected_seconds=whole).cut_short:
            return whole
        own = video_stream_seconds(self.info.path)
        if own is not None:
            return own
        return 0.0 if self.info.has_audio else whole

    def close(self) -> None:
        """Stop the decoder (if still running) and free its resources; safe to call twice."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._log.close()


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
