"""The lines a run's scan of its inputs gives (``runtime/scan_notes.py``): a file they name is found where they say."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from colorsplash.runtime.planning import expand_inputs


def test_a_partial_file_in_a_sub_folder_is_named_by_its_path_under_the_scanned_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``splash photos -r`` named a killed run's partial file ``photos/2019/.colorsplash-...`` as "photos: partial
    result(s) ...: .colorsplash-...", a file the user looking in ``photos`` did not find: it is named by its path
    under the scanned folder (``2019/.colorsplash-...``), as the links the scan does not follow are."""
    (tmp_path / "2019").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "2019" / "a.png")
    partial = Path("2019", ".colorsplash-a.splash.0123abcd.part.png")
    (tmp_path / partial).write_bytes(b"cut")
    with caplog.at_level(logging.INFO):
        items, errors = expand_inputs([str(tmp_path)], recursive=True)
    said = [r.getMessage() for r in caplog.records if "partial result(s)" in r.getMessage()]
    assert len(items) == 1 and errors == []
    assert said == [
        f"{tmp_path}: partial result(s) of an interrupted run, safe to delete when no run is going: {partial}"
    ]


def test_a_video_in_a_sub_folder_is_named_by_its_path_under_the_scanned_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``splash photos -r`` said "photos: left out 1 video(s), not photos (IMG_1.MOV); `colorsplash video FILE`
    splashes a video" of ``photos/2019/IMG_1.MOV``: ``colorsplash video IMG_1.MOV`` found no such file. The video
    is named by its path under the scanned folder."""
    (tmp_path / "2019").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "2019" / "IMG_1.png")
    (tmp_path / "2019" / "IMG_1.MOV").write_bytes(b"a clip")
    with caplog.at_level(logging.INFO):
        expand_inputs([str(tmp_path)], recursive=True)
    said = [r.getMessage() for r in caplog.records if "video(s)" in r.getMessage()]
    assert len(said) == 1 and f"({Path('2019', 'IMG_1.MOV')})" in said[0], said


def test_a_users_own_file_that_starts_like_a_partial_one_is_not_called_safe_to_delete(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Only a killed run's temporary file (``.colorsplash-NAME.TOKEN.part.EXT``) is named as "safe to delete": a
    user's own hidden file that only starts the same way (``.colorsplash-settings.json``) is not ours."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / ".colorsplash-settings.json").write_text("{}")
    with caplog.at_level(logging.INFO):
        items, errors = expand_inputs([str(tmp_path)])
    assert len(items) == 1 and errors == []
    assert not [r.getMessage() for r in caplog.records if "partial result(s)" in r.getMessage()]


def test_a_folder_named_like_a_picture_is_not_a_picture_a_pattern_matches(tmp_path: Path) -> None:
    """``splash 'shots/*.jpg'`` where ``shots`` holds a folder ``2019.jpg`` (an album) and a photo: the photo is
    planned and the folder neither planned nor an error."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    (tmp_path / "2019.jpg").mkdir()
    items, errors = expand_inputs([str(tmp_path / "*.jpg")])
    assert items == [(tmp_path / "a.jpg", None)] and errors == []
