"""``colorsplash mask`` as a compositor uses it: what each output format does to the mask's values, and what the
user is told about it (audit of mask and alpha outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)
from PIL import Image

JPEG_NOTE = "a.png: a JPEG mask is lossy"


def test_a_jpeg_mask_says_it_is_lossy(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mask --hard -o m.jpg` wrote a "binary mask: 0 or 255 only" with other values along its edge, without a
    word: a note says so and names the lossless formats to write instead."""
    blob_file(tmp_path / "a.png", 0)
    code, err = run(
        capsys, "mask", str(tmp_path / "a.png"), "--hard", "--model", str(tiny_onnx), "-o", str(tmp_path / "m.jpg")
    )
    assert code == 0 and JPEG_NOTE in err and ".png" in err, err
    values = np.unique(np.asarray(Image.open(tmp_path / "m.jpg")))
    assert len(values) > 2  # what the note is about: --hard's 0/255 are not kept by JPEG
    for name in ("m.png", "m.tif", "m.webp"):  # lossless: no such note, and --hard's two values kept
        code, err = run(
            capsys, "mask", str(tmp_path / "a.png"), "--hard", "--model", str(tiny_onnx), "-o", str(tmp_path / name)
        )
        assert code == 0 and "lossy" not in err, err
        assert set(np.unique(np.asarray(Image.open(tmp_path / name).convert("L")))) <= {0, 255}


def test_predict_alpha_docstring_names_every_option_that_changes_the_alpha() -> None:
    """``predict_alpha``'s Args said threshold, hard, feather, keep, point, invert, refine and on_empty "matter
    here": ``edges`` was left out, though ``edges="fast"`` gives another alpha (the mask CLI has ``--edges``)."""
    import re

    import colorsplash
    from colorsplash.runtime.options import MASK_OPTION_NAMES

    doc = colorsplash.predict_alpha.__doc__ or ""
    said = re.search(r"options: splash options;(.*?)matter here", doc, re.S)
    assert said is not None, doc
    named = set(re.findall(r"``(\w+)``", said.group(1)))
    assert set(MASK_OPTION_NAMES) <= named, sorted(set(MASK_OPTION_NAMES) - named)
