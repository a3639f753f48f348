"""``colorsplash splash`` and ``mask`` on files whose names hold line breaks and other control characters: each
file's line stays one line, and no name can forge a line of its own or drive the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.splash_cli import keyed_fixture  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
from PIL import Image

from colorsplash.cli import main

FORGED = "1 file(s): done 1, skipped 0, failed 0"


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_control_characters_in_names_are_escaped_in_every_line(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"fake\n{FORGED}.jpg").write_bytes(b"not a picture")  # refused when the run is planned
    Image.new("RGB", (40, 30), (128, 128, 128)).save(folder / "grey\x1b]0;retitled\x07.png")  # no subject: a note
    code = main([verb, str(folder), "-o", str(tmp_path / "out"), "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 1
    assert not any(line.startswith(FORGED) for line in lines), err  # the name did not start a line of its own
    assert "\x1b" not in err and "\x07" not in err, err  # nor set the terminal's title
    assert sum(f"fake\\n{FORGED}.jpg: not a picture" in line for line in lines) == 1, err
    assert any("grey\\x1b]0;retitled\\x07.png" in line and "found in" in line for line in lines), err
    assert lines[-1].startswith("2 file(s): done 1, skipped 0, failed 1"), err


def test_names_in_the_scans_lines_are_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from colorsplash.runtime.planning import expand_inputs

    Image.new("RGB", (8, 6)).save(tmp_path / "cat.png")
    (tmp_path / f"clip\n{FORGED}.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  ")  # a video, left out with a line
    (tmp_path / "link\x1b]0;retitled\x07.png").symlink_to(tmp_path / "cat.png")  # a second name, left out
    with caplog.at_level("INFO", logger="colorsplash"):
        found, _ = expand_inputs([str(tmp_path)], recursive=False)
    assert [f.name for f, _ in found] == ["cat.png"]
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all(line.isprintable() for line in said), said
    assert any(f"clip\\n{FORGED}.mov" in line for line in said), said
    assert any("link\\x1b]0;retitled\\x07.png" in line for line in said), said


# Names as phones, Macs and other languages make them: a macOS screenshot's narrow no-break space before "AM", a
# Japanese name's full-width space, an emoji joined by zero-width joiners, a Persian word's zero-width non-joiner.
LEGITIMATE = ["Screenshot 2023-10-18 at 9.41.12\u202fAM", "写真\u30001", "👨\u200d👩\u200d👧", "مى\u200cخواهم"]


@pytest.mark.parametrize("name", LEGITIMATE)
def test_legitimate_names_are_shown_as_they_are(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"{name}.jpg").write_bytes(b"not a picture")  # refused when the run is planned: its line names it
    code = main(["splash", str(folder), "-o", str(tmp_path / "out"), "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{name}.jpg: not a picture" in err, err  # readable, not "\u202f", "\u3000", "\u200d"
