"""Stopping a model run from another thread (``runtime/model/stopping.py``, the server's departed clients): the switch
reaches ONNX Runtime's ``RunOptions.terminate`` for the runs of the thread it is applied to, a run in progress ends
with ``ModelRunStoppedError``, and without a switch runs are as before."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from colorsplash.runtime.model.onnx_model import bundled_model_path, load_model
from colorsplash.runtime.model.stopping import ModelRunStoppedError, RunStop


def photos(n: int) -> list[np.ndarray]:
    return list(np.random.default_rng(0).integers(0, 256, (n, 120, 160, 3), np.uint8))


def test_a_switch_applied_and_not_set_changes_nothing_and_a_set_one_refuses_the_run(tiny_onnx: Path) -> None:
    model = load_model(tiny_onnx, precision="file")
    plain = model.predict_scored_batch(photos(2))
    stop = RunStop()
    with stop.applied():
        same = model.predict_scored_batch(photos(2))
    assert all(np.array_equal(a, b) for a, b in zip(plain, same, strict=True))
    stop.stop()
    with stop.applied(), pytest.raises(ModelRunStoppedError):
        model.predict_scored_batch(photos(2))
    assert np.array_equal(model.predict_scored_batch(photos(2))[0], plain[0])  # other runs: unaffected


def test_a_run_in_progress_of_the_bundled_int8_model_ends_soon_after_the_switch_is_set() -> None:
    """Eight photos at the model's 384 px take over 100 ms on any CPU; the switch is set 20 ms in."""
    model = load_model(bundled_model_path(), precision="int8")
    stop = RunStop()
    timer = threading.Timer(0.02, stop.stop)
    with stop.applied(), pytest.raises(ModelRunStoppedError):
        timer.start()
        model.predict_scored_batch(photos(8))
    timer.join()


def test_only_the_threads_the_switch_is_applied_to_are_stopped(tiny_onnx: Path) -> None:
    model = load_model(tiny_onnx, precision="file")
    stop = RunStop()
    stop.stop()
    seen: list[Any] = []
    with stop.applied():
        other = threading.Thread(target=lambda: seen.append(model.predict_scored_batch(photos(1))))
        other.start()
        other.join()
    assert len(seen) == 1
