"""Masks users bring, second pass: the notes of a run's reading (EXIF-turned photos) said once per run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers.layouts import make_paired_set
from PIL import Image


def test_orientation_warning_is_said_once_for_a_runs_training_and_validation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """train reads its training and validation photos in two passes: each said its own warning about photos whose
    masks' orientation cannot be told, so a run printed it twice. Now one warning names them all."""
    pytest.importorskip("torch")
    from colorsplash.runtime.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    make_paired_set(tmp_path, n=4)
    exif = Image.Exif()
    exif[0x0112] = 3  # shown turned 180 degrees: a mask's shape cannot tell how it was drawn
    for i in range(4):
        photo = tmp_path / "images" / f"p{i}.png"
        Image.open(photo).convert("RGB").save(photo.with_suffix(".jpg"), exif=exif)
        photo.unlink()
    (tmp_path / "splits.tsv").write_text("p0\ttrain\np1\ttrain\np2\tval\np3\tval\n")
    caplog.set_level(logging.WARNING)
    prepare_data(TrainConfig(data=(str(tmp_path),)), ModelConfig(input_size=32), show_progress=False)
    warnings = [r.getMessage() for r in caplog.records if "EXIF orientation" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("4 photo(s) are shown turned") and "p0.jpg" in warnings[0] and "p3.jpg" in warnings[0]
