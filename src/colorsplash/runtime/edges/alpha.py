"""From a photo and the model's low-resolution probability to a full-resolution alpha and a colour splash.

All images here are RGB (not BGR) uint8 ``HxWx3``; alphas are float32 ``HxW`` in [0, 1] with 1 = subject.

The hot path is built for large photos: the model sees the photo at its input size, the edge refinement (a *fast
guided filter*, He & Sun 2015) computes its linear coefficients on a copy of about a megapixel and only their
bilinear upsampling and one multiply-add run at full resolution. The ``edges="matte"`` stage instead solves a
closed-form matte in a band around the model's edge on a copy of ~400 px (:mod:`colorsplash.runtime.edges.matting`)
and brings it to full size by a guided filter on RGB. Blending runs in row strips so no full-size
float32 three-channel temporary exists. Grey is luma in Rec.601 weights (``Y = 0.299 R + 0.587 G + 0.114 B``,
OpenCV's ``RGB2GRAY``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from colorsplash.runtime.edges.guided import colour_target, guided_coefficients, refine_full
from colorsplash.runtime.edges.matting import MatteSettings, colour_coefficients, matte_from_probability
from colorsplash.runtime.edges.upsampling import apply_coefficients
from colorsplash.runtime.edges.working import RefineSettings, downscale
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.no_subject import no_subject_reason
from colorsplash.runtime.options import OptionError, SplashOptions


@dataclass
class AlphaResult:
    """A full-resolution alpha and what was learnt making it.

    Attributes:
        alpha: float32 ``HxW`` in [0, 1], 1 = colour kept (already inverted when ``options.invert``).
        max_probability: the model's highest subject probability anywhere in the photo.
        empty: no subject found: the subject score is under the model's threshold (see
            :class:`~colorsplash.runtime.model.onnx_model.Model`), or no pixel reached the cut-off
            (``options.threshold`` or 0.5).
        score: the photo's subject score in [0, 1] ("is there a subject?"; for models without a presence
            output, ``max_probability``).
        cutoff: when ``empty`` only because no pixel reached the cut-off (the score passed), that cut-off.
        score_threshold: the threshold ``score`` was held against, in [0, 1] (the model's
            ``presence_threshold``: 0.5 for a model without a presence output); set when ``empty``.
        inverted: ``alpha`` was inverted (``options.invert``): with no subject it is then all 1, the whole photo
            being background.
    """

    alpha: np.ndarray
    max_probability: float
    empty: bool
    score: float = 0.0
    cutoff: float | None = None
    inverted: bool = False
    score_threshold: float = 0.5


def luma(image: np.ndarray) -> np.ndarray:
    """RGB uint8 ``HxWx3`` -> Rec.601 luma uint8 ``HxW``."""
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """float32 alpha ``HxW`` in [0, 1] -> uint8 ``HxW`` 0..255 (rounded, 255 = subject)."""
    return cv2.convertScaleAbs(alpha, alpha=255.0)


def check_point(point: tuple[int, int] | None, width: int, height: int, picture: str = "photo") -> None:
    """The one check of ``point``: :class:`OptionError` (HTTP 422 naming it) when ``point`` (x, y in pixels) lies
    outside a ``width x height`` picture (``picture`` names it in the message); ``None`` passes."""
    if point is None:
        return
    x, y = point
    if not (0 <= x < width and 0 <= y < height):
        raise OptionError("point", f"{x},{y} is outside the {width}x{height} {picture}; give a pixel inside it")


def _select_subjects(
    q_small: np.ndarray, cutoff: float, options: SplashOptions, full_hw: tuple[int, int]
) -> np.ndarray | None:
    """A uint8 0/1 mask (working size) of what to keep: the pixels nearer the chosen subject (``options.point``'s,
    else the largest) than any other, so its soft edge stays whole however far it reaches (a mask one working pixel
    beyond its outline cut a pet's fur, 7 photo pixels on a 12 MP photo); ``None`` keeps everything (all subjects
    kept, or a single one)."""
    if options.keep == "all" and options.point is None:
        return None
    binary = (q_small >= cutoff).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 2:  # no subject, or one: nothing to leave out
        return None
    # Every pixel's nearest subject: each subject pixel labelled on its own, then mapped to its subject's label
    _, nearest = cv2.distanceTransformWithLabels(1 - binary, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    subject_of = np.zeros(int(nearest.max()) + 1, np.int32)
    on_subject = binary.astype(bool)
    subject_of[nearest[on_subject]] = labels[on_subject]
    owner = subject_of[nearest]
    if options.point is not None:
        x, y = options.point  # inside the photo (plan_alpha checked it)
        h, w = full_hw
        hs, ws = q_small.shape
        label = int(owner[min(hs - 1, int(y * hs / h)), min(ws - 1, int(x * ws / w))])  # the one there, or nearest
    else:
        label = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (owner == label).astype(np.uint8)


def _apply_threshold(alpha: np.ndarray, options: SplashOptions) -> np.ndarray:
    """Hard: binary at the cut-off. Soft threshold ``t``: piecewise-linear remap sending ``t`` to 0.5, 0 and 1 kept
    (at ``t`` 0 or 1 too, where the remap alone sent the background or the subject to 0.5)."""
    t = 0.5 if options.threshold is None else options.threshold
    if options.hard:
        return (alpha >= t).astype(np.float32)
    if options.threshold is None or t == 0.5:
        return alpha
    lo, hi = 0.5 / max(t, 1e-6), 0.5 / max(1.0 - t, 1e-6)
    moved = np.where(alpha < t, alpha * lo, 0.5 + (alpha - t) * hi)
    return np.where(alpha <= 0.0, 0.0, np.where(alpha >= 1.0, 1.0, moved)).astype(np.float32)


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels; large sigmas run on a reduced copy (same look).
    ``image``: an alpha, float32 ``HxW`` in [0, 1] (any OpenCV-resizable ``HxW`` or ``HxWxC`` array works); returns
    the same shape and dtype, ``image`` itself for ``sigma <= 0``."""
    if sigma <= 0:
        return image
    h, w = image.shape[:2]
    scale = min(1.0, 4.0 / sigma)
    if scale >= 0.5 or min(h, w) * scale < 4:
        return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class AlphaPlan:
    """What :func:`plan_alpha` learnt on the working copy; :func:`finish_alpha` makes the full-size alpha from it
    and the photo's luma. Lets the model and the refinement's coefficients run while the full photo decodes.

    Attributes:
        full_hw: the photo's (height, width).
        max_probability: the model's highest subject probability; ``empty``: below the cut-off (no subject).
        a, b: float32 working-size coefficients of ``alpha = a * luma + b`` when refining (``a`` scaled for the
            uint8 luma); ``a`` is ``None`` when ``b`` is the alpha already: without refinement the upsampled
            probability, with it the refined alpha of a photo that is its own working copy (no luma needed).
        keep: uint8 0/1 working-size mask of the subjects to keep, ``None`` for all.
        score: the photo's subject score in [0, 1] (see :attr:`AlphaResult.score`).
        matte, matte_guide: with ``edges="matte"``, the closed-form matte (float32) solved on the RGB copy
            ``matte_guide``; :func:`finish_alpha` brings it to full size guided by the photo's RGB, with
            ``matte_coeffs`` (float32 ``hxwx4``, see :func:`colorsplash.runtime.edges.matting.colour_coefficients`;
            ``None`` when the matte is already at the photo's size).
        working: with ``edges="matte"``, the working copy the plan was made on (RGB uint8, the photo reduced to
            ``work_size``): the matte splash's colour estimates reuse it instead of reducing the photo again.
        cutoff, score_threshold: see :attr:`AlphaResult.cutoff` and :attr:`AlphaResult.score_threshold`.
    """

    full_hw: tuple[int, int]
    max_probability: float
    empty: bool
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    keep: np.ndarray | None = None
    matte: np.ndarray | None = None
    matte_guide: np.ndarray | None = None
    score: float = 0.0
    matte_coeffs: np.ndarray | None = None
    working: np.ndarray | None = None
    cutoff: float | None = None
    score_threshold: float = 0.5

    @property
    def guide_is_rgb(self) -> bool:
        """Whether :func:`finish_alpha` needs the photo's RGB (the matte stage) rather than its luma."""
        return self.matte is not None


