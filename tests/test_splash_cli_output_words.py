"""``-o`` naming something that exists and is neither a folder nor a picture file: the line says what it is and
what to give instead (it said "-o /dev/null: exists and is not a folder")."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from colorsplash.cli import main


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(path)
    return path


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_a_device_names_itself_and_standard_output(verb: str, photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([verb, str(photo), "-o", "/dev/null"]) == 2
    err = capsys.readouterr().err
    assert "-o /dev/null: is a pipe, socket or device, not a file" in err and "-o -" in err, err


def test_a_plain_file_without_a_picture_extension(
    tmp_path: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    assert main(["splash", str(photo), "-o", str(notes)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder, and has no picture extension: -o names a folder or a picture file" in err, err
    assert notes.read_text() == "x"


def test_a_new_folder_without_extension_is_a_folder_whatever_pillow_registered(
    tmp_path: Path, photo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow 10's SPIDER writer registers the extension of what it saved to, "" for a stream: a name without an
    extension was then taken for a picture file of an unwritten kind and refused."""
    monkeypatch.setitem(Image.EXTENSION, "", "SPIDER")
    out = tmp_path / "results"
    assert main(["splash", str(photo), "-o", str(out)]) == 0
    assert [p.suffix for p in out.iterdir()] == [".png"]
