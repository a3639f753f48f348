"""The one preprocessing function shared by training, evaluation, export checks and inference, and the one
upsampling of the model's probability back to the photo's size (inference, and evaluation of ``.onnx`` files and
``.pt`` checkpoints alike).

Pure NumPy/OpenCV: importable without PyTorch.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorsplash.runtime.model.config import ModelConfig, Normalization


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


def content_box(height: int, width: int, size: int, pad_aspect: float) -> tuple[int, int, int, int]:
    """Where a ``height x width`` photo lies in the ``size x size`` input: ``(top, left, rows, cols)``. A photo
    wider than ``pad_aspect`` (width:height) is fitted as if padded to that aspect (rows cut, centred), one taller
    than ``1 / pad_aspect`` likewise (columns cut); otherwise, or when ``pad_aspect`` is 0, the whole square
    (stretched). Whole input pixels, so no input pixel mixes photo and padding."""
    if pad_aspect > 0 and width > pad_aspect * height:
        rows = min(size, max(1, round(size * pad_aspect * height / width)))
        return (size - rows) // 2, 0, rows, size
    if pad_aspect > 0 and height > pad_aspect * width:
        cols = min(size, max(1, round(size * pad_aspect * width / height)))
        return 0, (size - cols) // 2, size, cols
    return 0, 0, size, size


def fit_to_input(image: np.ndarray, size: int, pad_aspect: float, fill: int = 0, nearest: bool = False) -> np.ndarray:
    """``image`` (uint8 ``HxWx3`` RGB or ``HxW``, e.g. a mask) -> ``size x size``: stretched as
    :func:`resize_to_input` does into its :func:`content_box`, the rest ``fill`` (``nearest``: nearest-neighbour,
    for label masks). The models were trained on photos of about 4:3 stretched to a square; a 16:9 frame
    stretched the same way squashes the subject further than any training photo."""
    top, left, rows, cols = content_box(image.shape[0], image.shape[1], size, pad_aspect)
    if nearest:
        interp = cv2.INTER_NEAREST
    else:
        interp = cv2.INTER_AREA if image.shape[0] * image.shape[1] > rows * cols else cv2.INTER_LINEAR
    if (rows, cols) == (size, size):
        return resize_to_input(image, size) if not nearest else cv2.resize(image, (size, size), interpolation=interp)
    out = np.full((size, size, *image.shape[2:]), fill, image.dtype)
    out[top : top + rows, left : left + cols] = cv2.resize(image, (cols, rows), interpolation=interp)
    return out


def pad_fill(config: ModelConfig) -> int:
    """The uint8 grey the padding gets: the normalisation's mean (0 after normalising), rounded."""
    return int(round(float(np.mean(config.normalization.mean))))


def preprocess(image: np.ndarray, config: ModelConfig) -> np.ndarray:
    """Turn one photo into the network's input.

    Args:
        image: RGB (not BGR) uint8 array ``HxWx3``, any size.
        config: the model's config (input size, normalisation, ``pad_aspect``).

    Returns:
        float32 array ``3 x S x S`` (``S = config.input_size``), normalised as ``config.normalization``; a photo
        beyond ``config.pad_aspect`` padded first (:func:`fit_to_input`; :func:`photo_probability` cuts the
        padding off the network's answer).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got shape {image.shape} dtype {image.dtype}")
    fitted = fit_to_input(image, config.input_size, config.pad_aspect, pad_fill(config))
    return normalize(fitted, config.normalization)


def photo_probability(low: np.ndarray, height: int, width: int, config: ModelConfig) -> np.ndarray:
    """The network's float32 ``S x S`` answer for a ``height x width`` photo -> the photo's part of it
    (:func:`content_box`), stretched back to ``S x S`` (the probability "stretched over the photo" that every
    consumer reads). Unchanged (the same array) when the photo was not padded."""
    size = low.shape[0]
    top, left, rows, cols = content_box(height, width, size, config.pad_aspect)
    if (rows, cols) == (size, size):
        return low
    part = low[top : top + rows, left : left + cols].astype(np.float32, copy=False)
    return cv2.resize(part, (size, size), interpolation=cv2.INTER_LINEAR)


def upsample_probability(low: np.ndarray, height: int, width: int) -> np.ndarray:
    """The model's probability, float32 ``S x S`` in [0, 1] -> float32 ``height x width`` in [0, 1] (bilinear, no
    edge refinement: see :mod:`colorsplash.runtime.edges.alpha` for that)."""
    up = cv2.resize(low.astype(np.float32, copy=False), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(up, 0.0, 1.0)
