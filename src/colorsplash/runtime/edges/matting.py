"""A true alpha matte inside an uncertain band: closed-form matting solved coarse to fine.

The matte follows Levin, Lischinski & Weiss (2008), "A Closed-Form Solution to Natural Image Matting": inside
every 3x3 window alpha is an affine function of the RGB colour, which gives a sparse "matting Laplacian" ``L``;
alpha minimises ``a^T L a`` with the trimap's known pixels held fixed. Two things make it cheap enough to run on
every photo, with no compiled or JIT code of our own:

- only the unknown band is solved: the Laplacian's rows are built for the unknown pixels alone, from the 3x3
  windows that touch one (window means and covariances by box filters), and
- the band is solved coarse to fine: on a copy halved until it has at most ``coarse_unknowns`` unknown pixels,
  to convergence, then each finer level starts from the upsampled coarser alpha and needs only a few
  preconditioned conjugate-gradient iterations; callers solve on a copy of ``work_side`` px and bring the matte
  to full size with :func:`guided_upsample` (a guided filter on RGB keeps hair-fine detail).

Images are RGB (not BGR) uint8 ``HxWx3``; trimaps uint8 ``HxW`` with 0 = background, 255 = subject, any other
value = unknown (128 by convention); alphas float32 ``HxW`` in [0, 1]. SciPy (precompiled, no JIT) provides the
sparse matrix product; it is imported only when a matte is solved.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from colorsplash.runtime.edges.band_solve import conjugate_gradients, factorised_solve
from colorsplash.runtime.edges.upsampling import apply_coefficients

UNKNOWN = 128
_WINDOWS_PER_PASS = 2048
_GRID = np.array([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
# [a, b]: the column d (see laplacian_rows) of pixel b in pixel a's row, for pixels a, b of one 3x3 window
_PAIR_OFFSETS = (_GRID[None, :, 0] - _GRID[:, None, 0] + 2) * 5 + _GRID[None, :, 1] - _GRID[:, None, 1] + 2
_REACH = 2  # a pixel's Laplacian row reaches 2 pixels away (two overlapping 3x3 windows)
# Larger bands (a user's work_side far above the default) are iterated: a factorisation's fill, its memory, grows
# faster than the band (41,914 unknowns: factors of 59 MB in 0.3 s); the default copy's coarse bands stay under 20,000.
MAX_FACTORISED = 100_000


@dataclass(frozen=True)
class MatteSettings:
    """Tuning of the matting solve (measured on the alphamatting.com training set, see docs/benchmarks.md).

    Attributes:
        eps: regulariser of the local colour model (colours in [0, 1]); larger = smoother alpha.
        coarse_unknowns: halve the photo until the band has at most this many unknown pixels.
        max_levels: at most this many halvings.
        coarse_iterations: conjugate-gradient iterations at the coarsest level (stops earlier at ``tol``).
        direct_unknowns: a coarsest level started from a probability with ``prior`` 0 and at least this many
            unknown pixels (and at most ``MAX_FACTORISED``) is solved exactly by a sparse factorisation instead of
            iterated (faster there, the same edges: see :func:`colorsplash.runtime.edges.band_solve.factorised_solve`
            and docs/benchmarks.md). With the prior's pull (the default) the iteration converges faster than that.
        fine_iterations: iterations at each finer level, started from the upsampled coarser alpha.
        tol: relative residual at which an iteration stops. 3e-4 (was 1e-5): the same pets to 1e-4 IoU and the
            same or lower edge errors on the alphamatting photos (stopping short is a mild pull toward the start),
            for 16 % less of the alpha's time over 36 photos (docs/benchmarks.md, "The matte's solve, and speed
            over many photos").
        band: half-width of the unknown band around the model's 0.5 contour, in pixels of the model's input.
        work_side: long side of the copy the matte is solved on (larger photos get it by guided upsampling).
        prior: weight of a pull of each unknown pixel toward the model's probability (solves from a probability
            only; ``lambda * (alpha - p)^2`` added to the matting energy). Colour edges still decide the band, but a
            wide region the model is unsure of (a cat behind cage wire, an out-of-focus cat behind a sharp one) is
            no longer given to the colours alone, which often matted it away whole.
    """

    eps: float = 1e-7
    coarse_unknowns: int = 20000
    max_levels: int = 3
    coarse_iterations: int = 400
    direct_unknowns: int = 6000
    fine_iterations: int = 40
    tol: float = 3e-4
    band: float = 1.5
    work_side: int = 400
    prior: float = 0.01


def _window_inverses(
    image: np.ndarray, centres: np.ndarray, eps: float, size: tuple[int, int] = (3, 3)
) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour (K x 3) and inverse of ``cov + eps/9 * Id`` (K x 3 x 3) of the windows at ``centres``
    (see :func:`_centred_windows`)."""
    mu, centred = _centred_windows(image, centres, size)
    return mu, _covariance_inverses(centred, eps)


