"""The matte's solve (:mod:`colorsplash.runtime.edges.matting`) coarse to fine on a wide photo, its alphas' range on a
noisy band, and the narrowest band a guide larger than the photo gets."""

from __future__ import annotations

import numpy as np

from colorsplash.runtime.edges.edge_matte import matte
from colorsplash.runtime.edges.matting import MatteSettings, solve_trimap


def soft_edge(h: int, w: int, soft: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Blue left, red right, a linear soft edge ``2 * soft`` px wide slanted across a wide photo; (RGB, alpha)."""
    yy, xx = np.mgrid[:h, :w]
    dist = xx - (w / 2 + 0.2 * (yy - h / 2))
    alpha = np.clip(0.5 - dist / (2 * soft), 0.0, 1.0).astype(np.float32)
    image = alpha[..., None] * np.array([30, 60, 200.0]) + (1 - alpha[..., None]) * np.array([210, 40, 30.0])
    noise = np.random.default_rng(5).normal(0, 2, image.shape)
    return np.clip(image + noise + 0.5, 0, 255).astype(np.uint8), alpha


def test_a_wide_photo_solved_coarse_to_fine_finds_its_edge() -> None:
    """A 96x200 photo whose band is over ``coarse_unknowns``: solved on halved copies first, the start of each
    finer level lined up with the photo (not transposed), the matte close to the true soft edge."""
    image, true = soft_edge(96, 200, soft=2.0)
    trimap = np.where(true >= 1, 255, np.where(true <= 0, 0, 128)).astype(np.uint8)
    trimap[:, 70:130] = 128  # a wide band: well over 800 unknown pixels
    settings = MatteSettings(coarse_unknowns=800, fine_iterations=5)
    alpha = solve_trimap(image, trimap, None, settings)
    band = trimap == 128
    assert np.abs(alpha - true)[band].mean() < 0.02, np.abs(alpha - true)[band].mean()  # 0.017; 0.025 squashed


def test_alphas_of_a_noisy_band_stay_in_range() -> None:
    """Random colours in a wide band: the solve may overshoot, the alphas it gives do not."""
    image = np.random.default_rng(8).integers(0, 256, (40, 60, 3), np.uint8)
    trimap = np.zeros((40, 60), np.uint8)
    trimap[:, 40:] = 255
    trimap[:, 10:40] = 128
    alpha = solve_trimap(image, trimap)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_a_guide_larger_than_the_photo_still_gets_a_two_pixel_band() -> None:
    """An 80x320 probability over a 40x160 photo (one guide pixel is half a photo pixel): the band still reaches
    two photo pixels each side of the edge, so an edge a pixel or two off is found."""
    prob = np.zeros((80, 320), np.float32)
    prob[:, 160:] = 1.0
    image = np.zeros((40, 160, 3), np.uint8)
    image[:, 82:] = 255  # the photo's edge two pixels right of the guide's
    alpha = matte(image, prob, MatteSettings(prior=0.0))
    assert alpha[:, 81].mean() < 0.2, alpha[:, 78:84].mean(0)
