"""The Python API embedded in an application: calls from several threads at once, and what they share."""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

import colorsplash
from colorsplash.runtime import api_images
from colorsplash.runtime.onnx_model import Model


def test_one_pillow_image_given_to_two_threads_is_decoded_once(
    model: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Image.open`` leaves the pixels in the file; two threads given that image decoded it at once, and Pillow's
    decode is not thread-safe: a part of the photo silently grey, "I/O operation on closed file" ("re-export it"),
    or a bare AssertionError. The second thread now waits for the first one's decode and uses its pixels."""
    image, _ = make_blob_image(90, 130, seed=5)
    Image.fromarray(image).save(tmp_path / "p.png")
    expected = np.asarray(colorsplash.predict_alpha(image, model))
    real_load = api_images.load_pixels
    first_in, second_in, go_on = threading.Event(), threading.Event(), threading.Event()

    def held_load(img: Image.Image, name: str) -> None:  # the first decode waits for the test's word
        if not first_in.is_set():
            first_in.set()
            assert go_on.wait(30), "the test never let the first decode go on"
        else:
            second_in.set()
        real_load(img, name)

    monkeypatch.setattr(api_images, "load_pixels", held_load)
    shared = Image.open(tmp_path / "p.png")  # pixels not read yet
    results: list[Any] = [None, None]

    def call(i: int) -> None:
        try:
            results[i] = np.asarray(colorsplash.predict_alpha(shared, model))
        except Exception as err:  # noqa: BLE001 - reported by the assertions below
            results[i] = err

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_in.wait(30)
    second = threading.Thread(target=call, args=(1,))
    second.start()
    # Before the fix the second thread began its own decode at once; it now waits for the first's (no decode to
    # enter while the first holds the image: this wait ends by its timeout).
    began_beside = second_in.wait(1.0)
    go_on.set()
    first.join(30)
    second.join(30)
    assert not began_beside, "a second decode of the same Pillow image ran beside the first"
    for result in results:
        assert isinstance(result, np.ndarray), result
        np.testing.assert_array_equal(result, expected)


def test_a_model_can_key_an_applications_per_model_state(tiny_onnx: Path) -> None:
    """``{model: ...}``, ``functools.lru_cache`` and ``weakref.WeakKeyDictionary`` (per-model state in an application)
    failed with "TypeError: unhashable type: 'Model'": a model is equal to itself alone, and hashable."""
    model = colorsplash.load_model(tiny_onnx, precision="file")
    other = colorsplash.load_model(tiny_onnx, threads=1, precision="file")
    state = weakref.WeakKeyDictionary({model: "a", other: "b"})
    assert state[model] == "a" and state[colorsplash.load_model(tiny_onnx, precision="file")] == "a"
    assert model != other and model == model and len({model, other, model}) == 2
