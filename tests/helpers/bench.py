"""The benchmark scripts of ``bench/`` imported as modules, as they import each other when run as scripts."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``bench/<name>.py`` as a module (its ``main`` not run), with ``bench/`` on ``sys.path`` for this test."""
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module(name)
