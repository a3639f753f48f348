"""The matte's pull toward the model's probability (``MatteSettings.prior``).

Where the model is unsure over a wide region (a cat behind cage wire, an out-of-focus cat behind a sharp one), the
band trimap leaves the whole region unknown; the colours alone then decide it, and a subject coloured like its
surroundings is matted away whole. The prior keeps the model's word there while colour edges still decide the
band.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from colorsplash.runtime.edges.matting import MatteSettings, band_trimap, solve_trimap

H, W = 120, 160


def camouflaged_cat(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dark photo whose subject, a disc, has the background's colours; the model gives it 0.75 (unsure) and the
    background 0. Returns (RGB uint8 ``HxWx3``, probability float32 ``HxW``, the disc's inner part, bool)."""
    rng = np.random.default_rng(seed)
    image = np.clip(rng.normal(40, 6, (H, W, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:H, :W]
    dist = np.hypot(yy - H / 2, xx - W / 2)
    prob = np.where(dist < 40, 0.75, 0.0).astype(np.float32)
    return image, prob, dist < 25


def test_without_the_prior_a_camouflaged_subject_is_matted_away() -> None:
    """The failure the prior exists for (kept as a test so that a change of the solve that hides it shows)."""
    image, prob, inner = camouflaged_cat()
    alpha = solve_trimap(image, band_trimap(prob, 2), prob, MatteSettings(prior=0.0))
    assert alpha[inner].mean() < 0.2


def test_the_prior_keeps_the_models_word_where_colours_say_nothing() -> None:
    image, prob, inner = camouflaged_cat()
    settings = MatteSettings()
    assert settings.prior > 0  # the default pulls
    alpha = solve_trimap(image, band_trimap(prob, 2), prob, settings)
    assert alpha[inner].mean() > 0.75 / 2  # at least half the model's word kept (measured 0.45; 0.0 without)
    assert alpha[inner].max() <= 0.75 + 1e-3  # pulled toward the probability, never past it here


def test_colour_edges_still_decide_the_band() -> None:
    """A blue disc (radius 30) on red; the model is sure of its middle and unsure (0.6) out to a contour 6 px too
    wide: the matte still puts the edge on the colours, not on the probability's wrong contour."""
    yy, xx = np.mgrid[:H, :W]
    dist = np.hypot(yy - H / 2, xx - W / 2)
    truth = (dist < 30).astype(np.float32)
    rng = np.random.default_rng(1)
    image = truth[..., None] * np.array([30, 60, 200]) + (1 - truth[..., None]) * np.array([210, 40, 30])
    image = np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
    prob = np.where(dist < 20, 1.0, np.where(dist < 36, 0.6, 0.0)).astype(np.float32)
    alpha = solve_trimap(image, band_trimap(prob, 3), prob, MatteSettings())
    outside = (dist > 32) & (dist < 36)  # inside the model's contour, outside the disc
    inside = (dist > 20) & (dist < 28)  # in the disc, where the model is unsure
    # the probability says 0.6 on both rings; the colours move them most of the way (measured 0.05 and 0.95)
    assert alpha[outside].mean() < 0.1
    assert alpha[inside].mean() > 0.9


def test_a_bare_trimap_solve_has_no_prior() -> None:
    """``colorsplash.matte(rgb, trimap)``: no probability, nothing to pull toward; the setting changes nothing."""
    image, prob, _ = camouflaged_cat()
    trimap = band_trimap(prob, 2)
    settings = MatteSettings()
    a = solve_trimap(image, trimap, None, settings)
    b = solve_trimap(image, trimap, None, dataclasses.replace(settings, prior=0.0))
    np.testing.assert_array_equal(a, b)
