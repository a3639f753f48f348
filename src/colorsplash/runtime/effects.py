"""Background effects and the blend of a photo with its effect by an alpha.

All images are RGB (not BGR) uint8 ``HxWx3``; alphas are float32 ``HxW`` in [0, 1] with 1 = subject (colour kept).
Blending runs in row strips so no full-size float32 three-channel temporary exists. Grey is luma in Rec.601
weights (``Y = 0.299 R + 0.587 G + 0.114 B``, OpenCV's ``RGB2GRAY``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from colorsplash.runtime.edges.alpha import alpha_to_uint8
from colorsplash.runtime.edges.foreground import estimate_colours
from colorsplash.runtime.edges.strips import in_row_strips
from colorsplash.runtime.options import Effect, SplashOptions, parse_effect_spec

DIM_AMOUNT = 0.6  # plain ``dim``: the background keeps 40 % of its brightness
_LUMA = np.array([[0.299, 0.587, 0.114]] * 3, np.float32)  # RGB -> its Rec.601 luma in each channel
_CHROMA = np.eye(3, dtype=np.float32) - _LUMA  # RGB -> RGB minus that luma
# The step :func:`composite` names to its ``check`` after the edge colour estimates (the server logs "stopped it
# after ..." when a client leaves during them).
EDGE_COLOURS_STEP = "estimating the edge colours"
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32)


def grey_rgb(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 ``HxWx3`` -> its Rec.601 grey, still RGB uint8 ``HxWx3`` (R = G = B)."""
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def grey_in_place(rgb: np.ndarray) -> None:
    """Turn ``rgb`` (RGB uint8 ``HxWx3``, a view into a larger picture allowed) into its Rec.601 grey in place,
    as :func:`grey_rgb` would: OpenCV writes straight into the view (12 MP: 23 -> 9-13 ms, no copy back)."""
    out = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB, dst=rgb)
    if not np.shares_memory(out, rgb):  # OpenCV could not wrap the view: copy its result back
        rgb[...] = out


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``bg + alpha * (fg - bg)`` rounded to RGB uint8 ``HxWx3``; ``fg``, ``bg`` RGB uint8 ``HxWx3``, ``alpha``
    float32 ``HxW`` in [0, 1]. OpenCV's per-channel arithmetic: no float32 three-channel copy of ``fg``."""
    diff = cv2.multiply(cv2.subtract(fg, bg, dtype=cv2.CV_32F), cv2.merge([alpha] * 3))
    return cv2.add(diff, bg, dtype=cv2.CV_8U).reshape(fg.shape)


def grey_keeping_luma(
    image: np.ndarray,
    foreground: np.ndarray,
    alpha: np.ndarray,
    background: np.ndarray | None = None,
    keep: float = 0.0,
) -> np.ndarray:
    """The decontaminated grey splash: the photo's own Rec.601 grey plus ``alpha`` times the subject colour's
    chroma, ``grey(I) + alpha * (F - grey(F))``, rounded to RGB uint8 ``HxWx3`` (``image`` RGB uint8 ``HxWx3``,
    ``foreground`` RGB uint8 or float32 ``HxWx3`` in [0, 255], ``alpha`` float32 ``HxW`` in [0, 1]). For
    ``grey:AMOUNT`` the background keeps ``keep = 1 - AMOUNT`` of its colour: ``+ keep * (1 - alpha) * (B -
    grey(B))`` with ``background`` B (RGB uint8 ``HxWx3``).

    The ideal ``alpha F + (1 - alpha) grey(B)`` has the photo's luma wherever ``I = alpha F + (1 - alpha) B``;
    estimated F and B are not that consistent (blur fusion's shares, rounding, saturation), and blending them
    moved the band's brightness by more than 10 levels on a quarter of its pixels (a white floor beside a tail
    greyed, a greyscale photo changed). Taking the brightness from the photo and only the colour from F keeps
    light exact (up to saturation) and still drops the background's colour from the subject's edge.
    """
    fg = foreground if foreground.dtype == np.float32 else foreground.astype(np.float32)
    chroma = cv2.multiply(cv2.transform(fg, _CHROMA), cv2.merge([alpha] * 3))  # alpha (F - grey(F)), unrounded
    if background is not None and keep > 0:
        rest = cv2.merge([(1.0 - alpha) * np.float32(keep)] * 3)
        chroma = cv2.add(chroma, cv2.multiply(cv2.transform(background.astype(np.float32), _CHROMA), rest))
    grey = cv2.transform(image.astype(np.float32), _LUMA)  # unrounded too: alpha 1 and F = I give I exactly
    return cv2.add(chroma, grey, dtype=cv2.CV_8U)


