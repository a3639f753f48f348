"""The fused in-place grey splash (runtime/fused.py): same picture as the general path, while skipping the pixels
that are surely background or surely subject."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import make_blob_image

from colorsplash.runtime.edges.alpha import AlphaPlan, RefineSettings, downscale, finish_alpha, photo_guide, plan_alpha
from colorsplash.runtime.edges.upsampling import Saturation
from colorsplash.runtime.effects import composite
from colorsplash.runtime.fused import fusable, grey_splash_in_place
from colorsplash.runtime.options import SplashOptions


def _photo_and_prob(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A large noisy photo with a soft-edged orange ellipse, and a misplaced low-resolution probability of it."""
    image, mask = make_blob_image(h, w, seed=3)
    image = cv2.GaussianBlur(image, (0, 0), 1.5)
    prob = cv2.resize(mask.astype(np.float32), (96, 96), interpolation=cv2.INTER_AREA)
    return image, cv2.GaussianBlur(np.roll(prob, 1, axis=1), (0, 0), 1.0)


def _general(image: np.ndarray, prob: np.ndarray, options: SplashOptions) -> tuple[np.ndarray, np.ndarray, AlphaPlan]:
    settings = RefineSettings(work_side=512)
    small = downscale(image, settings.work_side)
    plan = plan_alpha(image.shape[:2], prob, small, options, settings)
    result = finish_alpha(plan, photo_guide(image, plan), options)
    return composite(image, result.alpha, options), result.alpha, plan


@pytest.mark.parametrize("size", [(1200, 1600), (1001, 1403)])  # a whole reduction factor, and none
def test_fast_edges_fused_equals_general_and_skips_most_pixels(size: tuple[int, int]) -> None:
    image, prob = _photo_and_prob(*size)
    options = SplashOptions(edges="fast")
    expected, alpha, plan = _general(image, prob, options)
    out = image.copy()
    assert fusable(plan, options, out)
    grey_splash_in_place(out, plan)
    assert np.abs(out.astype(int) - expected).max() <= 1
    # The skipping is real: most strips' runs are surely grey or surely kept, and those pixels are exact.
    assert plan.a is not None and plan.b is not None
    span = plan.a * 255
    sat = Saturation.of(plan.b + np.minimum(span, 0), plan.b + np.maximum(span, 0), size)
    runs = [r for y in range(0, size[0], 128) for r in sat.runs(y, min(size[0], y + 128))]
    banded = sum((x1 - x0) for x0, x1, kind in runs if kind == 2) / sum(x1 - x0 for x0, x1, _ in runs)
    assert {0, 1, 2} <= {kind for _, _, kind in runs} and banded < 0.5
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    assert np.array_equal(out[alpha == 0], grey[alpha == 0]) and np.array_equal(out[alpha == 1], image[alpha == 1])


def test_matte_edges_fused_matches_the_decontaminated_general_path() -> None:
    image, prob = _photo_and_prob(1200, 1600)
    options = SplashOptions(edges="matte")
    expected, alpha, plan = _general(image, prob, options)
    out = image.copy()
    assert fusable(plan, options, out)
    grey_splash_in_place(out, plan)
    soft = (alpha > 0.02) & (alpha < 0.98)
    assert soft.sum() > 1000  # the matte made a real soft band to compare in
    assert np.abs(out.astype(int) - expected).max() <= 2  # decontaminated band and all: the same picture


