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
from colorsplash.runtime.model.onnx_model import Model


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


def _refused(kind: str) -> object:
    """A worker's call that raises the public error ``kind``."""
    if kind == "option":
        return colorsplash.SplashOptions(effect="bogus")
    if kind == "no subject":
        return colorsplash.predict_alpha(np.zeros((8, 8, 3), np.uint8), on_empty="skip")
    if kind == "read":
        return colorsplash.splash("no-such-photo.jpg")
    return colorsplash.load_model("no-such-model.onnx")


def _public_errors() -> list[Exception]:
    errors: list[Exception] = []
    for kind in ("option", "no subject", "read", "model"):
        try:
            _refused(kind)
        except Exception as err:  # noqa: BLE001 - each kind's own error, checked below
            errors.append(err)
    return errors


def test_public_errors_pickle_with_their_details() -> None:
    """An OptionError could not be unpickled ("__init__() missing 1 required positional argument: 'message'")."""
    errors = _public_errors()
    kinds = (
        colorsplash.OptionError,
        colorsplash.NoSubjectError,
        colorsplash.ImageReadError,
        colorsplash.ModelLoadError,
    )
    assert [type(e) for e in errors] == list(kinds)
    for err in errors:
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err) and str(again) == str(err) and vars(again) == vars(err)


def test_a_workers_option_error_reaches_the_pool_which_goes_on() -> None:
    """A worker's OptionError broke the whole pool: the parent got "BrokenProcessPool: A process in the process
    pool was terminated abruptly" for it and for every later task."""
    spawn = multiprocessing.get_context("spawn")  # as test_a_model_goes_to_a_worker_process: no forked ORT threads
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        for _ in range(2):  # the second task finds the pool still working
            with pytest.raises(colorsplash.OptionError, match=r"^effect: unknown effect 'bogus'") as caught:
                pool.submit(_refused, "option").result(timeout=120)
            assert caught.value.name == "effect"
