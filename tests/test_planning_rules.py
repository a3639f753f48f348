"""Output planning rules (``runtime/planning.py``) met without running a model: what a run refuses before any
work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from colorsplash.runtime.planning import OutputPlan, kept_existing, plan_tasks


def test_an_output_that_is_another_name_of_an_input_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    """A hard link (or, on macOS and Windows, a name differing in case) is the input under another name:
    ``--overwrite`` replaces a user's other files, never an input by any of its names."""
    photo = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(photo)
    os.link(photo, tmp_path / "a.splash.png")
    tasks, errors = plan_tasks([(photo, None)], OutputPlan(overwrite=True))
    assert tasks == [] and errors == [
        f"{photo}: its output {tmp_path / 'a.splash.png'} is an input file; refusing to overwrite it "
        "(rename one of them or use -o DIR)"
    ]


def test_skip_existing_keeps_a_folder_in_the_outputs_place_without_an_error(tmp_path: Path) -> None:
    """``--skip-existing`` keeps whatever is at an output's name, a folder too: the photo is skipped like any other
    whose result is there, not an error line ("is a folder, not a file; --overwrite replaces files only")."""
    photo = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(photo)
    (tmp_path / "a.splash.png").mkdir()
    tasks, errors = plan_tasks([(photo, None)], OutputPlan(skip_existing=True))
    assert errors == [] and [t.output for t in tasks] == [tmp_path / "a.splash.png"]
    assert kept_existing(tasks[0].output, skip_existing=True)


def test_skip_existing_keeps_a_symbolic_link_to_nothing(tmp_path: Path) -> None:
    """A link to nothing at an output's name is there (``ls`` shows it): kept by ``--skip-existing``, as the write
    that would replace it refuses to (it was "not made by this run")."""
    link = tmp_path / "a.splash.png"
    link.symlink_to(tmp_path / "gone.png")
    assert kept_existing(link, skip_existing=True) and not kept_existing(link, skip_existing=False)


def test_two_photos_of_one_stem_in_one_folder_are_not_told_about_different_folders(tmp_path: Path) -> None:
    """``x.jpg`` and ``x.png`` of one folder give one mask name in ``-o DIR``: the line says to rename one, never
    that "photos of one name from different folders" stay apart with their common folder as INPUT (they have one
    folder: that advice changes nothing)."""
    for ext in ("jpg", "png"):
        Image.new("RGB", (8, 8)).save(tmp_path / f"x.{ext}")
    items = [(tmp_path / "x.jpg", None), (tmp_path / "x.png", None)]
    tasks, errors = plan_tasks(items, OutputPlan(out_dir=tmp_path / "out", mask=True))
    assert len(tasks) == 1 and len(errors) == 1 and "is already the output of" in errors[0]
    assert "different folders" not in errors[0]


def test_an_output_file_name_too_long_is_refused_once_naming_the_option(tmp_path: Path) -> None:
    """``-o`` with a name past 255 bytes is the user's option at fault: one refusal naming ``-o``, not a line per
    photo telling them to rename the photo."""
    photo = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(photo)
    long_name = tmp_path / ("x" * 300 + ".png")
    with pytest.raises(ValueError, match=r"^-o .*: its name is longer than the 255 bytes .*; choose a shorter -o$"):
        plan_tasks([(photo, None)], OutputPlan(out_file=long_name))
