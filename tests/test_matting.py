"""The matte edge stage (closed-form matting in the band) and colour decontamination, on synthetic soft edges."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import colorsplash
from colorsplash.runtime.edges.alpha import compute_alpha
from colorsplash.runtime.edges.edge_matte import matte
from colorsplash.runtime.edges.foreground import estimate_colours
from colorsplash.runtime.edges.matting import MatteSettings, band_trimap, solve_trimap
from colorsplash.runtime.effects import apply_effect, composite
from colorsplash.runtime.options import OptionError, SplashOptions, options_from_mapping

FG = np.array([30, 60, 220], np.float32)  # saturated blue subject
BG = np.array([210, 40, 30], np.float32)  # on a saturated red background


def soft_disc(
    h: int = 180, w: int = 240, radius: float = 60.0, soft: float = 5.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A blue disc with a linear soft edge ``2 * soft`` px wide on red, sensor noise sigma 2.
    Returns (RGB uint8 ``HxWx3``, true alpha float32 ``HxW``)."""
    yy, xx = np.mgrid[:h, :w]
    dist = np.hypot(yy - h / 2, xx - w / 2)
    alpha = np.clip((radius - dist) / (2 * soft) + 0.5, 0.0, 1.0).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 2, (h, w, 3))
    image = alpha[..., None] * FG + (1 - alpha[..., None]) * BG + noise
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), alpha


def model_view(alpha: np.ndarray, size: int = 32) -> np.ndarray:
    """What a low-resolution model says: the hard mask area-resized to ``size`` px (float32 in [0, 1])."""
    return cv2.resize((alpha >= 0.5).astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)


def band(alpha: np.ndarray) -> np.ndarray:
    return (alpha > 0.02) & (alpha < 0.98)


def test_matte_recovers_a_known_soft_edge_far_better_than_the_fast_stage() -> None:
    image, true = soft_disc()
    prob = model_view(true)
    got = compute_alpha(image, prob, SplashOptions(edges="matte")).alpha
    fast = compute_alpha(image, prob, SplashOptions(edges="fast")).alpha
    err, fast_err = np.abs(got - true)[band(true)].mean(), np.abs(fast - true)[band(true)].mean()
    assert err < 0.03, err  # measured 0.007; the fast stage's is 0.07 (it makes a near-hard edge)
    assert err < fast_err / 3
    assert np.abs(got - true).max() < 0.25


def test_decontaminated_splash_keeps_no_background_hue() -> None:
    image, true = soft_disc()
    alpha = compute_alpha(image, model_view(true), SplashOptions(edges="matte")).alpha
    kept = (alpha > 0.3) & band(true)
    cutout = composite(image, alpha, SplashOptions(effect="transparent", edges="matte"))
    # The kept colour is the subject's: its red stays near the subject's 30, not pulled toward the red 210.
    assert np.abs(cutout[..., 0][kept].astype(np.float32) - FG[0]).mean() < 12
    plain = apply_effect(image, alpha, "transparent")
    assert plain[..., 0][kept].astype(np.float32).mean() - FG[0] > 40  # what the observed pixel would carry
    grey = composite(image, alpha, SplashOptions(edges="matte")).astype(np.float32)
    bg_luma = 0.299 * BG[0] + 0.587 * BG[1] + 0.114 * BG[2]
    ideal = alpha[..., None] * FG + (1 - alpha[..., None]) * bg_luma
    assert np.abs(grey - ideal)[band(true)].mean() < 6
    red_excess = grey[..., 0] - grey[..., 2]  # a red rim: red well above blue where the subject is blue
    assert (red_excess[kept] > 40).mean() < 0.01
    assert np.array_equal(composite(image, alpha, SplashOptions(edges="fast")), apply_effect(image, alpha))


