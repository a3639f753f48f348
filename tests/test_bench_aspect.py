"""``bench/aspect.py``: its data root is the one beside the checkout wherever it runs from (``bench/`` too, as
docs/benchmarks.md runs it), and a photo is gated as ``peers.py`` and ``splash`` gate it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers.bench import bench_script


class _Found(Exception):
    """Stops ``aspect.main`` once it asked for the validation sets."""


def test_the_default_data_root_does_not_depend_on_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aspect = bench_script("aspect", monkeypatch)
    asked: list[Path] = []

    def sets(root: Path, limit: int | None) -> dict[str, list[object]]:
        asked.append(root)
        raise _Found

    monkeypatch.setattr(aspect, "load_model", lambda *a, **k: SimpleNamespace(config=None))
    monkeypatch.setattr(aspect.dataclasses, "replace", lambda *a, **k: object())
    monkeypatch.setattr(aspect, "validation_sets", sets)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(_Found):
        aspect.main(["--pad", "0"])
    assert asked == [bench_script("peers", monkeypatch).DEFAULT_DATA]


@dataclasses.dataclass
class _NoPresenceModel:
    """A model file without a presence output: ``predict_scored`` gives no score (the gate then takes the highest
    probability)."""

    presence_threshold: float = 0.5

    def predict_scored(self, image: np.ndarray) -> tuple[np.ndarray, None]:
        low = np.zeros((8, 8), np.float32)
        low[2:6, 2:6] = 0.9
        return low, None


def test_a_model_without_a_presence_score_is_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    aspect = bench_script("aspect", monkeypatch)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 4:12] = 1
    iou = aspect.score(_NoPresenceModel(), "feral valid", np.zeros((16, 16, 3), np.uint8), mask)
    assert 0.5 < iou <= 1.0
