"""The per-machine cache of the model variant choice (``runtime/model/variants.py``), without torch: what makes a
cached choice stale, and a cached choice this model has no variant for."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime.model import variants as var
from colorsplash.runtime.model.config import ModelConfig

AVX2 = cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx", "avx2", "fma"), 2)


@pytest.fixture
def timed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A fake benchmark (the float variant wins) on a fake CPU, cached under this test's folder: each benchmark
    appends the kinds it timed."""
    calls: list[str] = []

    def fake_benchmark(sessions: dict[str, object], size: int) -> tuple[str, dict[str, float]]:
        calls.append(",".join(sorted(sessions)))
        return "fp32", {"fp32": 1.0, "int8": 2.0}

    monkeypatch.setattr(var, "benchmark_choice", fake_benchmark)
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    monkeypatch.setenv(cpu_mod.CACHE_ENV, str(tmp_path / "cache"))
    return calls


def _family(folder: Path, stem: str = "m") -> list[var.Variant]:
    paths = {"fp32": folder / f"{stem}.onnx", "int8": folder / f"{stem}.int8.onnx"}
    for kind, path in paths.items():
        path.write_bytes(f"weights of the {kind} file of {stem}".encode())
    return [
        var.Variant(paths["fp32"], ModelConfig(input_size=64)),
        var.Variant(paths["int8"], ModelConfig(input_size=64, precision="int8")),
    ]


def test_a_new_onnx_runtime_times_the_variants_again(tmp_path: Path, timed: list[str]) -> None:
    """Which variant is faster changes with ONNX Runtime's kernels: a choice timed under one version is not
    reused under another, and is reused under the same one."""
    variants = _family(tmp_path)
    assert var.choose_auto(variants, lambda path: path, "1.20.0", benchmark=True)[0].kind == "fp32"
    var.choose_auto(variants, lambda path: path, "1.20.0", benchmark=True)
    assert len(timed) == 1
    var.choose_auto(variants, lambda path: path, "1.21.0", benchmark=True)
    assert len(timed) == 2


def test_a_cached_choice_this_model_has_no_variant_of_is_timed_again(tmp_path: Path, timed: list[str]) -> None:
    """A cache entry naming a kind that is not among the variants (written by another version, or edited) is
    measured again and rewritten, never a crash (KeyError) at load."""
    variants = _family(tmp_path)
    key = var.cache_key(variants, AVX2, "1.20.0")
    cache = tmp_path / "cache" / var.CACHE_FILE
    cache.parent.mkdir()
    cache.write_text(json.dumps({key: {"choice": "fp16"}}))
    chosen, session = var.choose_auto(variants, lambda path: path, "1.20.0", benchmark=True)
    assert chosen.kind == "fp32" and session == chosen.path and timed == ["fp32,int8"]
    assert json.loads(cache.read_text())[key]["choice"] == "fp32"


def test_the_choices_of_two_models_are_both_kept(tmp_path: Path, timed: list[str]) -> None:
    """Timing a second model keeps the first one's choice: each is timed once, however the runs alternate."""
    pets, cars = _family(tmp_path, "pets"), _family(tmp_path, "cars")
    for variants in (pets, cars, pets, cars):
        var.choose_auto(variants, lambda path: path, "1.20.0", benchmark=True)
    assert len(timed) == 2


@pytest.mark.parametrize("text", ["[]", '"int8"', "not json {"])
def test_a_cache_file_that_is_not_a_json_object_is_timed_again_and_rewritten(
    tmp_path: Path, timed: list[str], text: str
) -> None:
    """A damaged cache file (a list, a string, not JSON) is never an error at load: measured again, rewritten."""
    variants = _family(tmp_path)
    cache = tmp_path / "cache" / var.CACHE_FILE
    cache.parent.mkdir()
    cache.write_text(text)
    assert var.choose_auto(variants, lambda path: path, "1.20.0", benchmark=True)[0].kind == "fp32"
    assert len(timed) == 1 and [e["choice"] for e in json.loads(cache.read_text()).values()] == ["fp32"]


def test_a_sibling_that_is_a_pipe_or_a_folder_is_not_opened_as_a_variant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Opening a named pipe ``m.live.onnx`` to read its config waits for a writer for good: the model never
    loaded. A pipe or a folder beside the model is said to be no plain file, and left out unread."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    os.mkfifo(tmp_path / "m.live.onnx")
    (tmp_path / "m.old.onnx").mkdir()
    found: list[list[var.Variant]] = []
    finder = threading.Thread(target=lambda: found.append(var.find_variants(model, ModelConfig())), daemon=True)
    finder.start()
    finder.join(timeout=10)
    if not found:  # still blocked in open(): give it a writer so the thread ends
        with open(tmp_path / "m.live.onnx", "wb"):
            pass
        finder.join(timeout=10)
    assert found and [v.path for v in found[0]] == [model]
    for name in ("m.live.onnx", "m.old.onnx"):
        assert f"{tmp_path / name}: not a plain file (a folder, pipe or device); ignored as a variant" in caplog.text
