"""Issue 17: model variants (float32 and int8 files of one model) chosen per CPU, by a cached benchmark or by
rule, and --precision."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from helpers.speed import fresh_fixture  # noqa: F401 (a fixture: pytest finds it by its name, fresh)

from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.model import variants as var
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY

AVX2 = cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx", "avx2", "fma"), 2)


def write_variant(src: Path, dst: Path, **changes: object) -> Path:
    """A copy of the ONNX file ``src`` whose colorsplash config has ``changes`` (e.g. ``precision="int8"``)."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(src))
    for prop in proto.metadata_props:
        if prop.key == CONFIG_METADATA_KEY:
            data = json.loads(prop.value)
            data.update(changes)
            prop.value = json.dumps(data)
    onnx.save(proto, str(dst))
    return dst


@pytest.fixture
def family(tiny_onnx: Path, tmp_path: Path) -> Path:
    """``m.onnx`` (float32) with an int8-labelled sibling ``m.int8.onnx`` and a stale ``m.old.onnx`` (other
    weights: its name differs)."""
    main_file = tmp_path / "m.onnx"
    main_file.write_bytes(tiny_onnx.read_bytes())
    write_variant(
        tiny_onnx,
        tmp_path / "m.int8.onnx",
        precision="int8",
        training={"metrics": {"val_iou": 0.0}, "int8_calibration": {"images": 4}},
    )
    write_variant(tiny_onnx, tmp_path / "m.old.onnx", precision="int8", name="another-model")
    return main_file


def test_metadata_read_without_a_session(tiny_onnx: Path) -> None:
    session = infer.create_session(tiny_onnx)
    assert var.read_metadata(tiny_onnx) == session.get_modelmeta().custom_metadata_map
    with pytest.raises(ValueError, match="not an ONNX file|truncated"):
        var.read_metadata(Path(__file__))


