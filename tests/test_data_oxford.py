"""The Oxford-IIIT Pet layout: its trimaps (1 pet, 2 background, 3 border not scored), its official lists, and the
official download as unpacked (``annotations/trimaps/``). From ``test_data.py``, which was over 400 lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from helpers.layouts import make_oxford_set

from colorsplash.evaluation.datasets import IGNORE, detect_layout, discover, load_pair, split_samples


def test_oxford_layout_trimap_and_official_lists(tmp_path: Path) -> None:
    trimap = make_oxford_set(tmp_path, ["Abyssinian_1", "Abyssinian_2", "Bengal_1"])
    samples = discover(tmp_path)
    assert detect_layout(tmp_path) == "oxford"
    assert all(s.kind == "oxford" and s.split is None for s in samples)  # no lists: seeded split
    _, mask = load_pair(samples[0])
    assert np.array_equal(mask == 1, trimap == 1)
    assert np.array_equal(mask == IGNORE, trimap == 3)
    assert np.array_equal(mask == 0, trimap == 2)

    (tmp_path / "trainval.txt").write_text("Abyssinian_1 1 1 1\nBengal_1 6 1 2\n")
    (tmp_path / "test.txt").write_text("# comment\nAbyssinian_2 1 1 1\n")
    train, val = split_samples(discover(tmp_path), val_fraction=0.99, seed=0)
    assert [s.name for s in train] == ["Abyssinian_1", "Bengal_1"] and [s.name for s in val] == ["Abyssinian_2"]


def test_the_official_oxford_download_is_read_as_unpacked(tmp_path: Path) -> None:
    """``images.tar.gz`` and ``annotations.tar.gz`` unpacked side by side give ``images/`` and
    ``annotations/trimaps/`` (the lists in ``annotations/``, macOS ``._`` files among the trimaps); it was "no
    known data layout", and moving the trimaps up a folder was left to the user to guess."""
    trimap = make_oxford_set(tmp_path, ["Abyssinian_1", "Abyssinian_2", "Bengal_1"])
    (tmp_path / "annotations").mkdir()
    (tmp_path / "trimaps").rename(tmp_path / "annotations" / "trimaps")
    (tmp_path / "annotations" / "trimaps" / "._Bengal_1.png").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (tmp_path / "annotations" / "trainval.txt").write_text("Abyssinian_1 1 1 1\nBengal_1 6 1 2\n")
    (tmp_path / "annotations" / "test.txt").write_text("Abyssinian_2 1 1 1\n")
    assert detect_layout(tmp_path) == "oxford"
    samples = discover(tmp_path)
    assert [(s.name, s.kind, s.split) for s in samples] == [
        ("Abyssinian_1", "oxford", "train"),
        ("Abyssinian_2", "oxford", "val"),
        ("Bengal_1", "oxford", "train"),
    ]
    _, mask = load_pair(samples[0])
    assert np.array_equal(mask == IGNORE, trimap == 3)
