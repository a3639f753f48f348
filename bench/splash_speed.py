"""Speed and memory of ``colorsplash splash`` on big photos and on a folder of small ones.

Figures (medians over ``--runs`` after one warm-up; one process, the model loaded once):

1. **12 MP JPEG, end to end**: read the file, model, edge stage (each of ``--edges`` in turn), colour
   decontamination, grey blend, encode and write the JPEG (exactly what ``colorsplash splash`` does per file),
   against the floor: decoding and re-encoding the same file at the same quality and writing it. Target: issue
   17's, the one ``run_all.py`` judges the same figure by (``spread.TARGETS``: splash <= 1.6x the floor). A
   per-stage split follows.
2. **Folder throughput**: photos per second over a folder of 500x375 JPEGs through the batch runner (default
   ``--jobs``, named with the count it runs, and ``--jobs 1``).
3. **Peak memory, 24 MP**: a child process loads the model, then splashes a 24 MP JPEG once; its peak resident
   set size (``VmHWM``) is printed with its size before the photo. Target: peak <= 1.5 GB.

JPEG pixels are decoded and encoded with OpenCV (libjpeg-turbo), so the floor of figure 1 is OpenCV's
decode + encode + write of the same file, timed in a plain Python process beside this one (``floor.PlainFloor``:
in this process the same code runs a third faster or slower with the heap's state); the wall-time line also
shows the same code timed in this process, and Pillow's. Wall time is the figure that counts;
CPU time (all threads) is printed too because it stays meaningful on a busy machine.

Test photos are made in a temporary folder: a real photo from ``../shared/data`` when present (else a
synthetic one) enlarged to 12 MP / 24 MP with mild sensor-like noise, so the JPEG codec works as on a camera
photo. The model is ``--model``, else ``$COLORSPLASH_MODEL`` or the bundled one, else
an untrained unet-lite0 at 256 px exported on the spot (needs torch; cheaper than the bundled model).

Usage::

    python bench/splash_speed.py [--model M.onnx] [--runs 5] [--folder-count 60] [--skip-memory] [--edges fast,matte]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from floor import QUALITY, PlainFloor, floor_opencv, floor_pillow  # bench/ is on sys.path: run as a script
from PIL import Image
from shared_data import SHARED_DATA

from colorsplash.runtime.batch import PhotoJob, run_batch
from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.edges.alpha import RefineSettings, model_alpha
from colorsplash.runtime.edges.foreground import estimate_colours
from colorsplash.runtime.effects import apply_effect, composite
from colorsplash.runtime.model.onnx_model import Model, default_model_path, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import read_photo
from colorsplash.runtime.pictures.photo_write import write_image
from colorsplash.runtime.pipeline import auto_jobs
from colorsplash.runtime.planning import OutputPlan, plan_files

ROOT = Path(__file__).resolve().parents[1]
PHOTO_DIR = SHARED_DATA / "oxford-pets" / "images"
TARGET_PEAK_GB = 1.5


def real_photo() -> np.ndarray | None:
    """The first readable Oxford pet photo of ``../shared/data`` (RGB uint8 ``HxWx3``); ``None`` without the data."""
    for p in sorted(PHOTO_DIR.glob("*.jpg"))[:20]:
        try:
            return read_photo(p).rgb
        except ValueError:
            continue
    return None


def base_photo() -> np.ndarray:
    """A real pet photo (RGB uint8) when the shared data is there, else a synthetic blob picture, said on stderr:
    the model finds no pet in it, so the edge stages have nothing to do and the splash figures read faster."""
    real = real_photo()
    if real is not None:
        return real
    print(
        f"no photo under {PHOTO_DIR}: timing a synthetic picture in which the model finds no pet (the edge stages do "
        f"almost nothing: splash figures read faster than on a photo); put the shared data at {SHARED_DATA}",
        file=sys.stderr,
    )
    rng = np.random.default_rng(0)
    img = rng.integers(0, 90, (375, 500, 3)).astype(np.uint8)
    cv2.ellipse(img, (250, 190), (120, 90), 0, 0, 360, (220, 120, 40), -1)
    return img


def write_jpeg(path: Path, base: np.ndarray, width: int, height: int) -> Path:
    """``base`` resized to ``width x height`` plus Gaussian noise (sigma 3), saved as a quality-92 JPEG."""
    big = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(1).normal(0, 3, big.shape).astype(np.float32)
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def bench_model(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    if default_model_path().is_file():
        return default_model_path()
    import torch

    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.checkpoint import save_checkpoint
    from colorsplash.training.export import export_onnx
    from colorsplash.training.networks import build_model

    torch.manual_seed(0)
    config = ModelConfig(arch="unet-lite0", input_size=256, name="untrained-bench", training={"metrics": {}})
    save_checkpoint(tmp / "bench.pt", build_model(config), config)
    export_onnx(tmp / "bench.pt", tmp / "bench.onnx")
    print("model: untrained unet-lite0 256 px exported for the bench (no bundled model found)")
    return tmp / "bench.onnx"


def median_s(fn: Callable[[], object], runs: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds of ``fn`` over ``runs`` after one warm-up (caches, thread pools, lazy imports)."""
    fn()
    times = []
    for _ in range(runs):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def _verdict(label: str, ratio: float) -> str:
    """The target is on wall time; CPU time is shown for context (the splash uses both cores, the floor one)."""
    if label != "wall":
        return "(no target: the splash runs on all cores, the floor on one)"
    from spread import TARGETS  # here: spread.py imports this module

    bar = TARGETS["splash_12mp"]
    return f"(target <= {bar}x: {'PASS' if ratio <= bar else 'FAIL'})"


