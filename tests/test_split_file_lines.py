"""``splits.tsv`` lines a spreadsheet or a hand writes (:func:`colorsplash.evaluation.folders.read_split_file`), and
where ``--skip-bad``'s advice goes in a message (:class:`colorsplash.evaluation.folders.DataError`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorsplash.evaluation.folders import DataError, read_split_file


def test_a_spreadsheets_utf8_export_with_a_byte_order_mark(tmp_path: Path) -> None:
    """The first photo of a file saved as "UTF-8" by a spreadsheet (a byte-order mark first) keeps its name."""
    (tmp_path / "splits.tsv").write_bytes("\ufeffcat1\tval\ncat2\ttrain\n".encode())
    assert read_split_file(tmp_path) == {"cat1": "val", "cat2": "train"}


def test_lines_without_a_name_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "splits.tsv").write_text("cat1\tval\n\tval\n  \ttrain\n")
    assert read_split_file(tmp_path) == {"cat1": "val"}


def test_only_the_first_line_may_be_a_header(tmp_path: Path) -> None:
    """``name<TAB>split`` on line 1 is a header; further down, ``split`` is no split word and the line is named."""
    (tmp_path / "splits.tsv").write_text("name\tsplit\ncat1\tval\n")
    assert read_split_file(tmp_path) == {"cat1": "val"}
    (tmp_path / "splits.tsv").write_text("cat1\tval\ncat2\tsplit\n")
    with pytest.raises(DataError, match="line 2: split 'split' for cat2"):
        read_split_file(tmp_path)


def test_skip_advice_joins_a_last_way_out_but_not_a_nested_one() -> None:
    joined = DataError("a.png: unreadable (or remove it from the data)", skippable=True)
    assert str(joined) == "a.png: unreadable (or remove it from the data, or pass --skip-bad)"
    nested = DataError("a.png: unreadable (or remove it (see notes.txt))", skippable=True)
    assert str(nested) == "a.png: unreadable (or remove it (see notes.txt)) (or pass --skip-bad)"


def test_links_inside_a_linked_photo_folder_are_not_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``images/`` itself a link to another disk, its files linking to each other there: nothing leaves the data
    set's own folders, so no warning (one names only links that lead outside)."""
    from colorsplash.evaluation.folders import warn_links

    elsewhere = tmp_path / "disk" / "photos"
    elsewhere.mkdir(parents=True)
    (elsewhere / "real.jpg").write_bytes(b"x")
    (elsewhere / "alias.jpg").symlink_to(elsewhere / "real.jpg")
    root = tmp_path / "set"
    root.mkdir()
    (root / "images").symlink_to(elsewhere, target_is_directory=True)
    with caplog.at_level("WARNING"):
        warn_links(root, [root / "images"])
    assert not caplog.records, caplog.text


def test_a_data_set_named_dot_is_named_after_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``evaluate .`` from inside ``pets/`` (or ``pets/masks/..``): the set is ``pets``, not an empty name."""
    from colorsplash.evaluation.folders import set_name

    (tmp_path / "pets" / "masks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "pets")
    assert set_name(".") == "pets"
    assert set_name(tmp_path / "pets" / "masks" / "..") == "pets"
