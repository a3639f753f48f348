"""The benchmark scripts that need ``../shared/data`` say so, and where it goes, when it is missing (they ended in
a ``DataError`` traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.bench import bench_script
from helpers.layouts import save_picture


def test_the_validation_sets_name_the_data_they_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``peers.validation_sets``: what ``peers.py``, ``aspect.py``, ``robustness.py``, ``presence.py`` and
    ``scene_gallery.py`` read their photos from."""
    peers = bench_script("peers", monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        peers.validation_sets(tmp_path / "nowhere", limit=1)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {tmp_path / 'nowhere' / 'feral-cats'}: data folder not found")
    assert "feral-cats and oxford-pets" in message and "--data DIR" in message


def test_a_photo_without_a_mask_is_not_told_to_pass_skip_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The data sets are there but one photo has no mask: the bench scripts take no ``--skip-bad``, and the data is
    not missing, so the exit says what is wrong with the set alone (it said "(or pass --skip-bad)" and that the
    benchmark needs the shared data sets, put at DIR)."""
    peers = bench_script("peers", monkeypatch)
    for name in ("a", "b"):
        save_picture(tmp_path / "feral-cats" / "images" / f"{name}.png", np.zeros((8, 8, 3), np.uint8))
    save_picture(tmp_path / "feral-cats" / "masks" / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit) as exit_info:
        peers.validation_sets(tmp_path, limit=1)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {tmp_path / 'feral-cats' / 'images'}: 1 photo(s) without a mask")
    assert message.endswith("add the masks or remove the photos")
    assert "--skip-bad" not in message and "needs the shared data" not in message
