"""Every headline speed ratio of issue 17 in one run, headed by the CPU and its instruction sets.

Each figure is a ratio of two things measured in the same run, taking turns run by run, so a busy machine slows
both alike and figures from different machines can be read side by side:

1. **forward**: our model's ONNX forward pass (the variant ``precision=auto`` picks here, and each variant) vs
   rembg's U2-Netp, batch 1 at each model's input size.
2. **1 MP alpha**: the whole in-memory pipeline on the same 1 MP photo: ours = ``colorsplash.predict_alpha``
   (model + full-resolution edge refinement), U2-Netp = rembg's preprocessing, forward, min-max and upsampling
   (``bench/peers.py``). Target: ours >= 5x faster. Then the same over ``--spread`` data-set photos
   (``bench/spread.py``: the matte's time follows the subject's outline, and the photo above has a short one).
3. **12 MP splash vs floor**: ``colorsplash splash`` on one 12 MP JPEG (read, model, refine, grey, encode,
   write) vs the single-threaded decode + encode + write of the same file with OpenCV, timed in a plain Python
   process beside this one (``floor.PlainFloor``; the same code in this process is printed too: it moves
   by a third with the heap's state). Target: <= 1.6x. Then the same over a third of ``--spread``'s photos.
4. **batch vs model-only**: a folder of 500x375 JPEGs through the batch runner (``--jobs auto``) vs the model
   alone on the same, already decoded photos, the faster of one after another on all cores and the batch's model
   stage's way (one single-threaded copy per core, side by side). Target: >= 90 %.
5. **video 720p**: ``colorsplash video`` frames/s on a 1280x720 H.264 clip vs decoding and re-encoding the same
   clip with the same ffmpeg settings (no model), with the video default (``edges=auto``: fast) and with matte.

Figures 2-4 are printed for each edge stage of ``--edges`` (default ``auto,fast``: the photo default, which is
the matte stage, and the fast stage). Each figure's pair runs in its own fresh process of the same settings (as
one user's process would; see ``SECTIONS``); ``--in-process`` keeps them all in this one.

Usage::

    python bench/run_all.py --u2netp peers/u2netp.onnx [--model M.onnx] [--baseline OLD.onnx] [--rounds 5]
        [--edges auto,fast] [--quick] [--in-process]

Without ``--u2netp`` the U2-Netp figures are skipped (see bench/README.md for fetching it). Needs the video
extra for figure 5 (skipped without ffmpeg).
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_cpu import make_folder, model_share  # noqa: E402
from floor import PlainFloor, floor_opencv  # noqa: E402
from model_speed import prepare  # noqa: E402
from rembg_peers import rembg_predictor  # noqa: E402
from splash_speed import base_photo, write_jpeg  # noqa: E402
from spread import TARGETS, alpha_spread, splash_spread, spread_photos  # noqa: E402

from colorsplash.runtime.batch import PhotoJob, batch_model, run_batch  # noqa: E402
from colorsplash.runtime.cpu import cpu_info  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model, default_model_path, load_model  # noqa: E402
from colorsplash.runtime.model.variants import find_variants, read_config  # noqa: E402
from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.pictures.photo_io import read_photo  # noqa: E402
from colorsplash.runtime.planning import OutputPlan, plan_files  # noqa: E402

# Each section runs in a fresh process by default: after the forward section's five sessions had come and gone, the
# same process timed our model 10 % slower in about half the runs (1 MP alpha 60 against 54 ms; not page faults,
# not OpenCV's threads), which one user's process never meets.
SECTIONS = ("forward", "alpha", "12mp", "batch", "video")


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of ``fn()``, or what it returns when that is a float (a contestant timed in another process)."""
    start = time.perf_counter()
    own = fn()
    return own if isinstance(own, float) else time.perf_counter() - start


