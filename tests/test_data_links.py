"""Data sets holding symbolic links: a photo or mask linked to a file outside the data folder is read and named in
a warning (evaluate's gallery shows such a photo), a link to nothing is named, and links of whole folders (the data
folder given on the command line, its images/ on another disk) keep working without a word."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_paired_set, save_picture

from colorsplash.evaluation.datasets import discover, load_pair
from colorsplash.evaluation.negatives import discover_negatives

needs_links = pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")


@needs_links
def test_pictures_linked_from_outside_the_data_folder_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A photo that is a link to a picture elsewhere on the disk was read without a word, and evaluate's gallery
    could show it: a data set from someone else can link to any picture its user may read."""
    data, elsewhere = tmp_path / "set", tmp_path / "private"
    make_paired_set(data, n=3)
    secret = save_picture(elsewhere / "holiday.png", np.full((40, 56, 3), 77, np.uint8))
    (data / "images" / "p1.png").unlink()
    (data / "images" / "p1.png").symlink_to(secret)
    (data / "masks" / "p2.png").rename(data / "p2-mask.png")
    (data / "masks" / "p2.png").symlink_to(Path("..") / "p2-mask.png")  # inside the data folder: not named
    (data / "images" / "gone.png").symlink_to(elsewhere / "gone.png")
    with caplog.at_level(logging.WARNING):
        samples = discover(data, skip_bad=True)
    assert [s.name for s in samples] == ["p0", "p1", "p2"]
    assert np.all(load_pair(samples[1])[0] == 77)  # read as it is
    warnings = [r.getMessage() for r in caplog.records]
    outside = [w for w in warnings if "outside it" in w]
    assert len(outside) == 1 and "1 picture(s)" in outside[0], warnings
    assert f"images/p1.png -> {secret.resolve()}" in outside[0] and "p2" not in outside[0]
    assert any("1 symbolic link(s) lead to no file" in w and "images/gone.png" in w for w in warnings), warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        negatives = discover_negatives([data / "images"])
    assert len(negatives) == 3 and "holiday.png" in caplog.text


@needs_links
def test_linked_data_folders_keep_working_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """People keep data sets on other disks: the folder given on the command line, or its images/, may be a link."""
    make_paired_set(tmp_path / "disk2" / "set", n=2)
    make_paired_set(tmp_path / "disk1" / "split", n=2)
    photos = tmp_path / "disk2" / "split-images"
    (tmp_path / "disk1" / "split" / "images").rename(photos)
    (tmp_path / "disk1" / "split" / "images").symlink_to(photos, target_is_directory=True)
    (tmp_path / "linked").symlink_to(tmp_path / "disk2" / "set", target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        for folder in (tmp_path / "linked", tmp_path / "disk1" / "split"):
            assert [load_pair(s)[1].shape for s in discover(folder)] == [(40, 56)] * 2
    assert not caplog.records
