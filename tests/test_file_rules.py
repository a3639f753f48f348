"""Rules of ``runtime/files.py`` that the command-line tests do not reach: each here is one a user meets."""

from __future__ import annotations

import os
from pathlib import Path

from colorsplash.runtime.files import file_version


def test_a_file_copied_over_in_place_with_the_same_size_is_a_new_version(tmp_path: Path) -> None:
    """``cp retrained.onnx model.onnx`` writes the same inode again, and a model of the same architecture has the
    same size: only the modification time tells the loaded model from the new one (the server reloads on it)."""
    model = tmp_path / "model.onnx"
    model.write_bytes(b"weights-1")
    before = file_version(model)
    with open(model, "r+b") as fp:  # in place, as cp does: same inode, same size
        fp.write(b"weights-2")
    os.utime(model, ns=(os.stat(model).st_atime_ns, os.stat(model).st_mtime_ns + 1_000_000))
    assert before is not None and os.stat(model).st_ino == before[0]
    assert file_version(model) != before


def test_a_file_that_is_gone_has_no_version(tmp_path: Path) -> None:
    assert file_version(tmp_path / "gone.onnx") is None
