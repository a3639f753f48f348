"""Losses: values by hand on tiny masks, ignored pixels, gradients."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from colorsplash.training.losses import IGNORE, lovasz_hinge_loss, segmentation_loss, soft_dice_loss  # noqa: E402


def _square_target() -> torch.Tensor:
    target = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    target[:, :, 2:6, 2:6] = 1
    return target


def test_lovasz_hinge_by_hand() -> None:
    target = _square_target()
    right = torch.where(target == 1, 5.0, -5.0)
    assert lovasz_hinge_loss(right, target).item() == pytest.approx(0.0)
    # Every pixel wrong by a margin of 5: hinge error 6 on the worst pixel, and the Jaccard gradient sums to 1.
    assert lovasz_hinge_loss(-right, target).item() == pytest.approx(6.0)
    # Undecided logits (0): every error is 1, so the loss is the Jaccard loss of predicting nothing, 1.
    assert lovasz_hinge_loss(torch.zeros(2, 1, 8, 8), target).item() == pytest.approx(1.0)


def test_lovasz_ignores_pixels_and_gives_gradients() -> None:
    target = _square_target()
    logits = torch.where(target == 1, 5.0, -5.0)
    target[:, :, 0, :] = IGNORE
    logits[:, :, 0, :] = 50.0  # confidently wrong, but unscored
    assert lovasz_hinge_loss(logits, target).item() == pytest.approx(0.0)
    x = torch.zeros(2, 1, 8, 8, requires_grad=True)
    lovasz_hinge_loss(x, target).backward()
    assert x.grad is not None
    assert (x.grad[target == 1] < 0).all()  # raising a subject pixel's logit lowers the loss


def test_segmentation_loss_adds_its_terms() -> None:
    target = _square_target()
    logits = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    plain = segmentation_loss(logits, target)
    assert segmentation_loss(logits, target, dice_weight=0.5).item() == pytest.approx(
        plain.item() + 0.5 * soft_dice_loss(logits, target).item(), rel=1e-6
    )
    assert segmentation_loss(logits, target, lovasz_weight=2.0).item() == pytest.approx(
        plain.item() + 2.0 * lovasz_hinge_loss(logits, target).item(), rel=1e-6
    )


def _ignored_top_row() -> torch.Tensor:
    target = _square_target()
    target[:, :, 0, :] = IGNORE  # 8 of the 64 pixels are not scored
    return target


def test_bce_by_hand_ignores_unscored_pixels() -> None:
    from colorsplash.training.losses import bce_loss

    target = _ignored_top_row()
    logits = torch.zeros(2, 1, 8, 8)
    logits[:, :, 0, :] = 50.0  # confidently wrong, but unscored
    assert bce_loss(logits, target).item() == pytest.approx(math.log(2.0))  # undecided on every scored pixel


def test_soft_dice_by_hand_ignores_unscored_pixels() -> None:
    target = _ignored_top_row()
    # Undecided logits (p = 0.5) on 56 scored pixels, 16 of them subject: (2 * 8 + 1) / (28 + 16 + 1).
    assert soft_dice_loss(torch.zeros(2, 1, 8, 8), target).item() == pytest.approx(1 - 17 / 45)
    assert soft_dice_loss(torch.where(target == 1, 20.0, -20.0), target).item() == pytest.approx(0.0, abs=1e-6)


def test_presence_targets_and_loss_by_hand() -> None:
    from colorsplash.training.losses import presence_loss, presence_targets

    target = torch.zeros(4, 1, 32, 32, dtype=torch.uint8)  # 1024 pixels each
    target[1, :, 0, 0] = 1  # one pet pixel (0.1 %): a pet pushed out of the frame, neither label
    target[2, :, :8, :8] = 1  # 6 % pet: has a pet
    target[3] = IGNORE  # nothing scored
    has, weight = presence_targets(target)
    assert has.tolist() == [0.0, 0.0, 1.0, 0.0] and weight.tolist() == [1.0, 0.0, 1.0, 0.0]
    logits = torch.tensor([[0.0], [50.0], [0.0], [-50.0]])  # the weighted-out photos confidently wrong
    assert presence_loss(logits, target).item() == pytest.approx(math.log(2.0))


def test_lovasz_hinge_by_hand_on_a_ranked_image() -> None:
    """Errors 2 (a background pixel at logit 1), 1 (a subject pixel at 0), -1, -2: sorted labels 0 1 1 0 give
    Jaccard losses 1/3, 2/3, 1, 1 after each pixel, so gradient 1/3, 1/3, 1/3, 0 and loss 2/3 + 1/3 = 1."""
    target = torch.tensor([1, 0, 1, 0], dtype=torch.uint8).reshape(1, 1, 1, 4)
    logits = torch.tensor([0.0, 1.0, 2.0, -3.0]).reshape(1, 1, 1, 4)
    assert lovasz_hinge_loss(logits, target).item() == pytest.approx(1.0)


def test_a_batch_with_nothing_scored_has_no_loss_rather_than_nan() -> None:
    """A batch all trimap border (nothing scored) or of photos all weighted out of the presence loss adds 0."""
    from colorsplash.training.losses import bce_loss, presence_loss

    border = torch.full((2, 1, 4, 4), IGNORE, dtype=torch.uint8)
    assert bce_loss(torch.zeros(2, 1, 4, 4), border).item() == 0.0
    assert presence_loss(torch.zeros(2, 1), border).item() == 0.0


def test_a_photo_at_exactly_the_smallest_pet_share_has_a_pet() -> None:
    from colorsplash.training.losses import PRESENCE_MIN_SHARE, presence_targets

    target = torch.zeros(1, 1, 10, 100, dtype=torch.uint8)
    target[0, 0, 0, : round(PRESENCE_MIN_SHARE * 1000)] = 1  # 2 of 1000 pixels: the share itself
    assert [t.tolist() for t in presence_targets(target)] == [[1.0], [1.0]]
    target[0, 0, 0, 1] = 0  # one pixel: a pet pushed out of the frame, neither label
    assert [t.tolist() for t in presence_targets(target)] == [[0.0], [0.0]]
