"""Rules of ``runtime/files.py`` that the command-line tests do not reach: each here is one a user meets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from colorsplash.runtime.files import file_version

PHOTO = Path(__file__).parents[1] / "examples" / "chelsea.jpg"


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


def test_a_result_over_the_systems_file_size_limit_is_said_with_whose_limit_and_what_to_do(tmp_path: Path) -> None:
    """Under ``ulimit -f`` (a shell's or a service's), ``splash`` said "cannot write out.jpg: File too large": too
    large for what, and what to do, it did not say. Python ignores SIGXFSZ, so the write fails with EFBIG."""
    resource = pytest.importorskip("resource")
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    out = tmp_path / "out.jpg"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))

    run = subprocess.run(
        [sys.executable, "-m", "colorsplash", "splash", str(PHOTO), "-o", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert "cannot write" in run.stderr and "ulimit -f" in run.stderr and "raise the limit" in run.stderr, run.stderr
    assert list(tmp_path.iterdir()) == []  # no temporary file left
