"""The Python API: colour splash and subject alpha of a photo in a few lines.

Example::

    import colorsplash

    model = colorsplash.load_model()                  # the bundled model (or a path to an exported .onnx)
    out = colorsplash.splash("cat.jpg", model, effect="blur", keep="largest")   # RGB uint8 HxWx3
    alpha = colorsplash.predict_alpha("cat.jpg", model)                           # float32 HxW in [0, 1]

Images may be NumPy arrays (RGB, not BGR: convert OpenCV's ``imread`` output with ``cv2.cvtColor``), Pillow
images or file paths. Paths are read by content and turned upright by their EXIF orientation; arrays and Pillow
images are used as they are. Results always have the photo's full width and height.
"""

from __future__ import annotations

import os
from typing import Any, Union

import numpy as np
from PIL import Image

from colorsplash.runtime.alpha import NoSubjectError, RefineSettings, apply_on_empty
from colorsplash.runtime.alpha import predict_alpha as _predict
from colorsplash.runtime.effects import composite
from colorsplash.runtime.onnx_model import Model, load_model
from colorsplash.runtime.options import SplashOptions, options_from_mapping
from colorsplash.runtime.photo_io import DEFAULT_MAX_PIXELS, read_photo, to_rgb_array

__all__ = ["ImageLike", "NoSubjectError", "load_model", "predict_alpha", "splash", "to_rgb"]

ImageLike = Union[np.ndarray, Image.Image, str, "os.PathLike[str]"]


def to_rgb(image: ImageLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Any accepted image -> RGB uint8 ``HxWx3``.

    Arrays: uint8 ``HxWx3`` (RGB), ``HxW`` (grey) or ``HxWx4`` (RGBA, composited over white).

    Raises:
        ValueError: an array of another dtype or shape; ImageReadError: an unreadable file.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_photo(os.fspath(image), max_pixels).rgb
    if isinstance(image, Image.Image):
        return np.asarray(image) if image.mode == "RGB" else to_rgb_array(image)
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image array (0..255), got dtype {image.dtype}; "
                             "convert with np.clip(x * 255, 0, 255).astype(np.uint8)")
        if image.ndim == 3 and image.shape[2] == 3:
            return image
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim == 2:
            return np.repeat(image[..., None], 3, axis=2)
        if image.ndim == 3 and image.shape[2] == 4:
            return to_rgb_array(Image.fromarray(np.ascontiguousarray(image)))  # RGBA over white
        raise ValueError(f"expected an HxWx3 RGB image array, got shape {image.shape}")
    raise ValueError(f"expected a NumPy array, a PIL image or a path, got {type(image).__name__}")


def _resolve(model: Model | str | os.PathLike[str] | None, options: SplashOptions | None,
             overrides: dict[str, Any]) -> tuple[Model, SplashOptions]:
    loaded = model if isinstance(model, Model) else load_model(None if model is None else os.fspath(model))
    opts = options or SplashOptions()
    if overrides:
        # Validated like form values; strings are parsed ("0.4", "color:#ff0000"), typed values kept.
        parsed = options_from_mapping(overrides)
        opts = opts.replace(**{name.replace("-", "_"): getattr(parsed, name.replace("-", "_"))
                               for name in overrides})
    return loaded, opts


def predict_alpha(image: ImageLike, model: Model | str | os.PathLike[str] | None = None,
                  options: SplashOptions | None = None, **overrides: Any) -> np.ndarray:
    """The subject's alpha at the photo's full resolution, edges refined.

    Args:
        image: an array, Pillow image or path (see the module docstring).
        model: a loaded model, a path to an exported ``.onnx`` or ``None`` for the bundled one.
        options: splash options; ``threshold``, ``hard``, ``feather``, ``keep``, ``point``, ``invert``,
            ``refine`` and ``on_empty`` matter here. ``**overrides`` change single options by name.

    Returns:
        float32 ``HxW`` in [0, 1], 1 = subject (colour kept). No subject found: all 0 (``on_empty=grey``) or
        all 1 (``copy``).

    Raises:
        NoSubjectError: no subject and ``on_empty="skip"``. OptionError: a bad override.
    """
    loaded, opts = _resolve(model, options, overrides)
    result = _predict(loaded, to_rgb(image), opts, RefineSettings())
    apply_on_empty(result, opts.on_empty, "the photo")
    return result.alpha


def splash(image: ImageLike, model: Model | str | os.PathLike[str] | None = None,
           options: SplashOptions | None = None, **overrides: Any) -> np.ndarray:
    """Colour splash of a photo: the subject in colour, the background as ``effect`` (grey by default).

    Args: as :func:`predict_alpha`; ``effect`` picks the background: ``grey`` (Rec.601 luma), ``blur``, ``dim``,
        ``sepia``, ``color:#RRGGBB`` or ``transparent``.

    Returns:
        uint8 ``HxWx3`` RGB, or ``HxWx4`` RGBA for ``effect="transparent"``, at the photo's full resolution.

    Raises:
        NoSubjectError: no subject and ``on_empty="skip"``. OptionError: a bad override.
    """
    loaded, opts = _resolve(model, options, overrides)
    rgb = to_rgb(image)
    alpha = predict_alpha(rgb, loaded, opts)
    return composite(rgb, alpha, opts)
