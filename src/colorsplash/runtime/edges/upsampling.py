"""The matte's coefficients at full size: ``alpha = a . rgb + b`` with the RGB guided-filter coefficients of a
reduced copy (:func:`colorsplash.runtime.edges.matting.colour_coefficients`) brought up bilinearly, row strip by row
strip, and which full-size pixels those coefficients surely leave at 0 or 1 whatever their colour
(:class:`Saturation`): only the band between needs computing.

Pure NumPy/OpenCV functions. Pixels are RGB (not BGR) uint8 ``HxWx3``; coefficients float32 ``hxwx4``
``(a_r, a_g, a_b, b)`` with ``a`` scaled for uint8 colours; alphas float32 ``HxW``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from colorsplash.runtime.edges.strips import in_row_strips

SURE = 1e-3  # an alpha within this of 0 or 1 is taken as 0 or 1: under a third of a level once rounded


def resize_rows(src: np.ndarray, full_hw: tuple[int, int], rows: slice, cols: slice | None = None) -> np.ndarray:
    """Rows ``rows`` (and columns ``cols``) of ``cv2.resize(src, full size, INTER_LINEAR)``, without making the
    full-size copy: the same bilinear sampling by an affine warp of just that part."""
    h, w = full_hw
    hs, ws = src.shape[:2]
    sx, sy = ws / w, hs / h
    x0, x1 = (0, w) if cols is None else (cols.start, cols.stop)
    m = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (rows.start + 0.5) * sy - 0.5]], np.float64)
    size = (x1 - x0, min(rows.stop, h) - rows.start)
    return cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def rgba(colours: np.ndarray) -> np.ndarray:
    """Float32 ``hxwx3`` colours as ``hxwx4`` (a fourth channel of ones), for :func:`resize_rgb_rows`."""
    return cv2.cvtColor(colours, cv2.COLOR_RGB2RGBA)


def resize_rgb_rows(colours_rgba: np.ndarray, full_hw: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    """:func:`resize_rows` of three-channel colours given as :func:`rgba`: float32 ``hxwx3``, the same numbers.
    OpenCV's affine warp has vector code for 4 channels and none for 3: 2.3x faster with the conversions (a 48 x
    300 strip: 0.062 against 0.139 ms)."""
    return cv2.cvtColor(resize_rows(colours_rgba, full_hw, rows, cols), cv2.COLOR_RGBA2RGB)


def coefficient_alpha(pixels: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """``a . rgb + b`` per pixel: float32 ``hxw`` (not clipped) from RGB uint8 ``hxwx3`` and coefficients
    float32 ``hxwx4`` of the same size (see :func:`colorsplash.runtime.edges.matting.colour_coefficients`)."""
    alpha = coeffs[..., 0] * pixels[..., 0] + coeffs[..., 1] * pixels[..., 1]
    alpha += coeffs[..., 2] * pixels[..., 2] + coeffs[..., 3]
    return alpha


def run_alpha(pixels: np.ndarray, coeffs: np.ndarray, full_hw: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    """Alpha in [0, 1] (float32) of ``pixels``, the RGB uint8 rows ``rows`` and columns ``cols`` of a photo of
    ``full_hw``, from the coefficients of a smaller copy brought up bilinearly to just that part."""
    alpha = coefficient_alpha(pixels, resize_rows(coeffs, full_hw, rows, cols))
    return np.clip(alpha, 0.0, 1.0, out=alpha)


def apply_coefficients(image: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """Alpha at ``image``'s size, clipped to [0, 1] (float32 ``HxW``): the coefficients of a smaller copy upsampled
    bilinearly and applied to the full-resolution colours, in row strips on all cores. Only the band is
    computed: runs of pixels that the coefficients take to within :data:`SURE` of 0 or 1 whatever their colour
    are set to 0 or 1 (:class:`Saturation`; a 12 MP alpha 93 -> 36 ms on 2 cores)."""
    h, w = image.shape[:2]
    if coeffs.shape[:2] == (h, w):
        return np.clip(coefficient_alpha(image, coeffs), 0.0, 1.0)
    out = np.empty((h, w), np.float32)
    saturation = Saturation.of(*matte_bounds(coeffs), (h, w))

    def strip(rows: slice) -> None:
        for x0, x1, kind in saturation.runs(rows.start, rows.stop):
            cols = slice(x0, x1)
            out[rows, cols] = run_alpha(image[rows, cols], coeffs, (h, w), rows, cols) if kind == 2 else kind

    in_row_strips((h, w), strip, name="upsample")
    return out


def _source_index(full: int, low: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``full`` output positions, the two low-resolution samples a bilinear resize (pixel-centre
    mapping, replicated border) blends: int arrays ``(lo, hi)`` of length ``full``."""
    pos = (np.arange(full) + 0.5) * (low / full) - 0.5
    lo = np.clip(np.floor(pos).astype(np.int64), 0, low - 1)
    return lo, np.minimum(lo + 1, low - 1)


def matte_bounds(coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest alpha ``a . rgb + b`` can take over every uint8 colour, per pixel of the matte's
    coefficients (float32 ``hxwx4``, ``a`` scaled for uint8, see
    :func:`colorsplash.runtime.edges.matting.colour_coefficients`): ``b`` plus 255 times the negative (positive) ``a``.
    Float32 ``hxw`` each."""
    # Plane by plane: NumPy's sums over an inner axis of 3 took 6 ms on a 400x300 copy (now 0.9 ms, same numbers).
    *a_planes, offset = cv2.split(coeffs)
    spans = [a * np.float32(255) for a in a_planes]
    lowest = offset + (np.minimum(spans[0], 0) + np.minimum(spans[1], 0) + np.minimum(spans[2], 0))
    highest = offset + (np.maximum(spans[0], 0) + np.maximum(spans[1], 0) + np.maximum(spans[2], 0))
    return lowest, highest


@dataclass
class Saturation:
    """Where the alpha is 0 or 1 whatever the photo's colour there, per working-copy pixel, from the lowest and
    highest value its coefficients can give (float32 ``hxw``); a full-size pixel whose bilinear sources all
    agree is surely grey (0) or surely kept (1), since bilinear weights are a convex combination."""

    zero: np.ndarray  # bool, working size
    one: np.ndarray
    rows: tuple[np.ndarray, np.ndarray]  # per full-size row / column: its bilinear sources (see _source_index)
    cols: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, lowest: np.ndarray, highest: np.ndarray, full_hw: tuple[int, int]) -> Saturation:
        hs, ws = lowest.shape
        zero, one = highest <= SURE, lowest >= 1.0 - SURE
        return cls(zero, one, _source_index(full_hw[0], hs), _source_index(full_hw[1], ws))

    def runs(self, y0: int, y1: int) -> list[tuple[int, int, int]]:
        """Column runs ``(x0, x1, kind)`` covering rows ``y0:y1``: kind 0 all grey, 1 all colour, 2 blended."""
        r0, r1 = int(self.rows[0][y0]), int(self.rows[1][y1 - 1]) + 1
        zero, one = np.all(self.zero[r0:r1], axis=0), np.all(self.one[r0:r1], axis=0)
        lo, hi = self.cols
        kind = np.where(zero[lo] & zero[hi], 0, np.where(one[lo] & one[hi], 1, 2))
        edges = np.flatnonzero(np.diff(kind)) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [kind.size]])
        return [(int(s), int(e), int(kind[s])) for s, e in zip(starts, stops, strict=True)]
