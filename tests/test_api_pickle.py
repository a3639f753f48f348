"""A loaded model crosses into worker processes (``ProcessPoolExecutor``, ``multiprocessing``): pickled as its file
and settings, loaded again there. It failed with "cannot pickle 'onnxruntime...InferenceSession' object"."""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import colorsplash
from colorsplash.runtime.onnx_model import Model


def _photo() -> np.ndarray:
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 60, (90, 120, 3), dtype=np.uint8)
    photo[20:70, 30:90] = (200, 140, 60)  # an orange block on a dark ground
    return photo


def _alpha(model: Model) -> np.ndarray:
    return np.asarray(colorsplash.predict_alpha(_photo(), model, edges="fast"))


def test_a_model_pickles_as_its_file_and_settings() -> None:
    model = colorsplash.load_model(threads=1, precision="fp32")
    again = pickle.loads(pickle.dumps(model))
    assert isinstance(again, Model) and again.session is not model.session
    assert (again.path, again.config, again.threads, again.device) == (model.path, model.config, 1, model.device)
    assert again.path.name == "pets.fp32.onnx"  # the variant it ran, not a new choice
    np.testing.assert_array_equal(_alpha(again), _alpha(model))


def test_a_model_goes_to_a_worker_process() -> None:
    model = colorsplash.load_model(threads=1)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited but the pickle
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        there = pool.submit(_alpha, model).result(timeout=120)
    np.testing.assert_array_equal(there, _alpha(model))


def test_a_model_loaded_by_a_relative_path_pickles_with_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path went as given: after ``os.chdir`` the unpickling process looked for the file elsewhere."""
    shutil.copy(colorsplash.load_model().path, tmp_path / "m.onnx")
    monkeypatch.chdir(tmp_path)
    model = colorsplash.load_model("m.onnx", threads=1, precision="file")
    data = pickle.dumps(model)
    monkeypatch.chdir(tmp_path.parent)
    again = pickle.loads(data)
    assert again.path == tmp_path / "m.onnx" and again.config == model.config


def test_a_model_pickled_after_its_loader_changed_folder_names_the_file_it_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docstring and CHANGELOG promised "a parent that changed folder after loading" still names the same file,
    but the path went absolute when pickled, in the new folder: unpickling said "model file not found"."""
    (tmp_path / "models").mkdir()
    shutil.copy(colorsplash.load_model().path, tmp_path / "models" / "m.onnx")
    monkeypatch.chdir(tmp_path / "models")
    model = colorsplash.load_model("m.onnx", threads=1, precision="file")
    monkeypatch.chdir(tmp_path)
    again = pickle.loads(pickle.dumps(model))
    assert again.path == tmp_path / "models" / "m.onnx" and again.config == model.config
