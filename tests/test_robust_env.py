"""Hostile environments (environment audit D2, D3, D8, D10): no home folder, a damaged variant cache, model files
whose config or graph is wrong, standard streams closed. Every model and file here is generated."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.model import variants as var
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, SEED_NORMALIZATION, ModelConfig
from colorsplash.runtime.model.model_file import CHECKPOINT_FORMAT

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


# ------------------------------------------------------------------------------------------------ D8: bad models


def tiny_graph_model(
    path: Path,
    config: str | ModelConfig | None,
    logits: str = "logits",
    channels: int = 1,
    side: int = 32,
    presence: bool = False,
) -> Path:
    """A small ONNX model, no torch: ``image`` (``N x 3 x side x side``) -> output ``logits`` named and as wide as
    asked (the channel mean, or the image itself for 3 channels), optionally ``presence`` (``N x 1``); ``config``
    as its ``colorsplash_config`` metadata (a string verbatim)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    if channels == 3:
        nodes = [helper.make_node("Identity", ["image"], [logits])]
    else:
        nodes = [helper.make_node("ReduceMean", ["image"], [logits], axes=[1], keepdims=1)]
    outputs = [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", channels, side, side])]
    if presence:
        nodes.append(helper.make_node("ReduceMean", [logits], ["presence"], axes=[2, 3], keepdims=0))
        outputs.append(helper.make_tensor_value_info("presence", TensorProto.FLOAT, ["N", 1]))
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, side, side])
    model = helper.make_model(
        helper.make_graph(nodes, "tiny", [image], outputs), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    if config is not None:
        entry = model.metadata_props.add()
        entry.key = CONFIG_METADATA_KEY
        entry.value = config if isinstance(config, str) else config.to_json()
    onnx.save(model, str(path))
    return path


SEED32 = ModelConfig(arch="unet", input_size=32, depth=2, normalization=SEED_NORMALIZATION)
LITE32 = ModelConfig(arch="unet-lite0", input_size=32, presence_head=True)


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infer, "_cache", {})


def test_a_training_checkpoint_given_as_model_says_to_export_it(
    tmp_path: Path, no_models: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`splash --model runs/x/best.pt` (the file `evaluate` takes) printed ONNX Runtime's "[ONNXRuntimeError] : 7 :
    INVALID_PROTOBUF ... Protobuf parsing failed" (journey audit); it now says what the file is and the command."""
    import pickle

    torch = pytest.importorskip("torch")
    marked = {"format": CHECKPOINT_FORMAT, "model": {"w": torch.zeros(2)}}  # what train writes (other files: elsewhere)
    torch.save(marked, tmp_path / "best.pt")
    legacy = {"format": CHECKPOINT_FORMAT, "w": 1}
    (tmp_path / "old.pt").write_bytes(pickle.dumps(legacy, protocol=2))  # torch.save's legacy format: a pickle
    for name in ("best.pt", "old.pt"):
        path = tmp_path / name
        with pytest.raises(infer.ModelLoadError) as caught:
            infer.load_model(path)
        assert str(caught.value).startswith(f"{path}: a training checkpoint, not an ONNX model"), caught.value
        assert f"`colorsplash export {path} -o model.onnx`" in str(caught.value)
    photo = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    assert main(["splash", str(photo), "--model", str(tmp_path / "best.pt")]) == 2
    err = capsys.readouterr().err
    assert "a training checkpoint" in err and "ONNXRuntimeError" not in err
    (tmp_path / "junk.onnx").write_bytes(b"PK\x03\x04 not a zip")  # other files: ONNX Runtime's reason, as before
    with pytest.raises(infer.ModelLoadError, match="not a loadable ONNX model"):
        infer.load_model(tmp_path / "junk.onnx")


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("not json", "not JSON"),
        ('{"input_size": "big"}', "input_size must be an integer, got 'big'"),
        ('{"normalization": {"mean": 1}}', "normalization must be"),
        ("[1, 2]", "must be a JSON object"),
        ('{"input_size": 33}', "multiple of 32"),
        (DEEP_JSON, "nested too deep"),
    ],
)
def test_invalid_embedded_config_is_one_clear_error(tmp_path: Path, no_models: None, config: str, words: str) -> None:
    path = tiny_graph_model(tmp_path / "bad.onnx", config)
    with pytest.raises(infer.ModelLoadError) as caught:
        infer.load_model(path)
    message = str(caught.value)
    assert str(path) in message and words in message and "re-export it with `colorsplash export" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("build", "words"),
    [
        ({"channels": 3}, "'logits' has shape ['N', 3, 32, 32], expected ['N', 1, 32, 32]"),
        ({"logits": "y"}, "first output must be 'logits' (outputs: 'y')"),
        ({"side": 16}, "input 'image' has shape ['N', 3, 16, 16], expected ['N', 3, 32, 32]"),
        ({"config": LITE32}, "presence_head but the graph has no 'presence' output"),
    ],
)
def test_graph_not_matching_its_config_is_refused_at_load(
    tmp_path: Path, no_models: None, build: dict[str, object], words: str
) -> None:
    options: dict[str, object] = {"config": SEED32, **build}
    path = tiny_graph_model(tmp_path / "foreign.onnx", **options)  # type: ignore[arg-type]
    with pytest.raises(infer.ModelLoadError) as caught:
        infer.load_model(path)
    assert str(caught.value).startswith(f"{path}: not a colorsplash model graph") and words in str(caught.value)


