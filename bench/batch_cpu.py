"""Where a batch's CPU goes: CPU time per stage of ``run_batch`` on a folder of 500x375 JPEGs, and the model's
share of it.

The batch keeps every core busy (its process CPU is about cores x wall), so its throughput against the model
alone is about ``model CPU / all CPU`` per photo (more where the model runs faster inside the batch than two
copies of it side by side, as it does on some CPUs). This prints, per round: photos/s and process CPU per photo,
the CPU (``time.thread_time`` of the worker running it) of each stage of
:class:`colorsplash.runtime.batch.PhotoJob` — loading (read, decode, working copy), the model, finishing
(edge stage, blend, encode, write and check) — and the rest (the pipeline's own threads, planning), then that
share. Figures move with the machine's speed from round to round; the share is a ratio measured within one.

Usage::

    python bench/batch_cpu.py [--edges fast] [--rounds 4] [--count 60]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import functools
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from splash_speed import base_photo

from colorsplash.runtime import batch as batch_module
from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.model.onnx_model import load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.planning import OutputPlan, plan_files

STAGES = ("load", "infer", "finish")


@contextmanager
def timed_stages(cpu: dict[str, float]) -> Iterator[None]:
    """While open, ``PhotoJob``'s stages each add their thread's CPU time to ``cpu[stage]``."""
    lock = threading.Lock()
    originals = {name: getattr(batch_module.PhotoJob, name) for name in STAGES}

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return method(self, *args, **kwargs)
            finally:
                with lock:
                    cpu[name] += time.thread_time() - start

        return run

    for name, method in originals.items():
        setattr(batch_module.PhotoJob, name, wrap(name, method))
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(batch_module.PhotoJob, name, method)


def model_share(job: batch_module.PhotoJob, tasks: Callable[[], list[Any]]) -> tuple[float, dict[str, float], float]:
    """One batch run of ``tasks()`` with its stages timed: (the model's share of the process's CPU, CPU seconds
    per stage, all CPU seconds)."""
    cpu: dict[str, float] = defaultdict(float)
    with timed_stages(cpu):
        start = time.process_time()
        batch_module.run_batch(tasks(), job, jobs=None, progress=False)
        total = time.process_time() - start
    return cpu["infer"] / total, dict(cpu), total


def make_folder(folder: Path, count: int, base: np.ndarray) -> list[Path]:
    """``count`` 500x375 quality-90 JPEGs of ``base`` (RGB uint8), each shifted sideways, in the new ``folder``:
    the folder ``run_all.py`` times. Returns their paths, sorted."""
    folder.mkdir()
    for i in range(count):
        small = cv2.resize(np.roll(base, i * 7, axis=1), (500, 375), interpolation=cv2.INTER_AREA)
        Image.fromarray(small).save(folder / f"p{i:03d}.jpg", quality=90)
    return sorted(folder.iterdir())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", default="fast", help="edge stage (fast, matte, auto)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--count", type=int, default=60, help="photos in the folder")
    args = parser.parse_args()
    print(f"CPU: {cpu_info().describe()}")
    job = batch_module.PhotoJob(load_model(), SplashOptions(edges=args.edges), overwrite=True)
    with tempfile.TemporaryDirectory(prefix="batch-cpu-") as name:
        sources = make_folder(Path(name) / "in", args.count, base_photo())
        out = OutputPlan(out_dir=Path(name) / "out", overwrite=True)
        batch_module.run_batch(plan_files(sources, out), job, jobs=None, progress=False)  # warm-up
        for _ in range(args.rounds):
            wall = time.perf_counter()
            share, cpu, total = model_share(job, lambda: plan_files(sources, out))
            wall = time.perf_counter() - wall
            per = {k: 1000 * cpu.get(k, 0.0) / len(sources) for k in STAGES}
            all_cpu, busy = 1000 * total / len(sources), 1000 * (os.cpu_count() or 1) * wall / len(sources)
            print(
                f"  edges={args.edges}: {len(sources) / wall:.1f} photos/s; CPU per photo {all_cpu:.1f} ms "
                f"(cores x wall {busy:.1f}): load {per['load']:.1f}, model {per['infer']:.1f}, "
                f"finish {per['finish']:.1f}, rest {all_cpu - sum(per.values()):.1f}; model share {share:.1%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
