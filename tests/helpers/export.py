"""Fixtures shared by the export tests (test_export_onnx.py, test_export_cli.py): an untrained unet-lite0
checkpoint and a tiny paired data set to calibrate int8 on."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from colorsplash.runtime.model.config import ModelConfig, default_model_config  # noqa: E402
from colorsplash.training.checkpoint import save_checkpoint  # noqa: E402
from colorsplash.training.networks import build_model  # noqa: E402


@pytest.fixture(scope="module", name="lite_checkpoint")
def lite_checkpoint_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained unet-lite0 at 64 px with randomised BatchNorm statistics (so BN folding is exercised)."""
    torch.manual_seed(1)
    config = ModelConfig(**{**default_model_config("unet-lite0", 64).__dict__, "name": "lite-test"})
    net = build_model(config)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("lite") / "lite.pt"
    save_checkpoint(path, net, config)
    return path


@pytest.fixture(scope="module", name="paired_data")
def paired_data_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers.layouts import make_paired_set

    root = tmp_path_factory.mktemp("paired")
    make_paired_set(root, n=12)
    return root