def plan_alpha(
    full_hw: tuple[int, int],
    prob_lowres: np.ndarray,
    small: np.ndarray,
    options: SplashOptions | None = None,
    settings: RefineSettings | None = None,
    presence: tuple[float, float] | None = None,
) -> AlphaPlan:
    """Everything of :func:`compute_alpha` that needs only the working copy ``small`` (RGB uint8 ``hxwx3``, the
    photo reduced to ``work_size``) and the model's probability ``prob_lowres`` (float32 ``SxS`` in [0, 1]): the
    subject test (:func:`~colorsplash.runtime.no_subject.no_subject_reason`), the edge refinement's coefficients
    and the subject selection. ``full_hw``: the photo's (height, width); ``presence``: ``(subject score,
    threshold)`` as :func:`model_presence` gives it.

    Raises: ValueError: ``options.point`` lies outside the photo.
    """
    options, settings = options or SplashOptions(), settings or RefineSettings()
    check_point(options.point, full_hw[1], full_hw[0])  # also where the photo has no subject (as video does)
    cutoff = 0.5 if options.threshold is None else options.threshold
    max_p = float(prob_lowres.max()) if prob_lowres.size else 0.0
    score, score_threshold = presence if presence is not None else (max_p, cutoff)
    # A point given is the user's word that a subject is there: the photo-level gate yields to it (a cat behind
    # wire scored 0.64 against 0.655 and had no way to be coloured); the pixel cut-off still applies.
    reason = no_subject_reason(score, score_threshold, max_p, cutoff, point=options.point is not None)
    if reason is not None:
        no_cut = cutoff if reason == "cutoff" else None
        return AlphaPlan(full_hw, max_p, True, score=score, cutoff=no_cut, score_threshold=score_threshold)
    hs, ws = small.shape[:2]
    p_small = cv2.resize(prob_lowres.astype(np.float32), (ws, hs), interpolation=cv2.INTER_LINEAR)
    scale = max(hs, ws) / max(prob_lowres.shape)  # working pixels per model pixel
    r = max(1, round(settings.radius * scale))
    a: np.ndarray | None = None
    if options.refine and options.matte_edges:
        q_small, tiny, alpha_tiny = _matte_small(small, p_small, max(prob_lowres.shape), settings.matte)
        keep = _select_subjects(q_small, cutoff, options, full_hw)
        coeffs = colour_coefficients(tiny, alpha_tiny) if tiny.shape[:2] != tuple(full_hw) else None
        return AlphaPlan(full_hw, max_p, False, None, q_small, keep, alpha_tiny, tiny, score, coeffs, small)
    if options.refine:
        a, b, q_small = _fast_small(small, prob_lowres, p_small, full_hw, r, settings)
    else:
        q_small = b = p_small
    keep = _select_subjects(q_small, cutoff, options, full_hw)
    return AlphaPlan(full_hw, max_p, False, a, b, keep, score=score)


