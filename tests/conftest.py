"""Shared fixtures: small generated models and pictures; real data at ../shared/data (skipped when absent)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Per-machine caches (the model variant benchmark) go to a temporary folder, never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("cache")
        mp.setenv("COLORSPLASH_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need real photos skip cleanly without it."""
    if not (SHARED_DATA / "feral-cats").is_dir() or not (SHARED_DATA / "oxford-pets").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run a test with one torch thread: tiny tensors gain nothing from more, and on a busy machine OpenMP
    spin-waits slow them ~20x. Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny seed U-Net (base 4, depth 2, 64 px) saved as a colorsplash checkpoint."""
    pytest.importorskip("torch")
    import torch

    from colorsplash.runtime.model.config import SEED_NORMALIZATION, ModelConfig
    from colorsplash.training.checkpoint import save_checkpoint
    from colorsplash.training.networks import build_model

    torch.manual_seed(0)
    config = ModelConfig(
        arch="unet",
        input_size=64,
        base_channels=4,
        depth=2,
        normalization=SEED_NORMALIZATION,
        name="tiny-test",
        subject="blob",
        training={"metrics": {"val_iou": 0.0}},
    )
    path = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    save_checkpoint(path, build_model(config), config)
    return path


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint: Path) -> Path:
    """The tiny checkpoint exported to ONNX (with its config as metadata)."""
    from colorsplash.training.export import export_onnx

    out = tiny_checkpoint.with_suffix(".onnx")
    export_onnx(tiny_checkpoint, out)
    return out


@pytest.fixture
def model(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """The tiny model loaded through the public API, its probability keyed on orange pixels (a subject the tests
    can draw): the API tests' model."""
    from helpers import orange_key

    import colorsplash
    from colorsplash.runtime.model.onnx_model import Model

    monkeypatch.setattr(Model, "predict_lowres", orange_key)
    return colorsplash.load_model(tiny_onnx)


@pytest.fixture
def terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> pytest.CaptureFixture[str]:
    """``capsys`` whose standard error counts as a terminal: the CLI draws progress bars only for a person."""
    monkeypatch.setattr("colorsplash.cli.common.stderr_is_terminal", lambda: True)
    return capsys


@pytest.fixture(params=["h11", "httptools"])
def base(request: pytest.FixtureRequest) -> type[asyncio.Protocol]:
    """Each of uvicorn's HTTP/1.1 protocol classes (``http="auto"`` picks httptools where it is installed), for the
    server's protocol subclass (``server/connections.py``)."""
    if request.param == "h11":
        h11_impl = pytest.importorskip("uvicorn.protocols.http.h11_impl")
        return h11_impl.H11Protocol  # type: ignore[no-any-return]
    pytest.importorskip("httptools")
    httptools_impl = pytest.importorskip("uvicorn.protocols.http.httptools_impl")
    return httptools_impl.HttpToolsProtocol  # type: ignore[no-any-return]
