"""colorsplash: colour splash for photos and videos by U-Net segmentation.

Python API (see :mod:`colorsplash.runtime.api`)::

    import colorsplash
    model = colorsplash.load_model()                 # bundled model, or load_model("my.onnx")
    out = colorsplash.splash("cat.jpg", model)       # RGB uint8 HxWx3 at full resolution
    alpha = colorsplash.predict_alpha("cat.jpg", model)   # float32 HxW in [0, 1]
    colorsplash.subject_score("room.jpg", model).found     # False: no pet in the photo
    fine = colorsplash.matte(rgb, alpha)             # the edge stage alone: a true matte from a rough guide

``help(colorsplash.splash)`` lists the keyword options (``effect="blur:8"``, ``keep="largest"``, ...);
:class:`SplashOptions` holds them all at once. Errors: :class:`OptionError` (a bad option, a ``ValueError``) and
:class:`NoSubjectError` (no subject found and ``on_empty="skip"``).

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

__version__ = "0.1.0"
__all__ = [
    "NoSubjectError",
    "OptionError",
    "SplashOptions",
    "Subject",
    "__version__",
    "load_model",
    "matte",
    "predict_alpha",
    "splash",
    "subject_score",
]
_API_NAMES = tuple(name for name in __all__ if name != "__version__")

if TYPE_CHECKING:
    from colorsplash.runtime.api import (
        NoSubjectError,
        OptionError,
        SplashOptions,
        Subject,
        load_model,
        matte,
        predict_alpha,
        splash,
        subject_score,
    )


def __getattr__(name: str) -> Any:
    if name in ("OptionError", "SplashOptions"):  # light: no OpenCV, no ONNX Runtime
        from colorsplash.runtime import options

        return getattr(options, name)
    if name in _API_NAMES:
        from colorsplash.runtime import api

        return getattr(api, name)
    raise AttributeError(f"module 'colorsplash' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API_NAMES])