def _fast_small(
    small: np.ndarray,
    prob_lowres: np.ndarray,
    p_small: np.ndarray,
    full_hw: tuple[int, int],
    r: int,
    settings: RefineSettings,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The fast edge stage on the working copy ``small`` (RGB uint8 ``hxwx3``): guided-filter coefficients on its
    luma, sharpened around 0.5. Returns ``(a, b, q_small)``: ``a`` float32 ``hxw`` scaled to apply to the uint8
    full-size luma (``None`` when the working copy is the photo), ``b`` float32 ``hxw`` (then the alpha itself), and
    the alpha at the working size, float32 ``hxw``."""
    target = colour_target(small, prob_lowres.astype(np.float32, copy=False), p_small, settings)
    g_small = luma(small).astype(np.float32) * np.float32(1 / 255)
    a, b = guided_coefficients(g_small, target, r, settings.eps)
    # Sharpen around 0.5 inside the linear model: k * (a I + b - 0.5) + 0.5 = (k a) I + (k b + 0.5 - 0.5 k).
    a *= settings.sharpen
    b = b * settings.sharpen + 0.5 * (1.0 - settings.sharpen)
    q_small = a * g_small + b
    if small.shape[:2] == tuple(full_hw):  # the working copy is the photo: q_small is its alpha, nothing to bring up
        return None, q_small, q_small
    a *= np.float32(1 / 255)  # the full-size guide stays uint8: scale a instead of making a float copy
    return a, b, q_small


def finish_alpha(plan: AlphaPlan, guide: np.ndarray | None, options: SplashOptions | None = None) -> AlphaResult:
    """The full-resolution alpha from a :class:`AlphaPlan` and the photo as ``guide``: its luma (uint8 ``HxW``,
    Rec.601) for the fast stage, its RGB (uint8 ``HxWx3``) when ``plan.guide_is_rgb`` (the matte stage); only read
    when refining, may be ``None`` otherwise. Then threshold, subject selection, feather, invert."""
    options = options or SplashOptions()
    h, w = plan.full_hw
    if plan.empty:  # no subject: all background, which invert keeps in colour as it does on any photo
        none = np.full((h, w), 1.0 if options.invert else 0.0, np.float32)
        return AlphaResult(
            none, plan.max_probability, True, plan.score, plan.cutoff, options.invert, plan.score_threshold
        )
    assert plan.b is not None
    small_hw = plan.b.shape[:2]
    if plan.matte is not None:
        if guide is None or guide.ndim != 3:
            raise ValueError("the matte stage needs the photo's RGB")
        alpha = plan.matte.copy() if plan.matte_coeffs is None else apply_coefficients(guide, plan.matte_coeffs)
    elif plan.a is not None:
        if guide is None:
            raise ValueError("the edge refinement needs the photo's luma")
        alpha = refine_full(guide, plan.a, plan.b)
    else:
        alpha = cv2.resize(plan.b, (w, h), interpolation=cv2.INTER_LINEAR) if small_hw != (h, w) else plan.b.copy()
    np.clip(alpha, 0.0, 1.0, out=alpha)
    alpha = _apply_threshold(alpha, options)
    if plan.keep is not None:
        alpha *= cv2.resize(plan.keep.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = smooth(alpha, options.feather)
    if options.invert:
        alpha = 1.0 - alpha
    return AlphaResult(alpha, plan.max_probability, False, plan.score)


def compute_alpha(
    image: np.ndarray,
    prob_lowres: np.ndarray,
    options: SplashOptions | None = None,
    settings: RefineSettings | None = None,
    small: np.ndarray | None = None,
    presence: tuple[float, float] | None = None,
) -> AlphaResult:
    """Full-resolution alpha from a photo and the model's probability (:func:`plan_alpha` then
    :func:`finish_alpha`).

    Args:
        image: the photo, RGB uint8 ``HxWx3`` (the guide of the edge refinement).
        prob_lowres: subject probability float32 ``SxS`` (any size; stretched over the whole photo) in [0, 1].
        options: threshold, hard, feather, keep, point, invert, refine, edges, on_empty (others are ignored).
        settings: refinement tuning.
        small: ``settings.working_copy(image, model side)`` when the caller already has it.
        presence: ``(subject score, threshold)`` from a model with a presence output; ``None``: the highest
            probability is the score and the cut-off its threshold.

    Raises: ValueError: ``options.point`` lies outside the photo.
    """
    options, settings = options or SplashOptions(), settings or RefineSettings()
    cutoff = 0.5 if options.threshold is None else options.threshold
    if prob_lowres.size and float(prob_lowres.max()) >= cutoff and small is None:
        small = settings.working_copy(image, max(prob_lowres.shape))
    plan = plan_alpha(image.shape[:2], prob_lowres, image if small is None else small, options, settings, presence)
    return finish_alpha(plan, photo_guide(image, plan), options)


def photo_guide(image: np.ndarray, plan: AlphaPlan) -> np.ndarray | None:
    """What :func:`finish_alpha` reads of the photo ``image`` (RGB uint8 ``HxWx3``) for ``plan``: ``image`` itself
    (the matte stage), its Rec.601 luma, uint8 ``HxW`` (the fast stage), or ``None`` (no refinement)."""
    if plan.guide_is_rgb:
        return image
    return luma(image) if plan.a is not None else None


def _matte_small(
    small: np.ndarray, p_small: np.ndarray, model_side: int, settings: MatteSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The matte edge stage on the working copy: a closed-form matte on a copy of ``settings.work_side`` px.
    Returns (alpha at the working copy's size, the copy it was solved on, the matte at that copy's size)."""
    tiny = downscale(small, settings.work_side)
    ht, wt = tiny.shape[:2]
    prob = p_small if tiny is small else cv2.resize(p_small, (wt, ht), interpolation=cv2.INTER_AREA)
    alpha_tiny = matte_from_probability(tiny, prob, model_side, settings)
    q_small = (
        alpha_tiny if tiny is small else cv2.resize(alpha_tiny, small.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    )
    return q_small, tiny, alpha_tiny


def model_alpha(
    model: Model, image: np.ndarray, options: SplashOptions | None = None, settings: RefineSettings | None = None
) -> AlphaResult:
    """Run the model on the whole photo (RGB uint8 ``HxWx3``) and make its full-resolution alpha with what was
    learnt (:class:`AlphaResult`). The public :func:`colorsplash.predict_alpha` wraps this and applies the
    no-subject policy."""
    plan = model_plan(model, image, options, settings)
    return finish_alpha(plan, photo_guide(image, plan), options)


def model_plan(
    model: Model, image: np.ndarray, options: SplashOptions | None = None, settings: RefineSettings | None = None
) -> AlphaPlan:
    """The model run on the whole photo (RGB uint8 ``HxWx3``) and :func:`plan_alpha` on its working copy: what
    :func:`model_alpha` finishes, and all a "is there a subject?" answer needs (``plan.empty``, ``plan.score``)."""
    settings = settings or RefineSettings()
    small = settings.working_copy(image, model.config.input_size)
    # The model input is resized from the working copy: one full-resolution pass fewer, same area average.
    prob, presence = model_presence(model, small)
    return plan_alpha(image.shape[:2], prob, small, options or SplashOptions(), settings, presence)


def model_presence(model: Model, small: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """One model run on the working copy ``small`` (RGB uint8): the probability (float32 ``SxS``) and
    ``(subject score, the model's threshold)`` for :func:`plan_alpha` (one-output files: the highest
    probability is the score; see :func:`presence_of` for a probability changed afterwards)."""
    prob, score = model.predict_scored(small)
    return prob, (score, model.presence_threshold)


def presence_of(
    model: Model,
    prob: np.ndarray,
    presence: tuple[float, float],
    smooth_score: Callable[[float], float] | None = None,
) -> tuple[float, float]:
    """``presence`` for a probability map that was changed after the model run (video's temporal smoothing):
    a one-output file's score is recomputed as the highest probability of ``prob``; a presence output's score
    goes through ``smooth_score`` when given (video: blended over frames like the map it gates)."""
    if model.has_presence:
        return (smooth_score(presence[0]) if smooth_score else presence[0], presence[1])
    return (float(prob.max()) if prob.size else 0.0, model.presence_threshold)
