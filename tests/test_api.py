"""The Python API: ``colorsplash.load_model``, ``predict_alpha`` and ``splash`` on arrays, PIL images and paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_blob_image
from PIL import Image
from test_splash_cli import orange_key

import colorsplash
from colorsplash.runtime.api import NoSubjectError, to_rgb
from colorsplash.runtime.onnx_model import Model
from colorsplash.runtime.options import OptionError, SplashOptions


@pytest.fixture()
def model(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> Model:
    monkeypatch.setattr(Model, "predict_lowres", orange_key)
    return colorsplash.load_model(tiny_onnx)


@pytest.fixture(scope="module")
def blob() -> tuple[np.ndarray, np.ndarray]:
    return make_blob_image(90, 130, seed=5)


def test_public_names_are_lazy_and_documented() -> None:
    code = "import sys, colorsplash; print('onnxruntime' in sys.modules, 'cv2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]  # `import colorsplash` stays light
    for name in ("load_model", "predict_alpha", "splash"):
        assert getattr(colorsplash, name).__doc__
    assert colorsplash.__version__
    with pytest.raises(AttributeError):
        _ = colorsplash.nothing_here  # type: ignore[attr-defined]


def test_splash_array_pil_and_path_agree(model: Model, blob: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    image, mask = blob
    Image.fromarray(image).save(tmp_path / "p.png")
    from_array = colorsplash.splash(image, model)
    assert from_array.shape == image.shape and from_array.dtype == np.uint8
    assert np.array_equal(colorsplash.splash(Image.fromarray(image), model), from_array)
    assert np.array_equal(colorsplash.splash(tmp_path / "p.png", model), from_array)
    assert np.array_equal(colorsplash.splash(str(tmp_path / "p.png"), model), from_array)
    inner = mask.astype(bool)
    assert np.abs(from_array[inner].astype(int) - image[inner]).mean() < 5  # subject keeps its colours


def test_predict_alpha_full_resolution_float(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    alpha = colorsplash.predict_alpha(image, model)
    assert alpha.shape == mask.shape and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha[mask == 1].mean() > 0.95 and alpha[mask == 0].mean() < 0.05


def test_options_and_overrides(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, _ = blob
    by_options = colorsplash.splash(image, model, SplashOptions(effect="sepia"))
    assert np.array_equal(colorsplash.splash(image, model, effect="sepia"), by_options)
    assert np.array_equal(colorsplash.splash(image, model, effect="sepia", threshold="0.5"),
                          colorsplash.splash(image, model, SplashOptions(effect="sepia", threshold=0.5)))
    assert not np.array_equal(colorsplash.splash(image, model), by_options)
    rgba = colorsplash.splash(image, model, effect="transparent")
    assert rgba.shape == (*image.shape[:2], 4)
    with pytest.raises(OptionError, match="--threshold"):
        colorsplash.splash(image, model, threshold="2")
    with pytest.raises(OptionError, match="--colour"):
        colorsplash.splash(image, model, colour="red")


def test_model_by_path(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, blob: tuple[np.ndarray, np.ndarray]) -> None:
    monkeypatch.setattr(Model, "predict_lowres", orange_key)
    image, _ = blob
    assert colorsplash.predict_alpha(image, str(tiny_onnx)).shape == image.shape[:2]


def test_no_subject(model: Model) -> None:
    dark = np.zeros((20, 30, 3), np.uint8)
    assert not colorsplash.predict_alpha(dark, model).any()
    assert np.array_equal(colorsplash.splash(dark + 50, model, on_empty="copy"), dark + 50)
    with pytest.raises(NoSubjectError, match="max probability 0.00"):
        colorsplash.splash(dark, model, on_empty="skip")


def test_image_kinds() -> None:
    grey = np.full((4, 5), 7, np.uint8)
    assert to_rgb(grey).shape == (4, 5, 3) and (to_rgb(grey) == 7).all()
    assert to_rgb(grey[..., None]).shape == (4, 5, 3)
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert (to_rgb(rgba) == 255).all()  # transparent -> white
    assert to_rgb(Image.new("L", (5, 4), 9)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="uint8"):
        to_rgb(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        to_rgb(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(ValueError, match="list"):
        to_rgb([[1, 2]])  # type: ignore[arg-type]
