"""Helpers shared by the tests: generated pictures and stand-in models. Test modules import from here (and from
the topic modules beside it: ``helpers.layouts``, ``helpers.hostile``, ``helpers.metadata``, ``helpers.refusing``,
``helpers.bench`` (the ``bench/`` scripts as modules), and those shared by the pieces of one topic:
``helpers.clips``, ``helpers.composite``, ``helpers.export``, ``helpers.speed``, ``helpers.splash_cli``,
``helpers.train``), never from each other."""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.model.onnx_model import Model


def make_blob_image(h: int = 120, w: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy RGB uint8 ``HxWx3`` picture with a bright ellipse and its 0/1 mask ``HxW``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
    mask = (((yy - cy) / (h * 0.25)) ** 2 + ((xx - cx) / (w * 0.2)) ** 2 <= 1).astype(np.uint8)
    image = rng.integers(0, 90, (h, w, 3)).astype(np.uint8)
    image[mask == 1] = (220, 120, 40) + rng.integers(0, 30, (int(mask.sum()), 3))
    return image, mask


def orange_key(self: Model, image: np.ndarray) -> np.ndarray:
    """A stand-in model: orange pixels (R - B large) are the subject; float32 ``S x S``."""
    s = self.config.input_size
    rgb = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (1.0 / (1.0 + np.exp(-(rgb[..., 0] - rgb[..., 2] - 130.0) / 10.0))).astype(np.float32)
