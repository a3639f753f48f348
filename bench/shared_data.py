"""Where the bench scripts find the shared data sets: ``../shared/data`` beside the checkout (read its README.md).

One owner of the path, so a script run from any folder finds the same data; scripts that take ``--data`` default
to it."""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