def test_variants_match_by_config_not_by_name(family: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = var.read_config(family)
    assert config is not None
    found = var.find_variants(family, config)
    assert [(v.path.name, v.kind) for v in found] == [("m.onnx", "fp32"), ("m.int8.onnx", "int8")]
    assert "m.old.onnx: not a variant" in caplog.text


def test_precision_flag_picks_the_variant(family: Path, fresh: Path) -> None:
    assert infer.load_model(family, precision="int8").path.name == "m.int8.onnx"
    assert infer.load_model(family, precision="fp32").path.name == "m.onnx"
    assert infer.load_model(family, precision="file").path.name == "m.onnx"
    (family.parent / "m.int8.onnx").unlink()
    infer._cache.clear()
    with pytest.raises(var.VariantError, match="no int8 variant") as said:
        infer.load_model(family, precision="int8")
    assert f"colorsplash export CHECKPOINT --int8 PHOTOS -o {family.parent / 'm.int8.onnx'}" in str(said.value)


def test_a_missing_float_variant_is_said_with_the_export_that_makes_one(tiny_onnx: Path, tmp_path: Path) -> None:
    """``--precision fp32`` of an int8 file alone said to use ``auto`` and nothing of making a float variant (the
    int8 case named ``colorsplash export``); the name it suggests is one the file's variants are found by."""
    lone = write_variant(
        tiny_onnx,
        tmp_path / "m.onnx",
        precision="int8",
        training={"metrics": {"val_iou": 0.0}, "int8_calibration": {"images": 4}},
    )
    infer._cache.clear()
    with pytest.raises(var.VariantError, match="no fp32 variant") as said:
        infer.load_model(lone, precision="fp32")
    suggested = tmp_path / "m.fp32.onnx"
    assert f"colorsplash export CHECKPOINT -o {suggested}" in str(said.value)
    suggested.write_bytes(tiny_onnx.read_bytes())  # as that export writes it: the same checkpoint, in float
    assert infer.load_model(lone, precision="fp32").path == suggested


def test_auto_benchmarks_once_per_machine_then_uses_the_cache(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_benchmark(sessions: dict[str, object], size: int) -> tuple[str, dict[str, float]]:
        calls.append(size)
        return "fp32", {"fp32": 1.0, "int8": 2.0}

    monkeypatch.setattr(var, "benchmark_choice", fake_benchmark)
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    assert infer.load_model(family).path.name == "m.onnx"
    stored = json.loads((fresh / var.CACHE_FILE).read_text())
    (entry,) = stored.values()
    assert entry["choice"] == "fp32" and "Test CPU" in entry["cpu"] and "avx2" in entry["cpu"]
    infer._cache.clear()
    assert infer.load_model(family).path.name == "m.onnx" and len(calls) == 1  # cached: no second benchmark
    # Another CPU (other flags) is another key: measured again.
    monkeypatch.setattr(var, "cpu_info", lambda: cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx512_vnni",), 2))
    infer._cache.clear()
    infer.load_model(family)
    assert len(calls) == 2


def test_each_thread_count_is_timed_for_itself(family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """int8 and float scale differently with threads: the winner timed with one thread was reused for two-thread
    sessions (``load_model(threads=2)``), and the other way round. Each count is timed once, and kept."""
    calls: list[int] = []
    winners = iter(["int8", "fp32"])

    def fake_benchmark(sessions: dict[str, object], size: int) -> tuple[str, dict[str, float]]:
        calls.append(size)
        return next(winners), {"fp32": 1.0, "int8": 1.0}

    monkeypatch.setattr(var, "benchmark_choice", fake_benchmark)
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    assert infer.load_model(family, threads=1).path.name == "m.int8.onnx"
    assert infer.load_model(family, threads=2).path.name == "m.onnx" and len(calls) == 2
    stored = json.loads((fresh / var.CACHE_FILE).read_text())
    assert sorted(entry["threads"] for entry in stored.values()) == [1, 2]
    infer._cache.clear()
    assert infer.load_model(family, threads=1).path.name == "m.int8.onnx"
    assert infer.load_model(family, threads=2).path.name == "m.onnx" and len(calls) == 2  # both read back


def test_an_unwritable_cache_is_said_once_with_what_to_do(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit (wording): the timing line said "result cached in X", then "could not cache ... in X": two lines that
    contradict each other, and neither said what to do."""
    monkeypatch.setattr(var, "benchmark_choice", lambda sessions, size: ("fp32", {"fp32": 1.0, "int8": 2.0}))
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    fresh.write_text("a file where the cache folder should be")
    caplog.set_level(logging.INFO)
    assert infer.load_model(family).path.name == "m.onnx"
    assert "cached in" not in caplog.text and "kept in" not in caplog.text
    assert f"could not keep the model variant choice in {fresh / var.CACHE_FILE}" in caplog.text
    assert cpu_mod.CACHE_ENV in caplog.text
    fresh.unlink()
    caplog.clear()
    infer._cache.clear()
    infer.load_model(family)
    assert f"chose the fp32 variant (fp32 1.0 ms, int8 2.0 ms); kept in {fresh / var.CACHE_FILE}" in caplog.text


def test_the_choice_is_said_when_it_cannot_be_kept(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit: with a read-only home the timing ran on every run and said only that its choice could not be kept,
    never which variant it chose nor the times it chose by (the line a writable cache gives)."""
    monkeypatch.setattr(var, "benchmark_choice", lambda sessions, size: ("fp32", {"fp32": 1.0, "int8": 2.0}))
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    fresh.write_text("a file where the cache folder should be")
    caplog.set_level(logging.INFO)
    infer.load_model(family)
    assert "chose the fp32 variant (fp32 1.0 ms, int8 2.0 ms)" in caplog.text


def test_benchmark_can_be_switched_off(family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(var.BENCHMARK_ENV, "0")
    monkeypatch.setattr(var, "benchmark_choice", lambda *a: pytest.fail("benchmark ran"))
    monkeypatch.setattr(var, "cpu_info", lambda: cpu_mod.CpuInfo("old", "x86_64", ("sse4_2",), 2))
    assert infer.load_model(family).path.name == "m.onnx"  # the rule: float on a CPU without AVX2 or VNNI
    assert not (fresh / var.CACHE_FILE).exists()


def test_real_benchmark_and_rule(family: Path, fresh: Path) -> None:
    sessions = {"int8": infer.create_session(family.parent / "m.int8.onnx"), "fp32": infer.create_session(family)}
    kind, ms = var.benchmark_choice(sessions, 64)
    assert kind in ("int8", "fp32") and set(ms) == {"int8", "fp32"} and all(v > 0 for v in ms.values())
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)
    sse = cpu_mod.CpuInfo("old", "x86_64", ("sse4_1", "sse4_2"), 2)
    vnni = cpu_mod.CpuInfo("new", "x86_64", ("avx2", "avx512_vnni"), 2)
    arm = cpu_mod.CpuInfo("arm", "aarch64", ("asimd", "asimddp"), 4)
    assert [var.rule_choice(both, c).kind for c in (sse, AVX2, vnni, arm)] == ["fp32", "int8", "int8", "int8"]


def test_cpuinfo_parsing_x86_and_arm() -> None:
    model, flags = cpu_mod._parse_cpuinfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2 fma\n")
    assert model == "AMD EPYC 7B13" and {"avx2", "fma"} <= flags
    _, flags = cpu_mod._parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\n")
    assert cpu_mod.CpuInfo("arm", "aarch64", tuple(sorted(flags & set(cpu_mod.RELEVANT_FLAGS))), 4).fast_int8
    assert cpu_mod.cpu_info().cores >= 1


def test_bundled_variants_share_one_config() -> None:
    """The shipped int8 and float files are the same weights (configs equal but for precision and export
    records), or the float one would be ignored."""
    path = infer.bundled_model_path()
    config = var.read_config(path)
    assert config is not None
    kinds = sorted(v.kind for v in var.find_variants(path, config))
    assert kinds == ["fp32", "int8"]


def test_variants_exported_from_other_checkpoints_never_pair(
    tiny_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The checkpoint hash is an export record (an older file without it still pairs), but two different hashes
    are two different sets of weights (review)."""
    main_file = write_variant(tiny_onnx, tmp_path / "m.onnx", training={"checkpoint_sha256": "aa"})
    write_variant(tiny_onnx, tmp_path / "m.int8.onnx", precision="int8", training={"checkpoint_sha256": "bb"})
    write_variant(tiny_onnx, tmp_path / "m.old.onnx", precision="int8", training={})
    config = var.read_config(main_file)
    assert config is not None
    found = [v.path.name for v in var.find_variants(main_file, config)]
    assert found == ["m.onnx", "m.old.onnx"] and "m.int8.onnx: not a variant" in caplog.text


@pytest.mark.parametrize(
    "ms, kind",
    [
        ({"int8": 10.0, "fp32": 9.6}, "int8"),  # float faster by less than the margin: the smaller int8 file
        ({"int8": 10.0, "fp32": 9.0}, "fp32"),  # faster by more: float
        ({"int8": 9.0, "fp32": 10.0}, "int8"),
        ({"fp32": 5.0}, "fp32"),  # one kind timed: it
    ],
)
def test_benchmark_picks_int8_unless_float_is_clearly_faster(
    monkeypatch: pytest.MonkeyPatch, ms: dict[str, float], kind: str
) -> None:
    monkeypatch.setattr(var, "time_sessions", lambda sessions, size: ms)
    assert var.benchmark_choice({}, 64) == (kind, ms)


def test_rule_picks_float_on_an_old_cpu_whichever_file_comes_first(family: Path) -> None:
    """The rule's float choice was only tried with the float file first (it is also the fallback)."""
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)[::-1]
    assert [v.kind for v in both] == ["int8", "fp32"]
    sse = cpu_mod.CpuInfo("old", "x86_64", ("sse4_1", "sse4_2"), 2)
    assert var.rule_choice(both, sse).kind == "fp32" and var.rule_choice(both, AVX2).kind == "int8"


def test_a_sibling_of_the_same_precision_is_not_a_second_variant(family: Path) -> None:
    shutil.copy(family, family.parent / "m.copy.onnx")
    config = var.read_config(family)
    assert config is not None
    assert [v.path.name for v in var.find_variants(family, config)] == ["m.onnx", "m.int8.onnx"]


def test_a_retrained_file_is_benchmarked_again(family: Path) -> None:
    """The cached choice is keyed by the files' contents: a new model in the same place is measured again."""
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)
    before = var.cache_key(both, AVX2, "1.0")
    with open(family, "ab") as fp:
        fp.write(b"\0")  # other bytes (and size): another model
    assert var.cache_key(both, AVX2, "1.0") != before


def test_the_timing_line_says_the_choice_is_kept_per_thread_count(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The line said the choice was kept "per machine" after each thread count came to be timed for itself."""
    monkeypatch.setattr(var, "benchmark_choice", lambda sessions, size: ("int8", {"fp32": 1.0, "int8": 1.0}))
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    with caplog.at_level(logging.INFO, logger=var.__name__):
        infer.load_model(family, threads=1)
    assert "kept per machine and thread count" in caplog.text
