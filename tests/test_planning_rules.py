"""Output planning rules (``runtime/planning.py``) met without running a model: what a run refuses before any
work."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from colorsplash.runtime.planning import OutputPlan, plan_tasks


def test_an_output_that_is_another_name_of_an_input_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    """A hard link (or, on macOS and Windows, a name differing in case) is the input under another name:
    ``--overwrite`` replaces a user's other files, never an input by any of its names."""
    photo = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(photo)
    os.link(photo, tmp_path / "a.splash.png")
    tasks, errors = plan_tasks([(photo, None)], OutputPlan(overwrite=True))
    assert tasks == [] and errors == [
        f"{photo}: its output {tmp_path / 'a.splash.png'} is an input file; refusing to overwrite it "
        "(rename one of them or use -o DIR)"
    ]
