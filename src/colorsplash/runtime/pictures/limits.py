"""Resource limits: the one place that says how large an input may be (imports nothing heavy, so the CLI can
show the defaults in ``--help`` without loading OpenCV)."""

from __future__ import annotations

# Largest picture accepted by default (CLI --max-pixels, the API, data sets). Working memory per pixel: about 8 bytes
# for a grey splash (done in strips: 100 MP peaked at 0.8 GB), up to about 28 for the whole-frame paths (--threshold,
# --hard, --feather, effects other than grey, WebP output: 100 MP peaked at 2.8 GB, 2026-12-03). The server sets a
# lower limit of its own for each request.
DEFAULT_MAX_PIXELS = 100_000_000
