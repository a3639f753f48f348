"""Shared by the speed-path tests (test_speed_variants.py, test_speed_devices.py): an empty model cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime.model import onnx_model as infer


@pytest.fixture(name="fresh")
def fresh_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No models cached in this process; the per-machine cache in a folder of this test."""
    monkeypatch.setattr(infer, "_cache", {})
    monkeypatch.setenv(cpu_mod.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"
