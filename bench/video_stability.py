"""Video: how much the alpha flickers on a still clip with and without temporal smoothing, whether smoothing
lags behind a moving camera, and end-to-end frames per second on a 1280x720 clip.

The clips are made from one real photo (``--photo``; default the first Oxford-IIIT Pet photo in
``../shared/data``, else skimage's cat): *still* = the photo held for ``--frames`` frames with fresh camera noise
(Gaussian, sigma 4 levels) in every frame, encoded as H.264 (CRF 23) so compression noise is there too; *pan* =
a window panning 6 px per frame across the photo. Figures:

- ``change``: mean absolute frame-to-frame change of the alpha, over all pixels (``mean |a_t - a_{t-1}|``), and
  over the subject's edge band (pixels within 8 px of the mean alpha's 0.5 contour), where flicker shows;
- ``flips``: share of pixels whose binary mask (alpha >= 0.5) flips from one frame to the next;
- ``lag`` (pan): mean ``|a_smoothed - a_raw|``, how far smoothing drifts from the frame-by-frame alpha while the
  picture moves (small = no ghosting);
- ``fps``: frames per second of ``splash_video`` on the 1280x720 still clip (decode, model, smoothing,
  refinement, grey effect, H.264 encode), with and without smoothing, and the CPU seconds per frame (this
  process and its ffmpeg children), which a busy machine distorts less than the wall clock.

The stability figures mean something only with a trained model (an untrained one outputs ~0.5 everywhere).

Usage::

    python bench/video_stability.py [--model M.onnx] [--photo P.jpg] [--frames 48] [--pan-frames 24] [--json out]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from shared_data import SHARED_DATA

from colorsplash.runtime.model.onnx_model import Model, default_model_path, load_model
from colorsplash.runtime.pictures.photo_io import read_rgb
from colorsplash.runtime.video.clip import FrameSplasher, splash_video
from colorsplash.runtime.video.temporal import NO_SMOOTHING, SmoothingConfig
from colorsplash.runtime.video.video_encode import CONTAINERS, Encoder
from colorsplash.runtime.video.video_io import probe, read_frames

ROOT = Path(__file__).resolve().parents[1]
PETS = SHARED_DATA / "oxford-pets" / "images"
SIZE = (1280, 720)  # width, height of the speed clip


def default_photo() -> np.ndarray:
    """RGB uint8: the first Oxford-IIIT Pet photo beside the checkout, else skimage's chelsea."""
    if PETS.is_dir():
        for path in sorted(PETS.iterdir()):
            try:
                return read_rgb(path)
            except ValueError:
                continue
    from skimage import data

    return np.asarray(data.chelsea())


