"""Issue 17: model variants chosen per CPU (cached), --precision/--device, the overlapped one-photo path and the
staged batch pipeline."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

from colorsplash.cli import build_parser, main
from colorsplash.runtime import cpu as cpu_mod
from colorsplash.runtime import onnx_model as infer
from colorsplash.runtime import variants as var
from colorsplash.runtime.alpha import RefineSettings, compute_alpha
from colorsplash.runtime.batch import PhotoJob, Task, run_batch
from colorsplash.runtime.config import CONFIG_METADATA_KEY
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.photo_io import read_photo
from colorsplash.runtime.pipeline import Stages, auto_jobs, decode_and_plan, reduced_jpeg, run_stages
from colorsplash.runtime.working import downscale, work_size

AVX2 = cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx", "avx2", "fma"), 2)


def orange_key(self: infer.Model, image: np.ndarray) -> np.ndarray:
    """A stand-in model: subject = orange pixels (the blob of ``make_blob_image``), at the model's size."""
    small = cv2.resize(image, (self.config.input_size,) * 2, interpolation=cv2.INTER_AREA).astype(np.float32)
    return np.clip((small[..., 0] - small[..., 2] - 60) / 60, 0, 1).astype(np.float32)


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infer.Model, "predict_lowres", orange_key)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No models cached in this process; the per-machine cache in a folder of this test."""
    monkeypatch.setattr(infer, "_cache", {})
    monkeypatch.setenv(cpu_mod.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_variant(src: Path, dst: Path, **changes: object) -> Path:
    """A copy of the ONNX file ``src`` whose colorsplash config has ``changes`` (e.g. ``precision="int8"``)."""
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(src))
    for prop in proto.metadata_props:
        if prop.key == CONFIG_METADATA_KEY:
            data = json.loads(prop.value)
            data.update(changes)
            prop.value = json.dumps(data)
    onnx.save(proto, str(dst))
    return dst


@pytest.fixture
def family(tiny_onnx: Path, tmp_path: Path) -> Path:
    """``m.onnx`` (float32) with an int8-labelled sibling ``m.int8.onnx`` and a stale ``m.old.onnx`` (other
    weights: its name differs)."""
    main_file = tmp_path / "m.onnx"
    main_file.write_bytes(tiny_onnx.read_bytes())
    write_variant(
        tiny_onnx,
        tmp_path / "m.int8.onnx",
        precision="int8",
        training={"metrics": {"val_iou": 0.0}, "int8_calibration": {"images": 4}},
    )
    write_variant(tiny_onnx, tmp_path / "m.old.onnx", precision="int8", name="another-model")
    return main_file


# ------------------------------------------------------------------------------------------------ variants


def test_metadata_read_without_a_session(tiny_onnx: Path) -> None:
    session = infer.create_session(tiny_onnx)
    assert var.read_metadata(tiny_onnx) == session.get_modelmeta().custom_metadata_map
    with pytest.raises(ValueError, match="not an ONNX file|truncated"):
        var.read_metadata(Path(__file__))


def test_variants_match_by_config_not_by_name(family: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = var.read_config(family)
    assert config is not None
    found = var.find_variants(family, config)
    assert [(v.path.name, v.kind) for v in found] == [("m.onnx", "fp32"), ("m.int8.onnx", "int8")]
    assert "m.old.onnx: not a variant" in caplog.text


def test_precision_flag_picks_the_variant(family: Path, fresh: Path) -> None:
    assert infer.load_model(family, precision="int8").path.name == "m.int8.onnx"
    assert infer.load_model(family, precision="fp32").path.name == "m.onnx"
    assert infer.load_model(family, precision="file").path.name == "m.onnx"
    (family.parent / "m.int8.onnx").unlink()
    infer._cache.clear()
    with pytest.raises(var.VariantError, match="no int8 variant"):
        infer.load_model(family, precision="int8")


def test_auto_benchmarks_once_per_machine_then_uses_the_cache(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_benchmark(sessions: dict[str, object], size: int) -> tuple[str, dict[str, float]]:
        calls.append(size)
        return "fp32", {"fp32": 1.0, "int8": 2.0}

    monkeypatch.setattr(var, "benchmark_choice", fake_benchmark)
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    assert infer.load_model(family).path.name == "m.onnx"
    stored = json.loads((fresh / var.CACHE_FILE).read_text())
    (entry,) = stored.values()
    assert entry["choice"] == "fp32" and "Test CPU" in entry["cpu"] and "avx2" in entry["cpu"]
    infer._cache.clear()
    assert infer.load_model(family).path.name == "m.onnx" and len(calls) == 1  # cached: no second benchmark
    # Another CPU (other flags) is another key: measured again.
    monkeypatch.setattr(var, "cpu_info", lambda: cpu_mod.CpuInfo("Test CPU", "x86_64", ("avx512_vnni",), 2))
    infer._cache.clear()
    infer.load_model(family)
    assert len(calls) == 2


def test_an_unwritable_cache_is_said_once_with_what_to_do(
    family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit (wording): the timing line said "result cached in X", then "could not cache ... in X": two lines that
    contradict each other, and neither said what to do."""
    monkeypatch.setattr(var, "benchmark_choice", lambda sessions, size: ("fp32", {"fp32": 1.0, "int8": 2.0}))
    monkeypatch.setattr(var, "cpu_info", lambda: AVX2)
    fresh.write_text("a file where the cache folder should be")
    caplog.set_level(logging.INFO)
    assert infer.load_model(family).path.name == "m.onnx"
    assert "cached in" not in caplog.text and "kept in" not in caplog.text
    assert f"could not keep the model variant choice in {fresh / var.CACHE_FILE}" in caplog.text
    assert cpu_mod.CACHE_ENV in caplog.text
    fresh.unlink()
    caplog.clear()
    infer._cache.clear()
    infer.load_model(family)
    assert f"chose the fp32 variant (fp32 1.0 ms, int8 2.0 ms); kept in {fresh / var.CACHE_FILE}" in caplog.text


