"""The alpha from the model's map (no model: probabilities are made up): refinement onto the photo's edges,
thresholds, feather, invert, subject selection (largest, a point), the no-subject result, and working sizes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from helpers.composite import two_blobs

from colorsplash.runtime.edges.alpha import alpha_to_uint8, compute_alpha, smooth
from colorsplash.runtime.edges.working import work_size
from colorsplash.runtime.options import SplashOptions


def lowres(mask: np.ndarray, size: int = 32, shift: int = 0) -> np.ndarray:
    """The model's view of a 0/1 mask: area-resized to ``size`` px, optionally shifted, a little blurred."""
    low = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    low = np.roll(low, shift, axis=1)
    return cv2.GaussianBlur(low, (0, 0), 0.6)


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
    from colorsplash.runtime.edges.alpha import check_point

    check_point((199, 119), 200, 120)
    for point in ((200, 10), (10, 120)):
        with pytest.raises(ValueError, match="outside the 200x120 photo"):
            check_point(point, 200, 120)


def test_photos_get_the_matte_edge_stage_by_default() -> None:
    from colorsplash.runtime.edges.alpha import plan_alpha

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


def test_no_subject_line_names_the_cut_off_when_it_alone_left_the_photo_empty() -> None:
    """`--threshold 1` used to say "no subject found (max probability 1.00, subject score 1.00)": a contradiction."""
    from colorsplash.runtime.edges.alpha import compute_alpha
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


def test_a_score_just_under_the_threshold_never_reads_as_the_threshold() -> None:
    """Audit (custom subject 2): a model without a presence output scored a photo 0.4994 against its threshold 0.5
    and said "no food found in x.jpg (subject score 0.50)", as if the score had passed: scores round down."""
    from colorsplash.runtime.edges.alpha import compute_alpha
    from colorsplash.runtime.no_subject import apply_on_empty
    from colorsplash.runtime.options import SplashOptions
    from colorsplash.runtime.wording import Wording

    prob = np.full((32, 32), 0.4994, np.float32)
    result = compute_alpha(np.full((40, 60, 3), 128, np.uint8), prob, SplashOptions(refine=False), presence=None)
    assert result.empty and result.cutoff is None
    line = apply_on_empty(result, "grey", "x.jpg", words=Wording("food", "cli")) or ""
    assert line.startswith("no food found in x.jpg (subject score 0.49, under the model's 0.50);"), line
    from colorsplash.runtime.no_subject import score_text

    assert [score_text(s) for s in (0.0, 0.29, 0.2, 0.38071, 0.99999, 1.0)] == [
        "0.00",
        "0.29",
        "0.20",
        "0.38",
        "0.99",
        "1.00",
    ]
    # The HTTP API's header, four places: 0.49996 under a threshold of 0.5 read "0.5000"
    assert score_text(0.49996, 4) == "0.4999" and score_text(0.5, 4) == "0.5000"
    # A broken model's NaN score: the header and the line said "nan" before rounding down, then raised (HTTP 500)
    assert score_text(float("nan"), 4) == "nan" and score_text(float("inf")) == "inf"


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
