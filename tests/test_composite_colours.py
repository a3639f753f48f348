"""Colours at the subject's edge (no model): the edge stage's box means and colour estimates against their
formulas, the colour copy, and decontamination (the photo's brightness kept, the subject's colour a bound)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import make_blob_image

from colorsplash.runtime.edges.alpha import luma
from colorsplash.runtime.effects import apply_effect
from colorsplash.runtime.options import SplashOptions


def _window_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Reference for the edge stage's box means: the (2r+1)^2 window average with mirrored borders, in float64."""
    padded = np.pad(x.astype(np.float64), r, mode="symmetric")
    h, w = x.shape
    k = 2 * r + 1
    return sum(padded[dy : dy + h, dx : dx + w] for dy in range(k) for dx in range(k)) / (k * k)


@pytest.mark.parametrize("r", [1, 4])
def test_box_means_match_a_plain_window_average(r: int) -> None:
    from colorsplash.runtime.edges.guided import box_mean

    rng = np.random.default_rng(r)
    plane = rng.random((23, 31), dtype=np.float32)
    assert np.allclose(box_mean(plane, r), _window_mean(plane, r), atol=1e-6)  # float path (separable filter)
    mask = (plane > 0.5).astype(np.uint8)
    assert np.allclose(box_mean(mask, r, cv2.CV_32F), _window_mean(mask, r), atol=1e-6)  # uint8 path


def _local_subject(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A probability map that is sure background (0.02) but for a noisy disc near one corner and a sure-subject
    strip on the bottom border: the colour estimate works on a window of the copy, which touches two borders."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    prob = np.full(shape, 0.02, np.float32)
    disc = (yy - 6) ** 2 + (xx - w + 8) ** 2 < 16
    prob[disc] = np.clip(rng.normal(0.7, 0.3, int(disc.sum())), 0, 1)
    prob[-2:, 5:9] = 0.95
    return prob


@pytest.mark.parametrize("layout", ["everywhere", "local"])
def test_colour_estimates_match_their_formula(layout: str) -> None:
    """``colour_alpha`` against its docstring written out in float64 numpy: window means F and B of the sure
    subject and background colours, local ``(I - B).(F - B) / |F - B|^2``, blended in by trust and band. With
    a local subject the work runs on a window of the copy: the same numbers, and the rest exactly ``prob``."""
    from colorsplash.runtime.edges.guided import colour_alpha

    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (20, 27, 3), dtype=np.uint8)
    if layout == "everywhere":
        prob = np.clip(rng.normal(0.5, 0.45, (20, 27)), 0, 1).astype(np.float32)
    else:
        prob = _local_subject(rng, (20, 27))
    r, sigma = 2, 0.1
    fg, bg = (prob > 0.9).astype(np.float64), (prob < 0.1).astype(np.float64)
    share_f, share_b = _window_mean(fg, r), _window_mean(bg, r)
    rgb = image.astype(np.float64) / 255
    f = np.stack([_window_mean(rgb[..., c] * fg, r) for c in range(3)], -1) / np.maximum(share_f, 1e-6)[..., None]
    b = np.stack([_window_mean(rgb[..., c] * bg, r) for c in range(3)], -1) / np.maximum(share_b, 1e-6)[..., None]
    d = f - b
    dd = (d * d).sum(-1)
    local = np.clip(((rgb - b) * d).sum(-1) / np.maximum(dd, 1e-6), 0, 1)
    trust = dd / (dd + sigma**2) * np.minimum(share_f * 50, 1) * np.minimum(share_b * 50, 1)
    band = np.clip(2 * (1 - np.abs(2 * prob - 1)), 0, 1)
    expected = prob + band * trust * (local - prob)
    got = colour_alpha(image, prob, r, sigma)
    assert np.abs(got - expected).max() < 1e-4
    if layout == "local":
        moved = np.abs(got - prob) > 1e-3
        assert moved[:12, -16:].any() and moved[-5:, :12].any()  # around the disc and the strip
        far = (share_f == 0) | (share_b == 0)
        assert far.mean() > 0.5 and np.array_equal(got[far], prob[far])


