"""A result too large for its format (WebP 16,383 pixels a side, JPEG 65,500, GIF 65,535) is refused when the run
is planned, from the picture's header: before its decoding, model run and full-size alpha (a 66000x1500 panorama
to ``-o x.jpg`` took 14 s and 2 GB to be refused)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorsplash.runtime.pictures.photo_write import MAX_SIDE
from colorsplash.runtime.planning import OutputPlan, plan_tasks


@pytest.mark.parametrize("mask", [False, True])
def test_a_side_over_the_formats_limit_is_refused_from_the_header(tmp_path: Path, mask: bool) -> None:
    side = MAX_SIDE["WEBP"]
    fits, over = tmp_path / "fits.png", tmp_path / "over.png"
    Image.fromarray(np.zeros((1, side), np.uint8)).save(fits)
    Image.fromarray(np.zeros((side + 1, 1), np.uint8)).save(over)
    for src, wanted in ((fits, 1), (over, 0)):
        plan = OutputPlan(out_file=tmp_path / f"{src.stem}.webp", mask=mask)
        tasks, errors = plan_tasks([(src, None)], plan)
        assert len(tasks) == wanted, errors
    assert errors == [
        f"{over}: a 1x{side + 1} result is too large for WEBP (at most {side:,} pixels a side); write it as PNG or TIFF"
    ]


def test_the_default_png_result_of_a_long_panorama_is_planned(tmp_path: Path) -> None:
    src = tmp_path / "pano.png"
    Image.fromarray(np.zeros((1, MAX_SIDE["JPEG"] + 1), np.uint8)).save(src)
    tasks, errors = plan_tasks([(src, None)], OutputPlan())
    assert errors == [] and [t.format for t in tasks] == ["PNG"]
    tasks, errors = plan_tasks([(src, None)], OutputPlan(out_file=tmp_path / "pano.jpg"))
    assert tasks == [] and "too large for JPEG" in errors[0] and str(src) in errors[0]