def test_matte_contract_probability_and_trimap_guides() -> None:
    image, true = soft_disc(90, 120, radius=30, soft=3)
    for guide in (model_view(true, 20), model_view(true, 200).astype(np.float64)):
        alpha = matte(image, guide)
        assert alpha.dtype == np.float32 and alpha.shape == (90, 120)
        assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    trimap = np.where(true >= 1, 255, np.where(true <= 0, 0, 128)).astype(np.uint8)
    alpha = colorsplash.matte(image, trimap)
    assert alpha.dtype == np.float32 and alpha.shape == (90, 120)
    assert np.all(alpha[trimap == 0] == 0) and np.all(alpha[trimap == 255] == 1)
    assert np.abs(alpha - true)[trimap == 128].mean() < 0.03


def test_matte_reduced_copy_is_guided_up_to_full_size() -> None:
    image, true = soft_disc(180, 240, radius=60, soft=6)
    alpha = matte(image, model_view(true), MatteSettings(work_side=80))
    assert alpha.shape == (180, 240) and alpha.dtype == np.float32
    assert np.abs(alpha - true)[band(true)].mean() < 0.08


@pytest.mark.parametrize(
    ("image", "guide", "message"),
    [
        (np.zeros((20, 30, 3), np.float32), np.zeros((5, 5), np.float32), "RGB uint8"),
        (np.zeros((20, 30), np.uint8), np.zeros((5, 5), np.float32), "RGB uint8"),
        (np.zeros((20, 30, 3), np.uint8), np.zeros((5, 5), np.uint8), "photo's size"),
        (np.zeros((20, 30, 3), np.uint8), np.full((5, 5), 2.0, np.float32), r"\[0, 1\]"),
        (np.zeros((20, 30, 3), np.uint8), np.full((5, 5), np.nan, np.float32), "NaN"),
        (np.zeros((20, 30, 3), np.uint8), np.zeros((5, 5, 1), np.float32), "2-D"),
        (np.zeros((20, 30, 3), np.uint8), np.zeros((5, 5), np.int16), "dtype"),
    ],
)
def test_matte_errors_say_what_is_wrong(image: np.ndarray, guide: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        matte(image, guide)


def test_trimap_without_unknown_or_tiny_photos_pass_through() -> None:
    image = np.full((2, 2, 3), 100, np.uint8)
    trimap = np.array([[0, 255], [128, 128]], np.uint8)
    assert solve_trimap(image, trimap).tolist() == [[0.0, 1.0], [0.5, 0.5]]
    full = np.zeros((10, 10), np.uint8)
    full[:, 5:] = 255
    assert np.array_equal(solve_trimap(np.zeros((10, 10, 3), np.uint8), full), full / 255.0)


def test_band_trimap_width() -> None:
    prob = np.zeros((41, 41), np.float32)
    prob[:, 20:] = 1.0
    trimap = band_trimap(prob, 3)
    assert np.all(trimap[:, 17:23] == 128) and np.all(trimap[:, :16] == 0) and np.all(trimap[:, 24:] == 255)


def test_colours_equal_the_photo_where_alpha_is_zero_or_one() -> None:
    image, true = soft_disc(70, 90, radius=20, soft=3)
    alpha = np.round(true)
    foreground, background = estimate_colours(image, alpha)
    assert np.array_equal(foreground, image) and np.array_equal(background, image)
    with pytest.raises(ValueError, match="does not match"):
        estimate_colours(image, alpha[:10])


def test_edges_option_parses_and_refuses_unknown() -> None:
    assert options_from_mapping({"edges": "matte"}).edges == "matte"
    with pytest.raises(OptionError, match="^edges: "):  # the Python name; the CLI and HTTP API spell their own
        options_from_mapping({"edges": "best"})


def test_splash_with_the_matte_stage_end_to_end(tiny_onnx: Path) -> None:
    image, _ = soft_disc(90, 120, radius=30, soft=3)
    for effect in ("grey", "transparent"):
        out = colorsplash.splash(image, str(tiny_onnx), edges="matte", effect=effect)
        assert out.dtype == np.uint8 and out.shape == (90, 120, 3 if effect == "grey" else 4)


def test_laplacian_rows_equal_the_closed_form_definition() -> None:
    """Levin et al.'s matting Laplacian written out window by window (float64, dense) against the rows
    :func:`laplacian_rows` builds for the unknown pixels: ``L[i, j] = sum over 3x3 windows k inside the image
    holding i and j of delta_ij - (1 + (I_i - mu_k)^T (Sigma_k + eps/9 Id)^-1 (I_j - mu_k)) / 9``."""
    from colorsplash.runtime.edges.matting import laplacian_rows

    rng = np.random.default_rng(5)
    h, w, eps = 7, 8, 1e-4
    image = rng.random((h, w, 3))
    unknown = np.zeros((h, w), bool)
    unknown[2:5, 3:6] = True
    unknown[0, 0] = unknown[6, 7] = True  # corners: only the windows inside the image count
    dense = np.zeros((h * w, h * w))
    for cy in range(1, h - 1):
        for cx in range(1, w - 1):
            pix = [(cy + dy) * w + cx + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            colours = image.reshape(-1, 3)[pix]
            mu = colours.mean(0)
            cov = (colours - mu).T @ (colours - mu) / 9
            inv = np.linalg.inv(cov + eps / 9 * np.eye(3))
            x = colours - mu
            dense[np.ix_(pix, pix)] += np.eye(9) - (1 + x @ inv @ x.T) / 9
    vals, idx = laplacian_rows(image, unknown, eps)
    assert np.array_equal(idx, np.flatnonzero(unknown))
    for n, i in enumerate(idx):
        for d in range(25):
            dy, dx = d // 5 - 2, d % 5 - 2
            y, x_ = divmod(int(i), w)
            if 0 <= y + dy < h and 0 <= x_ + dx < w:
                assert abs(vals[n, d] - dense[i, (y + dy) * w + x_ + dx]) < 1e-9
            else:
                assert vals[n, d] == 0


def test_laplacian_rows_built_in_passes_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are built a few thousand windows at a time (for the cache); passes of any size sum to the rows of
    one pass over every window, known neighbours and the image's edge included."""
    from colorsplash.runtime.edges import matting

    rng = np.random.default_rng(4)
    image = rng.random((40, 50, 3))
    unknown = np.zeros((40, 50), bool)
    unknown[:6, :] = True  # along the top edge
    unknown[10:30, 20:27] = True
    unknown[35:, 40:] = True  # the bottom right corner
    monkeypatch.setattr(matting, "_WINDOWS_PER_PASS", 10**9)
    whole, idx = matting.laplacian_rows(image, unknown, 1e-5)
    for per_pass in (1, 7, 333):
        monkeypatch.setattr(matting, "_WINDOWS_PER_PASS", per_pass)
        vals, same_idx = matting.laplacian_rows(image, unknown, 1e-5)
        assert np.array_equal(same_idx, idx) and np.allclose(vals, whole, rtol=0, atol=1e-12)


def test_blur_fusion_pass_equals_its_formula() -> None:
    """One blur-fusion pass (Forte & Pitie 2021) against its formula in float64 NumPy: window means of alpha F and
    (1 - alpha) B over those of alpha and 1 - alpha give the smooth F and B, then F takes alpha times the residual
    ``I - alpha F - (1 - alpha) B``, clipped to [0, 255]."""
    from colorsplash.runtime.edges.foreground import _fusion

    rng = np.random.default_rng(3)
    h, w, r = 23, 31, 3
    image = rng.uniform(0, 255, (h, w, 3)).astype(np.float32)
    fg, bg = rng.uniform(0, 255, (2, h, w, 3)).astype(np.float32)
    alpha = np.clip(rng.normal(0.5, 0.6, (h, w)), 0, 1).astype(np.float32)

    def box(x: np.ndarray) -> np.ndarray:  # OpenCV's default border: reflect-101
        pad = ((r, r), (r, r)) + ((0, 0),) * (x.ndim - 2)
        padded = np.pad(x.astype(np.float64), pad, mode="reflect")
        return np.mean([padded[dy : dy + h, dx : dx + w] for dy in range(2 * r + 1) for dx in range(2 * r + 1)], 0)

    a = alpha.astype(np.float64)[..., None]
    blur_a = box(alpha)[..., None]
    smooth_f = box(fg * a) / (blur_a + 1e-5)
    smooth_b = box(bg * (1 - a)) / (1 - blur_a + 1e-5)
    want_f = np.clip(smooth_f + a * (image - a * smooth_f - (1 - a) * smooth_b), 0, 255)
    got_f, got_b = _fusion(image, fg, bg, alpha, r)
    assert np.abs(got_b - smooth_b).max() < 0.05 and np.abs(got_f - want_f).max() < 0.05


def test_colour_coefficients_equal_the_guided_filter_solved_everywhere() -> None:
    """He et al.'s guided filter on RGB written out in float64 (every window solved, reflected borders): per
    window ``a = (Sigma + eps Id)^-1 cov(I, p)``, ``b = mean(p) - a . mean(I)``, both then averaged over the windows
    holding each pixel; :func:`colour_coefficients` solves only where alpha varies and scales ``a`` for uint8."""
    from colorsplash.runtime.edges.matting import colour_coefficients

    rng = np.random.default_rng(8)
    h, w, eps = 19, 26, 1e-5
    small = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:h, :w]
    alpha = np.clip((7.5 - np.hypot(yy - 9, xx - 12)) / 3, 0, 1).astype(np.float32)  # a soft disc: flat elsewhere

    def box(x: np.ndarray) -> np.ndarray:  # 3x3 mean, OpenCV's BORDER_REFLECT (edge pixel repeated)
        pad = ((1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 2)
        padded = np.pad(x, pad, mode="symmetric")
        return np.mean([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], 0)

    image, p = small / 255.0, alpha.astype(np.float64)
    mu, mean_p = box(image), box(p)
    cov_ip = box(image * p[..., None]) - mu * mean_p[..., None]
    sigma = box(image[..., :, None] * image[..., None, :]) - mu[..., :, None] * mu[..., None, :]
    a = np.linalg.solve(sigma + eps * np.eye(3), cov_ip[..., None])[..., 0]
    b = mean_p - (a * mu).sum(-1)
    want = np.concatenate([box(a) / 255, box(b)[..., None]], -1)
    got = colour_coefficients(small, alpha, 1, eps)
    assert got.shape == (h, w, 4) and got.dtype == np.float32
    assert np.abs(got - want).max() < 1e-5


def test_conjugate_gradients_stop_at_once_on_an_indefinite_system() -> None:
    """On a positive definite system ``conjugate_gradients`` solves it; on one made indefinite (what rounding can
    do to a Laplacian) it stops at the first direction of non-positive curvature and returns the start, with no
    overflow warning and without running its remaining iterations."""
    import warnings

    import scipy.sparse

    from colorsplash.runtime.edges.band_solve import conjugate_gradients

    rng = np.random.default_rng(4)
    n = 60
    m = rng.normal(size=(n, n))
    spd = m @ m.T + n * np.eye(n)
    rhs = rng.normal(size=n)
    x = conjugate_gradients(scipy.sparse.csr_matrix(spd), np.diag(spd).copy(), rhs, np.zeros(n), 200, 1e-10)
    assert np.allclose(spd @ x, rhs, atol=1e-6)

    # Positive definite except along the last axis, which the iteration reaches after a few steps.
    indefinite = scipy.sparse.csr_matrix(spd - 3 * n * np.outer(np.eye(n)[-1], np.eye(n)[-1]))
    calls = 0

    class Counting:
        def __matmul__(self, v: np.ndarray) -> np.ndarray:
            nonlocal calls
            calls += 1
            return indefinite @ v

    start = rng.normal(size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = conjugate_gradients(Counting(), np.abs(np.diag(spd)), rhs, start.copy(), 400, 1e-10)
    assert np.array_equal(got, start) and 2 < calls < 50


def test_window_inverses_stay_exact_on_bright_nearly_flat_windows() -> None:
    """Means and regularised inverse covariances of 3x3 windows against a per-window float64 reference, on a
    bright, nearly flat photo (colours 0.9 +- 1e-5) where ``E[xx^T] - E[x]E[x]^T`` cancels: such cancellation
    made the band's Laplacian indefinite on real photos. Border windows are reflected (OpenCV's BORDER_REFLECT)."""
    from colorsplash.runtime.edges.matting import _window_inverses

    rng = np.random.default_rng(6)
    h, w, eps = 9, 11, 1e-7
    image = 0.9 + 1e-5 * rng.random((h, w, 3))
    centres = np.array([0, 5, w - 1, 3 * w + 4, h * w - 1, (h - 1) * w + 3])
    mu, inv = _window_inverses(image, centres, eps)
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="symmetric")
    for k, c in enumerate(centres):
        y, x = divmod(int(c), w)
        window = padded[y : y + 3, x : x + 3].reshape(9, 3)
        mean = window.mean(0)
        cov = (window - mean).T @ (window - mean) / 9 + eps / 9 * np.eye(3)
        assert np.allclose(mu[k], mean, rtol=0, atol=1e-15)
        assert np.allclose(inv[k], np.linalg.inv(cov), rtol=1e-6, atol=0)


def test_factorised_solve_is_exact_and_declines_a_singular_system() -> None:
    """The sparse factorisation solves a symmetric positive definite system (a 2-D grid Laplacian plus a small
    diagonal, the matting Laplacian's shape) to rounding, and says ``None`` on a singular one instead of raising."""
    import scipy.sparse

    from colorsplash.runtime.edges.band_solve import factorised_solve

    side = 30
    line = scipy.sparse.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(side, side))
    grid = scipy.sparse.kronsum(line, line).tocsr()
    rhs = np.random.default_rng(7).normal(size=side * side)
    x = factorised_solve((grid + 1e-3 * scipy.sparse.eye(side * side)).tocsr(), rhs)
    assert x is not None
    assert np.linalg.norm((grid + 1e-3 * scipy.sparse.eye(side * side)) @ x - rhs) < 1e-9 * np.linalg.norm(rhs)
    singular = grid.tolil()
    singular[5, :] = 0
    singular[:, 5] = 0
    assert factorised_solve(singular.tocsr(), rhs) is None


def test_coarse_solve_by_factorisation_gives_the_iterated_matte() -> None:
    """A coarsest level at or over ``direct_unknowns`` that starts from a probability with no prior pull is
    factorised: the matte is the one the conjugate gradients converge to (within their tolerance). From a bare
    trimap, or with the prior's pull (the default, which conditions the system well), it is iterated."""
    from colorsplash.runtime.edges import band_solve

    image, truth = soft_disc(h=240, w=320, radius=90, soft=6)
    init = cv2.resize(model_view(truth, 48), (320, 240), interpolation=cv2.INTER_LINEAR)
    trimap = band_trimap(init, 12)
    unknowns = int(np.count_nonzero(trimap == 128))
    unpulled = MatteSettings(prior=0.0, direct_unknowns=unknowns)
    tight = MatteSettings(prior=0.0, direct_unknowns=unknowns + 1, tol=1e-5)  # iterated to near its minimum
    iterated = solve_trimap(image, trimap, init, tight)
    calls = 0
    real = band_solve.factorised_solve

    def counting(a: object, rhs: np.ndarray) -> np.ndarray | None:
        nonlocal calls
        calls += 1
        return real(a, rhs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("colorsplash.runtime.edges.matting.factorised_solve", counting)
        exact = solve_trimap(image, trimap, init, unpulled)
        assert calls == 1
        solve_trimap(image, trimap, None, unpulled)
        assert calls == 1
        solve_trimap(image, trimap, init, MatteSettings(direct_unknowns=unknowns))  # pulled toward init
        assert calls == 1
        mp.setattr("colorsplash.runtime.edges.matting.MAX_FACTORISED", unknowns - 1)  # too large a band: iterated
        solve_trimap(image, trimap, init, unpulled)
        assert calls == 1
    assert np.abs(exact - iterated).max() < 0.005 and np.abs(exact - iterated).mean() < 1e-4
