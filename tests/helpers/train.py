"""Shared by the training tests (test_train_runs.py, test_train_options.py, test_train_cli.py): a tiny data
set, the tiny network's flags and a run's files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from helpers.layouts import make_seed_set

RUN_FILES = {"config.json", "metrics.csv", "curves.png", "overview.png", "val_predictions.png", "best.pt", "last.pt"}
TINY_UNET = ["--arch", "unet", "--unet-base", "4", "--unet-depth", "2"]


@pytest.fixture(scope="module", name="cats")
def cats_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight 72x56 pictures in the seed layout (greyscale JPEG masks); with --val-fraction 0.25 one is held out."""
    root = tmp_path_factory.mktemp("data") / "cats"
    make_seed_set(root, n=8, h=56, w=72)
    return root


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


QUICK = [*TINY_UNET, "--size", "64", "--epochs", "1", "--max-steps", "1", "--val-fraction", "0.25"]
