"""colorsplash: colour splash for photos and videos by U-Net segmentation.

Python API (see :mod:`colorsplash.api`): ``load_model()``, ``predict_alpha()``, ``splash()``.
"""

__version__ = "0.1.0"