def bench_big(model: Model, src: Path, out: Path, runs: int, edges: tuple[str, ...]) -> None:
    """End to end against the floor, each edge stage in turn (``--edges``), then a per-stage split."""
    plain = PlainFloor()
    try:
        plain(src, out / "plain-floor.jpg")  # warm-up
        plain_floor = statistics.median(plain(src, out / "plain-floor.jpg") for _ in range(runs))
    finally:
        plain.close()
    for label, clock in (("wall", time.perf_counter), ("CPU", time.process_time)):
        floors = {
            name: median_s(lambda f=f: f(src, out / "floor.jpg"), runs, clock)
            for name, f in (("OpenCV", floor_opencv), ("Pillow", floor_pillow))
        }
        if label == "wall":  # the reference: in this process the heap's state moves the same decode by a third
            print(f"12 MP floor in a plain process (OpenCV, one thread): {plain_floor * 1000:.0f} ms")
            floors["OpenCV"] = plain_floor
        floor = floors["OpenCV"]
        task = plan_files([src], OutputPlan(out_dir=out, overwrite=True))[0]
        for edge in edges:
            job = PhotoJob(model, SplashOptions(edges=edge), overwrite=True)  # timed runs rewrite the same result
            total = median_s(lambda j=job, t=task: j(t), runs, clock)
            ratio = total / floor
            print(
                f"12 MP JPEG, {label} time: decode+encode floor {floor * 1000:.0f} ms with OpenCV "
                f"({floors['Pillow'] * 1000:.0f} ms with Pillow), splash end to end (edges={edge}) "
                f"{total * 1000:.0f} ms, ratio {ratio:.2f}x {_verdict(label, ratio)}"
            )
    photo = read_photo(src)
    small = RefineSettings().working_copy(photo.rgb, model.config.input_size)
    result = model_alpha(model, photo.rgb)
    picture = apply_effect(photo.rgb, result.alpha)
    stages: dict[str, Callable[[], object]] = {
        "read (decode, RGB array)": lambda: read_photo(src),
        "  model only": lambda: model.predict_lowres(small),
    }
    for edge in edges:
        stages[f"model + edges={edge}"] = lambda e=edge: model_alpha(model, photo.rgb, SplashOptions(edges=e))
    stages.update(
        {
            "colour estimate (F, B)": lambda: estimate_colours(photo.rgb, result.alpha),
            "blend (grey, plain)": lambda: apply_effect(photo.rgb, result.alpha),
            "blend (grey, decontaminated)": lambda: composite(photo.rgb, result.alpha, SplashOptions(edges="matte")),
            "encode + write": lambda: write_image(out / "stage.jpg", picture, "JPEG", QUALITY, photo.exif, photo.icc),
        }
    )
    print("  stages (wall time):")
    for name, fn in stages.items():
        print(f"  {name:30s} {median_s(fn, runs) * 1000:7.0f} ms")


