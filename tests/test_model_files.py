"""Model files as users meet them (modelfiles audit): our own files with their config edited, files from elsewhere
given as ``--model``, and what each verb and ``load_model`` then say or do."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.config import CONFIG_METADATA_KEY
from colorsplash.runtime.onnx_model import ModelLoadError, load_model


def edited(source: Path, out: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of the exported ``source`` at ``out`` whose stored config is ``edit(config)`` (a dict, or raw text)."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(source))
    for prop in model.metadata_props:
        if prop.key == CONFIG_METADATA_KEY:
            new = edit(json.loads(prop.value))
            prop.value = new if isinstance(new, str) else json.dumps(new)
    onnx.save(model, str(out))
    return out


def photo(folder: Path) -> Path:
    path = folder / "room.png"
    Image.fromarray(np.full((30, 40, 3), 20, np.uint8)).save(path)
    return path


def test_a_models_name_and_subject_reach_the_terminal_escaped_and_cut(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model file's name and subject went to the terminal as they were: escape sequences in them retitled the
    terminal, coloured the summary line and broke it over lines; a 10,000-character name filled the screen."""
    evil = {"name": "evil\x1b[31mRED\x1b[0m\r\nX", "subject": "c\x1b]0;pwned\x07at"}
    model = edited(tiny_onnx, tmp_path / "evil.onnx", lambda c: {**c, **evil})
    assert main(["splash", str(photo(tmp_path)), "--model", str(model), "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err, err
    assert "C\\x1b]0;pwned\\x07at model — evil\\x1b[31mRED\\x1b[0m\\r\\nX" in err, err
    long = edited(tiny_onnx, tmp_path / "long.onnx", lambda c: {**c, "name": "N" * 10_000, "subject": "S" * 10_000})
    label = load_model(long).label
    assert len(label) < 150 + len(str(long)) and "S" * 57 + "... model — " + "N" * 57 + "..." in label, label


NORM = "normalization"


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda c: {**c, NORM: {"mean": [0, 0, 0], "std": [0, 255, 255]}}, "normalization std must be above 0"),
        (lambda c: {**c, NORM: {"mean": [0, 0, 0], "std": [-255, 255, 255]}}, "normalization std must be above 0"),
        (lambda c: json.dumps(c).replace('"std": [255.0', '"std": [NaN'), "normalization must be finite numbers"),
        (lambda c: json.dumps(c).replace('"mean": [0.0', '"mean": [Infinity'), "normalization must be finite"),
        (lambda c: {**c, "color_order": "BGR"}, "color_order must be 'RGB' (colorsplash feeds RGB pixels)"),
        (lambda c: {k: v for k, v in c.items() if k != NORM}, "it lacks normalization, which every exported"),
        (lambda c: {k: v for k, v in c.items() if k not in ("arch", "input_size")}, "it lacks arch, input_size,"),
    ],
)
def test_a_config_that_would_feed_the_network_wrongly_is_refused_naming_the_file(
    edit: Callable[[dict[str, Any]], Any], said: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    """A std of 0 or NaN loaded and fed NaN to the network (NumPy's "divide by zero" warnings, a wrong splash); a
    "BGR" colour order was fed RGB; a config without its normalisation ran with the Lite one's defaults on a
    network trained on x/255, and one without arch and input size was refused as a graph of the wrong size."""
    model = edited(tiny_onnx, tmp_path / "m.onnx", edit)
    with pytest.raises(ModelLoadError) as err:
        load_model(model)
    text = str(err.value)
    assert text.startswith(f"{model}: its 'colorsplash_config' metadata is not a valid colorsplash config (")
    assert said in text and "re-export it" in text, text
