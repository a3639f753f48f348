"""Shared by the ``splash``/``mask`` command-line tests (test_splash_cli_*.py): the stand-in model, blob
pictures and one quiet CLI run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.model.onnx_model import Model
from helpers import make_blob_image, orange_key


@pytest.fixture(name="keyed")
def keyed_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Model, "predict_lowres", orange_key)


def blob_file(path: Path, seed: int = 0, size: tuple[int, int] = (120, 160), **save: object) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    image, mask = make_blob_image(*size, seed=seed)
    Image.fromarray(image).save(path, **save)
    return mask


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["-q", *args])
    return code, capsys.readouterr().err