def test_benchmark_can_be_switched_off(family: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(var.BENCHMARK_ENV, "0")
    monkeypatch.setattr(var, "benchmark_choice", lambda *a: pytest.fail("benchmark ran"))
    monkeypatch.setattr(var, "cpu_info", lambda: cpu_mod.CpuInfo("old", "x86_64", ("sse4_2",), 2))
    assert infer.load_model(family).path.name == "m.onnx"  # the rule: float on a CPU without AVX2 or VNNI
    assert not (fresh / var.CACHE_FILE).exists()


def test_real_benchmark_and_rule(family: Path, fresh: Path) -> None:
    sessions = {"int8": infer.create_session(family.parent / "m.int8.onnx"), "fp32": infer.create_session(family)}
    kind, ms = var.benchmark_choice(sessions, 64)
    assert kind in ("int8", "fp32") and set(ms) == {"int8", "fp32"} and all(v > 0 for v in ms.values())
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)
    sse = cpu_mod.CpuInfo("old", "x86_64", ("sse4_1", "sse4_2"), 2)
    vnni = cpu_mod.CpuInfo("new", "x86_64", ("avx2", "avx512_vnni"), 2)
    arm = cpu_mod.CpuInfo("arm", "aarch64", ("asimd", "asimddp"), 4)
    assert [var.rule_choice(both, c).kind for c in (sse, AVX2, vnni, arm)] == ["fp32", "int8", "int8", "int8"]


def test_cpuinfo_parsing_x86_and_arm() -> None:
    model, flags = cpu_mod._parse_cpuinfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2 fma\n")
    assert model == "AMD EPYC 7B13" and {"avx2", "fma"} <= flags
    _, flags = cpu_mod._parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\n")
    assert cpu_mod.CpuInfo("arm", "aarch64", tuple(sorted(flags & set(cpu_mod.RELEVANT_FLAGS))), 4).fast_int8
    assert cpu_mod.cpu_info().cores >= 1


def test_bundled_variants_share_one_config() -> None:
    """The shipped int8 and float files are the same weights (configs equal but for precision and export
    records), or the float one would be ignored."""
    path = infer.bundled_model_path()
    config = var.read_config(path)
    assert config is not None
    kinds = sorted(v.kind for v in var.find_variants(path, config))
    assert kinds == ["fp32", "int8"]


# ------------------------------------------------------------------------------------------------ devices


