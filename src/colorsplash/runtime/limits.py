"""Resource limits: the one place that says how large an input may be (imports nothing heavy, so the CLI can
show the defaults in ``--help`` without loading OpenCV)."""

from __future__ import annotations

# Largest picture accepted by default (CLI --max-pixels, the API, data sets): about 25 bytes of working memory per
# pixel, so 100 MP is ~2.5 GB. The server sets a lower limit of its own for each request.
DEFAULT_MAX_PIXELS = 100_000_000