def cover(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop an RGB photo to exactly ``height x width`` (no stretching)."""
    h, w = photo.shape[:2]
    scale = max(width / w, height / h)
    big = cv2.resize(
        photo,
        (max(width, round(w * scale)), max(height, round(h * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
    )
    y, x = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return np.ascontiguousarray(big[y : y + height, x : x + width])


def write_still_clip(path: Path, photo: np.ndarray, frames: int, fps: int = 25, sigma: float = 4.0) -> Path:
    """The photo held still with fresh sensor-like noise (``sigma`` levels) per frame, H.264 CRF 23."""
    rng = np.random.default_rng(0)
    h, w = photo.shape[:2]
    with Encoder(path, CONTAINERS[".mp4"], w, h, Fraction(fps), quality=75) as enc:
        for _ in range(frames):
            noisy = photo.astype(np.float32) + rng.normal(0.0, sigma, photo.shape).astype(np.float32)
            enc.write(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
    return path


def pan_frames(photo: np.ndarray, frames: int, width: int = 640, height: int = 360) -> list[np.ndarray]:
    """A ``width x height`` window panning 6 px per frame across the photo (scaled to fit the pan)."""
    wide = cover(photo, width + 6 * frames, height)
    return [np.ascontiguousarray(wide[:, 6 * i : 6 * i + width]) for i in range(frames)]


def alphas(model: Model, frames: Sequence[np.ndarray], smoothing: SmoothingConfig) -> list[np.ndarray]:
    splasher = FrameSplasher(model, smoothing=smoothing)
    return [splasher.alpha(f) for f in frames]


def edge_band(alpha_mean: np.ndarray, px: int = 8) -> np.ndarray:
    """Boolean mask of pixels within ``px`` of the 0.5 contour of the mean alpha."""
    mask = (alpha_mean >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return (cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)) > 0


def stability(series: list[np.ndarray], band: np.ndarray) -> dict[str, float]:
    diffs = [np.abs(b - a) for a, b in zip(series, series[1:], strict=False)]
    flips = [((a >= 0.5) != (b >= 0.5)).mean() for a, b in zip(series, series[1:], strict=False)]
    return {
        "change_all": float(np.mean([d.mean() for d in diffs])),
        "change_edge": float(np.mean([d[band].mean() for d in diffs])) if band.any() else float("nan"),
        "flips": float(np.mean(flips)),
    }


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ffmpeg decoder and encoder)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def speed(model: Model, clip: Path, smooth: bool, out_dir: Path) -> dict[str, float]:
    """Wall-clock frames/s of ``splash_video``, and CPU seconds per frame (less sensitive to a busy machine)."""
    cpu = cpu_seconds()
    result = splash_video(clip, out_dir / f"speed_{int(smooth)}.mp4", model=model, smooth=smooth)
    return {"fps": result.frames_per_second, "cpu_s_per_frame": (cpu_seconds() - cpu) / result.frames}


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = load_model(args.model or default_model_path())
    photo = read_rgb(args.photo) if args.photo else default_photo()
    report: dict[str, Any] = {
        "model": str(model.path),
        "model_name": model.config.name,
        "input_size": model.config.input_size,
        "frames": args.frames,
        "noise": args.noise,
    }
    with tempfile.TemporaryDirectory(prefix="colorsplash-bench-") as tmp:
        clip = write_still_clip(Path(tmp) / "still.mp4", cover(photo, *SIZE), args.frames, sigma=args.noise)
        frames = [f.copy() for f in read_frames(probe(clip))]
        raw, smoothed = alphas(model, frames, NO_SMOOTHING), alphas(model, frames, SmoothingConfig())
        band = edge_band(np.mean(raw, axis=0))
        report["still_raw"], report["still_smoothed"] = stability(raw, band), stability(smoothed, band)
        del frames, raw, smoothed
        if args.pan_frames:
            pan = pan_frames(photo, args.pan_frames)
            raw, smoothed = alphas(model, pan, NO_SMOOTHING), alphas(model, pan, SmoothingConfig())
            report["pan_lag"] = float(np.mean([np.abs(s - r).mean() for s, r in zip(smoothed, raw, strict=True)]))
            report["pan_raw"] = stability(raw, np.ones_like(raw[0], bool))
            report["pan_smoothed"] = stability(smoothed, np.ones_like(raw[0], bool))
        if not args.no_speed:
            report["speed_smooth"] = speed(model, clip, True, Path(tmp))
            report["speed_no_smooth"] = speed(model, clip, False, Path(tmp))
    return report


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"model: {r['model_name']} ({r['model']}, input {r['input_size']} px)",
        f"still clip: {SIZE[0]}x{SIZE[1]}, {r['frames']} frames, noise sigma {r['noise']:g} + H.264 CRF 23",
        "",
        "| alpha, still clip | mean abs change (all) | (edge band) | mask flips per frame |",
        "|---|---|---|---|",
    ]
    for label, key in (("frame by frame (--no-smooth)", "still_raw"), ("smoothed (default)", "still_smoothed")):
        s = r[key]
        edge = "-" if np.isnan(s["change_edge"]) else f"{s['change_edge']:.4f}"
        lines.append(f"| {label} | {s['change_all']:.5f} | {edge} | {100 * s['flips']:.3f} % |")
    raw, sm = r["still_raw"]["change_all"], r["still_smoothed"]["change_all"]
    if sm > 0:
        lines.append(f"\nsmoothing divides the still-clip alpha change by {raw / sm:.1f}")
    if "pan_lag" in r:
        lines.append(
            f"pan 6 px/frame: mean |smoothed - raw| {r['pan_lag']:.4f}; alpha change raw "
            f"{r['pan_raw']['change_all']:.4f}, smoothed {r['pan_smoothed']['change_all']:.4f}"
        )
    if "speed_smooth" in r:
        lines.append("\nsplash_video 1280x720 (decode + model + refine + grey + H.264 encode):")
        for label, key in (("smoothed", "speed_smooth"), ("--no-smooth", "speed_no_smooth")):
            lines.append(
                f"  {label}: {r[key]['fps']:.2f} frames/s wall clock, "
                f"{r[key]['cpu_s_per_frame']:.3f} CPU s per frame (all threads and ffmpeg)"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Alpha flicker with/without temporal smoothing; video frames/s.")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="ONNX model (default: $COLORSPLASH_MODEL or the bundled colorsplash/models/pets.onnx)",
    )
    p.add_argument("--photo", type=Path, default=None, help="photo to build the clips from")
    p.add_argument("--frames", type=int, default=48, help="frames in the still 1280x720 clip (default 48)")
    p.add_argument(
        "--noise",
        type=float,
        default=4.0,
        help="sensor-like noise per frame in grey levels (default 4; 16 ~ a dim room on a phone)",
    )
    p.add_argument("--pan-frames", type=int, default=24, help="frames in the 640x360 pan clip; 0 skips it")
    p.add_argument("--no-speed", action="store_true", help="skip the frames-per-second measurement")
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    report = run(args)
    report["load_before_after"] = [load_before, os.getloadavg()[0]]
    print(format_report(report))
    print(
        f"\n{time.perf_counter() - start:.0f} s; load average (1 min) before/after: {load_before:.2f}/"
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
