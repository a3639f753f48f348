"""The Python API embedded in an application: calls from several threads at once, and what they share."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

import colorsplash
from colorsplash.runtime import api_images
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.pictures.picture_open import warnings_as_notes


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


def _child_reads_a_header(filters: list[Any], out: Any) -> None:
    """In a forked child: a header read, which takes the warnings lock, and whether the warnings filters are the
    parent's own (``filters``), not those of the other thread's unfinished block."""
    with warnings_as_notes("x.jpg", notes := []):
        warnings.warn("damaged EXIF", UserWarning, stacklevel=1)
    out.send((notes, warnings.filters == filters))


def _forked(target: Callable[..., None], *args: Any) -> tuple[Any, Any]:
    """A forked child running ``target(*args, pipe)`` (not joined) and the parent's end of the pipe."""
    fork = multiprocessing.get_context("fork")
    there, here = fork.Pipe(duplex=False)
    child = fork.Process(target=target, args=(*args, here))
    child.start()
    return child, there


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")  # 3.12+: the point
def test_a_child_forked_while_a_thread_reads_a_header_has_the_warnings_lock_free() -> None:
    """A child forked while another parent thread read a photo's header (Pillow's warnings caught as notes) held that
    lock for ever: its own first read hung, and the warnings filters stayed those of the unfinished block. The fork
    now waits for the block to end (a header read: milliseconds)."""
    inside, leave, forked = threading.Event(), threading.Event(), threading.Event()
    filters = list(warnings.filters)

    def reading() -> None:
        with warnings_as_notes("p.jpg", []):
            inside.set()
            assert leave.wait(30)

    def forking(box: list[Any]) -> None:
        box.extend(_forked(_child_reads_a_header, filters))
        forked.set()

    reader, box = threading.Thread(target=reading), []
    reader.start()
    assert inside.wait(30)
    forker = threading.Thread(target=forking, args=(box,))
    forker.start()
    forked_inside = forked.wait(1.0)  # before the fix at once; now the fork waits for the block (the wait times out)
    leave.set()
    reader.join(30)
    forker.join(30)
    child, pipe = box
    try:
        assert not forked_inside, "the fork did not wait for the other thread's warnings block"
        assert pipe.poll(30), "the forked child's header read hung"
        assert pipe.recv() == (["x.jpg: damaged EXIF"], True)
    finally:
        child.kill()
        child.join()


def _child_loads_a_model(path: Path, out: Any) -> None:
    out.send(colorsplash.load_model(path, threads=1, precision="file").config.name)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")  # 3.12+: the point
