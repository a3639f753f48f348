"""Colours in the splash's edge band: brightness kept, no colour pushed past the subject's own.

The grey splash keeps the subject's colour and turns the background grey; in the band where alpha is partly
transparent, ``--edges matte`` (the photo default) also removes the background's colour from the subject's edge
(colour decontamination). Two things can go wrong there, and a photographer sees both:

- **brightness drift**: the band's brightness should stay the photo's (a grey splash changes colour, not light);
  reported as the share of band pixels whose Rec.601 luma moves by more than 10 levels, and the 99th percentile;
- **overshoot**: removing more background colour than the pixel holds pushes the edge past the subject's own
  colour, away from the background's (grey fur on red wood turns lavender); reported as the share of band pixels
  pushed more than 6 CIELAB a*b* units past alpha times the subject's local colour (what a grey splash of a clean
  edge shows), along the direction from the subject's colour to the background's (where those differ by more than
  8 units). Negative values are background colour left on the edge.

Photos: ``--photos`` data-set pets (oxford-breeds and feral cats, every n-th by name), each splashed with
``colorsplash.splash`` (default options) at its own size. With ``--alphamatting`` also the splash colour error on
the alphamatting set (mean RGB distance in the unknown band to the ideal splash made from the true alpha, F and B
by pymatting's estimator; needs ``pip install -e ".[bench]"``), with our matte from trimap1.

Usage::

    python bench/edge_colours.py [--photos 24] [--alphamatting]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash

# isort: split

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spread import DATA, every_nth  # noqa: E402

from colorsplash.runtime.cpu import cpu_info  # noqa: E402
from colorsplash.runtime.effects import composite  # noqa: E402
from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.pictures.photo_io import read_rgb  # noqa: E402

BAND = (0.02, 0.98)  # alphas counted as the edge band


def band_figures(rgb: np.ndarray, out: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band pixel: |luma change| (levels) and overshoot (a*b* units past the subject's colour; <= 0: none)."""
    band = (alpha > BAND[0]) & (alpha < BAND[1])
    luma = np.abs(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32) - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    chroma_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32) - 128
    chroma_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 1:].astype(np.float32) - 128
    sigma = max(alpha.shape) / 40
    subject, subject_w = _weighted_blur(chroma_in, (alpha > BAND[1]).astype(np.float32), sigma)
    background, background_w = _weighted_blur(chroma_in, (alpha < BAND[0]).astype(np.float32), sigma)
    towards = background - subject
    distance = np.linalg.norm(towards, axis=2)
    unit = towards / np.maximum(distance, 1e-6)[..., None]
    # Away from the background past the subject's own colour as the splash shows it (alpha of it, on grey).
    overshoot = (alpha[..., None] * subject * unit).sum(2) - (chroma_out * unit).sum(2)
    keep = band & (distance > 8) & (subject_w > 0.02) & (background_w > 0.02)
    return luma[band], overshoot[keep]


def _weighted_blur(x: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    num = cv2.GaussianBlur(x * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    return num / np.maximum(den, 1e-6)[..., None], den


def photos(count: int) -> list[Path]:
    """``count`` data-set pet photos: half oxford-breeds, half feral cats, every n-th by name."""
    groups = [sorted((DATA / "oxford-breeds" / "images").glob("*.jpg")), sorted((DATA / "feral-cats").rglob("*.jpg"))]
    return [p for i, files in enumerate(groups) for p in every_nth(files, (count + 1 - i) // 2)]


def run_photos(count: int) -> None:
    model = colorsplash.load_model()
    lumas, overshoots = [], []
    for path in photos(count):
        rgb = read_rgb(path)
        alpha = colorsplash.predict_alpha(rgb, model)
        out = colorsplash.splash(rgb, model)
        luma, over = band_figures(rgb, out, alpha)
        lumas.append(luma)
        overshoots.append(over)
        print(
            f"{path.name:28s} band {luma.size:7d} px  luma >10: {100 * (luma > 10).mean() if luma.size else 0:5.1f} %"
            f"  overshoot >6: {100 * (over > 6).mean() if over.size else 0:5.1f} %"
        )
    luma_all, over_all = np.concatenate(lumas), np.concatenate(overshoots)
    print(
        f"\n{len(lumas)} photos, {luma_all.size} band pixels: luma moved > 10 levels "
        f"{100 * (luma_all > 10).mean():.1f} %"
        f" (99th percentile {np.percentile(luma_all, 99):.1f}); overshoot > 6 units {100 * (over_all > 6).mean():.1f} %"
        f" of {over_all.size} (99th percentile {np.percentile(over_all, 99):.1f})"
    )


def run_alphamatting() -> None:
    from edges import grey, load  # noqa: PLC0415
    from pymatting import estimate_foreground_ml  # noqa: PLC0415

    errors = []
    for n in range(1, 28):
        rgb, tri, true = load(n, "trimap1")
        band = tri == 128
        f, b = estimate_foreground_ml(rgb / 255.0, true.astype(np.float64), return_background=True)
        f8, b8 = (np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8) for x in (f, b))
        ideal = true[..., None] * f8.astype(np.float32) + (1 - true[..., None]) * grey(b8)
        made = composite(rgb, colorsplash.matte(rgb, tri), SplashOptions(edges="matte"))
        errors.append(float(np.linalg.norm(made.astype(np.float32) - ideal, axis=2)[band].mean()))
    print(f"alphamatting (trimap1, 27 photos): splash colour error in the band {np.mean(errors):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--alphamatting", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"no data at {DATA}: nothing to measure")
        return
    print(cpu_info())
    run_photos(args.photos)
    if args.alphamatting:
        run_alphamatting()


if __name__ == "__main__":
    main()
