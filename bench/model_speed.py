"""Median forward time of ONNX models at their input size (batch 1) on 2 CPU threads, and speed vs U2-Netp.

Only ``session.run`` on a fixed random input is timed (no pre/post-processing; ``bench/peers.py`` times the
whole per-image pipeline). Each model gets warm-up runs, then ``--runs`` timed runs; the models take turns run
by run, so a busy machine slows them alike. The ratio column is U2-Netp's median divided by the model's median
(``5.0x`` = five times faster than U2-Netp).

Usage::

    python bench/model_speed.py [--model M.onnx] [--u2netp u2netp.onnx] [--u2net u2net.onnx] [--runs 50]
        [--also other.onnx ...]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from peers import THREADS, file_mb

from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY
from colorsplash.runtime.model.onnx_model import create_session, default_model_path

TARGET_MS = 40.0
MIN_RATIO = 5.0


@dataclass
class Timed:
    """One model: its session, a fixed input and the measured forward times in milliseconds."""

    name: str
    path: Path
    session: Any
    feed: dict[str, np.ndarray]
    ms: list[float] = field(default_factory=list)

    def run_once(self) -> float:
        start = time.perf_counter()
        self.session.run(None, self.feed)
        return (time.perf_counter() - start) * 1000.0


def input_shape(session: Any) -> list[int]:
    """Batch-1 input shape: symbolic batch -> 1; symbolic spatial sides -> the colorsplash config's
    ``input_size`` (from the file's metadata) or 320 (U2-Net's size)."""
    meta = session.get_modelmeta().custom_metadata_map
    size = json.loads(meta[CONFIG_METADATA_KEY])["input_size"] if CONFIG_METADATA_KEY in meta else 320
    dims = session.get_inputs()[0].shape
    return [d if isinstance(d, int) else (1 if i == 0 else size) for i, d in enumerate(dims)]


def prepare(name: str, path: Path, threads: int) -> Timed:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model not found (peer models: see bench/README.md)")
    session = create_session(path, threads)
    x = np.random.default_rng(0).standard_normal(input_shape(session)).astype(np.float32)
    return Timed(name, path, session, {session.get_inputs()[0].name: x})


def measure(models: list[Timed], warmup: int, runs: int) -> None:
    """Warm every model up, then time ``runs`` forward passes each, round-robin."""
    for m in models:
        for _ in range(warmup):
            m.run_once()
    for _ in range(runs):
        for m in models:
            m.ms.append(m.run_once())


def report(models: list[Timed]) -> str:
    ref = next((m for m in models if m.name == "rembg U2-Netp"), None)
    ref_ms = statistics.median(ref.ms) if ref else None
    lines = ["| model | input | median ms | p10-p90 ms | vs U2-Netp | file MB |", "|---|---|---|---|---|---|"]
    for m in models:
        med = statistics.median(m.ms)
        p10, p90 = np.percentile(m.ms, [10, 90])
        ratio = f"{ref_ms / med:.1f}x" if ref_ms else "-"
        shape = "x".join(str(d) for d in m.feed[next(iter(m.feed))].shape)
        lines.append(f"| {m.name} | {shape} | {med:.1f} | {p10:.1f}-{p90:.1f} | {ratio} | {file_mb(m.path):.1f} |")
    return "\n".join(lines)


def verdict(models: list[Timed]) -> str:
    """One line on the issue's targets for our model: <= 40 ms and >= 5x faster than U2-Netp."""
    ours = next((m for m in models if m.name == "ours"), None)
    if ours is None:
        return ""
    med = statistics.median(ours.ms)
    text = f"ours: {med:.1f} ms ({'within' if med <= TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target)"
    ref = next((m for m in models if m.name == "rembg U2-Netp"), None)
    if ref is not None:
        ratio = statistics.median(ref.ms) / med
        text += f", {ratio:.1f}x U2-Netp's speed ({'meets' if ratio >= MIN_RATIO else 'BELOW'} the {MIN_RATIO:.0f}x)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Median ONNX forward time (batch 1, 2 threads) vs rembg's U2-Netp.")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="our ONNX model (default: $COLORSPLASH_MODEL or the bundled colorsplash/models/pets.onnx)",
    )
    p.add_argument("--u2netp", type=Path, help="rembg's u2netp.onnx (see bench/README.md)")
    p.add_argument("--u2net", type=Path, help="rembg's u2net.onnx (see bench/README.md)")
    p.add_argument("--no-ours", action="store_true", help="time only the peer models")
    p.add_argument(
        "--also",
        type=Path,
        nargs="+",
        default=[],
        metavar="M.onnx",
        help="more models to time in the same run (e.g. a float32 export of our checkpoint)",
    )
    p.add_argument("--threads", type=int, default=THREADS, help="ONNX Runtime intra-op threads (default 2)")
    p.add_argument("--warmup", type=int, default=5, help="untimed runs per model first (default 5)")
    p.add_argument("--runs", type=int, default=50, help="timed runs per model (default 50)")
    args = p.parse_args(argv)
    models = [] if args.no_ours else [prepare("ours", args.model or default_model_path(), args.threads)]
    models += [
        prepare(label, path, args.threads)
        for label, path in (("rembg U2-Netp", args.u2netp), ("rembg U2-Net", args.u2net))
        if path
    ]
    models += [prepare(path.name, path, args.threads) for path in args.also]
    if not models:
        raise ValueError("nothing to time: drop --no-ours or pass --u2netp/--u2net")
    print(f"CPU: {cpu_info().describe()}")
    load_before = os.getloadavg()[0]
    measure(models, args.warmup, args.runs)
    print(report(models))
    print(
        f"\nthreads={args.threads}, warm-up {args.warmup}, runs {args.runs}; "
        f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    line = verdict(models)
    if line:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