def test_a_photo_that_is_its_own_working_copy_needs_no_luma() -> None:
    """A photo no larger than its working copy (a 500x375 JPEG for the 384 px model): the refined alpha comes out
    of the plan itself (no luma read, no coefficients brought up), with the numbers of the coefficient path."""
    from colorsplash.runtime.edges.alpha import RefineSettings, finish_alpha, photo_guide, plan_alpha
    from colorsplash.runtime.edges.guided import colour_target, guided_coefficients, refine_full

    image, mask = make_blob_image(375, 500, seed=3)
    prob = cv2.GaussianBlur(cv2.resize(mask.astype(np.float32), (384, 384), interpolation=cv2.INTER_AREA), (0, 0), 2)
    settings = RefineSettings()
    assert settings.working_hw(375, 500, 384) == (375, 500)
    plan = plan_alpha((375, 500), prob, image, SplashOptions(edges="fast"), settings)
    assert photo_guide(image, plan) is None
    got = finish_alpha(plan, None, SplashOptions(edges="fast")).alpha
    # The coefficient path, brought to full size through the photo's uint8 luma as for larger photos:
    p_small = cv2.resize(prob, (500, 375), interpolation=cv2.INTER_LINEAR)
    target = colour_target(image, prob, p_small, settings)
    a, b = guided_coefficients(
        luma(image).astype(np.float32) / 255, target, round(settings.radius * 500 / 384), settings.eps
    )
    a, b = a * settings.sharpen, b * settings.sharpen + 0.5 * (1 - settings.sharpen)
    want = np.clip(refine_full(luma(image), a / np.float32(255), b), 0, 1)
    assert np.abs(got - want).max() < 1e-5
    assert ((got > 0.5) == (mask > 0)).mean() > 0.99


def test_colour_target_reads_the_model_map_at_the_colour_copy_size() -> None:
    """The colour estimates of a photo larger than the model's input see the model's own map area-reduced to the
    colour copy (one resize), not the working-size map reduced again."""
    from colorsplash.runtime.edges.alpha import RefineSettings
    from colorsplash.runtime.edges.guided import colour_alpha, colour_target

    image, mask = make_blob_image(375, 500, seed=4)
    rng = np.random.default_rng(1)
    prob = np.clip(cv2.resize(mask.astype(np.float32), (384, 384)) + rng.normal(0, 0.2, (384, 384)), 0, 1)
    prob = prob.astype(np.float32)
    settings = RefineSettings()
    p_small = cv2.resize(prob, (500, 375), interpolation=cv2.INTER_LINEAR)
    got = colour_target(image, prob, p_small, settings)
    c_small = cv2.resize(image, (384, 288), interpolation=cv2.INTER_LINEAR)
    c_prob = cv2.resize(prob, (384, 288), interpolation=cv2.INTER_AREA)
    want = cv2.resize(
        colour_alpha(c_small, c_prob, 3, settings.colour_sigma), (500, 375), interpolation=cv2.INTER_LINEAR
    )
    assert got.shape == (375, 500)
    np.testing.assert_array_equal(got, want)


def test_decontaminated_grey_keeps_the_photos_brightness_and_never_changes_a_grey_photo() -> None:
    """Blending estimated F and grey(B) moved the edge band's brightness by over 10 levels on a quarter of its
    pixels (a white floor beside a tail greyed) and changed greyscale photos (visual audit)."""
    from colorsplash.runtime.edges.foreground import estimate_colours
    from colorsplash.runtime.effects import grey_keeping_luma

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    alpha = rng.random((60, 80), dtype=np.float32)
    fg = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    out = grey_keeping_luma(image, fg, alpha)
    saturated = (out == 0).any(axis=2) | (out == 255).any(axis=2)
    drift = np.abs(luma(out).astype(int) - luma(image))[~saturated]
    assert drift.max() <= 1  # the photo's brightness, up to rounding
    same = grey_keeping_luma(image, image, np.ones((60, 80), np.float32)).astype(int)
    assert np.abs(same - image).max() <= 1  # alpha 1, F the photo: the photo (up to the grey's rounding)
    grey_photo = np.repeat(luma(image)[..., None], 3, axis=2)
    splash = apply_effect(grey_photo, alpha, "grey", *estimate_colours(grey_photo, alpha))
    assert np.array_equal(splash, grey_photo)  # no colour to keep or remove: unchanged


