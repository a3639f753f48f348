"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from colorsplash.evaluation.metrics import (
    IGNORE,
    SEED_THRESHOLDS,
    confusion,
    dice,
    iou,
    mean_iou_thresholds,
    pixel_accuracy,
)

# Valid pixels (prob, truth): (.93, 1) (.40, 1) (.62, 0) (.10, 0) (.72, 1); the .80 pixel is ignored.
# Probabilities sit away from the thresholds 0.5:0.95:0.05 so no comparison is a float tie.
PROB = np.array([[0.93, 0.40, 0.62], [0.10, 0.80, 0.72]], np.float32)
TRUTH = np.array([[1, 1, 0], [0, IGNORE, 1]], np.uint8)


def test_confusion_iou_dice_accuracy_by_hand() -> None:
    # At 0.5: predicted 1 0 1 / 0 _ 1 -> tp 2 (.93, .72), fp 1 (.62), fn 1 (.40), tn 1 (.10).
    assert confusion(PROB, TRUTH) == (2, 1, 1, 1)
    assert iou(PROB, TRUTH) == pytest.approx(2 / 4)
    assert dice(PROB, TRUTH) == pytest.approx(4 / 6)
    assert pixel_accuracy(PROB, TRUTH) == pytest.approx(3 / 5)
    # At 0.7: only .93 and .72 -> tp 2, fp 0, fn 1, tn 2.
    assert iou(PROB, TRUTH, 0.7) == pytest.approx(2 / 3)
    assert dice(PROB, TRUTH, 0.7) == pytest.approx(4 / 5)
    assert pixel_accuracy(PROB, TRUTH, 0.7) == pytest.approx(4 / 5)


def test_seed_mean_iou_over_thresholds_by_hand() -> None:
    assert SEED_THRESHOLDS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    # Per threshold, (foreground IoU + background IoU) / 2:
    #   0.50-0.60 (3x): tp2 fp1 fn1 tn1 -> (2/4 + 1/3) / 2 = 5/12
    #   0.65-0.70 (2x): tp2 fp0 fn1 tn2 -> (2/3 + 2/3) / 2 = 2/3
    #   0.75-0.90 (4x): tp1 fp0 fn2 tn2 -> (1/3 + 2/4) / 2 = 5/12
    #   0.95      (1x): tp0 fp0 fn3 tn2 -> (0 + 2/5) / 2   = 1/5
    expected = (3 * 5 / 12 + 2 * 2 / 3 + 4 * 5 / 12 + 1 / 5) / 10
    assert expected == pytest.approx(0.445)
    assert mean_iou_thresholds(PROB, TRUTH) == pytest.approx(expected)


def test_ignored_pixels_do_not_count() -> None:
    other = PROB.copy()
    other[1, 1] = 0.0  # the ignored pixel's prediction flips; no score may move
    for fn in (iou, dice, pixel_accuracy, mean_iou_thresholds):
        assert fn(other, TRUTH) == pytest.approx(fn(PROB, TRUTH))
    # Counting it as subject instead would change the scores: the ignore rule is what keeps them equal.
    counted = TRUTH.copy()
    counted[1, 1] = 1
    assert iou(other, counted) != pytest.approx(iou(PROB, TRUTH))


def test_binary_predictions_and_edge_cases() -> None:
    pred = PROB >= 0.5
    assert iou(pred, TRUTH) == pytest.approx(0.5)
    empty = np.zeros((3, 3), np.uint8)
    assert iou(np.zeros((3, 3)), empty) == 1.0 and dice(np.zeros((3, 3)), empty) == 1.0
    assert iou(np.ones((3, 3)), empty) == 0.0 and pixel_accuracy(np.ones((3, 3)), empty) == 0.0
    all_ignored = np.full((2, 2), IGNORE, np.uint8)
    assert pixel_accuracy(np.ones((2, 2)), all_ignored) == 1.0
    with pytest.raises(ValueError, match="same shape"):
        iou(np.zeros((2, 3)), np.zeros((3, 2), np.uint8))


