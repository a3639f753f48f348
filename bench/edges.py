"""Edge quality and speed on the alphamatting.com training set: our two edge stages against pymatting's.

For each of the 27 photos of ``../shared/data/alphamatting`` and each of its two trimaps (trimap2 has the wider
unknown band), four mattes are made from the photo and the trimap, in turns on the same photo:

- ``fast``: today's edge stage (:func:`colorsplash.runtime.edges.alpha.compute_alpha`, ``edges="fast"``) given the
  trimap as a probability (0 / 0.5 / 1 at the photo's size);
- ``matte``: the new stage, :func:`colorsplash.matte` with the trimap;
- ``closed-form`` and ``knn``: pymatting's ``estimate_alpha_cf`` (Levin et al. 2008) and
  ``estimate_alpha_knn`` (Chen et al. 2013), JIT-compiled by numba (compiled once before timing).

Figures inside the trimap's unknown band, against the true alpha (all in [0, 1]): SAD (sum of absolute
differences / 1000), MSE (x 1000), gradient error (Rhemann et al. 2009: squared difference of the Gaussian-
derivative (sigma 1.4) gradient magnitudes, summed / 1000), wall and CPU seconds per photo.

Splash error: the ideal grey splash made from the true alpha, ``a* F* + (1 - a*) grey(B*)`` with F* and B* from
pymatting's multilevel estimator (Germer et al. 2020) on the true alpha, against ours; mean RGB distance (0..255)
in the unknown band, for today's pipeline (fast alpha, plain blend of the observed pixel), the new one (matte
alpha, decontaminated blend :func:`colorsplash.runtime.effects.composite`) and the two mixed.

Usage (pymatting is a bench-only dependency: ``pip install -e ".[bench]"``)::

    python bench/edges.py [--photos 1,4,8] [--trimaps trimap1] [--knn-every 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from shared_data import SHARED_DATA

from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.edges.alpha import compute_alpha
from colorsplash.runtime.edges.edge_matte import matte
from colorsplash.runtime.effects import apply_effect, composite
from colorsplash.runtime.options import SplashOptions

DATA = SHARED_DATA / "alphamatting"
METHODS = ("fast", "matte", "closed-form", "knn")
MATTE = SplashOptions(edges="matte")  # composite() decontaminates with the matte stage
SPLASHES = ("fast + plain", "fast + decontaminated", "matte + plain", "matte + decontaminated")


def load(n: int, trimap: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Photo n: RGB uint8 ``HxWx3``, trimap uint8 ``HxW`` (0 / 128 / 255), true alpha float32 in [0, 1]."""
    name = f"GT{n:02d}.png"
    rgb = cv2.cvtColor(cv2.imread(str(DATA / "images" / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    tri = cv2.imread(str(DATA / trimap / name), cv2.IMREAD_GRAYSCALE)
    true = cv2.imread(str(DATA / "alpha" / name), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    return rgb, tri, true


def gradient_magnitude(alpha: np.ndarray) -> np.ndarray:
    """Gradient magnitude of ``alpha`` by first derivatives of a Gaussian, sigma 1.4 (Rhemann et al.)."""
    smooth = cv2.GaussianBlur(alpha.astype(np.float64), (0, 0), 1.4)
    return np.hypot(cv2.Sobel(smooth, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_64F, 0, 1, ksize=3)) / 8


def errors(alpha: np.ndarray, true: np.ndarray, band: np.ndarray) -> dict[str, float]:
    diff = (alpha - true)[band]
    grad = (gradient_magnitude(alpha) - gradient_magnitude(true))[band]
    return {
        "sad": float(np.abs(diff).sum() / 1000),
        "mse": float((diff**2).mean() * 1000),
        "grad": float((grad**2).sum() / 1000),
    }


def timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def methods(rgb: np.ndarray, tri: np.ndarray, with_knn: bool) -> dict[str, Callable[[], np.ndarray]]:
    from pymatting import estimate_alpha_cf, estimate_alpha_knn

    prob = tri.astype(np.float32) / 255  # the trimap as a probability: unknown = 0.5
    found: dict[str, Callable[[], np.ndarray]] = {
        "fast": lambda: compute_alpha(rgb, prob, SplashOptions(edges="fast")).alpha,
        "matte": lambda: matte(rgb, tri),
        "closed-form": lambda: estimate_alpha_cf(rgb / 255.0, prob.astype(np.float64)).astype(np.float32),
    }
    if with_knn:
        found["knn"] = lambda: estimate_alpha_knn(rgb / 255.0, prob.astype(np.float64)).astype(np.float32)
    return found


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2).astype(np.float32)


def splash_errors(
    rgb: np.ndarray, true: np.ndarray, band: np.ndarray, alphas: dict[str, np.ndarray]
) -> dict[str, float]:
    """Mean RGB distance in the band between the ideal grey splash (true alpha, F/B from it) and ours."""
    from pymatting import estimate_foreground_ml

    f, b = estimate_foreground_ml(rgb / 255.0, true.astype(np.float64), return_background=True)
    f8, b8 = (np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8) for x in (f, b))
    ideal = true[..., None] * f8.astype(np.float32) + (1 - true[..., None]) * grey(b8)
    made = {
        "fast + plain": apply_effect(rgb, alphas["fast"], "grey"),
        "fast + decontaminated": composite(rgb, alphas["fast"], MATTE),
        "matte + plain": apply_effect(rgb, alphas["matte"], "grey"),
        "matte + decontaminated": composite(rgb, alphas["matte"], MATTE),
    }
    return {k: float(np.linalg.norm(v.astype(np.float32) - ideal, axis=2)[band].mean()) for k, v in made.items()}


def warm_up(with_knn: bool) -> None:
    """Compile pymatting's numba kernels and load our code once, outside the timings."""
    rgb, tri, _ = load(1, "trimap1")
    size = (rgb.shape[1] // 4, rgb.shape[0] // 4)
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    tri = cv2.resize(tri, size, interpolation=cv2.INTER_NEAREST)
    for fn in methods(rgb, tri, with_knn).values():
        fn()
    splash_errors(
        rgb,
        np.full(tri.shape, 0.5, np.float32),
        tri == 128,
        {"fast": np.full(tri.shape, 0.5, np.float32), "matte": np.full(tri.shape, 0.5, np.float32)},
    )


def run_trimap(trimap: str, photos: list[int], knn_photos: set[int]) -> dict[str, list[dict[str, float]]]:
    rows: dict[str, list[dict[str, float]]] = {}
    for n in photos:
        rgb, tri, true = load(n, trimap)
        band = tri == 128
        alphas, line = {}, f"{trimap} GT{n:02d}"
        for name, fn in methods(rgb, tri, n in knn_photos).items():
            alpha, wall, cpu = timed(fn)
            alphas[name] = alpha
            rows.setdefault(name, []).append({**errors(alpha, true, band), "wall": wall, "cpu": cpu, "photo": n})
            line += f" | {name} SAD {rows[name][-1]['sad']:.2f} {wall:.2f}s"
        for name, value in splash_errors(rgb, true, band, alphas).items():
            rows.setdefault(name, []).append({"splash": value})
        print(line, flush=True)
    return rows


def summary(trimap: str, rows: dict[str, list[dict[str, float]]]) -> None:
    mean = {name: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for name, rs in rows.items()}
    print(f"\n{trimap}: means over {len(rows['fast'])} photos (inside the unknown band)")
    print(f"{'method':14s} {'SAD':>7s} {'MSE':>7s} {'grad':>7s} {'wall s':>7s} {'CPU s':>7s}")
    for name in METHODS[:3]:
        m = mean[name]
        print(f"{name:14s} {m['sad']:7.2f} {m['mse']:7.2f} {m['grad']:7.2f} {m['wall']:7.3f} {m['cpu']:7.3f}")
    if "knn" in rows:
        subset = {r["photo"] for r in rows["knn"]}
        print(f"on the {len(subset)} photos KNN ran on ({', '.join(f'GT{n:02d}' for n in sorted(subset))}):")
        for name in METHODS:
            rs = [r for r in rows[name] if r["photo"] in subset]
            m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
            print(f"{name:14s} {m['sad']:7.2f} {m['mse']:7.2f} {m['grad']:7.2f} {m['wall']:7.3f} {m['cpu']:7.3f}")
    cf, ours = mean["closed-form"], mean["matte"]
    print(
        f"matte vs closed-form: SAD {ours['sad'] / cf['sad']:.2f}x (target <= 1.2x), "
        f"{cf['wall'] / ours['wall']:.1f}x faster wall, {cf['cpu'] / ours['cpu']:.1f}x CPU (target >= 5x)"
    )
    print("splash colour error in the band (mean RGB distance to the ideal splash, 0..255):")
    for name in SPLASHES:
        print(f"  {name:24s} {mean[name]['splash']:6.2f}")
    ratio = mean["fast + plain"]["splash"] / mean["matte + decontaminated"]["splash"]
    print(f"  today's / new: {ratio:.2f}x lower (target >= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", default="", help="comma-separated photo numbers (default: all 27)")
    parser.add_argument("--trimaps", default="trimap1,trimap2")
    parser.add_argument(
        "--knn-every",
        type=int,
        default=1,
        help="KNN matting (~10x slower than closed-form) on every n-th photo only; 0 = never",
    )
    parser.add_argument("--json", type=Path, help="write every per-photo figure here")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"no data at {DATA}: this bench needs ../shared/data/alphamatting")
    warnings.filterwarnings("ignore", module="pymatting")  # its incomplete-Cholesky fallback notice
    print(
        f"CPU: {cpu_info().describe()}; OpenCV threads: {cv2.getNumThreads()}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    photos = [int(p) for p in args.photos.split(",")] if args.photos else list(range(1, 28))
    knn_photos = set(photos[:: args.knn_every]) if args.knn_every > 0 else set()
    warm_up(bool(knn_photos))
    results = {}
    for trimap in args.trimaps.split(","):
        results[trimap] = run_trimap(trimap, photos, knn_photos)
    for trimap, rows in results.items():
        summary(trimap, rows)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