def _padded_planes(image: np.ndarray, size: tuple[int, int] = (3, 3)) -> list[np.ndarray]:
    """The three colour planes of ``image`` (float64 ``hxwx3``), each reflected by the window's reach at the
    borders (OpenCV's ``BORDER_REFLECT``) and flattened, for :func:`_centred_windows`."""
    rx, ry = size[0] // 2, size[1] // 2
    return [
        cv2.copyMakeBorder(np.ascontiguousarray(image[..., c]), ry, ry, rx, rx, cv2.BORDER_REFLECT).ravel()
        for c in range(3)
    ]


def _centred_windows(
    image: np.ndarray, centres: np.ndarray, size: tuple[int, int] = (3, 3), planes: list[np.ndarray] | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Mean colour (K x 3) of the windows at ``centres`` (flat indices into ``image``, float64 ``hxwx3``; windows
    reflected at the borders as OpenCV's ``BORDER_REFLECT``) and their pixels minus that mean: one float64
    ``n x K`` array per colour plane, a window's ``n`` pixels down a column in row-major order from its top left.
    ``planes``: :func:`_padded_planes` of ``image`` when the caller has them (one padding for many calls).

    The covariances are then ``E[(x - mu)(x - mu)^T]`` instead of ``E[xx^T] - E[x]E[x]^T`` from box filters, which
    cancels on bright, nearly flat windows (test ``test_window_inverses_stay_exact_on_bright_nearly_flat_windows``).
    That does not make the band's Laplacian definite where rounding leaves it on the edge: the conjugate gradients
    still broke down in 3 of 956 solves on Oxford and feral photos (4 of 956 before), see
    :func:`colorsplash.runtime.edges.band_solve.conjugate_gradients`."""
    w = image.shape[1]
    wp = w + 2 * (size[0] // 2)
    cy, cx = np.divmod(centres, w)
    window = np.array([dy * wp + dx for dy in range(size[1]) for dx in range(size[0])])[:, None] + (cy * wp + cx)
    # n x K per colour plane: the sums run over the outer axis, vectorised across the K windows, which made this
    # faster than the box filters it replaced (1.4 against 2.2 ms).
    gathered = [plane[window] for plane in (planes or _padded_planes(image, size))]
    mu = np.stack([np.add.reduce(plane, axis=0) / window.shape[0] for plane in gathered], axis=1)
    return mu, [plane - mu[:, c] for c, plane in enumerate(gathered)]


def _covariance_inverses(centred: list[np.ndarray], eps: float) -> np.ndarray:
    """Inverse of ``cov + eps/9 * Id`` (K x 3 x 3) from :func:`_centred_windows`' centred planes."""
    n, k = centred[0].shape
    cov = np.empty((k, 3, 3))
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = np.add.reduce(centred[a] * centred[b], axis=0) / n
    cov += np.eye(3) * (eps / 9)
    return _inverse3(cov)


def _inverse3(m: np.ndarray) -> np.ndarray:
    """Inverses of symmetric 3x3 matrices (K x 3 x 3) by cofactors: several times faster than LAPACK per matrix."""
    c = m.reshape(-1, 9).T
    i00, i01, i02 = c[4] * c[8] - c[5] * c[5], c[2] * c[5] - c[1] * c[8], c[1] * c[5] - c[2] * c[4]
    i11, i12, i22 = c[0] * c[8] - c[2] * c[2], c[1] * c[2] - c[0] * c[5], c[0] * c[4] - c[1] * c[1]
    inv_det = 1.0 / (c[0] * i00 + c[1] * i01 + c[2] * i02)
    out = np.stack([i00, i01, i02, i01, i11, i12, i02, i12, i22], axis=1) * inv_det[:, None]
    return out.reshape(m.shape)


def laplacian_rows(image: np.ndarray, unknown: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the matting Laplacian of ``image`` (float64 ``hxwx3`` in [0, 1]) for the ``unknown`` pixels.

    Returns ``(vals, idx)``: ``idx`` the unknown pixels' flat indices (N), ``vals`` float64 ``N x 25`` with
    ``vals[n, d] = L[idx[n], idx[n] + (dy, dx)]``, ``d = (dy + 2) * 5 + (dx + 2)``. Windows are those fully
    inside; only those touching an unknown pixel are built.
    """
    h, w = unknown.shape
    idx = np.flatnonzero(unknown)
    position = np.full(h * w, -1, np.int64)
    position[idx] = np.arange(idx.size)
    touching = cv2.dilate(unknown.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    touching[[0, -1], :] = False
    touching[:, [0, -1]] = False
    centres = np.flatnonzero(touching)
    planes = _padded_planes(image)
    vals = np.zeros((idx.size + 1) * 25)  # known pixels' terms go to a spare row, dropped below
    # A few thousand windows at a time: their K x 9 x 9 temporaries stay small (in cache, and under the tuned
    # allocator's 16 MB mmap threshold, runtime/allocator.py): 5 % faster on an 8,600-unknown band, 21 % on 40,000.
    for start in range(0, centres.size, _WINDOWS_PER_PASS):
        _add_window_terms(vals, image, centres[start : start + _WINDOWS_PER_PASS], planes, position, eps)
    return vals[: idx.size * 25].reshape(idx.size, 25), idx


def _add_window_terms(
    vals: np.ndarray, image: np.ndarray, centres: np.ndarray, planes: list[np.ndarray], position: np.ndarray, eps: float
) -> None:
    """Add the 3x3 windows at ``centres``' terms to ``vals`` (flat ``(N + 1) x 25``, see :func:`laplacian_rows`;
    ``position`` maps a flat pixel index to its unknown row, -1 for known pixels)."""
    w = image.shape[1]
    _, centred = _centred_windows(image, centres, planes=planes)
    inv = _covariance_inverses(centred, eps)
    # float64: in float32 the products below lose enough to make the Laplacian indefinite on some photos.
    x = np.stack(centred, axis=-1).transpose(1, 0, 2)  # K x 9 x 3: window pixels minus the window mean
    # Stacked 3x3 and 9x3 products by np.matmul: no K x 9 x 9 temporaries per colour term (4x faster than the
    # broadcast sums, the same numbers to 2e-16).
    y = np.matmul(x, inv)  # K x 9 x 3: x times the (symmetric) inverse covariance
    g = np.matmul(y, x.transpose(0, 2, 1))  # K x 9 x 9: y_a . x_b
    g += 1.0
    g *= -1.0 / 9.0
    g += np.eye(9)  # the window's contribution to L[its pixel a, its pixel b]
    offsets = np.array([dy * w + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    rows = position[centres[:, None] + offsets]  # K x 9: row of the window's a-th pixel (-1 = known)
    rows[rows < 0] = vals.size // 25 - 1
    target = (rows[:, :, None] * 25 + _PAIR_OFFSETS[None]).ravel()
    low = int(target.min())
    summed = np.bincount(target - low, weights=g.ravel())
    vals[low : low + summed.size] += summed


def _linear_system(
    vals: np.ndarray, idx: np.ndarray, shape: tuple[int, int], known: np.ndarray
) -> tuple[Any, np.ndarray]:
    """Sparse ``A`` over the unknown pixels and the right-hand side: known neighbours move to the right.

    A neighbour outside the image has weight 0 (only windows fully inside count), so its clipped index is
    harmless; so are the zeroed known entries, left in place on the diagonal.
    """
    import scipy.sparse

    h, w = shape
    n = idx.size
    offsets = (np.arange(25) // 5 - 2) * w + (np.arange(25) % 5 - 2)
    cols = np.clip(idx[:, None] + offsets, 0, h * w - 1)
    position = np.full(h * w, -1, np.int64)
    position[idx] = np.arange(n)
    col_unknown = position[cols]
    is_known = col_unknown < 0
    rhs = -(vals * np.where(is_known, known.ravel()[cols], 0.0)).sum(1)
    vals = np.where(is_known, 0.0, vals)
    col_unknown = np.where(is_known, np.arange(n)[:, None], col_unknown)
    a = scipy.sparse.csr_matrix((vals.ravel(), col_unknown.ravel(), np.arange(0, 25 * n + 1, 25)), shape=(n, n))
    return a, rhs


def _band_box(unknown: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the unknown pixels grown by the Laplacian's reach (the solve there is exact)."""
    ys, xs = np.nonzero(unknown.any(axis=1))[0], np.nonzero(unknown.any(axis=0))[0]
    h, w = unknown.shape
    return (
        slice(max(0, ys[0] - _REACH), min(h, ys[-1] + _REACH + 1)),
        slice(max(0, xs[0] - _REACH), min(w, xs[-1] + _REACH + 1)),
    )


def solve_level(
    image: np.ndarray,
    trimap: np.ndarray,
    init: np.ndarray,
    iterations: int,
    settings: MatteSettings,
    exact: bool = False,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """One closed-form solve: float32 alpha ``HxW``; known pixels from ``trimap``, unknown ones start at
    ``init`` (float32 ``HxW``) and take up to ``iterations`` conjugate-gradient steps, or, with ``exact`` (a solve
    meant to converge), no prior pull and at least ``settings.direct_unknowns`` of them, the factorised exact
    solution. With ``prior`` (float32 ``HxW`` in [0, 1], the model's probability) each unknown pixel is also pulled
    toward it with weight ``settings.prior``. Photos under 3x3 pixels, and trimaps without a known pixel (nothing
    anchors the solution), keep ``init`` in the band."""
    known = (trimap == 255).astype(np.float32)
    unknown = (trimap != 0) & (trimap != 255)
    alpha = np.where(unknown, init, known).astype(np.float32)
    if not unknown.any() or min(trimap.shape) < 3 or unknown.all():
        return alpha
    ys, xs = _band_box(unknown)
    crop = image[ys, xs].astype(np.float64) * (1 / 255)
    vals, idx = laplacian_rows(crop, unknown[ys, xs], settings.eps)
    # The energy's weight * (alpha - p)^2 per unknown pixel: weight on the diagonal, weight * p on the right.
    pull = None if prior is None or settings.prior <= 0 else prior[ys, xs].ravel()[idx].astype(np.float64)
    if pull is not None:
        vals[:, 12] += settings.prior
    a, rhs = _linear_system(vals, idx, crop.shape[:2], known[ys, xs])
    if pull is not None:
        rhs += settings.prior * pull
    # With the prior's pull on the diagonal the band's system is well conditioned: from the probability the
    # conjugate gradients reach the tolerance in about 60-120 steps, 18 % faster than the factorisation over 36 pet
    # photos for the same alpha (bench/matte_solver.py). Without it they may need all 400 and the factorisation wins.
    factorise = exact and pull is None and settings.direct_unknowns <= idx.size <= MAX_FACTORISED
    x = factorised_solve(a, rhs) if factorise else None
    if x is None:
        start = alpha[ys, xs].ravel()[idx].astype(np.float64)
        x = conjugate_gradients(a, vals[:, 12], rhs, start, iterations, settings.tol)
    band = alpha[ys, xs].copy()
    band.reshape(-1)[idx] = np.clip(x, 0.0, 1.0)
    alpha[ys, xs] = band
    return alpha


def shrink_trimap(trimap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``trimap`` (uint8 ``HxW``: 0 background, 255 subject, 128 unknown) area-resized to ``size`` (width,
    height), same values: a pixel stays known only if all it covers agree."""
    small = cv2.resize(trimap, size, interpolation=cv2.INTER_AREA)
    return np.where(small == 0, 0, np.where(small == 255, 255, UNKNOWN)).astype(np.uint8)


def solve_trimap(
    image: np.ndarray, trimap: np.ndarray, init: np.ndarray | None = None, settings: MatteSettings | None = None
) -> np.ndarray:
    """Closed-form matte of ``image`` (RGB uint8 ``HxWx3``) inside ``trimap``'s unknown band, coarse to fine.

    Args:
        init: a first guess for the band (float32 ``HxW`` in [0, 1], e.g. the model's probability); 0.5 if None.

    Returns:
        float32 ``HxW`` alpha in [0, 1], exactly 0 / 1 on the trimap's known pixels.
    """
    settings = settings or MatteSettings()
    h, w = trimap.shape
    unknown_count = int(np.count_nonzero((trimap != 0) & (trimap != 255)))
    if unknown_count > settings.coarse_unknowns and settings.max_levels > 0 and min(h, w) >= 16:
        size = ((w + 1) // 2, (h + 1) // 2)
        small_init = None if init is None else cv2.resize(init, size, interpolation=cv2.INTER_AREA)
        coarse = solve_trimap(
            cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            shrink_trimap(trimap, size),
            small_init,
            dataclasses.replace(settings, max_levels=settings.max_levels - 1),
        )
        start = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        return solve_level(image, trimap, start, settings.fine_iterations, settings, prior=init)
    start = np.full((h, w), 0.5, np.float32) if init is None else init.astype(np.float32)
    # Factorised only from a probability: from the flat 0.5 start the iteration's stop short of the minimum
    # (its 400 steps rarely reach the tolerance there) scored better on alphamatting than the exact minimum.
    return solve_level(image, trimap, start, settings.coarse_iterations, settings, exact=init is not None, prior=init)


def band_trimap(prob: np.ndarray, band: int) -> np.ndarray:
    """Trimap (uint8, 0 / 128 / 255) from a probability at the working size: unknown within ``band`` pixels of
    the 0.5 contour, and wherever the model is unsure (0.05 < p < 0.95)."""
    subject = (prob >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    unknown = (cv2.dilate(subject, kernel) != cv2.erode(subject, kernel)) | ((prob > 0.05) & (prob < 0.95))
    trimap = subject * np.uint8(255)
    trimap[unknown] = UNKNOWN
    return trimap


def colour_coefficients(small: np.ndarray, alpha: np.ndarray, radius: int = 1, eps: float = 1e-5) -> np.ndarray:
    """Guided-filter coefficients on RGB (He et al. 2013): ``alpha ~ a . rgb/255 + b`` in each window, averaged;
    float32 ``hxwx4`` (a_r, a_g, a_b, b) at ``small``'s size, the a scaled by 1/255 to apply to uint8 colours
    directly (see :func:`apply_coefficients`).

    Only windows where alpha varies get the 3x3 solve (a few percent of a photo): elsewhere ``a = 0`` and
    ``b`` is alpha's mean, which is what the solve gives there up to rounding."""
    size = (2 * radius + 1, 2 * radius + 1)
    p = alpha.astype(np.float64)
    mean_p = cv2.blur(p, size, borderType=cv2.BORDER_REFLECT).ravel()
    kernel = np.ones(size, np.uint8)
    spread = cv2.dilate(alpha, kernel, borderType=cv2.BORDER_REFLECT) - cv2.erode(
        alpha, kernel, borderType=cv2.BORDER_REFLECT
    )
    centres = np.flatnonzero(spread.ravel() > 0)
    # Built where they differ from a = 0, b = mean alpha (the centres) and written into float32 directly: whole-
    # image float64 products summed over an inner axis of 3 were a third of this function's time.
    coeffs = np.empty((alpha.size, 4), np.float32)
    coeffs[:, :3] = 0.0
    coeffs[:, 3] = mean_p
    if centres.size:
        image = small.astype(np.float64) * (1 / 255)
        mu, inv = _window_inverses(image, centres, eps * 9, size)  # _window_inverses adds eps/9
        p3 = cv2.merge([p] * 3)
        mean_ip = cv2.blur(cv2.multiply(image, p3), size, borderType=cv2.BORDER_REFLECT).reshape(-1, 3)[centres]
        a = np.einsum("kij,kj->ki", inv, mean_ip - mu * mean_p[centres, None])
        coeffs[centres, :3] = a / 255
        coeffs[centres, 3] = mean_p[centres] - (a * mu).sum(1)
    return cv2.blur(coeffs.reshape(*alpha.shape, 4), size, borderType=cv2.BORDER_REFLECT)


def guided_upsample(
    image: np.ndarray, small: np.ndarray, alpha_small: np.ndarray, radius: int = 1, eps: float = 1e-5
) -> np.ndarray:
    """Alpha at ``image``'s size (float32 ``HxW`` in [0, 1]) from one at ``small``'s size.

    A fast guided filter (He & Sun 2015) on RGB: ``alpha ~ a . rgb + b`` fitted in ``small``'s windows, the
    coefficients upsampled bilinearly and applied to the full-resolution colours, so fine edges (hair,
    whiskers) follow the photo. On the alphamatting set this cut the SAD of a matte solved at 400 px by a
    fifth against the same filter on luma.
    """
    return apply_coefficients(image, colour_coefficients(small, alpha_small, radius, eps))


def matte_from_probability(small: np.ndarray, prob: np.ndarray, model_side: int, settings: MatteSettings) -> np.ndarray:
    """Matte of ``small`` (RGB uint8) with a band around the model's edge; ``prob`` float32 at ``small``'s size,
    ``model_side`` the long side of the model's own output (one of its pixels sets the band's width)."""
    band = max(2, round(settings.band * max(small.shape[:2]) / max(1, model_side)))
    return solve_trimap(small, band_trimap(prob, band), prob, settings)
