"""The strip loop behind the blends, the matte's full-size alpha and the colour estimates
(:mod:`colorsplash.runtime.edges.strips`): every row worked exactly once, on the cores the process may use."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest

from colorsplash.runtime.edges.strips import STRIP_ROWS, in_row_strips


@pytest.mark.parametrize("height", [1, STRIP_ROWS - 1, STRIP_ROWS, STRIP_ROWS + 1, 3 * STRIP_ROWS + 1])
@pytest.mark.parametrize("parallel_pixels", [1, 1 << 40])
def test_every_row_is_worked_exactly_once(height: int, parallel_pixels: int) -> None:
    """A picture one row past a whole number of strips keeps its last row (serial and threaded)."""
    seen = np.zeros(height, np.int32)
    lock = threading.Lock()

    def work(rows: slice) -> None:
        with lock:
            seen[rows] += 1

    in_row_strips((height, 8), work, parallel_pixels=parallel_pixels)
    assert (seen == 1).all()


def test_a_large_picture_is_worked_in_threads_on_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the pixel threshold with two usable cores, the strips run in the pool, not all on the caller's thread
    (the blend of a 20 MP photo would take twice as long on two cores)."""
    monkeypatch.setattr(cv2, "getNumThreads", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    names: set[str] = set()
    in_row_strips((2048, 1024), lambda rows: names.add(threading.current_thread().name), name="tstrip")
    assert names and all(n.startswith("tstrip") for n in names)
