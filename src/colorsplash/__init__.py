"""colorsplash: colour splash for photos and videos by U-Net segmentation.

Python API (see :mod:`colorsplash.runtime.api`)::

    import colorsplash
    model = colorsplash.load_model()                 # bundled model, or load_model("my.onnx")
    out = colorsplash.splash("cat.jpg", model)       # RGB uint8 HxWx3 at full resolution
    alpha = colorsplash.predict_alpha("cat.jpg", model)   # float32 HxW in [0, 1]
    colorsplash.subject_score("room.jpg", model).found     # False: no pet in the photo
    alpha, subject = colorsplash.alpha_and_subject("cat.jpg", model)   # both from one model run
    fine = colorsplash.matte(rgb, alpha)             # the edge stage alone: a true matte from a rough guide

Images are NumPy uint8 arrays in **RGB order, not BGR** (convert OpenCV's ``imread`` output with
``cv2.cvtColor(img, cv2.COLOR_BGR2RGB)``: BGR gives wrong alphas without any error), ``HxWx3``, ``HxW`` grey or
``HxWx4`` RGBA (composited over white); Pillow images (any mode); or file paths and binary file objects (read
upright by their EXIF orientation). Results have the photo's full width and height, and ``notes``
(:class:`NotedArray`: what reading a file noted, e.g. an animation's first frame used).
A :class:`Model` is thread-safe, and pickles as its file and settings: worker processes load it again.

``help(colorsplash.splash)`` lists the keyword options (``effect="blur:8"``, ``keep="largest"``, ...);
:class:`SplashOptions` holds them all at once. Errors, all importable from here: :class:`OptionError` (a bad
option), :class:`NoSubjectError` (no subject found and ``on_empty="skip"``), :class:`ImageReadError` (an
unreadable or too large image file), :class:`VariantError` (a ``precision`` the model has no file for), all
``ValueError`` subclasses, and :class:`ModelLoadError` (a missing or foreign model file, a ``RuntimeError``).

The API names are imported on first use, so ``import colorsplash`` stays light (no ONNX Runtime, no OpenCV).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenCV's worker threads busy-wait after each parallel call. Beside ONNX Runtime's threads on the same cores that
# took 10 % of the model's time in some processes and not in others (the 1 MP alpha 54 or 59 ms by the process;
# 55 ms in every process without it). OpenCV reads these once, when it loads: set before any ``import cv2`` of
# ours; a user's own setting is kept, and a cv2 imported before colorsplash keeps its defaults.
OPENCV_NO_ACTIVE_WAIT = ("OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER", "OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN")
for _name in OPENCV_NO_ACTIVE_WAIT:
    os.environ.setdefault(_name, "0")
# ONNX Runtime from 1.29 on Linux and macOS starts a telemetry client when it loads: it keeps a device identifier
# and an event store under ~/.cache/Microsoft and uploads to Microsoft. colorsplash runs on local files only, and
# where the home folder is read-only every command began with ORT's colour-coded "Failed to persist telemetry
# device ID" warning. Off unless the user set ORT_DISABLE_TELEMETRY; read once, when ONNX Runtime loads.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
__all__ = [
    "ImageLike",
    "ImageReadError",
    "Model",
    "ModelLoadError",
    "NoSubjectError",
    "NotedArray",
    "OptionError",
    "SplashOptions",
    "Subject",
    "VariantError",
    "__version__",
    "alpha_and_subject",
    "load_model",
    "matte",
    "predict_alpha",
    "splash",
    "subject_score",
]
_API_NAMES = tuple(name for name in __all__ if name != "__version__")

# Type checkers see the names themselves: a module ``__getattr__`` returning ``Any`` would make every attribute,
# ``colorsplash.spalsh`` too, pass a type check as ``Any``.
if TYPE_CHECKING:
    from colorsplash.runtime.api import (
        ImageLike,
        ImageReadError,
        Model,
        ModelLoadError,
        NoSubjectError,
        NotedArray,
        OptionError,
        SplashOptions,
        Subject,
        VariantError,
        alpha_and_subject,
        load_model,
        matte,
        predict_alpha,
        splash,
        subject_score,
    )
else:

    def __getattr__(name: str) -> Any:
        if name in ("OptionError", "SplashOptions"):  # light: no OpenCV, no ONNX Runtime
            from colorsplash.runtime import options

            return getattr(options, name)
        if name == "ImageReadError":  # light: Pillow only
            from colorsplash.runtime.pictures import picture_open

            return picture_open.ImageReadError
        if name in _API_NAMES:
            from colorsplash.runtime import api

            return getattr(api, name)
        raise AttributeError(f"module 'colorsplash' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API_NAMES])
