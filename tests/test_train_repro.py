"""Two training runs with the same seed, data and settings train the same weights, bit for bit, on one machine:
whatever the data loader's worker processes (``-j``), with augmentation, negatives and copy-paste composites on."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import save_picture

torch = pytest.importorskip("torch")

from helpers.train import TINY_UNET, cats_fixture  # noqa: E402,F401 (cats: a fixture pytest finds by name)

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four subject-free 72x56 photos (stripes), for --negatives and the composites pasted onto them."""
    root = tmp_path_factory.mktemp("negatives") / "scenes"
    for i in range(4):
        stripes = np.zeros((56, 72, 3), np.uint8)
        stripes[:, i * 4 :: 16] = (40 * i, 200, 90)
        save_picture(root / f"scene{i}.png", stripes)
    return root


def _train(cats: Path, scenes: Path, out: Path, jobs: int) -> tuple[dict[str, torch.Tensor], list[dict[str, str]]]:
    """A 2-epoch run of the tiny U-Net; returns its last weights and its metrics but the seconds each epoch took."""
    args = [*TINY_UNET, "--size", "64", "--epochs", "2", "--batch-size", "4", "--val-fraction", "0.25"]
    args += [
        "--negatives",
        str(scenes),
        "--no-presence-head",
        "--aug-copy-paste",
        "0.5",
        "--aug-blur",
        "0.3",
        "-j",
        str(jobs),
    ]
    assert main(["train", str(cats), *args, "-q", "-o", str(out)]) == 0
    with (out / "metrics.csv").open() as f:
        rows = [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]
    return read_checkpoint(out / "last.pt")["state_dict"], rows


def test_same_seed_same_weights_whatever_the_loader_workers(cats: Path, scenes: Path, tmp_path: Path) -> None:
    """Each loader worker drew from its own random stream, so ``-j 2`` trained other weights than ``-j 0`` (and
    ``-j 4`` others again) from the same seed: now each photo's draws follow (seed, epoch, photo) alone."""
    first, first_rows = _train(cats, scenes, tmp_path / "a", jobs=0)
    again, again_rows = _train(cats, scenes, tmp_path / "b", jobs=0)
    workers, workers_rows = _train(cats, scenes, tmp_path / "c", jobs=2)
    assert len(first_rows) == 2 and first_rows == again_rows == workers_rows
    for name, weights in first.items():
        assert torch.equal(weights, again[name]), f"{name}: two runs of -j 0 differ"
        assert torch.equal(weights, workers[name]), f"{name}: -j 2 trained other weights than -j 0"