def test_matte_splash_reuses_the_plans_working_copy_for_its_colour_estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The colour estimates run on the photo reduced to 512 px: the plan's working copy is that already (a 12 MP
    JPEG's is decoded at 1/8 scale), so the photo is not reduced a second time; a plan without it, or with one
    of another size, reduces the photo, to the same picture."""
    import dataclasses

    from colorsplash.runtime import fused

    image, prob = _photo_and_prob(1200, 1600)
    _, _, plan = _general(image, prob, SplashOptions(edges="matte"))
    assert plan.working is not None and plan.working.shape[:2] == (300, 400)
    reductions: list[tuple[int, ...]] = []

    def counting(photo: np.ndarray, side: int) -> np.ndarray:
        reductions.append(photo.shape)
        return downscale(photo, side)

    monkeypatch.setattr(fused, "downscale", counting)
    reused = image.copy()
    grey_splash_in_place(reused, plan)
    assert reductions == []
    reduced = image.copy()
    grey_splash_in_place(reduced, dataclasses.replace(plan, working=None))
    other_size = dataclasses.replace(plan, working=plan.working[::2, ::2])
    grey_splash_in_place(image.copy(), other_size)
    assert reductions == [image.shape, image.shape]
    assert np.array_equal(reused, reduced)  # here the working copy is the same area reduction


def test_options_that_reshape_the_alpha_are_not_fused() -> None:
    image, prob = _photo_and_prob(1200, 1600)
    _, _, plan = _general(image, prob, SplashOptions(edges="fast"))
    out = image.copy()
    for options in (
        SplashOptions(feather=2.0),
        SplashOptions(effect="dim"),
        SplashOptions(hard=True),
        SplashOptions(threshold=0.3),
        SplashOptions(invert=True),
    ):
        assert not fusable(plan, options, out)
    assert not fusable(plan, SplashOptions(), out[:, ::2])  # not contiguous


def test_edges_auto_is_matte_for_photos_and_fast_for_video() -> None:
    from colorsplash.runtime.video.clip import video_options

    assert SplashOptions().edges == "auto" and SplashOptions().matte_edges
    assert not SplashOptions(edges="fast").matte_edges and SplashOptions(edges="MATTE").matte_edges
    assert video_options(None).edges == "fast" and not video_options(SplashOptions()).matte_edges
    assert video_options(SplashOptions(edges="matte")).edges == "matte"  # asked for: honoured
    image, prob = _photo_and_prob(600, 800)
    assert _general(image, prob, SplashOptions())[2].matte is not None  # the photo default solves a matte


def test_a_photo_no_larger_than_the_working_copy_takes_the_plain_path() -> None:
    # At the working copy's size there are no pixels to skip: fusing would only add its bookkeeping.
    image, prob = _photo_and_prob(375, 500)
    options = SplashOptions(edges="fast")
    _, _, plan = _general(image, prob, options)
    assert plan.b is not None and plan.b.shape == image.shape[:2]
    assert not fusable(plan, options, image.copy())
    big, big_prob = _photo_and_prob(750, 1000)
    assert fusable(_general(big, big_prob, options)[2], options, big.copy())


def test_matte_bounds_hold_every_colour_and_are_reached() -> None:
    """The matte's alpha ``a . rgb + b`` lies within :func:`matte_bounds` for any uint8 colour, and the corners of
    the colour cube reach both bounds: what lets the fused splash skip surely grey or surely kept pixels."""
    from colorsplash.runtime.edges.upsampling import matte_bounds

    rng = np.random.default_rng(2)
    coeffs = rng.normal(0, 0.004, (6, 7, 4)).astype(np.float32)
    coeffs[..., 3] = rng.uniform(-0.5, 1.5, (6, 7))
    lowest, highest = matte_bounds(coeffs)
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.float32)
    colours = np.concatenate([corners, rng.integers(0, 256, (200, 3)).astype(np.float32)])
    alpha = np.einsum("hwc,nc->hwn", coeffs[..., :3], colours) + coeffs[..., 3:]
    assert (alpha >= lowest[..., None] - 1e-5).all() and (alpha <= highest[..., None] + 1e-5).all()
    at_corners = alpha[..., :8]
    assert np.allclose(at_corners.min(-1), lowest, atol=1e-5) and np.allclose(at_corners.max(-1), highest, atol=1e-5)


def test_apply_coefficients_computes_only_the_band() -> None:
    """The full-size matte alpha from a working copy's coefficients equals ``clip(a . rgb + b, 0, 1)`` computed
    everywhere, to within ``SURE`` (pixels that the coefficients take that close to 0 or 1 whatever their colour
    are set to it), and only a minority of the pixels is computed."""
    from colorsplash.runtime.edges import upsampling

    image, prob = _photo_and_prob(1200, 1600)
    _, _, plan = _general(image, prob, SplashOptions(edges="matte"))
    coeffs = plan.matte_coeffs
    assert coeffs is not None and coeffs.shape[:2] != image.shape[:2]
    h, w = image.shape[:2]
    everywhere = np.clip(
        upsampling.coefficient_alpha(image, cv2.resize(coeffs, (w, h), interpolation=cv2.INTER_LINEAR)), 0, 1
    )
    computed = 0
    real = upsampling.coefficient_alpha

    def counting(pixels: np.ndarray, c: np.ndarray) -> np.ndarray:
        nonlocal computed
        computed += pixels.shape[0] * pixels.shape[1]
        return real(pixels, c)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(upsampling, "coefficient_alpha", counting)
        alpha = upsampling.apply_coefficients(image, coeffs)
    assert alpha.dtype == np.float32 and alpha.min() >= 0 and alpha.max() <= 1
    assert np.abs(alpha - everywhere).max() <= upsampling.SURE + 1e-5
    soft = (everywhere > 0.01) & (everywhere < 0.99)
    assert soft.sum() > 1000 and np.array_equal(alpha[soft] > 0.5, everywhere[soft] > 0.5)
    assert 0 < computed < 0.5 * h * w
