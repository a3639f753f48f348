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


@pytest.mark.parametrize(
    "where", ["splash INPUT", "splash -o", "splash -o/sub/", "splash --model", "evaluate DATA", "video INPUT"]
)
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
        # the loop is a folder of the path: it, not the path's last name, is the link (was "one/x/y: a link")
        "-o/sub/": [verb, str(photo), "-o", f"{loop}/x/y/", "--model", str(tiny_onnx)],
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


@pytest.mark.parametrize("verb", ["splash", "mask", "evaluate", "export"])
@pytest.mark.parametrize("where", ["a folder of -o", "-o itself"])
def test_a_name_too_long_in_o_is_refused_before_any_work(
    verb: str, where: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o LONG/out`` (or ``-o LONG.jpg``): ``splash``/``mask`` ran the model on each photo, then failed each with
    "cannot write LONG/a.splash.jpg: File name too long" (``-o LONG.jpg`` said "rename the input", of an input
    whose name is fine); ``evaluate`` scored every photo, then failed writing the report; ``export`` converted the
    model, then said "[Errno 36] File name too long". Each is refused once, before any work, saying what to do."""
    from helpers.layouts import make_paired_set

    photo = tmp_path / "a.jpg"
    blob_file(photo, 0)
    make_paired_set(tmp_path / "set", n=2)
    suffix = {"splash": ".jpg", "mask": ".png", "evaluate": "", "export": ".onnx"}[verb]
    out = tmp_path / LONG / f"out{suffix}" if where == "a folder of -o" else tmp_path / f"{LONG}{suffix}"
    if verb == "evaluate" and where == "-o itself":
        out = tmp_path / LONG
    source = {"evaluate": str(tmp_path / "set"), "export": str(tiny_onnx.with_suffix(".pt"))}.get(verb, str(photo))
    model = (
        [] if verb == "export" else ["--model", str(tiny_onnx.with_suffix(".pt") if verb == "evaluate" else tiny_onnx)]
    )
    code, lines = _said(capsys, "-q", verb, source, "-o", str(out), *model)
    assert code == 2 and len(lines) == 1, lines
    assert "Errno" not in lines[0] and "too long" not in lines[0] and "rename the input" not in lines[0], lines
    assert "longer than" in lines[0] and "255 bytes" in lines[0] and "-o" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "set"]
