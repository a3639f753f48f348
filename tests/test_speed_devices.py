"""Issue 17: --device and --precision on every verb, CUDA present or absent (inference and training), and the
spinning twin session of the one-photo path."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from helpers.speed import fresh_fixture  # noqa: F401 (a fixture: pytest finds it by its name, fresh)
from PIL import Image

from colorsplash.cli import build_parser, main
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.model import variants as var


def test_cuda_absent_is_a_clear_error_and_auto_falls_back(
    monkeypatch: pytest.MonkeyPatch, tiny_onnx: Path, tmp_path: Path, fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(infer, "available_providers", lambda: ["CPUExecutionProvider"])
    assert infer.resolve_device("auto") == "cpu"
    with pytest.raises(infer.ModelLoadError, match=r"colorsplash\[gpu\]"):
        infer.load_model(tiny_onnx, device="cuda")
    assert infer.load_model(tiny_onnx, device="auto").device == "cpu"
    Image.fromarray(make_blob_image()[0]).save(tmp_path / "a.png")
    assert main(["-q", "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "Traceback" not in err and not (tmp_path / "a.splash.png").exists()


def test_cuda_provider_requested_when_available(monkeypatch: pytest.MonkeyPatch, tiny_onnx: Path) -> None:
    """With onnxruntime-gpu, ``auto`` asks for CUDA first; a CUDA that fails to start is an error, not a silent
    CPU run."""
    monkeypatch.setattr(infer, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert infer.resolve_device("auto") == "cuda"
    asked: list[list[str]] = []

    class FakeSession:
        def __init__(self, path: str, sess_options: object, providers: list[str]) -> None:
            asked.append(providers)

        def get_providers(self) -> list[str]:
            return ["CPUExecutionProvider"]

    import onnxruntime

    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    with pytest.raises(infer.ModelLoadError, match="could not start CUDA"):
        infer.create_session(tiny_onnx, device="cuda")
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]


@pytest.mark.parametrize("verb", ["splash", "mask", "video", "serve"])
def test_precision_and_device_flags_on_every_verb(verb: str) -> None:
    extra = {"splash": ["x.jpg"], "mask": ["x.jpg"], "video": ["x.mp4", "-o", "y.mp4"], "serve": []}[verb]
    args = build_parser().parse_args([verb, *extra, "--precision", "int8", "--device", "cpu"])
    assert (args.precision, args.device) == ("int8", "cpu")
    assert build_parser().parse_args([verb, *extra]).precision == "auto"
    from colorsplash.cli import common

    assert common.PRECISIONS == var.PRECISION_CHOICES and common.DEVICES == infer.DEVICE_CHOICES


def test_training_device_falls_back_to_the_cpu_and_cuda_gets_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    from colorsplash.training import steps
    from colorsplash.training.config import TrainConfig

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert steps.training_device(1).type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    steps._auto_bf16.cache_clear()
    ctx = steps._autocast(TrainConfig(), torch.device("cuda:0"))  # auto: bf16 on a GPU that has it
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16 and ctx.device == "cuda"
    assert not isinstance(steps._autocast(TrainConfig(bf16=False), torch.device("cuda:0")), torch.autocast)
    steps._auto_bf16.cache_clear()


def _spinning(session: object) -> str:
    return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")  # type: ignore[attr-defined]


def test_exclusive_runs_use_a_spinning_twin_with_the_same_numbers(tiny_onnx: Path, fresh: Path) -> None:
    """Inside ``Model.exclusive`` (the API's one-photo path) runs go to a second session of the same file whose
    threads spin during a run; outside, and for a session set by hand, the model's own session."""
    model = infer.load_model(tiny_onnx, threads=2, precision="file")
    image, _ = make_blob_image(40, 56)
    plain = model.predict_scored(image)
    assert model._spinning is None and _spinning(model.session) == "0"
    with model.exclusive():
        spun = model.predict_scored(image)
    assert model._spinning is not None and _spinning(model._spinning[1]) == "1"
    assert np.array_equal(plain[0], spun[0]) and plain[1] == spun[1]
    from colorsplash import predict_alpha

    model._spinning = None
    assert predict_alpha(image, model).shape == (40, 56) and model._spinning is not None  # the API's path
    stand_in = infer.create_session(tiny_onnx, 1)
    model.session = stand_in
    with model.exclusive():
        assert model._session_for_run() is stand_in


def test_no_spinning_twin_is_made_from_a_file_written_again_since_the_load(tiny_onnx: Path, tmp_path: Path) -> None:
    """The twin is made on first exclusive use from the model's path: a file exported again since the load gave a
    twin of the new graph, run with the loaded config (review). The loaded session serves such runs instead."""
    import os
    import shutil

    path = tmp_path / "m.onnx"
    shutil.copy(tiny_onnx, path)
    model = infer.load_model(path, threads=1, precision="file")
    image, _ = make_blob_image(40, 56)
    plain = model.predict_scored(image)
    shutil.copy(tiny_onnx, tmp_path / "new.onnx")
    os.replace(tmp_path / "new.onnx", path)  # exported again (same bytes here; a new file on disk all the same)
    with model.exclusive():
        assert model._session_for_run() is model.session
        again = model.predict_scored(image)
    assert model._spinning is None and np.array_equal(plain[0], again[0])


def test_threads_meeting_on_first_exclusive_use_make_one_spinning_twin(
    tiny_onnx: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads splashing their first photos at once (a web app's workers) each made a twin session of the file
    (review): memory, once per thread. One is made; every thread runs on it."""
    model = infer.load_model(tiny_onnx, threads=1, precision="file")
    made: list[object] = []
    real = infer.create_session

    def slow_create(*args: object, **kwargs: object) -> object:
        time.sleep(0.05)  # the window in which a second thread used to start its own
        session = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(session)
        return session

    monkeypatch.setattr(infer, "create_session", slow_create)
    got: list[object] = []

    def first_use() -> None:
        with model.exclusive():
            got.append(model._session_for_run())

    workers = [threading.Thread(target=first_use) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(made) == 1 and all(g is made[0] for g in got)