def test_cuda_absent_is_a_clear_error_and_auto_falls_back(
    monkeypatch: pytest.MonkeyPatch, tiny_onnx: Path, tmp_path: Path, fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(infer, "available_providers", lambda: ["CPUExecutionProvider"])
    assert infer.resolve_device("auto") == "cpu"
    with pytest.raises(infer.ModelLoadError, match=r"colorsplash\[gpu\]"):
        infer.load_model(tiny_onnx, device="cuda")
    assert infer.load_model(tiny_onnx, device="auto").device == "cpu"
    Image.fromarray(make_blob_image()[0]).save(tmp_path / "a.png")
    assert main(["-q", "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "Traceback" not in err and not (tmp_path / "a.splash.png").exists()


def test_cuda_provider_requested_when_available(monkeypatch: pytest.MonkeyPatch, tiny_onnx: Path) -> None:
    """With onnxruntime-gpu, ``auto`` asks for CUDA first; a CUDA that fails to start is an error, not a silent
    CPU run."""
    monkeypatch.setattr(infer, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert infer.resolve_device("auto") == "cuda"
    asked: list[list[str]] = []

    class FakeSession:
        def __init__(self, path: str, sess_options: object, providers: list[str]) -> None:
            asked.append(providers)

        def get_providers(self) -> list[str]:
            return ["CPUExecutionProvider"]

    import onnxruntime

    monkeypatch.setattr(onnxruntime, "InferenceSession", FakeSession)
    with pytest.raises(infer.ModelLoadError, match="could not start CUDA"):
        infer.create_session(tiny_onnx, device="cuda")
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]


@pytest.mark.parametrize("verb", ["splash", "mask", "video", "serve"])
def test_precision_and_device_flags_on_every_verb(verb: str) -> None:
    extra = {"splash": ["x.jpg"], "mask": ["x.jpg"], "video": ["x.mp4", "-o", "y.mp4"], "serve": []}[verb]
    args = build_parser().parse_args([verb, *extra, "--precision", "int8", "--device", "cpu"])
    assert (args.precision, args.device) == ("int8", "cpu")
    assert build_parser().parse_args([verb, *extra]).precision == "auto"
    from colorsplash.cli import common

    assert common.PRECISIONS == var.PRECISION_CHOICES and common.DEVICES == infer.DEVICE_CHOICES


# ------------------------------------------------------------------------------------------------ one photo


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
    from colorsplash.runtime.alpha import finish_alpha

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


# ------------------------------------------------------------------------------------------------ many photos


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


def test_jobs_auto(tmp_path: Path) -> None:
    assert build_parser().parse_args(["splash", "x.jpg", "--jobs", "auto"]).jobs is None
    assert build_parser().parse_args(["splash", "x.jpg", "-j", "3"]).jobs == 3
    assert auto_jobs(1) == 2 and auto_jobs(16) == 8 and auto_jobs(4) == 4


@pytest.mark.parametrize("size", [(1500, 2000), (1001, 1403)])  # a whole reduction factor, and none
def test_fused_grey_splash_equals_the_general_path(
    tmp_path: Path, tiny_onnx: Path, keyed: None, size: tuple[int, int]
) -> None:
    from colorsplash.runtime.alpha import finish_alpha, luma, plan_alpha
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


def test_training_device_falls_back_to_the_cpu_and_cuda_gets_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    from colorsplash.training import steps
    from colorsplash.training.config import TrainConfig

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert steps.training_device(1).type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    steps._auto_bf16.cache_clear()
    ctx = steps._autocast(TrainConfig(), torch.device("cuda:0"))  # auto: bf16 on a GPU that has it
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16 and ctx.device == "cuda"
    assert not isinstance(steps._autocast(TrainConfig(bf16=False), torch.device("cuda:0")), torch.autocast)
    steps._auto_bf16.cache_clear()


@pytest.mark.parametrize("shape", [(2, 5, 7), (3,), (0, 4)])
def test_sigmoid_matches_float64_without_warnings(shape: tuple[int, ...]) -> None:
    """The model's logits -> probabilities: the float64 formula to 2e-7, extremes included, same shape, float32."""
    import warnings

    from colorsplash.runtime.onnx_model import _sigmoid

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


def _spinning(session: object) -> str:
    return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")  # type: ignore[attr-defined]


def test_exclusive_runs_use_a_spinning_twin_with_the_same_numbers(tiny_onnx: Path, fresh: Path) -> None:
    """Inside ``Model.exclusive`` (the API's one-photo path) runs go to a second session of the same file whose
    threads spin during a run; outside, and for a session set by hand, the model's own session."""
    model = infer.load_model(tiny_onnx, threads=2, precision="file")
    image, _ = make_blob_image(40, 56)
    plain = model.predict_scored(image)
    assert model._spinning is None and _spinning(model.session) == "0"
    with model.exclusive():
        spun = model.predict_scored(image)
    assert model._spinning is not None and _spinning(model._spinning[1]) == "1"
    assert np.array_equal(plain[0], spun[0]) and plain[1] == spun[1]
    from colorsplash import predict_alpha

    model._spinning = None
    assert predict_alpha(image, model).shape == (40, 56) and model._spinning is not None  # the API's path
    stand_in = infer.create_session(tiny_onnx, 1)
    model.session = stand_in
    with model.exclusive():
        assert model._session_for_run() is stand_in


def test_threads_meeting_on_first_exclusive_use_make_one_spinning_twin(
    tiny_onnx: Path, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads splashing their first photos at once (a web app's workers) each made a twin session of the file
    (review): memory, once per thread. One is made; every thread runs on it."""
    model = infer.load_model(tiny_onnx, threads=1, precision="file")
    made: list[object] = []
    real = infer.create_session

    def slow_create(*args: object, **kwargs: object) -> object:
        time.sleep(0.05)  # the window in which a second thread used to start its own
        session = real(*args, **kwargs)  # type: ignore[arg-type]
        made.append(session)
        return session

    monkeypatch.setattr(infer, "create_session", slow_create)
    got: list[object] = []

    def first_use() -> None:
        with model.exclusive():
            got.append(model._session_for_run())

    workers = [threading.Thread(target=first_use) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(made) == 1 and all(g is made[0] for g in got)


def test_variants_exported_from_other_checkpoints_never_pair(
    tiny_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The checkpoint hash is an export record (an older file without it still pairs), but two different hashes
    are two different sets of weights (review)."""
    main_file = write_variant(tiny_onnx, tmp_path / "m.onnx", training={"checkpoint_sha256": "aa"})
    write_variant(tiny_onnx, tmp_path / "m.int8.onnx", precision="int8", training={"checkpoint_sha256": "bb"})
    write_variant(tiny_onnx, tmp_path / "m.old.onnx", precision="int8", training={})
    config = var.read_config(main_file)
    assert config is not None
    found = [v.path.name for v in var.find_variants(main_file, config)]
    assert found == ["m.onnx", "m.old.onnx"] and "m.int8.onnx: not a variant" in caplog.text


@pytest.mark.parametrize(
    "ms, kind",
    [
        ({"int8": 10.0, "fp32": 9.6}, "int8"),  # float faster by less than the margin: the smaller int8 file
        ({"int8": 10.0, "fp32": 9.0}, "fp32"),  # faster by more: float
        ({"int8": 9.0, "fp32": 10.0}, "int8"),
        ({"fp32": 5.0}, "fp32"),  # one kind timed: it
    ],
)
def test_benchmark_picks_int8_unless_float_is_clearly_faster(
    monkeypatch: pytest.MonkeyPatch, ms: dict[str, float], kind: str
) -> None:
    monkeypatch.setattr(var, "time_sessions", lambda sessions, size: ms)
    assert var.benchmark_choice({}, 64) == (kind, ms)


def test_rule_picks_float_on_an_old_cpu_whichever_file_comes_first(family: Path) -> None:
    """The rule's float choice was only tried with the float file first (it is also the fallback)."""
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)[::-1]
    assert [v.kind for v in both] == ["int8", "fp32"]
    sse = cpu_mod.CpuInfo("old", "x86_64", ("sse4_1", "sse4_2"), 2)
    assert var.rule_choice(both, sse).kind == "fp32" and var.rule_choice(both, AVX2).kind == "int8"


def test_a_sibling_of_the_same_precision_is_not_a_second_variant(family: Path) -> None:
    shutil.copy(family, family.parent / "m.copy.onnx")
    config = var.read_config(family)
    assert config is not None
    assert [v.path.name for v in var.find_variants(family, config)] == ["m.onnx", "m.int8.onnx"]


def test_a_retrained_file_is_benchmarked_again(family: Path) -> None:
    """The cached choice is keyed by the files' contents: a new model in the same place is measured again."""
    config = var.read_config(family)
    assert config is not None
    both = var.find_variants(family, config)
    before = var.cache_key(both, AVX2, "1.0")
    with open(family, "ab") as fp:
        fp.write(b"\0")  # other bytes (and size): another model
    assert var.cache_key(both, AVX2, "1.0") != before
