"""Alpha refinement, subject selection and background effects (no model: probabilities are made up)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import make_blob_image

from colorsplash.runtime.alpha import alpha_to_uint8, compute_alpha, luma, smooth
from colorsplash.runtime.effects import SEPIA, apply_effect
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.working import work_size


def lowres(mask: np.ndarray, size: int = 32, shift: int = 0) -> np.ndarray:
    """The model's view of a 0/1 mask: area-resized to ``size`` px, optionally shifted, a little blurred."""
    low = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    low = np.roll(low, shift, axis=1)
    return cv2.GaussianBlur(low, (0, 0), 0.6)


def two_blobs(h: int = 120, w: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orange discs on dark noise: a big one on the left, a small one on the right; masks of each."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 60, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    big = (yy - 60) ** 2 + (xx - 55) ** 2 <= 35**2
    small = (yy - 60) ** 2 + (xx - 160) ** 2 <= 18**2
    image[big | small] = (230, 120, 30)
    return image, big, small


def test_luma_is_rec601_on_rgb_order() -> None:
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert luma(px).tolist() == [[76, 150, 29]]  # 0.299, 0.587, 0.114 of 255: red counts as red, not blue


def test_grey_blend_formula_and_colour_order() -> None:
    image, _ = make_blob_image(40, 50, seed=1)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    for a in (0.0, 0.3, 1.0):
        alpha = np.full(image.shape[:2], a, np.float32)
        out = apply_effect(image, alpha, "grey").astype(np.float32)
        expected = a * image + (1 - a) * grey
        assert np.abs(out - expected).max() <= 1.0
    # Subject (alpha 1) keeps its colour exactly, channel order included.
    out = apply_effect(image, np.ones(image.shape[:2], np.float32), "grey")
    assert np.array_equal(out, image)


@pytest.mark.parametrize("effect", ["dim", "sepia", "color:#ff8000", "blur"])
def test_background_effects_at_alpha_zero(effect: str) -> None:
    image, _ = make_blob_image(60, 80, seed=2)
    out = apply_effect(image, np.zeros((60, 80), np.float32), effect).astype(np.float32)
    if effect == "dim":
        assert np.abs(out - 0.4 * image).max() <= 1.0
    elif effect == "sepia":
        expected = np.clip(image.astype(np.float32) @ SEPIA.T, 0, 255)
        assert np.abs(out - expected).max() <= 1.0
    elif effect.startswith("color"):
        assert (out == (255, 128, 0)).all()
    else:  # blurred: much smoother than the noisy photo
        assert np.abs(np.diff(out, axis=1)).mean() < 0.3 * np.abs(np.diff(image.astype(np.float32), axis=1)).mean()


@pytest.mark.parametrize("effect", ["blur", "blur:8"])
def test_blur_does_not_bleed_subject_colour(effect: str) -> None:
    """The ring was 7 px wide with a bound of 30 levels: a plain blur that glows orange there (24) passed."""
    image, big, _ = two_blobs()
    out = apply_effect(image, big.astype(np.float32), effect).astype(int)
    ring = cv2.dilate(big.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~big
    # Background just outside the orange disc stays dark grey-ish (R - B near 0) instead of glowing orange (60+).
    assert np.abs(out[ring][:, 0] - out[ring][:, 2]).mean() < 10


@pytest.mark.parametrize("effect", ["blur", "blur:3", "blur:7.3"])
def test_blur_keeps_a_uniform_background_its_colour(effect: str) -> None:
    image = np.full((50, 70, 3), (200, 100, 37), np.uint8)
    alpha = np.zeros((50, 70), np.float32)
    alpha[10:30, 10:30] = 1
    assert (apply_effect(image, alpha, effect) == (200, 100, 37)).all()  # rounded, not cut to 199, 99, 36


def test_mismatched_alpha_or_colour_estimates_are_refused() -> None:
    image = np.zeros((6, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="alpha"):
        apply_effect(image, np.zeros((8, 6), np.float32))
    with pytest.raises(ValueError, match="foreground"):
        apply_effect(image, np.zeros((6, 8), np.float32), "dim", np.zeros((6, 8, 4), np.uint8))


@pytest.mark.parametrize("edges", ["fast", "matte"])
def test_a_cutout_keeps_the_pictures_own_transparency(edges: str) -> None:
    """The cut-out's alpha is the subject's times the picture's own, on both edge stages."""
    from colorsplash.runtime.effects import composite

    image, mask = make_blob_image(40, 60, seed=2)
    own = np.full((40, 60), 255, np.uint8)
    own[:, :30] = 100
    out = composite(image, mask.astype(np.float32), SplashOptions(effect="transparent", edges=edges), own)
    assert np.abs(out[..., 3].astype(int) - mask * own.astype(int)).max() <= 1


def test_large_images_blend_in_threads_with_the_same_result() -> None:
    rng = np.random.default_rng(6)
    image = rng.integers(0, 255, (1100, 1000, 3)).astype(np.uint8)  # over the one-megapixel threshold
    alpha = rng.random((1100, 1000)).astype(np.float32)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    expected = alpha[..., None] * image + (1 - alpha[..., None]) * grey
    assert np.abs(apply_effect(image, alpha, "grey") - expected).max() <= 1.0


def test_row_strips_use_only_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pinned to one CPU (taskset, a container's cpuset) of a many-core machine blends serially: the strip
    loop counted os.cpu_count(), every CPU of the machine, instead of cpu.usable_cores(), the thread-count owner."""
    import os
    import threading

    from colorsplash.runtime.strips import in_row_strips

    monkeypatch.setattr(cv2, "getNumThreads", lambda: 8)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    threads: set[str] = set()
    in_row_strips((2048, 1024), lambda rows: threads.add(threading.current_thread().name), parallel_pixels=1)
    assert threads == {threading.current_thread().name}


def test_transparent_gives_rgba_with_alpha_channel() -> None:
    image, mask = make_blob_image(30, 40)
    out = apply_effect(image, mask.astype(np.float32), "transparent")
    assert out.shape == (30, 40, 4) and out.dtype == np.uint8
    subject = mask.astype(bool)
    assert np.array_equal(out[subject, :3], image[subject])
    assert not out[~subject, :3].any()  # no trace of the background under alpha 0 (visual audit)
    assert np.array_equal(out[..., 3], mask * 255)


def test_alpha_shape_dtype_range_for_odd_sizes() -> None:
    for h, w in [(1, 1), (10, 2000), (2000, 10), (97, 131)]:
        image = np.random.default_rng(0).integers(0, 255, (h, w, 3)).astype(np.uint8)
        prob = np.random.default_rng(1).random((32, 32)).astype(np.float32) * 0.5 + 0.5
        result = compute_alpha(image, prob)
        assert result.alpha.shape == (h, w) and result.alpha.dtype == np.float32
        assert result.alpha.min() >= 0.0 and result.alpha.max() <= 1.0


def test_refinement_moves_a_misplaced_edge_onto_the_photo_edge() -> None:
    image, mask = make_blob_image(360, 480, seed=4)
    prob = lowres(mask, 32, shift=1)  # the model put the edge one input pixel (15 photo pixels) off
    plain = compute_alpha(image, prob, SplashOptions(refine=False)).alpha
    refined = compute_alpha(image, prob).alpha
    near = cv2.dilate(
        cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)), np.ones((41, 41), np.uint8)
    ).astype(bool)
    err_plain = ((plain >= 0.5) != mask.astype(bool))[near].mean()
    err_refined = ((refined >= 0.5) != mask.astype(bool))[near].mean()
    assert err_refined < 0.5 * err_plain
    assert np.abs(refined - mask)[near].mean() < np.abs(plain - mask)[near].mean()


def test_no_refine_is_bilinear_upsampling() -> None:
    image, mask = make_blob_image(90, 120)
    prob = lowres(mask)
    alpha = compute_alpha(image, prob, SplashOptions(refine=False)).alpha
    expected = np.clip(cv2.resize(prob, (120, 90), interpolation=cv2.INTER_LINEAR), 0, 1)
    assert np.allclose(alpha, expected, atol=1e-6)


def test_no_subject_is_reported_with_its_max_probability() -> None:
    image, _ = make_blob_image(40, 40)
    result = compute_alpha(image, np.full((32, 32), 0.12, np.float32))
    assert result.empty and result.max_probability == pytest.approx(0.12)
    assert not result.alpha.any()
    # A lower threshold finds it.
    assert not compute_alpha(image, np.full((32, 32), 0.12, np.float32), SplashOptions(threshold=0.1)).empty


def test_hard_threshold_and_soft_threshold() -> None:
    image, mask = make_blob_image(90, 120)
    prob = lowres(mask)
    hard = compute_alpha(image, prob, SplashOptions(hard=True, refine=False)).alpha
    assert set(np.unique(hard).tolist()) <= {0.0, 1.0}
    flat = np.full((32, 32), 0.6, np.float32)
    assert compute_alpha(image, flat, SplashOptions(threshold=0.55, refine=False)).alpha.min() > 0.5
    low = compute_alpha(image, flat, SplashOptions(threshold=0.58, refine=False)).alpha
    high = compute_alpha(image, flat, SplashOptions(threshold=0.59, refine=False)).alpha
    assert high.max() < low.max()  # raising the threshold lowers the alpha of the same probability


def _halves(left: float, right: float) -> np.ndarray:
    prob = np.full((32, 32), left, np.float32)
    prob[:, 16:] = right
    return prob


def test_soft_threshold_maps_the_cut_off_to_one_half_linearly_on_each_side() -> None:
    image = np.full((40, 64, 3), 128, np.uint8)
    alpha = compute_alpha(image, _halves(0.3, 0.8), SplashOptions(threshold=0.6, refine=False)).alpha
    assert np.allclose(alpha[:, :8], 0.3 * 0.5 / 0.6, atol=1e-5)
    assert np.allclose(alpha[:, -8:], 0.5 + (0.8 - 0.6) * 0.5 / 0.4, atol=1e-5)


def test_hard_alpha_cuts_at_the_threshold_given() -> None:
    image = np.full((40, 64, 3), 128, np.uint8)
    alpha = compute_alpha(image, _halves(0.6, 0.8), SplashOptions(threshold=0.7, hard=True, refine=False)).alpha
    assert not alpha[:, :8].any() and alpha[:, -8:].all()


def test_feather_softens_a_hard_edge() -> None:
    image, mask = make_blob_image(90, 120)
    opts = SplashOptions(hard=True, refine=False)
    hard = compute_alpha(image, lowres(mask), opts).alpha
    soft = compute_alpha(image, lowres(mask), opts.replace(feather=4.0)).alpha
    assert ((soft > 0.05) & (soft < 0.95)).sum() > 3 * ((hard > 0.05) & (hard < 0.95)).sum()
    assert abs(soft.sum() - hard.sum()) < 0.02 * hard.sum()
    one = compute_alpha(image, lowres(mask), opts.replace(feather=1.0)).alpha  # a one-pixel feather counts too
    assert ((one > 0.05) & (one < 0.95)).sum() > ((hard > 0.05) & (hard < 0.95)).sum()


def test_invert_swaps_subject_and_background() -> None:
    image, mask = make_blob_image(60, 80)
    a = compute_alpha(image, lowres(mask)).alpha
    b = compute_alpha(image, lowres(mask), SplashOptions(invert=True)).alpha
    assert np.allclose(a + b, 1.0, atol=1e-6)


def test_keep_largest_and_point() -> None:
    image, big, small = two_blobs()
    prob = lowres((big | small).astype(np.uint8), 64)
    all_ = compute_alpha(image, prob).alpha
    largest = compute_alpha(image, prob, SplashOptions(keep="largest")).alpha
    picked = compute_alpha(image, prob, SplashOptions(point=(160, 60))).alpha
    beside = compute_alpha(image, prob, SplashOptions(point=(183, 60))).alpha  # just right of the small disc
    assert all_[small].mean() > 0.9 and all_[big].mean() > 0.9
    assert largest[big].mean() > 0.9 and largest[small].max() < 0.05
    assert picked[small].mean() > 0.9 and picked[big].max() < 0.05
    assert beside[small].mean() > 0.9 and beside[big].max() < 0.05
    with pytest.raises(ValueError, match="outside"):
        compute_alpha(image, prob, SplashOptions(point=(500, 10)))


def _small_above_big() -> np.ndarray:
    """A model map with a small subject near the top (found first in raster order) and a big one below it."""
    prob = np.zeros((64, 64), np.float32)
    prob[4:12, 40:48] = 0.9
    prob[24:56, 8:40] = 0.9
    return cv2.GaussianBlur(prob, (0, 0), 1.0)


def test_keep_largest_keeps_the_largest_not_the_first_found() -> None:
    """two_blobs() has its big disc first in raster order: taking subject number 1 passed as "the largest"."""
    image = np.full((128, 128, 3), 128, np.uint8)
    largest = compute_alpha(image, _small_above_big(), SplashOptions(keep="largest", refine=False)).alpha
    assert largest[60:100, 30:70].min() > 0.8 and largest[8:24, 80:96].max() == 0


def test_keep_largest_keeps_the_subjects_soft_edge() -> None:
    image = np.full((128, 128, 3), 128, np.uint8)
    every = compute_alpha(image, _small_above_big(), SplashOptions(refine=False)).alpha
    largest = compute_alpha(image, _small_above_big(), SplashOptions(keep="largest", refine=False)).alpha
    inside = every >= 0.5
    inside[:36] = False  # the big subject only
    edge = cv2.dilate(inside.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))).astype(bool)
    edge &= ~inside
    assert every[edge].min() > 0.2  # the soft edge just outside the cut-off is part of the subject's look
    np.testing.assert_array_equal(largest[edge], every[edge])


def test_subjects_are_selected_at_the_threshold_given() -> None:
    image = np.full((128, 128, 3), 128, np.uint8)
    prob = _small_above_big()
    prob[20:60, 4:44] *= 0.4 / 0.9  # the big subject is faint: 0.4, still a subject at --threshold 0.3
    alpha = compute_alpha(image, prob, SplashOptions(threshold=0.3, keep="largest", refine=False)).alpha
    assert alpha[60:100, 30:70].min() > 0.5 and alpha[8:24, 80:96].max() == 0


def test_a_point_on_the_right_or_bottom_border_is_outside() -> None:
    from colorsplash.runtime.alpha import check_point

    check_point((199, 119), 200, 120)
    for point in ((200, 10), (10, 120)):
        with pytest.raises(ValueError, match="outside the 200x120 photo"):
            check_point(point, 200, 120)


def test_photos_get_the_matte_edge_stage_by_default() -> None:
    from colorsplash.runtime.alpha import plan_alpha

    image = np.full((48, 64, 3), 128, np.uint8)
    prob = np.zeros((32, 32), np.float32)
    prob[8:24, 8:24] = 0.9
    assert plan_alpha((48, 64), prob, image, SplashOptions()).guide_is_rgb  # edges=auto: matte for a photo
    assert not plan_alpha((48, 64), prob, image, SplashOptions(edges="fast")).guide_is_rgb


def test_large_feather_runs_on_a_reduced_copy_with_the_same_look() -> None:
    x = np.zeros((200, 300), np.float32)
    x[50:150, 100:200] = 1.0
    fast, exact = smooth(x, 30.0), cv2.GaussianBlur(x, (0, 0), 30.0, borderType=cv2.BORDER_REFLECT)
    assert fast.shape == x.shape and np.abs(fast - exact).max() < 0.03


def test_helpers() -> None:
    assert work_size(3000, 4000, 1024) == (750, 1000)  # a whole divisor: OpenCV's fast area resize
    assert work_size(4000, 6000, 1024) == (500, 750)
    assert work_size(3001, 4001, 1024) == (768, 1024)
    assert work_size(10, 20000, 1024) == (1, 1024)
    assert work_size(5, 5, 1024) == (5, 5)
    # No whole divisor that loses more than 30 % of the side: a 1000x750 copy reduced for a 400 px matte stays
    # 400 px (the divisor 5 gave 200 px, half the detail asked for).
    assert work_size(750, 1000, 400) == (300, 400)
    assert alpha_to_uint8(np.array([[0.0, 0.5, 1.0]], np.float32)).tolist() == [[0, 128, 255]]


# ---------------------------------------------------------------- issue 16 item 17: effect strength, one spelling


def at_alpha_zero(image: np.ndarray, effect: str) -> np.ndarray:
    return apply_effect(image, np.zeros(image.shape[:2], np.float32), effect).astype(np.float32)


def test_grey_amount_is_partial_desaturation() -> None:
    image, _ = make_blob_image(40, 60, seed=4)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    for amount in (0.0, 0.25, 0.7):
        expected = amount * grey + (1 - amount) * image
        assert np.abs(at_alpha_zero(image, f"grey:{amount}") - expected).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "grey:1"), at_alpha_zero(image, "grey"))  # plain grey: today's look
    assert np.array_equal(at_alpha_zero(image, "grey:0"), image)


def test_dim_amount_darkens_and_plain_dim_keeps_its_look() -> None:
    image, _ = make_blob_image(40, 60, seed=5)
    for amount in (0.0, 0.3, 1.0):
        assert np.abs(at_alpha_zero(image, f"dim:{amount}") - (1 - amount) * image).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "dim"), at_alpha_zero(image, "dim:0.6"))


def test_blur_radius_is_the_gaussian_sigma_and_plain_blur_scales_with_the_photo() -> None:
    image, _ = make_blob_image(60, 80, seed=6)
    roughness = [np.abs(np.diff(at_alpha_zero(image, f"blur:{r}"), axis=1)).mean() for r in (0.5, 2, 8)]
    assert roughness[0] > roughness[1] > roughness[2]  # a larger radius, a smoother background
    assert np.array_equal(at_alpha_zero(image, "blur"), at_alpha_zero(image, "blur:2"))  # 80 px: sigma max(2, 1.2)
    big = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)  # 320 px long side: plain blur = sigma 4.8
    assert np.array_equal(at_alpha_zero(big, "blur"), at_alpha_zero(big, "blur:4.8"))


def test_color_alpha_is_the_colour_opacity_over_the_grey() -> None:
    image, _ = make_blob_image(40, 60, seed=7)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    colour = np.array([255, 128, 0], np.float32)
    half = at_alpha_zero(image, "color:#FF800080")
    assert np.abs(half - (128 / 255 * colour + (1 - 128 / 255) * grey)).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "color:#ff8000ff"), at_alpha_zero(image, "color:#ff8000"))
    assert np.array_equal(at_alpha_zero(image, "color:#ff800000"), grey)  # fully see-through: the grey


def test_effect_names_are_parsed_once_the_same_everywhere() -> None:
    from colorsplash.runtime.options import options_from_mapping, parse_effect_spec

    assert SplashOptions(effect=" Gray:0.5 ").effect == "grey:0.5"
    assert options_from_mapping({"effect": "colour:FF8000"}).effect == "color:#ff8000"
    assert options_from_mapping({"effect": "color:#FF800080"}).effect == "color:#ff800080"
    assert SplashOptions(effect="blur:12").effect_spec == parse_effect_spec("blur:12")
    assert parse_effect_spec("dim:0.25").amount == 0.25 and parse_effect_spec("dim").amount is None
    for bad in ("grey:2", "dim:-0.1", "blur:0", "blur:nan", "sepia:0.5", "transparent:1", "color:red", "purple"):
        with pytest.raises(ValueError):
            apply_effect(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), bad)


def test_blend_uses_given_subject_and_background_colours() -> None:
    image, _ = make_blob_image(40, 50, seed=4)
    fg = np.zeros_like(image)
    fg[...] = (200, 100, 50)
    bg = np.zeros_like(image)
    bg[..., 0] = 100
    grey_photo = luma(image).astype(np.float32)[..., None]
    fg_chroma = np.array([200, 100, 50], np.float32) - (0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    for a in (0.0, 0.25, 1.0):
        alpha = np.full(image.shape[:2], a, np.float32)
        out = apply_effect(image, alpha, "grey", fg, bg).astype(np.float32)
        # Grey: the photo's own brightness plus alpha of F's colour (B is not read: grey_keeping_luma)
        assert np.abs(out - np.clip(grey_photo + a * fg_chroma, 0, 255)).max() <= 1.0
        dimmed = apply_effect(image, alpha, "dim:0.5", fg, bg).astype(np.float32)
        expected = a * np.array([200, 100, 50], np.float32) + (1 - a) * np.array([50, 0, 0], np.float32)
        assert np.abs(dimmed - expected).max() <= 1.0  # other effects: alpha F + (1 - alpha) effect(B)
    cutout = apply_effect(image, np.full(image.shape[:2], 0.5, np.float32), "transparent", fg, bg)
    assert np.array_equal(cutout[..., :3], fg) and np.all(np.abs(cutout[..., 3].astype(int) - 128) <= 1)
    with pytest.raises(ValueError, match="foreground"):
        apply_effect(image, np.zeros(image.shape[:2], np.float32), "grey", fg[:10], bg)


def _window_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Reference for the edge stage's box means: the (2r+1)^2 window average with mirrored borders, in float64."""
    padded = np.pad(x.astype(np.float64), r, mode="symmetric")
    h, w = x.shape
    k = 2 * r + 1
    return sum(padded[dy : dy + h, dx : dx + w] for dy in range(k) for dx in range(k)) / (k * k)


@pytest.mark.parametrize("r", [1, 4])
def test_box_means_match_a_plain_window_average(r: int) -> None:
    from colorsplash.runtime.guided import box_mean

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
    from colorsplash.runtime.guided import colour_alpha

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
    from colorsplash.runtime.alpha import RefineSettings, finish_alpha, photo_guide, plan_alpha
    from colorsplash.runtime.guided import colour_target, guided_coefficients, refine_full

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
    from colorsplash.runtime.alpha import RefineSettings
    from colorsplash.runtime.guided import colour_alpha, colour_target

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


def test_no_subject_line_names_the_cut_off_when_it_alone_left_the_photo_empty() -> None:
    """`--threshold 1` used to say "no subject found (max probability 1.00, subject score 1.00)": a contradiction."""
    from colorsplash.runtime.alpha import compute_alpha
    from colorsplash.runtime.no_subject import apply_on_empty
    from colorsplash.runtime.options import SplashOptions
    from colorsplash.runtime.wording import Wording

    image = np.full((40, 60, 3), 128, np.uint8)
    prob = np.zeros((32, 32), np.float32)
    prob[8:24, 8:24] = 0.97
    sure = compute_alpha(image, prob, SplashOptions(threshold=0.99, refine=False), presence=(0.9, 0.5))
    assert sure.empty and sure.cutoff == 0.99
    assert "no pixel reaches the cut-off 0.99 (highest 0.97), lower --threshold" in (
        apply_on_empty(sure, "grey", "a.jpg", words=Wording(spelling="cli")) or ""
    )
    unsure = compute_alpha(image, prob, SplashOptions(threshold=0.99, refine=False), presence=(0.2, 0.5))
    assert unsure.empty and unsure.cutoff is None  # the score failed: the cut-off is not the reason
    assert "cut-off" not in (apply_on_empty(unsure, "grey", "a.jpg") or "")


def test_decontaminated_grey_keeps_the_photos_brightness_and_never_changes_a_grey_photo() -> None:
    """Blending estimated F and grey(B) moved the edge band's brightness by over 10 levels on a quarter of its
    pixels (a white floor beside a tail greyed) and changed greyscale photos (visual audit)."""
    from colorsplash.runtime.effects import grey_keeping_luma
    from colorsplash.runtime.foreground import estimate_colours

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
    from colorsplash.runtime.foreground import share_residual

    smooth_f = np.full((1, 2, 3), 128, np.float32)  # grey fur
    smooth_b = np.zeros((1, 2, 3), np.float32)
    smooth_b[...] = (180, 60, 40)  # red wood
    pixels = np.array([[[141, 115, 112], [90, 140, 150]]], np.uint8)  # 0.75 fur + 0.25 wood; a cyan speck
    alpha = np.full((1, 2), 0.5, np.float32)  # underestimated: blur fusion would remove half wood from the first
    fg, _ = share_residual(pixels, alpha, smooth_f, smooth_b)
    toward = smooth_b[0, 0] - smooth_f[0, 0]
    assert float((fg[0, 0].astype(np.float32) - 128) @ toward) >= -1.0 * float(toward @ toward) ** 0.5  # not past fur
    assert fg[0, 1, 0] < fg[0, 1, 2]  # a genuinely cyan part stays cyan-ish: only the overshoot is cut


def test_a_point_overrules_the_photo_level_subject_gate() -> None:
    """A cat behind wire scored 0.64 against the gate's 0.655: all grey, and clicking on it did not help (audit)."""
    image = np.full((40, 60, 3), 128, np.uint8)
    prob = np.zeros((32, 32), np.float32)
    prob[8:24, 16:30] = 0.9
    gated = compute_alpha(image, prob, SplashOptions(refine=False), presence=(0.3, 0.5))
    assert gated.empty
    pointed = compute_alpha(image, prob, SplashOptions(refine=False, point=(40, 20)), presence=(0.3, 0.5))
    assert not pointed.empty and pointed.alpha[20, 40] > 0.5 and pointed.alpha[20, 5] == 0
    nothing = compute_alpha(image, np.zeros((32, 32), np.float32), SplashOptions(point=(40, 20)), presence=(0.3, 0.5))
    assert nothing.empty  # the pixel cut-off still decides: no pixel of a subject, nothing to colour


def test_the_fused_bands_subject_colour_stays_in_range() -> None:
    """The fused band took F unclipped while the general path saturates it: colours too strong (review)."""
    from colorsplash.runtime.foreground import subject_colour

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
    from colorsplash.runtime.foreground import share_residual

    smooth_f = np.full((1, 1, 3), (200, 50, 50), np.float32)
    smooth_b = np.full((1, 1, 3), (50, 50, 200), np.float32)
    residual = np.array([10, 20, 10], np.float32)  # across F - B: nothing to cut
    pixels = (0.2 * smooth_f + 0.8 * smooth_b + residual).astype(np.uint8)  # (90, 70, 180)
    fg, bg = share_residual(pixels, np.full((1, 1), 0.2, np.float32), smooth_f, smooth_b)
    assert fg[0, 0].tolist() == [202, 54, 52]
    assert bg is not None and bg[0, 0].tolist() == [58, 66, 208]
