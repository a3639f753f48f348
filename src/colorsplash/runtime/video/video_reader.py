"""Decoding a clip into frames on a constant-rate timeline, and reporting damage met on the way.

Frames are RGB (not BGR) uint8 ``HxWx3``, streamed from the ffmpeg binary through a pipe one at a time, so memory
does not grow with the clip's length. Each decoded frame comes with its own presentation time, and the frames are
placed on the timeline here (:class:`~colorsplash.runtime.video.video_timing.Timeline`). See :class:`FrameReader`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from colorsplash.runtime.video.video_colour import decode_filters
from colorsplash.runtime.video.video_io import (
    FIRST_PICTURE,
    VideoError,
    VideoInfo,
    ffmpeg_quiet,
    input_args,
    video_stream_seconds,
)
from colorsplash.runtime.video.video_timing import Timeline


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
            (:func:`~colorsplash.runtime.video.video_io.video_stream_seconds`) when the frames end well before the file,
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


# How long a frame's time may lag behind the frame itself (it is written first; see FrameReader._times_line).
TIME_WAIT = 10.0
_REPEATED_RE = re.compile(r"Last message repeated (\d+) times")
_PREFIX_RE = re.compile(r"^(\[[^]]*\]\s*)+")


def parse_decoder_log(text: str, report: DecodeReport) -> None:
    """Count the error messages in ``report`` from the stderr of a reader run with ``-loglevel error``: every
    line is one."""
    for line in text.splitlines():
        line = line.strip()
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
    and the audio copied from the input stays in sync. ffmpeg decodes every frame once (``-fps_mode
    passthrough``) and writes each one's presentation time to a file before the frame itself reaches the pipe, so
    every frame is paired with its own time, also where the decoder skips damaged ones; the frames are then placed
    by :class:`~colorsplash.runtime.video.video_timing.Timeline`, each lasting until the next one starts (ffmpeg's own
    constant-rate mode goes by packet durations, which an MP4 with B-frames gives in decoding order).
    :attr:`report` says what happened, once iteration ended.
    Use :meth:`close` (or ``contextlib.closing``) to stop the decoder early.
    """

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self.report = DecodeReport()
        # Removed as soon as the first frame is read (see _times_line); where open files cannot be removed
        # (Windows) the folder stays until close().
        self._dir = tempfile.TemporaryDirectory(prefix="colorsplash-", ignore_cleanup_errors=True)
        self._times_path = Path(self._dir.name) / "frame-times.txt"
        self._times: BinaryIO | None = None
        self._tail = b""  # the bytes of an incomplete last frame (a decoder that failed mid-frame)
        cmd = [
            *ffmpeg_quiet(),
            "-nostats",
            *input_args(info.path),
            *FIRST_PICTURE,
            "-an",
            "-sn",
            "-dn",
            "-vf",
            f"{deinterlace_filter(info)}{decode_filters(info.colour)}",
            "-fps_mode",
            "passthrough",
            "-enc_time_base",
            "filter",
            "-stats_enc_pre",
            f"file:{self._times_path}",
            "-stats_enc_pre_fmt",
            "{pts} {tb}",
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
        timeline = Timeline(float(self.info.fps))
        waiting: np.ndarray | None = None  # the last frame decoded, placed once the next one's time is known
        for frame, start in self._decoded():
            yield from self._copies(timeline.push(start), waiting)
            waiting = frame
        yield from self._copies(timeline.finish(), waiting)
        self.report.filled, self.report.dropped = timeline.filled, timeline.dropped
        rc = self._proc.wait()
        self.report.seconds = self.report.frames / float(self.info.fps)
        self.report.expected_seconds = self._expected_seconds()
        self._log.seek(0)
        parse_decoder_log(self._log.read().decode("utf-8", "replace"), self.report)
        if rc != 0 or self._tail:
            detail = self.report.last_error or f"ffmpeg exit status {rc}"
            raise VideoError(f"{self.info.path}: decoding failed ({detail}); the file may be truncated or corrupt")

    def _copies(self, copies: int, frame: np.ndarray | None) -> Iterator[np.ndarray]:
        """``frame`` ``copies`` times (the slots :class:`Timeline` gave it), counted in :attr:`report`."""
        for _ in range(copies):
            assert frame is not None
            self.report.frames += 1
            yield frame

    def _decoded(self) -> Iterator[tuple[np.ndarray, float | None]]:
        """Each decoded frame (read-only) with its presentation time, seconds from the file's start (``None``:
        none); leaves an incomplete last frame's bytes in ``_tail``."""
        h, w = self.info.height, self.info.width
        size = h * w * 3
        assert self._proc.stdout is not None
        while True:
            raw = self._proc.stdout.read(size)
            if len(raw) < size:
                self._tail = raw
                return
            yield np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3), self._frame_time()

    def _frame_time(self) -> float | None:
        """The time of the frame just read: ffmpeg's next ``{pts} {tb}`` line, written and flushed before the
        frame was handed to the pipe (waiting on a line still being written)."""
        line = self._times_line()
        fields = line.replace(b"/", b" ").split()  # pts, time base numerator, denominator
        if not line:
            raise VideoError(self._times_lost(f"wrote fewer frame times than frames to {self._times_path}"))
        if len(fields) != 3 or not all(f.lstrip(b"-").isdigit() for f in fields):
            raise VideoError(
                f"{self.info.path}: ffmpeg gave a frame without its time ({line[:80]!r}); frames cannot be placed "
                "on the clip's timeline. Please report this with the clip"
            )
        pts, num, den = map(int, fields)
        return None if pts <= -(2**63) else pts * num / den  # AV_NOPTS_VALUE: no time

    def _times_line(self) -> bytes:
        """ffmpeg's next line of frame times (``b""``: none). It was flushed before the frame just read reached the
        pipe, so it is complete at once or a moment later; one that does not come within :data:`TIME_WAIT`
        seconds while ffmpeg runs never will (the file could not be written: a full temporary folder), and waiting
        longer would wait for ever, ffmpeg itself waiting on the pipe for the next frame to be read."""
        if self._times is None:
            self._times = self._times_path.open("rb")
            # ffmpeg has it open too (this frame's time was written before the frame): the folder goes now, so a
            # run killed later (kill -9, the OOM killer), which cannot clean up, leaves nothing in the temporary
            # folder; both ends keep reading and writing the file through their descriptors.
            self._dir.cleanup()
        line = self._times.readline()
        deadline = time.monotonic() + TIME_WAIT
        while not line.endswith(b"\n") and self._proc.poll() is None:
            if time.monotonic() > deadline:
                raise VideoError(
                    self._times_lost(f"did not write the frame times to {self._times_path} within {TIME_WAIT:g} s")
                )
            time.sleep(0.001)
            line += self._times.readline()
        return line + (self._times.readline() if not line.endswith(b"\n") else b"")  # ffmpeg ended meanwhile

    def _times_lost(self, what: str) -> str:
        """The error line for frame times that ffmpeg could not write (``what`` it did instead)."""
        return (
            f"{self.info.path}: ffmpeg {what}; is the temporary folder full? Free space there (or set TMPDIR to a "
            "folder with room) and try again"
        )

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
        if self._times is not None:
            self._times.close()
        self._dir.cleanup()


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
