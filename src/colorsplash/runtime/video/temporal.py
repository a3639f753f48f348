"""Temporal smoothing of the subject probability across video frames.

Frame-by-frame masks flicker at the edges and lose the subject for a frame here and there. The
:class:`TemporalSmoother` blends each new probability map with the previous *smoothed* map, after moving
the previous map along the optical flow so a moving subject does not leave a ghost behind. Where the flow
is not trustworthy (occlusions, new content: the warped previous frame does not match the current one) and
at scene cuts the new prediction is taken as is. A scene cut is a jump in the grey histogram, or a frame that the
warped previous frame mostly fails to match (a cut between two shots of the same tones).

Everything works at the model's low resolution (``S x S``, the frame stretched over the square, as the model's
answer is: :func:`colorsplash.runtime.model.preprocess.photo_probability` cuts off the padding of a wide frame's input
and gives the probability stretched over the whole frame), so it costs a few milliseconds per frame whatever the
video size; edge refinement on the full-resolution frame happens afterwards, per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SmoothingConfig:
    """How strongly the past is kept.

    Attributes:
        history: weight of the (motion-compensated) previous smoothed map, 0..1; 0 turns smoothing off.
            With 0.7 a still subject's frame-to-frame jitter drops to about a fifth (EMA, variance factor
            ``(1 - h) / (1 + h)``) and a real change is 90 % through after 6 frames.
        motion: follow the subject with dense optical flow (DIS, Kroeger et al. 2016) before blending.
        mismatch: grey-level error (0..1) between the current frame and the warped previous frame at which
            the past is no longer trusted at that pixel (linear fade from 0 error to this value).
        cut_threshold: Bhattacharyya distance (0..1) between grey histograms of consecutive frames above
            which the frame starts a new scene and the history is dropped.
        cut_trust: mean trust (0..1) of the motion-compensated past below which the frame also starts a new
            scene: the warped previous frame explains less than this share of it. Catches the cuts between
            shots of like tones that the histogram misses; within one shot (pans, zooms, a subject running, a
            person passing in front) most of the frame still matches.
        flow_size: side in pixels of the square grey images the flow is computed on (speed vs detail).
        sure_score: a frame whose own subject score (a presence output's, 0..1) reaches this lifts the averaged
            score to it, so a subject coming into view is coloured on the first frame that is sure of it, not
            2 frames later; the score still falls only as the average does. 0.9: on a pet entering (4 clips)
            2 of them coloured 2 frames sooner, and on 40 pet-free photos scored near the threshold, shaken as
            stills, no more frames flashed colour (a lower level, such as the threshold, let doubtful frames
            flash, as ``--no-smooth`` does); see docs/benchmarks.md. 1 or more: off.
    """

    history: float = 0.7
    motion: bool = True
    mismatch: float = 0.12
    cut_threshold: float = 0.3
    cut_trust: float = 0.5
    flow_size: int = 128
    sure_score: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.history < 1.0:
            raise ValueError(f"history must be in [0, 1), got {self.history}")
        if self.mismatch <= 0 or not 0 < self.cut_threshold <= 1 or self.flow_size < 16:
            raise ValueError("mismatch must be > 0, cut_threshold in (0, 1], flow_size >= 16")
        if not 0.0 <= self.cut_trust < 1.0:
            raise ValueError(f"cut_trust must be in [0, 1) (0 turns the test off), got {self.cut_trust}")


NO_SMOOTHING = SmoothingConfig(history=0.0, motion=False)


def _grey(frame: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 ``HxWx3`` -> float32 grey ``size x size`` in [0, 1] (stretched as the model's answer is)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if grey.shape != (size, size):
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
    return grey.astype(np.float32) / 255.0


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance in [0, 1] between the 32-bin histograms of two grey images, float32 ``HxW`` in
    [0, 1] (the smoother passes two frames of one size; any two sizes work)."""
    ha = cv2.calcHist([a], [0], None, [32], [0.0, 1.0])
    hb = cv2.calcHist([b], [0], None, [32], [0.0, 1.0])
    return float(cv2.compareHist(ha, hb, cv2.HISTCMP_BHATTACHARYYA))


class TemporalSmoother:
    """Stateful smoother: feed one clip's frames in order with :meth:`update` (a new clip, a new smoother).

    Memory is two small maps (the previous grey frame and the previous smoothed probability) and the previous
    smoothed subject score (:meth:`score`).
    """

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self._grey: np.ndarray | None = None
        self._state: np.ndarray | None = None
        self._score: float | None = None
        self._fresh = True  # the last update started a new history (first frame, scene cut)
        self.cuts = 0
        self._flow: cv2.DISOpticalFlow | None = None

    @staticmethod
    def _u8(grey: np.ndarray) -> np.ndarray:
        return (grey * 255.0 + 0.5).astype(np.uint8)

    def score(self, value: float) -> float:
        """The frame's photo-level subject score blended with the past, like the probability map.

        Call it after :meth:`update` for the same frame: the score's history is dropped where the map's is (first
        frame, scene cut). A subject seen for a while then stays found through a frame or two of doubt (a small
        dog far away, turning), instead of the whole frame flashing grey; after a cut the new score counts alone.
        A frame sure of its subject (``config.sure_score``) lifts the average to its own score: colour comes on at
        once, and goes off only as the average falls.
        """
        h = self.config.history
        if h == 0.0 or self._fresh or self._score is None:
            self._score = float(value)
        else:
            self._score = h * self._score + (1.0 - h) * float(value)
            if value >= self.config.sure_score:
                self._score = max(self._score, float(value))
        return self._score

    def update(self, frame: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """Blend this frame's probability with the past.

        Args:
            frame: RGB uint8 ``HxWx3``, any size (it is stretched to a square, as the model's answer is).
            probability: float32 ``S x S`` (or any ``h x w``) subject probability in [0, 1] for ``frame``.

        Returns:
            float32 map of ``probability``'s shape in [0, 1]; the input itself on the first frame,
            after a scene cut, or when ``history`` is 0.
        """
        prob = np.asarray(probability, dtype=np.float32)
        cfg = self.config
        if cfg.history == 0.0:
            return prob
        grey = _grey(frame, cfg.flow_size)
        prev_grey, prev_state = self._grey, self._state
        self._grey = grey
        self._fresh = True
        if prev_grey is None or prev_state is None or prev_state.shape != prob.shape:
            self._state = prob
            return prob
        if histogram_distance(grey, prev_grey) > cfg.cut_threshold:
            return self._cut(prob)
        past, trust = self._align(grey, prev_grey, prev_state, prob.shape)
        if float(trust.mean()) < cfg.cut_trust:
            return self._cut(prob)
        self._fresh = False
        weight = cfg.history * trust
        self._state = (weight * past + (1.0 - weight) * prob).astype(np.float32)
        return self._state

    def _cut(self, prob: np.ndarray) -> np.ndarray:
        """Start a new scene at this frame: the history (map and score) is dropped, ``prob`` is taken as is."""
        self.cuts += 1
        self._state = prob
        return prob

    def _align(
        self, grey: np.ndarray, prev_grey: np.ndarray, prev_state: np.ndarray, shape: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Warp the previous state onto this frame; return it and a per-pixel trust in [0, 1] (``shape``)."""
        cfg = self.config
        if cfg.motion:
            # Flow from the current frame to the previous one: for each current pixel, where it was before,
            # which is what cv2.remap needs to pull the previous maps forward.
            n = cfg.flow_size
            if self._flow is None:
                self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
            flow = self._flow.calc(self._u8(grey), self._u8(prev_grey), np.zeros((n, n, 2), np.float32))
            yy, xx = np.mgrid[:n, :n].astype(np.float32)
            map_x, map_y = xx + flow[..., 0], yy + flow[..., 1]
            warped_grey = cv2.remap(prev_grey, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            h, w = shape
            sx, sy = w / n, h / n
            big_x = cv2.resize(map_x, (w, h), interpolation=cv2.INTER_LINEAR) * sx + (sx - 1) / 2
            big_y = cv2.resize(map_y, (w, h), interpolation=cv2.INTER_LINEAR) * sy + (sy - 1) / 2
            past = cv2.remap(prev_state, big_x, big_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            warped_grey, past = prev_grey, prev_state
        # Blur the error a little so single noisy pixels do not switch the history off.
        error = cv2.GaussianBlur(np.abs(grey - warped_grey), (5, 5), 0)
        trust = np.clip(1.0 - error / cfg.mismatch, 0.0, 1.0)
        if trust.shape != tuple(shape):
            trust = cv2.resize(trust, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        return past, trust