def test_paired_bootstrap_separates_a_real_shift_from_noise() -> None:
    from colorsplash.evaluation.metrics import paired_bootstrap

    rng = np.random.default_rng(1)
    base = rng.uniform(0.5, 1.0, 200)  # photos of very different difficulty
    assert paired_bootstrap(base, base) == (0.0, 0.0, 0.0)
    mean, low, high = paired_bootstrap(base, base + 0.01)
    assert mean == pytest.approx(0.01) and low == pytest.approx(0.01) and high == pytest.approx(0.01)
    # a small real gain on every photo, plus per-photo noise: the interval excludes 0, although the two sets'
    # means differ by far less than the spread of the photos' scores
    mean, low, high = paired_bootstrap(base, base + 0.01 + rng.normal(0, 0.02, 200))
    assert 0.0 < low < mean < high and high - low < 0.01
    # noise alone: the interval holds 0
    mean, low, high = paired_bootstrap(base, base + rng.normal(0, 0.02, 200))
    assert low < 0.0 < high
    noisy = base + rng.normal(0, 0.02, 200)
    assert paired_bootstrap(base, noisy, seed=3) == paired_bootstrap(base, noisy, seed=3)  # seeded
    assert paired_bootstrap(base, noisy, seed=3)[1:] != paired_bootstrap(base, noisy, seed=4)[1:]


def test_paired_bootstrap_refuses_unpaired_scores() -> None:
    from colorsplash.evaluation.metrics import paired_bootstrap

    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap([0.5, 0.6], [0.5])
    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap([], [])
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap([0.5], [0.6], level=1.0)
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap([0.5], [0.6], level=0.0)  # an interval of width 0, the median alone
    with pytest.raises(ValueError, match="equally long"):
        paired_bootstrap(np.zeros((2, 2)), np.zeros((2, 2)))  # a table, not one score per photo


def test_a_mask_with_a_trimap_border_still_scores() -> None:
    """Only a mask all border (all IGNORE) scores nothing; an Oxford trimap's border band leaves the rest scored."""
    from colorsplash.evaluation.metrics import scores_any

    assert scores_any(TRUTH) and scores_any(np.zeros((2, 2), np.uint8))
    assert not scores_any(np.full((2, 2), IGNORE, np.uint8))


def test_a_probability_at_the_threshold_counts_as_subject() -> None:
    """The same rule as the splash's cut-off (``alpha >= threshold``)."""
    truth = np.array([[1, 0]], np.uint8)
    assert confusion(np.array([[0.5, 0.25]], np.float32), truth) == (1, 0, 0, 1)
    assert iou(np.array([[0.75, 0.7]], np.float32), truth, 0.75) == 1.0


def test_a_perfect_full_frame_subject_scores_one() -> None:
    """No background pixel anywhere, none predicted: the background's IoU is empty-vs-empty, a perfect 1."""
    full = np.ones((4, 4), np.uint8)
    assert mean_iou_thresholds(np.ones((4, 4), np.float32), full) == 1.0


def test_shapes_must_match_exactly() -> None:
    with pytest.raises(ValueError, match="same shape"):
        iou(np.zeros((2, 3)), np.zeros((2, 4), np.uint8))


def test_paired_bootstrap_interval_has_the_level_asked_for() -> None:
    """Half the photos gain 1, half nothing: the mean gain is 0.5 with standard error 0.05, so the 95 % interval
    is about 0.5 +- 1.96 * 0.05 and the 80 % one about 0.5 +- 1.28 * 0.05."""
    from colorsplash.evaluation.metrics import paired_bootstrap

    before = np.zeros(100)
    after = np.repeat([0.0, 1.0], 50)
    for level, z in ((0.95, 1.96), (0.8, 1.28)):
        mean, low, high = paired_bootstrap(before, after, level=level)
        assert mean == 0.5 and high - low == pytest.approx(2 * z * 0.05, rel=0.08)
    with pytest.raises(ValueError, match="rounds"):
        paired_bootstrap([0.5], [0.6], rounds=0)
