"""Issue 17: the overlapped one-photo path (reduced JPEG decode), the staged batch pipeline, --jobs, and the
fast paths' numbers (fused grey splash, sigmoid) against the general ones."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

from colorsplash.cli import build_parser
from colorsplash.runtime.batch import PhotoJob, Task, run_batch
from colorsplash.runtime.edges.alpha import RefineSettings, compute_alpha
from colorsplash.runtime.edges.working import downscale, work_size
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import read_photo
from colorsplash.runtime.pipeline import Stages, auto_jobs, decode_and_plan, reduced_jpeg, run_stages


def orange_key(self: infer.Model, image: np.ndarray) -> np.ndarray:
    """A stand-in model: subject = orange pixels (the blob of ``make_blob_image``), at the model's size."""
    small = cv2.resize(image, (self.config.input_size,) * 2, interpolation=cv2.INTER_AREA).astype(np.float32)
    return np.clip((small[..., 0] - small[..., 2] - 60) / 60, 0, 1).astype(np.float32)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infer.Model, "predict_lowres", orange_key)


def big_jpeg(path: Path, h: int, w: int, orientation: int = 1) -> np.ndarray:
    """A ``h x w`` blob photo saved as JPEG (stored turned when ``orientation`` says so); returns the upright
    mask."""
    image, mask = make_blob_image(h, w, seed=3)
    image = cv2.GaussianBlur(image, (0, 0), 2)
    exif = Image.Exif()
    stored = image
    if orientation == 6:  # stored turned 90 degrees anticlockwise; viewers turn it back clockwise
        stored = np.ascontiguousarray(np.rot90(image))
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, quality=92, exif=exif.tobytes())
    return mask


@pytest.mark.parametrize("orientation", [1, 6])
def test_reduced_jpeg_matches_the_full_decode_downscaled(tmp_path: Path, orientation: int) -> None:
    big_jpeg(tmp_path / "p.jpg", 1200, 1600, orientation)
    data = (tmp_path / "p.jpg").read_bytes()
    full = read_photo(tmp_path / "p.jpg").rgb
    assert full.shape[:2] == (1200, 1600)
    target = work_size(1200, 1600, 400)
    small = reduced_jpeg(data, target)
    assert small is not None and small.shape[:2] == target
    diff = np.abs(small.astype(np.int16) - downscale(full, 400).astype(np.int16))
    assert diff.mean() < 2.0
    assert reduced_jpeg(cv2.imencode(".png", full)[1].tobytes(), target) is None  # not a JPEG: no shortcut


def test_overlapped_photo_gives_the_sequential_alpha(tmp_path: Path, tiny_onnx: Path, keyed: None) -> None:
    mask = big_jpeg(tmp_path / "p.jpg", 1500, 2000, 6)
    model = infer.load_model(tiny_onnx, precision="file")
    settings = RefineSettings(work_side=512)
    planned = decode_and_plan((tmp_path / "p.jpg").read_bytes(), "p.jpg", model, SplashOptions(), settings)
    from colorsplash.runtime.edges.alpha import finish_alpha

    overlapped = finish_alpha(planned.plan, planned.guide()).alpha
    rgb = read_photo(tmp_path / "p.jpg").rgb
    small = downscale(rgb, settings.work_side)
    sequential = compute_alpha(rgb, model.predict_lowres(small), SplashOptions(), settings, small).alpha
    assert overlapped.shape == sequential.shape == mask.shape
    assert np.abs(overlapped - sequential).mean() < 0.01
    iou = np.logical_and(overlapped > 0.5, mask).sum() / np.logical_or(overlapped > 0.5, mask).sum()
    assert iou > 0.9


def test_single_file_job_writes_the_splash(tmp_path: Path, tiny_onnx: Path, keyed: None) -> None:
    mask = big_jpeg(tmp_path / "p.jpg", 1500, 2000)
    job = PhotoJob(infer.load_model(tiny_onnx, precision="file"), settings=RefineSettings(work_side=512))
    assert job(Task(tmp_path / "p.jpg", tmp_path / "out" / "p.splash.jpg", "JPEG", "JPEG")).status == "done"
    out = read_photo(tmp_path / "out" / "p.splash.jpg").rgb
    spread = out.max(axis=2).astype(int) - out.min(axis=2)
    assert spread[mask == 0].mean() < 6 and spread[mask == 1].mean() > 60  # grey outside, colour inside


def test_stages_overlap_bounded_and_per_item_errors() -> None:
    alive, peak, model_threads = [0], [0], set()
    lock = threading.Lock()

    def load(i: int) -> int:
        with lock:
            alive[0] += 1
            peak[0] = max(peak[0], alive[0])
        if i == 3:
            with lock:
                alive[0] -= 1
            raise ValueError("item 3 is bad")
        time.sleep(0.002)
        return i

    def infer_(i: int) -> int | str:
        model_threads.add(threading.get_ident())
        if i == 5:
            with lock:
                alive[0] -= 1
            return "skipped"
        return i * 10

    def finish(i: int) -> str:
        time.sleep(0.002)
        with lock:
            alive[0] -= 1
        return f"done {i}"

    stages = Stages(load, infer_, finish, lambda v: isinstance(v, str))
    results = {item: fut for item, fut in run_stages(list(range(20)), stages, jobs=2, in_flight=4)}
    assert sorted(results) == list(range(20))
    assert results[0].result() == "done 0" and results[5].result() == "skipped"
    with pytest.raises(ValueError, match="item 3"):
        results[3].result()
    assert peak[0] <= 4 and len(model_threads) == 1