def bench_folder(model: Model, base: np.ndarray, tmp: Path, count: int, runs: int) -> None:
    folder = tmp / "folder"
    folder.mkdir()
    for i in range(count):
        shifted = np.roll(base, i * 7, axis=1)
        Image.fromarray(cv2.resize(shifted, (500, 375), interpolation=cv2.INTER_AREA)).save(
            folder / f"p{i:03d}.jpg", quality=90
        )
    tasks = plan_files(sorted(folder.iterdir()), OutputPlan(out_dir=tmp / "fout", overwrite=True))
    for jobs in (None, 1):
        seconds = median_s(
            lambda j=jobs: run_batch(tasks, PhotoJob(model, overwrite=True), jobs=j, progress=False), runs
        )
        label = f"--jobs {jobs}" if jobs else f"--jobs default ({auto_jobs()})"
        print(
            f"folder of {count} 500x375 JPEGs, {label}: {count / seconds:.1f} photos/s "
            f"({seconds * 1000 / count:.0f} ms per photo)"
        )


def peak_rss_gb() -> float:
    """This process's peak resident set size in GB: ``VmHWM`` (Linux; unlike ``ru_maxrss`` it does not inherit
    the parent's peak across fork + exec), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def memory_child(model_path: str, src: str, out: str, edges: str) -> None:
    """Run in a separate process: peak RSS after loading the model, then after one 24 MP splash."""
    model = load_model(model_path)
    model.predict_lowres(np.zeros((64, 64, 3), np.uint8))
    before = peak_rss_gb()
    PhotoJob(model, SplashOptions(edges=edges), overwrite=True)(
        plan_files([Path(src)], OutputPlan(out_file=Path(out), overwrite=True))[0]
    )
    print(f"{before:.3f} {peak_rss_gb():.3f}")


def bench_memory(model_path: Path, base: np.ndarray, tmp: Path, edges: tuple[str, ...]) -> None:
    src = write_jpeg(tmp / "24mp.jpg", base, 6000, 4000)
    for edge in edges:
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(model_path), str(src), str(tmp / "24mp.splash.jpg"), edge],
            capture_output=True,
            text=True,
            check=True,
        )
        before, peak = (float(v) for v in done.stdout.split()[-2:])
        print(
            f"24 MP JPEG peak memory (edges={edge}): {peak:.2f} GB resident ({before:.2f} GB with the model "
            f"loaded, +{peak - before:.2f} GB for the photo) (target <= {TARGET_PEAK_GB} GB: "
            f"{'PASS' if peak <= TARGET_PEAK_GB else 'FAIL'})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="ONNX model (default: bundled, else an untrained export)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--folder-count", type=int, default=60, help="photos in the 500x375 folder")
    parser.add_argument("--skip-memory", action="store_true", help="no 24 MP peak-memory child process")
    parser.add_argument("--edges", default="fast,matte", help="edge stages to time, comma-separated")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    print(f"CPU: {cpu_info().describe()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="splash-bench-") as name:
        tmp = Path(name)
        model_path = bench_model(args.model, tmp)
        model = load_model(model_path)
        print(f"model: {model_path} ({model.config.arch}, {model.config.input_size} px)")
        base = base_photo()
        src = write_jpeg(tmp / "12mp.jpg", base, 4000, 3000)
        edges = tuple(args.edges.split(","))
        bench_big(model, src, tmp, args.runs, edges)
        bench_folder(model, base, tmp, args.folder_count, max(1, args.runs // 2))
        if not args.skip_memory:
            bench_memory(model_path, base, tmp, edges)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
