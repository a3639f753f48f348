"""The validation IoU that picks ``best.pt`` with ``--negatives``: a plain mean over the validation photos let the
negatives outnumber the subject photos (a seeded quarter of 30 negatives against 4 of 29 subject photos), so a
model that coloured nothing scored 0.67, best of its run, and ``best.pt`` found no subject on any photo. The
negatives weigh a quarter of it together, as in a training epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_disc_sets

pytest.importorskip("torch")

from colorsplash.runtime.model.config import default_model_config  # noqa: E402
from colorsplash.training import steps  # noqa: E402
from colorsplash.training.config import TrainConfig  # noqa: E402


def test_a_model_colouring_nothing_does_not_validate_best_for_its_many_negatives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    discs, bare = make_disc_sets(tmp_path, 12, 32, 32)
    cfg = TrainConfig(data=(str(discs),), negatives=(str(bare),), val_fraction=0.4, out_dir=str(tmp_path / "run"))
    data = steps.prepare_data(cfg, default_model_config("unet", 32), show_progress=False, report=False)
    masks = data.val.masks
    negatives = [i for i, m in enumerate(masks) if not (m == 1).any()]
    assert 0 < len(negatives) < len(masks)  # both kinds validate
    nothing = np.zeros(masks.shape[1:], np.float32)
    monkeypatch.setattr(steps, "predict_batches", lambda *args: iter([(nothing, 0.5, None)] * len(masks)))
    assert steps.validate(None, data.val, cfg, None)[0] == pytest.approx(0.25)  # type: ignore[arg-type]


def test_without_negatives_the_validation_iou_is_the_plain_mean() -> None:
    from colorsplash.training.torch_dataset import validation_iou

    assert validation_iou([(0.5, False), (1.0, False)]) == 0.75
    assert validation_iou([(1.0, True), (0.0, True)]) == 0.5
    assert validation_iou([(0.4, False), (1.0, True), (1.0, True)]) == pytest.approx(0.55)
