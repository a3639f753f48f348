"""Training validation of a photo whose mask scores no pixel (all of it a trimap's unscored band, ``IGNORE``): it
counted as IoU 1.0, nothing against nothing, as ``evaluate`` did; it is left out of the validation mean, and said."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")

from colorsplash.evaluation.datasets import Sample  # noqa: E402
from colorsplash.evaluation.folders import DataError  # noqa: E402
from colorsplash.evaluation.metrics import IGNORE  # noqa: E402
from colorsplash.training import steps  # noqa: E402
from colorsplash.training.val_masks import scored_validation  # noqa: E402

SUBJECT = np.zeros((8, 8), np.uint8)
SUBJECT[2:6, 2:6] = 1
BORDER = np.full((8, 8), IGNORE, np.uint8)  # an Oxford trimap all border


def _validate(masks: list[np.ndarray], monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:
    nothing = np.zeros((8, 8), np.float32)  # the network finds nothing: IoU 0 on a scored mask
    monkeypatch.setattr(steps, "predict_batches", lambda *args: iter([(nothing, 0.5, None)] * len(masks)))
    ds = SimpleNamespace(masks=masks, scored_negatives=frozenset())
    return steps.validate(None, ds, None, None)  # type: ignore[arg-type]


def test_validation_leaves_out_a_mask_that_scores_no_pixel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _validate([SUBJECT, BORDER], monkeypatch) == (0.0, 0.5)  # was 0.5: the border photo scored 1.0


def test_validation_with_no_mask_scoring_a_pixel_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="no validation photo's mask leaves a pixel scored"):
        _validate([BORDER], monkeypatch)  # was IoU 1.0


def _split(tmp_path: Path, *masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Sample]]:
    samples = [Sample(tmp_path / f"{i}.jpg", tmp_path / f"{i}.png", "oxford", "pets") for i in range(len(masks))]
    return np.zeros((len(masks), 8, 8, 3), np.uint8), np.stack(masks), samples


def test_the_photos_left_out_are_named_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    train, val = _split(tmp_path, SUBJECT), _split(tmp_path, SUBJECT, BORDER)
    with caplog.at_level(logging.WARNING):
        assert scored_validation(train, val, report=True) is val
    assert "1 validation photo(s) left out of the validation IoU: their masks leave no pixel scored" in caplog.text
    assert "1.png" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        scored_validation(train, val, report=False)  # a stage's later read: said already
    assert not caplog.text


def test_no_validation_mask_scoring_validates_on_training_or_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train, val = _split(tmp_path, SUBJECT), _split(tmp_path, BORDER)
    with caplog.at_level(logging.WARNING):
        assert scored_validation(train, val, report=True) is train
    assert "validating on the training set" in caplog.text
    nothing = _split(tmp_path, BORDER)
    with pytest.raises(DataError, match="nothing to validate on: 0.png; check those masks"):
        scored_validation(nothing, nothing, report=True)


def test_a_run_whose_masks_score_no_pixel_is_refused_before_training(tmp_path: Path) -> None:
    """Every trimap all border: the run validated each epoch at IoU 1.0 and kept its first epoch as best."""
    from helpers.layouts import make_oxford_set, save_picture

    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig

    names = ["Abyssinian_1", "Abyssinian_2", "Bengal_1", "Bengal_2"]
    make_oxford_set(tmp_path, names)
    for name in names:
        save_picture(tmp_path / "trimaps" / f"{name}.png", np.full((30, 40), 3, np.uint8))
    with pytest.raises(DataError, match="nothing to validate on"):
        steps.prepare_data(TrainConfig(data=(str(tmp_path),)), ModelConfig(input_size=32), show_progress=False)


def test_validating_on_training_is_said_once_a_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Review (review2): with no validation mask scoring a pixel, "validating on the training set" was warned at every
    read of the data, the stages' later reads (``report=False``: a recipe's interpolation, torchrun's other ranks)
    too, while the other notes of such masks are said once a run."""
    train, val = _split(tmp_path, SUBJECT), _split(tmp_path, BORDER)
    with caplog.at_level(logging.WARNING):
        assert scored_validation(train, val, report=False) is train
    assert not caplog.text
