"""Hostile environments (environment audit D2, D3, D8, D10): no home folder, a damaged variant cache, model files
whose config or graph is wrong, standard streams closed. Every model and file here is generated."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime import onnx_model as infer
from colorsplash.runtime import variants as var
from colorsplash.runtime.config import ModelConfig

AVX2 = cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx", "avx2", "fma"), 2)
DEEP_JSON = "[" * 200_000 + "]" * 200_000  # json.loads raises RecursionError


@pytest.fixture
def no_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``$HOME``, no passwd entry for this uid and no cache variables: ``Path.home()`` raises."""
    if sys.platform == "win32":
        pytest.skip("POSIX home lookup")
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    for name in ("HOME", cpu_mod.CACHE_ENV, "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.setattr(var, "_noted_no_cache", False, raising=False)
    with pytest.raises(RuntimeError):
        Path.home()


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[var.Variant]:
    """Two variants (int8, fp32) of a stand-in model on an AVX2 test CPU; no real session or benchmark runs
    unless a test allows it."""
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    found = []
    for kind, precision in (("int8", "int8"), ("fp32", "float32")):
        path = tmp_path / f"m.{kind}.onnx"
        path.write_bytes(kind.encode())
        found.append(var.Variant(path, ModelConfig(precision=precision)))
    return found


def no_session(path: Path) -> object:
    raise AssertionError(f"a session was made for {path}")


# ------------------------------------------------------------------------------------------------ D2: no home


def test_cache_dir_without_home_is_none(no_home: None) -> None:
    assert cpu_mod.cache_dir() is None


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG is the Linux rule")
def test_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(cpu_mod.CACHE_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert cpu_mod.cache_dir() == tmp_path / ".cache" / "colorsplash"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cpu_mod.cache_dir() == tmp_path / "xdg" / "colorsplash"


def test_no_home_falls_back_to_the_rule_with_one_line(
    no_home: None, pair: list[var.Variant], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(var, "benchmark_choice", lambda *a: pytest.fail("benchmark ran without a cache"))
    with caplog.at_level(logging.INFO, logger=var.__name__):
        for _ in range(3):
            chosen, session = var.choose_auto(pair, no_session, "1.0")
            assert (chosen.kind, session) == ("int8", None)  # the rule on AVX2
    lines = [r for r in caplog.records if r.name == var.__name__]
    assert len(lines) == 1 and "no folder for the model variant cache" in lines[0].getMessage()
    assert cpu_mod.CACHE_ENV in lines[0].getMessage() and "--precision" in lines[0].getMessage()


def test_benchmark_off_never_asks_for_the_cache_folder(
    pair: list[var.Variant], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var.BENCHMARK_ENV, "0")
    monkeypatch.setattr(var, "cache_dir", lambda: pytest.fail("cache folder looked up"))
    chosen, session = var.choose_auto(pair, no_session, "1.0")
    assert (chosen.kind, session) == ("int8", None)


def test_cli_runs_without_a_home_folder(no_home: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled model (two variants) loads with no home folder: the rule picks, nothing is cached."""
    monkeypatch.setattr(infer, "_cache", {})
    Image.new("RGB", (40, 30), (200, 120, 40)).save(tmp_path / "a.png")
    assert main(["-q", "splash", str(tmp_path / "a.png"), "--on-empty", "copy"]) == 0
    assert (tmp_path / "a.splash.png").is_file()


# ------------------------------------------------------------------------------------------------ D3: bad cache


@pytest.mark.parametrize("choice", [[], {"a": 1}, 5, None])
def test_non_string_cached_choice_is_measured_again(
    pair: list[var.Variant], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, choice: object
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    key = var.cache_key(pair, AVX2, "1.0")
    (folder / var.CACHE_FILE).write_text(json.dumps({key: {"choice": choice}, "other": {"choice": "int8"}}))
    _measure_and_check(pair, monkeypatch, folder, key)
    assert "other" in json.loads((folder / var.CACHE_FILE).read_text())  # the rest of the file is kept


def test_deeply_nested_cache_file_is_measured_again(
    pair: list[var.Variant], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / var.CACHE_FILE).write_text(DEEP_JSON)
    _measure_and_check(pair, monkeypatch, folder, var.cache_key(pair, AVX2, "1.0"))


def _measure_and_check(pair: list[var.Variant], monkeypatch: pytest.MonkeyPatch, folder: Path, key: str) -> None:
    """``choose_auto`` benchmarks (a stand-in picking fp32), and the cache file then holds that choice."""
    monkeypatch.setenv(cpu_mod.CACHE_ENV, str(folder))
    monkeypatch.setattr(var, "benchmark_choice", lambda sessions, size: ("fp32", {"fp32": 1.0, "int8": 2.0}))
    chosen, session = var.choose_auto(pair, lambda path: f"session of {path.name}", "1.0")
    assert (chosen.kind, session) == ("fp32", "session of m.fp32.onnx")
    assert json.loads((folder / var.CACHE_FILE).read_text())[key]["choice"] == "fp32"
    assert var.choose_auto(pair, no_session, "1.0")[0].kind == "fp32"  # read back from the rewritten file