def test_batch_pipeline_matches_one_by_one(tmp_path: Path, tiny_onnx: Path, keyed: None) -> None:
    for i in range(6):
        Image.fromarray(make_blob_image(120, 160, seed=i)[0]).save(tmp_path / f"p{i}.jpg", quality=90)
    (tmp_path / "p6.jpg").write_bytes(b"not a picture")
    model = infer.load_model(tiny_onnx, precision="file")
    tasks = [Task(p, tmp_path / "staged" / p.name, "JPEG", "JPEG") for p in sorted(tmp_path.glob("p*.jpg"))]
    lines: list[str] = []
    summary = run_batch(tasks, PhotoJob(model), jobs=2, progress=False, report=lines.append)
    assert (summary.done, summary.failed) == (6, 1) and any("p6.jpg" in line for line in lines)
    for task in tasks[:6]:
        single = tmp_path / "single" / task.source.name
        PhotoJob(model)(Task(task.source, single, "JPEG", "JPEG"))
        a, b = read_photo(task.output).rgb.astype(int), read_photo(single).rgb.astype(int)
        assert np.abs(a - b).max() <= 2


@pytest.mark.parametrize("mask", [False, True])
def test_a_large_jpeg_alone_and_in_a_folder_gives_the_same_result(
    tmp_path: Path, tiny_onnx: Path, keyed: None, mask: bool
) -> None:
    """The one-photo path takes the model's copy of a large JPEG from its DCT; the folder's stages take the same
    copy, so the result is the same file bit for bit (they used to shrink the full decode: another copy)."""
    big_jpeg(tmp_path / "p.jpg", 1200, 1600)
    big_jpeg(tmp_path / "q.jpg", 1500, 2000, 6)
    model = infer.load_model(tiny_onnx, precision="file")
    fmt = "PNG" if mask else "JPEG"
    tasks = [Task(p, tmp_path / "folder" / p.name, fmt, "JPEG") for p in sorted(tmp_path.glob("*.jpg"))]
    summary = run_batch(tasks, PhotoJob(model, mask=mask), jobs=2, progress=False)  # two photos: the stages
    assert summary.done == 2
    for task in tasks:
        alone = tmp_path / "alone" / task.source.name
        assert PhotoJob(model, mask=mask)(Task(task.source, alone, fmt, "JPEG")).status == "done"
        assert alone.read_bytes() == task.output.read_bytes(), task.source.name


def test_jobs_auto(tmp_path: Path) -> None:
    assert build_parser().parse_args(["splash", "x.jpg", "--jobs", "auto"]).jobs is None
    assert build_parser().parse_args(["splash", "x.jpg", "-j", "3"]).jobs == 3
    assert auto_jobs(1) == 2 and auto_jobs(16) == 8 and auto_jobs(4) == 4


@pytest.mark.parametrize("size", [(1500, 2000), (1001, 1403)])  # a whole reduction factor, and none
def test_fused_grey_splash_equals_the_general_path(
    tmp_path: Path, tiny_onnx: Path, keyed: None, size: tuple[int, int]
) -> None:
    from colorsplash.runtime.edges.alpha import finish_alpha, luma, plan_alpha
    from colorsplash.runtime.effects import apply_effect
    from colorsplash.runtime.fused import fusable, grey_splash_in_place

    rgb = cv2.GaussianBlur(make_blob_image(*size, seed=5)[0], (0, 0), 2)
    model = infer.load_model(tiny_onnx, precision="file")
    settings = RefineSettings(work_side=512)
    small = downscale(rgb, settings.work_side)
    fast = SplashOptions(edges="fast")
    plan = plan_alpha(rgb.shape[:2], model.predict_lowres(small), small, fast, settings)
    expected = apply_effect(rgb, finish_alpha(plan, luma(rgb)).alpha, "grey")
    out = rgb.copy()
    assert fusable(plan, fast, out)
    grey_splash_in_place(out, plan)
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert not fusable(plan, SplashOptions(feather=2.0), out) and not fusable(plan, SplashOptions(effect="dim"), out)


@pytest.mark.parametrize("shape", [(2, 5, 7), (3,), (0, 4)])
def test_sigmoid_matches_float64_without_warnings(shape: tuple[int, ...]) -> None:
    """The model's logits -> probabilities: the float64 formula to 2e-7, extremes included, same shape, float32."""
    import warnings

    from colorsplash.runtime.model.onnx_model import _sigmoid

    x = np.random.default_rng(0).normal(0, 30, shape).astype(np.float32)
    if x.size:
        x.flat[:2] = [1e30, -1e30][: x.size]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _sigmoid(x)
    assert got.shape == x.shape and got.dtype == np.float32
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.abs(got - expected).max(initial=0) < 2e-7
