"""A path whose one name is longer than the system allows (255 bytes) is said in words with what to do, by any verb
and wherever it was typed: it was the system's "[Errno 36] File name too long: '...'"."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.splash_cli import blob_file

from colorsplash.cli import main

LONG = "猫" * 90  # 270 bytes as UTF-8: no file can have this name


def _said(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    "where",
    ["splash -o", "splash INPUT", "mask -o", "splash --model", "evaluate DATA", "train -o", "video INPUT"],
)
def test_a_name_too_long_is_said_in_words(
    where: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "a.jpg"
    blob_file(photo, 0)
    long = tmp_path / (LONG + ".jpg")
    verb, what = where.split(" ")
    argv = {
        "-o": [verb, str(photo), "-o", str(long), "--model", str(tiny_onnx)],
        "INPUT": [verb, str(long), "--model", str(tiny_onnx)]
        + (["-o", str(tmp_path / "o.mp4")] if verb == "video" else []),
        "--model": [verb, str(photo), "--model", str(long.with_suffix(".onnx"))],
        "DATA": [verb, str(tmp_path / LONG), "--model", str(tiny_onnx)],
    }[what]
    if verb == "train":
        pytest.importorskip("torch")
        argv = ["train", str(tmp_path), "-o", str(tmp_path / LONG)]
    code, lines = _said(capsys, *argv)
    assert code != 0 and lines, lines
    last = lines[-1]
    assert "Errno" not in last and LONG in last, lines
    assert "longer than" in last and "255 bytes" in last and "shorter" in last, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
