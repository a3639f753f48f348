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
from colorsplash.runtime.onnx_model import load_model


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
