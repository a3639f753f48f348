"""Speed-path behaviour of issue 17 that the benchmarks rely on: the batch's model stage runs photos side by
side on single-threaded sessions, the allocator tuning is applied once (and can be turned off), and the fast
normalisation equals the textbook formula."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from colorsplash.runtime import allocator
from colorsplash.runtime import batch as batch_mod
from colorsplash.runtime.batch import PhotoJob, batch_model
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.model.config import Normalization
from colorsplash.runtime.model.preprocess import normalize
from colorsplash.runtime.pipeline import Stages, run_stages


def test_model_stage_runs_items_side_by_side() -> None:
    """With ``infer_workers=2`` two items are in the model stage at once (each waits for the other here)."""
    barrier = threading.Barrier(2, timeout=10)

    def infer_(i: int) -> int:
        barrier.wait()  # raises BrokenBarrierError (failing the item) unless another infer runs meanwhile
        return i

    stages = Stages(lambda i: i, infer_, lambda i: f"done {i}", lambda v: isinstance(v, str), infer_workers=2)
    results = dict(run_stages(list(range(6)), stages, jobs=2))
    assert sorted(f.result() for f in results.values()) == [f"done {i}" for i in range(6)]


def test_closing_the_stages_early_drops_queued_items_and_ends_every_thread() -> None:
    """What Ctrl-C does to a batch: the consumer stops after two results; the running steps finish, items not yet
    loaded are never loaded, and no stage thread (nor the feeder waiting for room) is left behind."""
    loaded: list[int] = []
    gate = threading.Event()
    at_gate = threading.Semaphore(0)

    def load(i: int) -> int:
        loaded.append(i)
        if i >= 2:
            at_gate.release()
            gate.wait(10)  # items after the first two wait here until the consumer has stopped
        return i

    stages = Stages(load, lambda i: i, lambda i: f"done {i}", lambda v: isinstance(v, str), infer_workers=2)
    before = set(threading.enumerate())
    results = run_stages(list(range(100)), stages, jobs=2, in_flight=4)
    got = [next(results)[1].result() for _ in range(2)]
    # Both loader threads held at the gate before the consumer stops (on a busy machine the second one may not
    # have started its item yet: the test then read a dropped item 3, not a fault of the stages)
    assert at_gate.acquire(timeout=10) and at_gate.acquire(timeout=10)
    threading.Timer(0.2, gate.set).start()
    results.close()  # returns once the running steps are done
    assert sorted(got) == ["done 0", "done 1"]
    # Two loads ran, two were running (both loader threads held at the gate); the loads queued behind them
    # were dropped, and the other 94 items were never fed in.
    assert sorted(loaded) == [0, 1, 2, 3]
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
        assert not thread.is_alive(), thread.name


def test_batch_model_is_single_threaded_per_core(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = infer.load_model(tiny_onnx, precision="file")
    monkeypatch.setattr(batch_mod, "usable_cores", lambda: 3)
    single, workers = batch_model(model)
    assert workers == 3 and single is not model and single.path == model.path
    assert single is infer.load_model(tiny_onnx, threads=1, precision="file")  # the cached one-thread session
    image = np.random.default_rng(0).integers(0, 256, (60, 80, 3), np.uint8)
    np.testing.assert_allclose(single.predict_lowres(image), model.predict_lowres(image), atol=1e-5)
    stages = PhotoJob(model).stages()
    assert stages.infer_workers == 3
    monkeypatch.setattr(batch_mod, "usable_cores", lambda: 1)
    assert batch_model(model) == (model, 1)
    assert PhotoJob(model).stages().infer_workers == 1


def test_batch_model_keeps_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_mod, "usable_cores", lambda: 4)
    stand_in = object()
    assert batch_model(stand_in) == (stand_in, 1)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:threads=3 is more than")  # a cache key no other test uses, on any machine
def test_allocator_tuned_once_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tiny_onnx: Path) -> None:
    monkeypatch.setattr(allocator, "_state", {})
    monkeypatch.setenv(allocator.ENV, "0")
    assert allocator.tune_allocator() is False
    monkeypatch.setattr(allocator, "_state", {})
    monkeypatch.delenv(allocator.ENV)
    calls: list[int] = []
    real = allocator._apply
    monkeypatch.setattr(allocator, "_apply", lambda: calls.append(1) or real())
    infer.load_model(tiny_onnx, threads=3, precision="file")  # a new cache key: loads, and tunes first
    infer.load_model(tiny_onnx, threads=3, precision="file")
    assert allocator.tune_allocator() is allocator._state["tuned"] and calls == [1]
    import platform

    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert allocator._state["tuned"] is glibc


@pytest.mark.parametrize("shape", [(48, 64, 3), (2, 5, 7, 3)])
def test_normalize_equals_the_formula(shape: tuple[int, ...]) -> None:
    norm = Normalization(mean=(120.0, 127.0, 131.0), std=(100.0, 128.0, 61.0))
    image = np.random.default_rng(1).integers(0, 256, shape, np.uint8)
    want = np.moveaxis((image.astype(np.float32) - np.float32(norm.mean)) / np.float32(norm.std), -1, -3)
    got = normalize(image, norm)
    assert got.shape == want.shape and got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("hw", "target"), [((866, 1155), (384, 512)), ((300, 400), (150, 200)), ((97, 130), (60, 80))])
def test_shrink_is_an_area_average(hw: tuple[int, int], target: tuple[int, int]) -> None:
    """Two-step shrink (whole factor, then bilinear) stays within a level on average (99 % within 8) of OpenCV's
    one-step area resize on a photo-like (smooth) picture, and has exactly the asked size."""
    import cv2

    from colorsplash.runtime.edges.working import shrink

    noise = np.random.default_rng(2).integers(0, 256, (*hw, 3), np.uint8)
    image = cv2.GaussianBlur(noise, (0, 0), 3.0)
    got = shrink(image, target)
    want = cv2.resize(image, target[::-1], interpolation=cv2.INTER_AREA)
    assert got.shape == want.shape and got.dtype == np.uint8
    diff = np.abs(got.astype(int) - want)
    assert diff.mean() <= 1.0 and np.percentile(diff, 99) <= 8


def test_grey_in_place_writes_only_the_view() -> None:
    from colorsplash.runtime.effects import grey_in_place, grey_rgb

    rgb = np.random.default_rng(3).integers(0, 256, (40, 60, 3), np.uint8)
    before = rgb.copy()
    grey_in_place(rgb[5:20, 10:50])  # a strided view: OpenCV writes through it
    np.testing.assert_array_equal(rgb[5:20, 10:50], grey_rgb(before[5:20, 10:50]))
    rgb[5:20, 10:50] = before[5:20, 10:50]
    np.testing.assert_array_equal(rgb, before)  # nothing outside the view changed


@pytest.mark.parametrize(
    ("hw", "side", "small"),
    [
        ((3000, 4000), 512, (375, 500)),  # whole factor 8: the JPEG decodes at 1/8 scale
        ((866, 1155), 512, (384, 512)),
        ((720, 1280), 683, (384, 683)),  # not 360x640 (factor 2): the model's rows would be stretched
        ((1080, 1920), 683, (384, 683)),
        ((400, 3000), 1024, (137, 1024)),  # panoramas: at most twice the nominal side
    ],
)
def test_working_copy_keeps_the_model_input_rows(hw: tuple[int, int], side: int, small: tuple[int, int]) -> None:
    """4:3 photos get the 512 px copy; wider ones a longer one, so that the model's 384 px input is not made by
    stretching fewer rows (short side at least 95 % of it), at most twice the nominal side."""
    from colorsplash.runtime.edges.working import RefineSettings

    settings = RefineSettings()
    assert settings.side_for(*hw, 384) == side
    assert settings.side_for(hw[1], hw[0], 384) == side  # portrait the same
    assert settings.working_hw(*hw, 384) == small
    assert settings.working_hw(hw[1], hw[0], 384) == small[::-1]
    image = np.zeros((*hw, 3), np.uint8)
    assert settings.working_copy(image, 384).shape[:2] == small


def test_wide_frames_reach_the_model_unstretched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Video frames and photos hand the model a working copy with at least 95 % of its 384 input rows."""
    from types import SimpleNamespace

    from colorsplash.runtime.edges import alpha as alpha_mod
    from colorsplash.runtime.video import video_frames as video_mod

    seen: list[tuple[int, ...]] = []

    def fake_presence(model: object, small: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        seen.append(small.shape)
        return np.zeros((384, 384), np.float32), (0.0, 0.5)

    monkeypatch.setattr(alpha_mod, "model_presence", fake_presence)
    monkeypatch.setattr(video_mod, "model_presence", fake_presence)
    model = SimpleNamespace(config=SimpleNamespace(input_size=384), has_presence=False, presence_threshold=0.5)
    frame = np.zeros((720, 1280, 3), np.uint8)
    alpha_mod.model_alpha(model, frame)  # type: ignore[arg-type]
    video_mod.FrameSplasher(model).alpha(frame)  # type: ignore[arg-type]
    assert seen == [(384, 683, 3), (384, 683, 3)]
