"""The one preprocessing function shared by training, evaluation, export checks and inference, and the one
upsampling of the model's probability back to the photo's size (inference, and evaluation of ``.onnx`` files and
``.pt`` checkpoints alike).

Pure NumPy/OpenCV: importable without PyTorch.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.config import ModelConfig, Normalization


def resize_to_input(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 ``HxWx3`` image to ``size x size`` (aspect not kept, like the training data).

    Area interpolation when shrinking (no aliasing), bilinear when enlarging. A no-op copy-free return
    when the image already has that size.
    """
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interp = cv2.INTER_AREA if h * w > size * size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def normalize(image: np.ndarray, norm: Normalization) -> np.ndarray:
    """RGB uint8 ``HxWx3`` (or ``NxHxWx3``) in 0..255 -> float32 channels-first ``3xHxW`` (``Nx3xHxW``)."""
    mean = np.asarray(norm.mean, dtype=np.float32)
    inv_std = 1.0 / np.asarray(norm.std, dtype=np.float32)
    out = np.empty((*image.shape[:-3], 3, *image.shape[-3:-1]), np.float32)
    # Plane by plane into the channels-first array: ~10x faster than a float HxWx3 transposed by NumPy.
    for index in np.ndindex(*image.shape[:-3]):
        for c in range(3):
            plane = out[index + (c,)]
            plane[...] = image[index + (Ellipsis, c)]
            plane -= mean[c]
            plane *= inv_std[c]
    return out


def preprocess(image: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Turn one photo into the network's input.

    Args:
        image: RGB (not BGR) uint8 array ``HxWx3``, any size.
        config: the model's config (input size and normalisation).

    Returns:
        float32 array ``3 x S x S`` (``S = config.input_size``), normalised as ``config.normalization``.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got shape {image.shape} dtype {image.dtype}")
    return normalize(resize_to_input(image, config.input_size), config.normalization)


def upsample_probability(low: np.ndarray, height: int, width: int) -> np.ndarray:
    """The model's probability, float32 ``S x S`` in [0, 1] -> float32 ``height x width`` in [0, 1] (bilinear, no
    edge refinement: see :mod:`colorsplash.runtime.alpha` for that)."""
    up = cv2.resize(low.astype(np.float32, copy=False), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(up, 0.0, 1.0)