def turns(contestants: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each contestant, all taking turns round by round after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for fn in contestants.values():
            fn()
    times: dict[str, list[float]] = {k: [] for k in contestants}
    for _ in range(rounds):
        for name, fn in contestants.items():
            times[name].append(timed(fn))
    return {k: statistics.median(v) for k, v in times.items()}


def header(model: Model) -> None:
    import onnxruntime

    cpu = cpu_info()
    print(f"CPU: {cpu.describe()}")
    print(
        f"Python {platform.python_version()}, ONNX Runtime {onnxruntime.__version__}, OpenCV {cv2.__version__}, "
        f"Pillow {Image.__version__}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"model: {model.path.name} ({model.config.name}, {model.config.precision}, chosen by precision=auto), "
        f"device {model.device}"
    )


def forward(model: Model, u2netp: Path | None, rounds: int, baseline: Path | None = None) -> None:
    config = read_config(model.path)
    assert config is not None
    family = sorted({v.path for v in find_variants(model.path, config)})
    timed_models = [prepare(f"ours {p.name}", p, 0) for p in family]
    if baseline:
        timed_models.append(prepare(f"baseline {baseline.name}", baseline, 0))
    if u2netp:
        timed_models.append(prepare("U2-Netp", u2netp, 0))
    for m in timed_models:
        for _ in range(3):
            m.run_once()
    for _ in range(rounds * 4):
        for m in timed_models:
            m.ms.append(m.run_once())
    ref = statistics.median(timed_models[-1].ms) if u2netp else None
    base = statistics.median(timed_models[len(family)].ms) if baseline else None
    for m in timed_models:
        med = statistics.median(m.ms)
        vs = f", {ref / med:.1f}x U2-Netp's speed" if ref and m.name != "U2-Netp" else ""
        if base and m.name.startswith("ours") and m.name.endswith(model.path.name):
            vs += f", {med / base:.2f}x the baseline's time (issue 13: at most 1.3x)"
        print(f"  forward {m.name}: {med:.1f} ms (median of {len(m.ms)}){vs}")


def alpha_1mp(
    model: Model, base: np.ndarray, u2netp: Path | None, rounds: int, edges: Sequence[str], spread: int
) -> None:
    photo = cv2.resize(base, (1155, 866), interpolation=cv2.INTER_CUBIC)  # 1.0 MP
    contestants: dict[str, Callable[[], object]] = {
        e: lambda e=e: colorsplash.predict_alpha(photo, model, SplashOptions(edges=e)) for e in edges
    }
    if u2netp:
        peer = rembg_predictor(u2netp, threads=0, spin=True)  # the same thread settings as predict_alpha's
        contestants["U2-Netp"] = lambda: peer(photo)
    t = turns(contestants, rounds * 2)
    for e in edges:
        line = f"  1 MP alpha (edges={e}): ours {t[e] * 1000:.0f} ms"
        if u2netp:
            ratio = t["U2-Netp"] / t[e]
            line += (
                f", U2-Netp's pipeline {t['U2-Netp'] * 1000:.0f} ms: ours {ratio:.1f}x faster "
                f"(target >= {TARGETS['alpha_1mp']:.0f}x: {'PASS' if ratio >= TARGETS['alpha_1mp'] else 'FAIL'})"
            )
        print(line)
    # The photo above has a small matte band; the matte's time follows the band, so show the spread over real pets.
    for line in alpha_spread(model, spread_photos(spread), edges, u2netp, max(1, rounds // 2)) if spread else []:
        print(line)


def splash_12mp(model: Model, base: np.ndarray, tmp: Path, rounds: int, edges: Sequence[str], spread: int) -> None:
    src = write_jpeg(tmp / "12mp.jpg", base, 4000, 3000)
    task = plan_files([src], OutputPlan(out_dir=tmp / "12mp-out", overwrite=True))[0]
    plain = PlainFloor()
    contestants: dict[str, Callable[[], object]] = {
        "floor": lambda: plain(src, tmp / "plain-floor.jpg"),
        "floor here": lambda: floor_opencv(src, tmp / "floor.jpg"),
    }
    for e in edges:  # the timed runs write the same result again
        job = PhotoJob(model, SplashOptions(edges=e), overwrite=True)
        contestants[e] = lambda job=job: job(task)
    try:
        t = turns(contestants, rounds * 2)
    finally:
        plain.close()
    print(
        f"  12 MP floor, decode + encode + write with OpenCV on one thread: {t['floor'] * 1000:.0f} ms in a plain "
        f"process (the reference), {t['floor here'] * 1000:.0f} ms in this one (its heap's state moves it)"
    )
    for e in edges:
        ratio, here = t[e] / t["floor"], t[e] / t["floor here"]
        print(
            f"  12 MP JPEG (edges={e}): splash end to end {t[e] * 1000:.0f} ms = {ratio:.2f}x the floor "
            f"({here:.2f}x this process's) "
            f"(target <= {TARGETS['splash_12mp']}x: {'PASS' if ratio <= TARGETS['splash_12mp'] else 'FAIL'})"
        )
        print(f"    one splash step by step (ms from the start): {timeline(model, src, tmp / 'timeline.jpg', e)}")
    for line in splash_spread(model, spread_photos(spread), edges, tmp, max(1, rounds // 2)) if spread else []:
        print(line)


def timeline(model: Model, src: Path, out: Path, edges: str) -> str:
    """One splash of ``src`` step by step as ``PhotoJob`` runs it, with the time (ms from the start) at which
    each step ended: the full decode runs in a thread while the reduced decode, model and coefficients run."""

    from colorsplash.runtime.edges.alpha import RefineSettings, plan_alpha
    from colorsplash.runtime.files import atomic_write
    from colorsplash.runtime.fused import GreySplash
    from colorsplash.runtime.pictures.photo_io import decode_image_bytes
    from colorsplash.runtime.pictures.photo_write import encode_image
    from colorsplash.runtime.pipeline import reduced_jpeg, upright_size

    start, marks = time.perf_counter(), {}

    def mark(name: str) -> None:
        marks[name] = (time.perf_counter() - start) * 1000

    data = src.read_bytes()
    mark("read file")

    def full() -> object:
        photo = decode_image_bytes(data, None, src.name)
        mark("full decode (thread)")
        return photo

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(full)
        hw = upright_size(data)
        assert hw is not None
        small = reduced_jpeg(data, RefineSettings().working_hw(*hw, model.config.input_size))
        mark("reduced decode")
        prob = model.predict_lowres(small)
        mark("model")
        plan = plan_alpha(hw, prob, small, SplashOptions(edges=edges))
        mark("coefficients")
        photo = future.result()
    splash = GreySplash(photo.rgb, plan)
    mark("band test")
    data = encode_image(photo.rgb, "JPEG", 95, photo.exif, photo.icc, splash)
    mark("blend + encode in bands")
    atomic_write(out, data)
    mark("write")
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(marks.items(), key=lambda kv: kv[1]))


def batch(model: Model, base: np.ndarray, tmp: Path, count: int, rounds: int, edges: Sequence[str]) -> None:
    sources = make_folder(tmp / "folder", count, base)
    photos = [read_photo(p).rgb for p in sources]

    def run_folder(job: PhotoJob) -> None:
        tasks = plan_files(sources, OutputPlan(out_dir=tmp / "fout", overwrite=True))
        run_batch(tasks, job, jobs=None, progress=False)

    def model_only() -> None:
        for rgb in photos:
            model.predict_lowres(rgb)

    single, workers = batch_model(model)

    def model_side_by_side() -> None:  # as the batch's model stage runs them: one photo per core, one thread each
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(single.predict_lowres, photos))

    contestants: dict[str, Callable[[], object]] = {"model": model_only, "model side by side": model_side_by_side}
    for e in edges:
        job = PhotoJob(model, SplashOptions(edges=e), overwrite=True)
        contestants[e] = lambda job=job: run_folder(job)
    t = turns(contestants, rounds)
    best = min(t["model"], t["model side by side"])
    print(
        f"  model only on the folder: {count / t['model']:.1f} photos/s one after another on all cores, "
        f"{count / t['model side by side']:.1f} photos/s {workers} side by side on one thread each "
        "(the batch's model stage); the faster is the reference"
    )
    for e in edges:
        share = best / t[e]
        print(
            f"  folder of {count} 500x375 JPEGs (edges={e}): batch (--jobs auto) {count / t[e]:.1f} photos/s, "
            f"model only {count / best:.1f} photos/s: {share:.1%} of model-only "
            f"(target >= {TARGETS['batch']:.0%}: {'PASS' if share >= TARGETS['batch'] else 'FAIL'})"
        )
    # After the timed turns, one more run per edge stage with its stages' CPU counted (bench/batch_cpu.py): the
    # model's share of the CPU is about what a batch can reach here, so runs on different CPUs read alike.
    plan = OutputPlan(out_dir=tmp / "fout", overwrite=True)
    for e in edges:
        job = PhotoJob(model, SplashOptions(edges=e), overwrite=True)
        share, cpu, total = model_share(job, lambda: plan_files(sources, plan))
        # At about cores x wall of CPU, the batch reaches model-only speed times the model's share of its CPU: the
        # target needs everything but the model within (1 / target - 1) of the model's CPU per photo.
        model_ms, rest_ms = 1000 * cpu["infer"] / count, 1000 * (total - cpu["infer"]) / count
        budget = model_ms * (1 / TARGETS["batch"] - 1)
        print(
            f"    (edges={e}) the model's share of the batch's CPU: {share:.1%} (bench/batch_cpu.py); outside the "
            f"model {rest_ms:.1f} ms of CPU per photo, {TARGETS['batch']:.0%} allows {budget:.1f} ms"
        )


def video(model: Model, base: np.ndarray, tmp: Path, frames: int, rounds: int) -> None:
    try:
        from colorsplash.runtime.video.clip import splash_video
        from colorsplash.runtime.video.video_encode import CONTAINERS, Encoder
        from colorsplash.runtime.video.video_io import probe, read_frames
    except ImportError as err:
        print(f"  video: skipped ({err})")
        return
    from video_stability import cover, write_still_clip

    clip = write_still_clip(tmp / "clip.mp4", cover(base, 1280, 720), frames)

    def copy_clip() -> None:
        info = probe(clip)
        with Encoder(tmp / "copy.mp4", CONTAINERS[".mp4"], info.width, info.height, Fraction(info.fps), 95) as enc:
            for frame in read_frames(info):
                enc.write(frame)

    # The video default (edges=auto: the fast stage for frames) and the matte stage, to show what auto saves.
    contestants: dict[str, Callable[[], object]] = {"copy": copy_clip}
    for e in ("auto", "matte"):
        options = SplashOptions(edges=e)
        contestants[e] = lambda o=options: splash_video(clip, tmp / "splash.mp4", model, o, overwrite=True)
    t = turns(contestants, max(2, (rounds + 1) // 2))  # a clip takes seconds: half the rounds, at least 2
    for e in ("auto", "matte"):
        print(
            f"  video 1280x720, {frames} frames (edges={e}): splash {frames / t[e]:.1f} frames/s, decode + encode "
            f"alone {frames / t['copy']:.1f} frames/s: splash = {t['copy'] / t[e]:.0%} of the codec's speed"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: bundled)")
    parser.add_argument("--u2netp", type=Path, default=None, help="rembg's u2netp.onnx (bench/README.md)")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another ONNX model whose forward pass is timed beside ours"
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns per figure (medians)")
    parser.add_argument("--folder-count", type=int, default=60, help="photos in the 500x375 folder")
    parser.add_argument("--frames", type=int, default=48, help="frames of the 720p clip")
    parser.add_argument(
        "--spread",
        type=int,
        default=12,
        help="data-set photos the 1 MP alpha is also timed on, a third of them for the 12 MP splash (0: none)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, photos and frames (a smoke run)")
    parser.add_argument(
        "--edges",
        default="auto,fast",
        help="edge stages to time, comma-separated (auto = the photo default, matte; default: auto,fast)",
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these figures")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every figure in this process (default: each in a fresh process of the same settings)",
    )
    parser.add_argument("--section", action="store_true", help=argparse.SUPPRESS)  # a child: no header
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.folder_count, args.frames, args.spread = 2, 16, 16, 4
    model = load_model(args.model or default_model_path())
    if not args.section:
        header(model)
    only = [s for s in SECTIONS if s in (args.only or SECTIONS)]
    if len(only) > 1 and not args.in_process:
        for section in only:
            subprocess.run([sys.executable, __file__, *child_arguments(args), "--only", section], check=True)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return 0
    base = base_photo()
    edges = [e.strip() for e in args.edges.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="run-all-") as name:
        tmp = Path(name)
        if "forward" in only:
            forward(model, args.u2netp, args.rounds, args.baseline)
        if "alpha" in only:
            alpha_1mp(model, base, args.u2netp, args.rounds, edges, args.spread)
        if "12mp" in only:
            splash_12mp(model, base, tmp, args.rounds, edges, args.spread // 3)
        if "batch" in only:
            batch(model, base, tmp, args.folder_count, args.rounds, edges)
        if "video" in only:
            video(model, base, tmp, args.frames, args.rounds)
    if not args.section:
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


def child_arguments(args: argparse.Namespace) -> list[str]:
    """The settings of this run for a child process that times one section (``--only`` added by the caller)."""
    out = ["--section", "--rounds", str(args.rounds), "--folder-count", str(args.folder_count)]
    out += ["--frames", str(args.frames), "--edges", args.edges, "--spread", str(args.spread)]
    for flag, value in (("--model", args.model), ("--u2netp", args.u2netp), ("--baseline", args.baseline)):
        if value is not None:
            out += [flag, str(value)]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
