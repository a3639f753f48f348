"""The constant rate a clip is read and written at, chosen from its frames' own timestamps, and the placement of
its frames on that rate's timeline (:class:`Timeline`).

Clips from phones and screen recorders have a variable frame rate: a phone drops from 30 to ~24 fps in low light
and its timestamps jitter by a millisecond or more, Android leaves the odd 60 ms gap, a screen recorder writes a
frame only when the screen changes. The frames are decoded onto a constant-rate timeline
(:class:`colorsplash.runtime.video.video_reader.FrameReader`), each from its time until the next one's: at too low a
rate two frames share a slot and one is lost (motion judders), at a rate above the clip's own the slow stretches repeat
frames (which the splash does not compute twice, :func:`colorsplash.runtime.video.video_frames.unique_runs`).

ffmpeg's own guesses do not do: the average rate of a clip that dropped frames or slowed down is not a rate frames
came at (29.24 fps for a 29.97 clip with three drops), and its base-rate guess (``tbr``) gives up on jitter
(90k, the timestamp unit) or picks 29.97 for a 30 fps phone clip. Here the timestamps of the video packets (read
without decoding) are placed on the grids of the clip's average rate and of the usual camera and screen rates, and
the lowest rate that loses no frame and shows none late (or the fewest) is taken.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from colorsplash.runtime.video.video_io import FIRST_PICTURE, ffmpeg_quiet, input_args

# The rates cameras, phones, webcams and screens record at, up to a screen's 60 Hz; above it only for clips
# already faster.
STANDARD_RATES = tuple(
    Fraction(r)
    for r in (
        "10",
        "12",
        "25/2",
        "15",
        "20",
        "24000/1001",
        "24",
        "25",
        "30000/1001",
        "30",
        "48",
        "50",
        "60000/1001",
        "60",
    )
)
FAST_RATES = tuple(Fraction(r) for r in ("100", "120000/1001", "120"))
FITS = 0.1  # a clip at an unusual rate (not in the lists above) keeps it when its frames are this close to its grid
NEAR = Fraction(101, 100)  # 29.97 and 30 are the same choice; the one the timestamps fit better is taken
DRIFT = 1.5  # a frame written further than this from its time (in frames) is misplaced: motion judders

_TB_RE = re.compile(r"^#tb 0: (\d+)/(\d+)", re.MULTILINE)
_DISCARD = 0x4  # AV_PKT_FLAG_DISCARD: a packet an edit list hides (decoded only as a reference)


@dataclass(frozen=True)
class FrameTimes:
    """When a clip's frames start: float64 seconds, ascending. Each frame lasts until the next one starts (the
    time between two frames shown, whatever order they are stored and decoded in; see :class:`Timeline`)."""

    start: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def packet_times(path: Path) -> FrameTimes:
    """The :class:`FrameTimes` of the video packets of ``path``'s first video stream that is not a cover picture,
    read without decoding (a pass over the file's index and data, no picture work), sorted by presentation time.
    Packets an edit list hides and packets without a time are left out; empty when ffmpeg reads none."""
    cmd = [*ffmpeg_quiet(), *input_args(path), *FIRST_PICTURE, "-c", "copy", "-f", "framecrc", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    tb = _TB_RE.search(proc.stdout)
    if proc.returncode != 0 or tb is None:
        return FrameTimes(np.zeros(0))
    starts = []
    for line in proc.stdout.splitlines():
        fields = [f.strip() for f in line.split(",")]  # stream, dts, pts, duration, size, crc[, F=flags]
        if line.startswith("#") or len(fields) < 6 or not fields[2].lstrip("-").isdigit():
            continue
        flags = int(fields[6].removeprefix("F="), 16) if len(fields) > 6 and fields[6].startswith("F=") else 0
        if not flags & _DISCARD and int(fields[2]) > -(2**62):  # AV_NOPTS_VALUE is the most negative int64
            starts.append(int(fields[2]))
    return FrameTimes(np.array(sorted(starts), dtype=np.float64) * float(Fraction(int(tb.group(1)), int(tb.group(2)))))


@dataclass
class Timeline:
    """ffmpeg's ``-fps_mode cfr`` placement of frames on a constant-rate timeline (slots of ``1 / rate`` s from
    the file's start), fed one frame start at a time (:meth:`push`, then :meth:`finish`): what
    :class:`~colorsplash.runtime.video.video_reader.FrameReader` decodes by and :func:`timeline_rate` chooses by.

    A frame lasts until the next one starts, and the last one as long as the gap before it. (ffmpeg itself takes a
    frame's length from its packet, which in an MP4 with B-frames is the step between packets in *decoding*
    order: a screen recording's 16 ms frame was given 0.75 s, written 45 times, and the frames after it were
    dropped to catch up.) The rule is ffmpeg's, which lets frames drift by up to 1.1 slots before it repeats or
    drops one: a frame is written as many times as its end lies slots past the next free slot (rounded), once
    where that is within 1.1 slots, not at all where it ends over 1.1 slots before it. A gap (a variable-rate
    pause, frames lost to damage) is thus filled by repeating the frame before it; the first frame also fills the
    slots before it (a video that starts after the sound). As each frame lasts until the next, no frame starts
    over 1.1 slots after the next free slot, where ffmpeg would fill with the previous frame first.

    Attributes:
        rate: slots per second.
        slots: slots written so far (the next free one).
        filled: slots that repeat a frame already written.
        dropped: frames written nowhere (more frames than slots for a while).
        misplaced: frames after the first whose first slot lies over :data:`DRIFT` slots from their start
            (frames coming faster than the rate for a while drift that far before one is dropped).
    """

    rate: float
    slots: int = 0
    filled: int = 0
    dropped: int = 0
    misplaced: int = 0
    _start: float | None = None  # the frame waiting for the next one's start (its end), in slots
    _gap: float = 1.0  # how long the frame before it lasted, in slots (the last frame's length)

    def push(self, start: float | None) -> int:
        """Take the next frame's start (seconds from the file's start; ``None``: unknown, one slot after the
        frame before) and place the frame before it: returns how many slots show that frame (0 for the first
        call)."""
        if self._start is None:
            self._start = 0.0 if start is None else start * self.rate
            return 0
        start = self._start + 1 if start is None else start * self.rate
        duration = max(start - self._start, 0.0)
        copies = self._place(self._start, duration)
        self._start, self._gap = start, duration
        return copies

    def finish(self) -> int:
        """Place the last frame (lasting as long as the gap before it); as :meth:`push`."""
        if self._start is None:
            return 0
        copies = self._place(self._start, self._gap)
        self._start = None
        return copies

    def _place(self, start: float, duration: float) -> int:
        late = start - self.slots
        end = late + duration
        copies = 0 if end < -1.1 else round(end) if end > 1.1 else 1
        self.dropped += copies == 0
        self.filled += max(copies - 1, 0)
        self.misplaced += copies > 0 and self.slots > 0 and abs(late) > DRIFT
        self.slots += copies
        return copies


def placed(times: FrameTimes, rate: Fraction) -> Timeline:
    """The frames ``times`` describes placed on a constant-rate timeline at ``rate``, measured from the first
    (:class:`Timeline`, finished)."""
    timeline = Timeline(float(rate))
    for start in (times.start - times.start[0]).tolist():
        timeline.push(start)
    timeline.finish()
    return timeline


def slots_written(times: FrameTimes, rate: Fraction) -> int:
    """How many frames the reader delivers for frames starting at ``times`` (seconds from the file's start) at
    ``rate``: the slots of a :class:`Timeline` fed them, gaps filled and the slots before the first frame too
    (0 for no times)."""
    timeline = Timeline(float(rate))
    for start in times.start.tolist():
        timeline.push(start)
    timeline.finish()
    return timeline.slots


def misfit(times: FrameTimes, rate: Fraction) -> float:
    """Mean distance of the frames' starts from the grid of ``rate``, in frames (0: exactly on it)."""
    offsets = (times.start - times.start[0]) * float(rate)
    return float(np.mean(np.abs(offsets - np.rint(offsets))))


def timeline_rate(average: Fraction, times: FrameTimes) -> Fraction:
    """The constant rate to read and write a clip at, from its average rate (``average``, as exact as known; 0:
    unknown) and its frames' times (:func:`packet_times`).

    Every constant-rate clip keeps its own rate, whatever it is. Otherwise the lowest rate that loses no frame and
    writes none further than :data:`DRIFT` frames from its time (:class:`Timeline`; else the fewest lost, then
    misplaced) of: the average, where it is a usual rate or the frames keep to its grid, and the usual rates above
    it (:data:`STANDARD_RATES`, and :data:`FAST_RATES` for a clip already faster than 60 fps) or within 1 % under
    it; between two rates within 1 % (29.97 and 30) the one the times fit better (:func:`_best_fit`). An average of
    29.09 fps from a jittery 30 fps phone clip is not a rate anything was recorded at, and a 60 Hz screen recording
    at 50 fps loses no frame but shows some 34 ms late. A Matroska clip of 30 fps with slower stretches, its times
    in milliseconds (33, 34 ms), is said to average 30.30 fps (ffmpeg 7.0's muxer): 30 loses no frame, where only
    the rates above gave 48. With fewer than two times, the average.
    """
    if len(times) < 2 or average <= 0:
        return average
    usual = STANDARD_RATES + FAST_RATES
    ceiling = STANDARD_RATES + (FAST_RATES if average > STANDARD_RATES[-1] else ())
    own = [average] if average in usual or misfit(times, average) <= FITS else []
    candidates = own + [r for r in ceiling if r not in own and r * NEAR >= average]
    if not candidates:
        return average
    lost = [(t.dropped, t.misplaced) for t in (placed(times, r) for r in candidates)]  # fewest lost, then late
    fewest = min(lost)
    lowest = next(r for r, n in zip(candidates, lost, strict=True) if n == fewest)
    if lowest == average:
        return average
    near = [r for r, n in zip(candidates, lost, strict=True) if n == fewest and r <= lowest * NEAR]
    return _best_fit(times, near)


def _best_fit(times: FrameTimes, rates: list[Fraction]) -> Fraction:
    """Of ``rates`` (within 1 % of each other), the one the frames fit best; a whole rate (30) rather than its
    NTSC neighbour (29.97) unless that fits clearly better (half the distance): jittery timestamps fit both alike."""
    fits = {r: misfit(times, r) for r in rates}
    best = min(rates, key=fits.__getitem__)
    whole = [r for r in rates if r.denominator == 1 and fits[r] <= 2 * fits[best] + 0.01]
    return whole[0] if whole else best
