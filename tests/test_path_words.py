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
    assert "Errno" not in last and LONG in last, lines
    assert "longer than" in last and "255 bytes" in last and "shorter" in last, lines
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


def test_a_chain_of_links_that_ends_in_nothing_is_not_called_a_loop(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``a`` -> ``b`` -> nothing: no loop, a chain that ends in nothing. As an input it was said to be "a symbolic
    link in a loop of links", and as a folder of ``-o`` "a symbolic link to b, which does not exist" of a ``b`` that
    is there (a link); both now name where the chain ends. A real loop keeps the one wording (files.LINK_LOOP)."""
    photo = tmp_path / "a.jpg"
    blob_file(photo, 0)
    (tmp_path / "first").symlink_to("second")
    (tmp_path / "second").symlink_to("gone")
    (tmp_path / "one").symlink_to("two")
    (tmp_path / "two").symlink_to("one")
    chain = "a symbolic link to second, a link in turn to gone, which does not exist"
    code, lines = _said(capsys, "splash", str(tmp_path / "first"), "--model", str(tiny_onnx))
    assert code == 1 and lines[0] == f"{tmp_path / 'first'}: {chain}", lines
    code, lines = _said(capsys, "splash", str(photo), "-o", str(tmp_path / "first" / "out"), "--model", str(tiny_onnx))
    assert code == 2 and f"({tmp_path.resolve() / 'first'} is {chain})" in lines[-1], lines
    from colorsplash.runtime.files import LINK_LOOP, unwritable_folder

    assert unwritable_folder(tmp_path / "one" / "sub") == f"{tmp_path.resolve() / 'one'} is {LINK_LOOP}"
