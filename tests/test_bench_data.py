"""The benchmark scripts that need ``../shared/data`` say so, and where it goes, when it is missing (they ended in
a ``DataError`` traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.bench import bench_script


def test_the_validation_sets_name_the_data_they_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``peers.validation_sets``: what ``peers.py``, ``aspect.py``, ``robustness.py``, ``presence.py`` and
    ``scene_gallery.py`` read their photos from."""
    peers = bench_script("peers", monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        peers.validation_sets(tmp_path / "nowhere", limit=1)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {tmp_path / 'nowhere' / 'feral-cats'}: data folder not found")
    assert "feral-cats and oxford-pets" in message and "--data DIR" in message