@pytest.mark.parametrize(("config", "presence"), [(SEED32, False), (SEED32, True), (LITE32, True)])
def test_matching_graphs_load_and_predict(tmp_path: Path, no_models: None, config: ModelConfig, presence: bool) -> None:
    model = infer.load_model(tiny_graph_model(tmp_path / "ok.onnx", config, presence=presence))
    prob, score = model.predict_scored(np.full((20, 30, 3), 128, np.uint8))
    assert prob.shape == (32, 32) and 0.0 <= score <= 1.0 and model.has_presence == presence


def test_cli_names_the_bad_model_in_one_line(
    tmp_path: Path, no_models: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tiny_graph_model(tmp_path / "bad.onnx", '{"input_size": "big"}')
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    assert main(["-q", "splash", str(tmp_path / "a.png"), "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and str(path) in err and "colorsplash export" in err


# ------------------------------------------------------------------------------------------------ D10: streams


def test_closed_standard_output_is_an_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    monkeypatch.setattr(sys, "stdout", None)  # what Python gives a process started with `>&-`
    assert main(["splash", str(tmp_path / "a.png"), "-o", "-"]) == 2
    assert "standard output is closed" in capsys.readouterr().err


def test_closed_standard_input_is_an_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # `<&-`
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # not a terminal
    assert main(["splash", "-"]) == 2
    assert "standard input is closed" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_standard_input_at_a_terminal_is_refused_not_waited_on(
    verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``colorsplash splash - -o out.jpg`` typed with nothing piped in waited, without a word, for a picture to be
    typed; it says that standard input is the terminal."""

    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(io.BytesIO()))  # at its end: a wait would read nothing, not hang
    assert main([verb, "-", "-o", str(tmp_path / "out.png")]) == 2
    assert "- (standard input): standard input is the terminal; pipe a picture" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_a_read_only_home_gives_no_onnx_runtime_telemetry_warning(tmp_path: Path) -> None:
    """With a home (cache) folder ONNX Runtime cannot write, every command began with its colour-coded
    "[W:onnxruntime:Default, telemetry_1ds.cc] Failed to persist telemetry device ID" (words audit): colorsplash
    turns ONNX Runtime's telemetry off unless the user chose otherwise, so nothing is persisted or said."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env.update(HOME="/proc", XDG_CACHE_HOME="/proc/no-cache", COLORSPLASH_CACHE_DIR=str(tmp_path))
    code = (
        "import colorsplash, os; colorsplash.load_model(precision='int8'); print(os.environ['ORT_DISABLE_TELEMETRY'])"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "telemetry" not in done.stderr.lower() and done.stdout.strip() == "1", done.stderr
    env["ORT_DISABLE_TELEMETRY"] = "0"  # a user's own choice is kept
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0"
