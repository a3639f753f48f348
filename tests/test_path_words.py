"""Paths no file can be at, said in words with what to do by any verb and wherever they were typed: a name longer
than the system allows (255 bytes) was the system's "[Errno 36] File name too long: '...'", a loop of symbolic links
Python's "Symlink loop from '...'" (or, as an input, "a link to X, which does not exist" of an X that is there)."""

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
    assert LONG in " ".join(lines), lines
    said = lines[0] if what == "-o" else last  # -o FILE: the photo's line, then the batch's summary
    assert "Errno" not in said and "longer than" in said and "255 bytes" in said and "shorter" in said, lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]


@pytest.mark.parametrize("where", ["splash INPUT", "splash -o", "splash --model", "evaluate DATA", "video INPUT"])
def test_a_loop_of_links_is_said_in_words(
    where: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "a.jpg"
    blob_file(photo, 0)
    (tmp_path / "one").symlink_to("two")
    (tmp_path / "two").symlink_to("one")
    loop = str(tmp_path / "one")
    verb, what = where.split(" ")
    argv = {
        "INPUT": [verb, loop, "--model", str(tiny_onnx)] + (["-o", str(tmp_path / "o.mp4")] if verb == "video" else []),
        "-o": [verb, str(photo), "-o", loop, "--model", str(tiny_onnx)],
        "--model": [verb, str(photo), "--model", loop],
        "DATA": [verb, loop, "--model", str(tiny_onnx)],
    }[what]
    code, lines = _said(capsys, *argv)
    assert code != 0 and lines, lines
    said = lines[-2] if where == "splash INPUT" else lines[-1]  # a photo's line, then the batch's summary
    assert said.endswith(
        "one: a symbolic link in a loop of links (each leads to another, none to a file); fix or remove the link"
    ), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "one", "two"]