def _mix(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """``weight * a + (1 - weight) * b``, rounded, uint8."""
    return a if weight >= 1.0 else cv2.addWeighted(a, weight, b, 1.0 - weight, 0.0)


def _background_strips(image: np.ndarray, effect: Effect, alpha: np.ndarray) -> Callable[[slice], np.ndarray]:
    """A function ``rows -> background RGB uint8`` for the effect (per strip: no full-size copies for most).

    ``grey:A`` mixes A of the Rec.601 grey with 1 - A of the photo; ``dim:A`` scales the photo by 1 - A;
    ``color:#RRGGBBAA`` lays the colour with opacity AA/255 over the grey; ``blur:R`` is a Gaussian of sigma R px.
    """
    name, amount = effect.name, effect.amount
    if name == "grey":
        weight = 1.0 if amount is None else amount
        return lambda s: _mix(grey_rgb(image[s]), image[s], weight)
    if name == "dim":
        keep = 1.0 - (DIM_AMOUNT if amount is None else amount)
        return lambda s: cv2.convertScaleAbs(image[s], alpha=keep)
    if name == "sepia":
        return lambda s: cv2.transform(image[s], SEPIA)
    if name == "color" and effect.rgba is not None:
        *rgb, opacity = effect.rgba
        colour = np.array(rgb, np.uint8)
        return lambda s: _mix(np.broadcast_to(colour, image[s].shape).copy(), grey_rgb(image[s]), opacity / 255.0)
    if name == "blur":
        background = blurred_background(image, alpha, amount)
        return lambda s: background[s]
    raise ValueError(f"unknown effect {str(effect)!r}")


def blurred_background(image: np.ndarray, alpha: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """A blurred photo (Gaussian ``sigma`` px; ``None``: 1.5 % of the long side, at least 2) with the subject's
    colours not bleeding out.

    Normalised convolution weighted by ``1 - alpha`` at reduced size, so no halo of subject colour appears
    around the subject; upsampled to RGB uint8 ``HxWx3``.
    """
    h, w = image.shape[:2]
    sigma = max(2.0, 0.015 * max(h, w)) if sigma is None else sigma
    scale = min(1.0, 4.0 / sigma)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = 1.0 - cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    num = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT)[..., None]
    plain = cv2.GaussianBlur(small, (0, 0), sigma * scale, borderType=cv2.BORDER_REFLECT)
    # Where the background has almost no weight (inside a large subject) fall back to the plain blur.
    blend = np.clip(den / 0.05, 0.0, 1.0)
    out = np.where(den > 1e-4, num / np.maximum(den, 1e-4), plain) * blend + plain * (1.0 - blend)
    return cv2.resize(np.clip(out + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)


def apply_effect(
    image: np.ndarray,
    alpha: np.ndarray,
    effect: str | Effect = "grey",
    foreground: np.ndarray | None = None,
    background: np.ndarray | None = None,
) -> np.ndarray:
    """Blend ``out = alpha * F + (1 - alpha) * effect(B)`` (``grey`` with F given: the photo's brightness
    and F's colour, :func:`grey_keeping_luma`).

    Args:
        image: RGB uint8 ``HxWx3``.
        alpha: float32 ``HxW`` in [0, 1], 1 = keep colour.
        effect: ``grey[:AMOUNT]`` (Rec.601 luma), ``blur[:RADIUS]``, ``dim[:AMOUNT]``, ``sepia``,
            ``color:#RRGGBB[AA]`` or ``transparent`` (see :func:`colorsplash.runtime.options.parse_effect_spec`).
        foreground: the subject's own colour F (RGB uint8 ``HxWx3``, e.g. from
            :func:`colorsplash.runtime.edges.foreground.estimate_colours`); ``None`` = the photo itself.
        background: the background's colour B under the subject's edge, likewise; ``None`` = the photo.

    Returns:
        RGB uint8 ``HxWx3``, or RGBA uint8 ``HxWx4`` for ``transparent`` (colour F, alpha channel ``alpha * 255``;
        black where that is 0).

    Raises:
        ValueError: an unknown effect or strength, or an alpha, F or B of another size.
    """
    _check_shapes(image, alpha, foreground, background)
    h, w = image.shape[:2]
    fg = image if foreground is None else foreground
    spec = parse_effect_spec(effect)
    if spec.name == "transparent":
        return _cut_out(fg, alpha)
    out = np.empty_like(image)
    keep = _grey_keeps(spec)
    if keep is not None and foreground is not None and (keep == 0 or background is not None):
        # See grey_keeping_luma: the photo's brightness, F's (and B's kept share of) colour.
        in_row_strips((h, w), lambda rows: _grey_strip(out, image, fg, alpha, rows, background, keep), name="blend")
        return out
    effect_strips = _background_strips(image if background is None else background, spec, alpha)

    def strip(rows: slice) -> None:
        out[rows] = blend(fg[rows], effect_strips(rows), alpha[rows])

    in_row_strips((h, w), strip, name="blend")
    return out


def _cut_out(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The ``transparent`` effect: RGBA uint8 ``HxWx4`` with RGB ``colour`` (RGB uint8 ``HxWx3``) and alpha channel
    ``alpha * 255`` (``alpha`` float32 ``HxW`` in [0, 1], rounded); black where that is 0."""
    h, w = alpha.shape
    out = np.empty((h, w, 4), np.uint8)
    out[..., :3] = colour
    out[..., 3] = alpha_to_uint8(alpha)
    # Fully transparent pixels carry no colour: a viewer that drops the alpha shows black, not the original
    # background (a privacy surprise, and bytes for nothing).
    np.multiply(out[..., :3], out[..., 3:] != 0, out=out[..., :3], casting="unsafe")  # 1 B/px, no index arrays
    return out


def _grey_keeps(spec: Effect) -> float | None:
    """For a ``grey`` effect the share of its colour the background keeps (0: plain grey, ``grey:0.7``: 0.3);
    ``None`` for the other effects."""
    if spec.name != "grey":
        return None
    return 0.0 if spec.amount is None else 1.0 - spec.amount


def _grey_strip(
    out: np.ndarray,
    image: np.ndarray,
    fg: np.ndarray,
    alpha: np.ndarray,
    rows: slice,
    background: np.ndarray | None,
    keep: float,
) -> None:
    bg = None if background is None else background[rows]
    out[rows] = grey_keeping_luma(image[rows], fg[rows], alpha[rows], bg, keep)


def _check_shapes(
    image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray | None, background: np.ndarray | None
) -> None:
    """Raise ValueError when ``alpha`` (``HxW``), F or B (``HxWx3``) do not match ``image``'s size."""
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match the image {image.shape[:2]}")
    for name, given in (("foreground", foreground), ("background", background)):
        if given is not None and given.shape != image.shape:
            raise ValueError(f"{name} {given.shape} does not match the image {image.shape}")


def composite(
    image: np.ndarray,
    alpha: np.ndarray,
    options: SplashOptions,
    own_alpha: np.ndarray | None = None,
    check: Callable[[str], None] | None = None,
) -> np.ndarray:
    """The splash's blend as ``options`` ask: ``options.effect``, and with matte edges (``options.matte_edges``) colour
    decontamination, ``alpha * F + (1 - alpha) * effect(B)`` with F and B from
    :func:`colorsplash.runtime.edges.foreground.estimate_colours` (no background colour left on the subject's edge;
    ``transparent`` cut-outs carry F). The fast edge stage keeps the plain blend of the observed pixel: its
    near-hard alpha gives the estimate too little to work with (on the alphamatting set it made the splash
    worse, see docs/benchmarks.md). Result as :func:`apply_effect`. ``own_alpha``
    (uint8 ``HxW``, the picture's own transparency, e.g. :attr:`colorsplash.runtime.pictures.photo_io.Photo.alpha`) is
    kept in a ``transparent`` cut-out: its alpha is the subject's times the picture's. ``check`` (the server's
    :meth:`colorsplash.server.work.Departure.check`) is called with :data:`EDGE_COLOURS_STEP` between the edge colour
    estimates and the effect, the two halves of a matted splash (12 MP: about 125 ms together); what it raises
    stops the splash there. Without matte edges there is one half and no call."""
    spec = parse_effect_spec(options.effect)
    shown = alpha  # the subject's alpha, times the picture's own in a cut-out (F is estimated on the subject's)
    if own_alpha is not None and spec.name == "transparent":
        shown = alpha * own_alpha.astype(np.float32) * np.float32(1 / 255)
    if not options.matte_edges:
        return apply_effect(image, shown, options.effect)
    # The plain grey (grey_keeping_luma) and the cut-out read F alone; the other effects blend effect(B).
    f_only = spec.name == "transparent" or _grey_keeps(spec) == 0
    foreground, background = estimate_colours(image, alpha, background=not f_only)
    if check is not None:
        check(EDGE_COLOURS_STEP)
    return apply_effect(image, shown, options.effect, foreground, background)