def test_a_child_forked_while_a_thread_loads_a_model_loads_its_own(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child forked while a parent thread loaded a model (the cache's lock held) hung at its own first
    ``load_model`` (``predict_alpha(photo)`` and an unpickled model load one). It now has the lock free."""
    from colorsplash.runtime.model import onnx_model

    parent, real = os.getpid(), onnx_model._load_variant
    inside, leave = threading.Event(), threading.Event()

    def slow_load(*args: Any) -> Model:
        if os.getpid() == parent:  # the parent thread's load stays under way while the child is forked
            inside.set()
            assert leave.wait(30)
        return real(*args)

    monkeypatch.setattr(onnx_model, "_load_variant", slow_load)
    loader = threading.Thread(target=lambda: colorsplash.load_model(tiny_onnx, threads=2, precision="file"))
    loader.start()
    assert inside.wait(30)
    child, pipe = _forked(_child_loads_a_model, tiny_onnx)
    try:
        assert pipe.poll(30), "the forked child's load_model hung"
        assert pipe.recv() == "tiny-test"
    finally:
        leave.set()
        loader.join(30)
        child.kill()
        child.join()


def _child_calls(call: Callable[[], object], out: Any) -> None:
    out.send(repr(call()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")  # 3.12+: the point
@pytest.mark.parametrize("name", ["heif", "allocator"])
def test_a_child_forked_while_a_thread_registers_heif_or_tunes_malloc_goes_on(name: str) -> None:
    """The once-per-process steps of the first photo and model (pillow-heif's registration, malloc's tuning) held
    a lock that a child forked meanwhile inherited held: its own first photo or model hung."""
    from colorsplash.runtime import allocator
    from colorsplash.runtime.pictures import heif

    lock, call = (heif._LOCK, heif.has_heif_reader) if name == "heif" else (allocator._lock, allocator.tune_allocator)
    inside, leave = threading.Event(), threading.Event()

    def holding() -> None:
        with lock:
            inside.set()
            assert leave.wait(30)

    holder = threading.Thread(target=holding)
    holder.start()
    assert inside.wait(30)
    child, pipe = _forked(_child_calls, call)
    try:
        assert pipe.poll(30), f"the forked child's {call.__name__}() hung"
        assert pipe.recv() in ("True", "False")
    finally:
        leave.set()
        holder.join(30)
        child.kill()
        child.join()


def _child_predicts(model: Model, out: Any) -> None:
    out.send(colorsplash.predict_alpha(np.zeros((40, 50, 3), np.uint8), model).shape)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")  # 3.12+: the point
def test_a_child_forked_while_a_thread_makes_the_spinning_twin_makes_its_own(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model's first API call makes a second session (``Model.exclusive``) under a lock; a child forked meanwhile
    inherited that lock held, and its own first call with the model hung."""
    from colorsplash.runtime.model import onnx_model

    shutil.copyfile(tiny_onnx, tmp_path / "m.onnx")
    model = colorsplash.load_model(tmp_path / "m.onnx", threads=1, precision="file")  # no twin yet
    parent, real = os.getpid(), onnx_model.create_session
    inside, leave = threading.Event(), threading.Event()

    def slow_twin(*args: Any, spin: bool = False) -> Any:
        if spin and os.getpid() == parent:
            inside.set()
            assert leave.wait(30)
        return real(*args, spin=spin)

    monkeypatch.setattr(onnx_model, "create_session", slow_twin)
    maker = threading.Thread(target=colorsplash.predict_alpha, args=(np.zeros((40, 50, 3), np.uint8), model))
    maker.start()
    assert inside.wait(30)
    child, pipe = _forked(_child_predicts, model)
    try:
        assert pipe.poll(30), "the forked child's first call with the model hung"
        assert pipe.recv() == (40, 50)
    finally:
        leave.set()
        maker.join(30)
        child.kill()
        child.join()


def test_a_loaded_model_is_not_held_up_by_another_models_load(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every ``load_model`` waited for any other one under way: ``splash(photo)`` (the default model) or
    ``load_model`` of a model loaded long before stalled while another thread loaded a new model (seconds: the
    variant timing; for ever: a file on a share that hangs). A model already loaded is now returned at once."""
    from colorsplash.runtime.model import onnx_model

    loaded = colorsplash.load_model(tiny_onnx, precision="file")
    shutil.copyfile(tiny_onnx, tmp_path / "new.onnx")
    real, inside, leave = onnx_model._load_variant, threading.Event(), threading.Event()

    def slow_load(*args: Any) -> Model:
        inside.set()
        assert leave.wait(30)
        return real(*args)

    monkeypatch.setattr(onnx_model, "_load_variant", slow_load)
    loader = threading.Thread(
        target=colorsplash.load_model, args=(tmp_path / "new.onnx",), kwargs={"precision": "file"}
    )
    loader.start()
    assert inside.wait(30)
    again: list[Model] = []
    looker = threading.Thread(target=lambda: again.append(colorsplash.load_model(tiny_onnx, precision="file")))
    looker.start()
    looker.join(10)  # at once now; before, until the other load ended (this test's 10 s)
    returned_meanwhile = bool(again)
    leave.set()
    loader.join(30)
    looker.join(30)
    assert returned_meanwhile, "load_model of a loaded model waited for another model's load"
    assert again == [loaded]


def test_a_models_calls_are_not_held_up_by_another_models_first_call(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every API call takes the spinning-twin lock, which is one for all models: while one model's first call made
    its twin (a second session: seconds for a large file), every call of every other model waited for it. A model
    whose twin is made now goes on."""
    from colorsplash.runtime.model import onnx_model

    photo = np.zeros((40, 50, 3), np.uint8)
    ready = colorsplash.load_model(tiny_onnx, threads=1, precision="file")
    colorsplash.predict_alpha(photo, ready)  # its twin made
    first = colorsplash.load_model(tiny_onnx, threads=2, precision="file")  # another model: no twin yet
    real, inside, leave, done = onnx_model.create_session, threading.Event(), threading.Event(), threading.Event()

    def slow_twin(*args: Any, spin: bool = False) -> Any:
        if spin:
            inside.set()
            assert leave.wait(300)  # longer than the test's own wait: the test sets it
        return real(*args, spin=spin)

    monkeypatch.setattr(onnx_model, "create_session", slow_twin)
    maker = threading.Thread(target=colorsplash.predict_alpha, args=(photo, first))
    maker.start()
    caller = threading.Thread(target=lambda: (colorsplash.predict_alpha(photo, ready), done.set()))
    try:
        assert inside.wait(30)
        caller.start()
        went_on = done.wait(30)  # at once now; before, until the other twin was made (this test's 30 s)
    finally:
        leave.set()
        maker.join(30)
    caller.join(30)
    assert went_on, "a model's call waited for another model's first call to make its twin"
