"""colorsplash: colour splash for photos and videos by U-Net segmentation.

Python API (see :mod:`colorsplash.runtime.api`)::

    import colorsplash
    model = colorsplash.load_model()                 # bundled model, or load_model("my.onnx")
    out = colorsplash.splash("cat.jpg", model)       # RGB uint8 HxWx3 at full resolution
    alpha = colorsplash.predict_alpha("cat.jpg", model)   # float32 HxW in [0, 1]
    colorsplash.subject_score("room.jpg", model).found     # False: no pet in the photo

The API names are imported on first use, so ``import colorsplash`` stays light (no ONNX Runtime, no OpenCV).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_model", "predict_alpha", "splash", "subject_score"]
_API_NAMES = ("load_model", "predict_alpha", "splash", "subject_score")

if TYPE_CHECKING:
    from colorsplash.runtime.api import load_model, predict_alpha, splash, subject_score


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        from colorsplash.runtime import api

        return getattr(api, name)
    raise AttributeError(f"module 'colorsplash' has no attribute {name!r}")