def test_decontamination_stops_at_the_subjects_own_colour() -> None:
    """Where alpha is underestimated the residual took out more background than the pixel held, pushing grey fur
    before red wood to lavender (visual audit): the push away from the background is cut at the subject's colour."""
    from colorsplash.runtime.edges.foreground import share_residual

    smooth_f = np.full((1, 2, 3), 128, np.float32)  # grey fur
    smooth_b = np.zeros((1, 2, 3), np.float32)
    smooth_b[...] = (180, 60, 40)  # red wood
    pixels = np.array([[[141, 115, 112], [90, 140, 150]]], np.uint8)  # 0.75 fur + 0.25 wood; a cyan speck
    alpha = np.full((1, 2), 0.5, np.float32)  # underestimated: blur fusion would remove half wood from the first
    fg, _ = share_residual(pixels, alpha, smooth_f, smooth_b)
    toward = smooth_b[0, 0] - smooth_f[0, 0]
    assert float((fg[0, 0].astype(np.float32) - 128) @ toward) >= -1.0 * float(toward @ toward) ** 0.5  # not past fur
    assert fg[0, 1, 0] < fg[0, 1, 2]  # a genuinely cyan part stays cyan-ish: only the overshoot is cut


def test_the_fused_bands_subject_colour_stays_in_range() -> None:
    """The fused band took F unclipped while the general path saturates it: colours too strong (review)."""
    from colorsplash.runtime.edges.foreground import subject_colour

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (50, 50, 3), dtype=np.uint8)
    alpha = rng.random((50, 50), dtype=np.float32)
    smooth_f, smooth_b = (rng.random((50, 50, 3), dtype=np.float32) * 255 for _ in range(2))
    colour = subject_colour(pixels, alpha, smooth_f, smooth_b)
    assert colour.dtype == np.float32 and colour.min() >= 0.0 and colour.max() <= 255.0


@pytest.mark.parametrize("amount", [0.25, 0.5, 0.8])
def test_a_partial_grey_keeps_the_photos_brightness_too(amount: float) -> None:
    """`grey:0.5` still blended estimated F and B, and moved the band's brightness (recheck audit). Only 0.5 was
    tried, where the share of colour kept (1 - AMOUNT) equals AMOUNT: the two could be swapped unseen."""
    from colorsplash.runtime.effects import composite

    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, (80, 100, 3), dtype=np.uint8), (0, 0), 3)
    yy, xx = np.mgrid[0:80, 0:100]
    alpha = np.clip((xx - 30) / 40.0, 0, 1).astype(np.float32)  # a wide soft band
    out = composite(image, alpha, SplashOptions(effect=f"grey:{amount}", edges="matte"))
    saturated = (out == 0).any(axis=2) | (out == 255).any(axis=2)
    assert np.abs(luma(out).astype(int) - luma(image))[~saturated].max() <= 1
    background = alpha == 0  # there: 1 - AMOUNT of the photo's colour on its grey, as without matte edges
    mixed = np.clip((1 - amount) * image.astype(np.float32) + amount * luma(image)[..., None], 0, 255)
    assert np.abs(out[background].astype(np.float32) - mixed[background]).max() <= 1.5


def test_the_residual_is_shared_between_subject_and_background_by_alpha() -> None:
    """Blur fusion's last step, F += a * residual and B += (1 - a) * residual, where no overshoot is cut."""
    from colorsplash.runtime.edges.foreground import share_residual

    smooth_f = np.full((1, 1, 3), (200, 50, 50), np.float32)
    smooth_b = np.full((1, 1, 3), (50, 50, 200), np.float32)
    residual = np.array([10, 20, 10], np.float32)  # across F - B: nothing to cut
    pixels = (0.2 * smooth_f + 0.8 * smooth_b + residual).astype(np.uint8)  # (90, 70, 180)
    fg, bg = share_residual(pixels, np.full((1, 1), 0.2, np.float32), smooth_f, smooth_b)
    assert fg[0, 0].tolist() == [202, 54, 52]
    assert bg is not None and bg[0, 0].tolist() == [58, 66, 208]
