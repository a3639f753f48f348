"""``train --size`` that is not a multiple of 32 is refused naming the flag (it said ``input_size must be ...``,
the config field's name, after the data folders were checked)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

pytest.importorskip("torch")

from colorsplash.cli import main  # noqa: E402


@pytest.mark.parametrize("size", ["70", "16"])
def test_size_not_a_multiple_of_32_names_the_flag(
    size: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_seed_set(tmp_path / "cats", n=2)
    args = ["train", str(tmp_path / "cats"), "--arch", "unet", "--size", size, "-o", str(tmp_path / "run")]
    try:
        code = main(args)
    except SystemExit as stop:
        code = stop.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert "--size" in err and "multiple of 32" in err and "input_size" not in err
    assert not (tmp_path / "run").exists()
