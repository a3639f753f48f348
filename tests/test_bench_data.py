"""The benchmark scripts that need ``../shared/data`` say so, and where it goes, when it is missing, and which file
is bad when a pair of it is (they ended in a ``DataError`` traceback)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from helpers.bench import BENCH, bench_script
from helpers.layouts import make_oxford_set, make_paired_set, save_picture

from colorsplash.runtime.model.onnx_model import default_model_path


def test_the_validation_sets_name_the_data_they_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``peers.validation_sets``: what ``peers.py``, ``aspect.py``, ``robustness.py``, ``presence.py`` and
    ``scene_gallery.py`` read their photos from."""
    peers = bench_script("peers", monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        peers.validation_sets(tmp_path / "nowhere", limit=1)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {tmp_path / 'nowhere' / 'feral-cats'}: data folder not found")
    assert "feral-cats and oxford-pets" in message and "--data DIR" in message


def test_a_photo_without_a_mask_is_not_told_to_pass_skip_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The data sets are there but one photo has no mask: the bench scripts take no ``--skip-bad``, and the data is
    not missing, so the exit says what is wrong with the set alone (it said "(or pass --skip-bad)" and that the
    benchmark needs the shared data sets, put at DIR)."""
    peers = bench_script("peers", monkeypatch)
    for name in ("a", "b"):
        save_picture(tmp_path / "feral-cats" / "images" / f"{name}.png", np.zeros((8, 8, 3), np.uint8))
    save_picture(tmp_path / "feral-cats" / "masks" / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit) as exit_info:
        peers.validation_sets(tmp_path, limit=1)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {tmp_path / 'feral-cats' / 'images'}: 1 photo(s) without a mask")
    assert message.endswith("add the masks or remove the photos")
    assert "--skip-bad" not in message and "needs the shared data" not in message


def _data_with_a_bad_mask(root: Path) -> Path:
    """feral-cats and oxford-pets under ``root``, feral-cats' first validation mask (``p0.png``) not a picture;
    returns that mask."""
    make_paired_set(root / "feral-cats", n=2)
    (root / "feral-cats" / "splits.tsv").write_text("p0\tvalid\np1\tvalid\n")
    make_oxford_set(root / "oxford-pets", ["Abyssinian_1", "Abyssinian_2"])
    bad = root / "feral-cats" / "masks" / "p0.png"
    bad.write_bytes(b"not a png")
    return bad


# Each script's command line on the data root (and a folder for its output): audit_labels.py takes one set.
_ARGUMENTS: dict[str, Callable[[Path, Path], list[str]]] = {
    "robustness.py": lambda data, out: ["--data", str(data)],
    "aspect.py": lambda data, out: ["--data", str(data), "--pad", "0"],
    "presence.py": lambda data, out: [str(default_model_path()), "--data", str(data)],
    "audit_labels.py": lambda data, out: [str(data / "feral-cats"), "-o", str(out)],
}
_NO_MATPLOTLIB = pytest.mark.skipif(find_spec("matplotlib") is None, reason="audit_labels.py needs matplotlib")


@pytest.mark.parametrize(
    "script", ["robustness.py", "aspect.py", "presence.py", pytest.param("audit_labels.py", marks=_NO_MATPLOTLIB)]
)
def test_an_unreadable_mask_ends_a_script_in_one_line_without_skip_bad(script: str, tmp_path: Path) -> None:
    """A script that reads the pairs itself (``load_pair``) ended in a ``DataError`` traceback advising
    "(or pass --skip-bad)", an option it does not take; it exits with one line naming the mask and what to do."""
    bad = _data_with_a_bad_mask(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *_ARGUMENTS[script](tmp_path / "data", tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: {bad}: ") and done.stderr.rstrip().endswith(
        "; check the file (or remove it from the data)"
    )
    assert "Traceback" not in done.stderr and "--skip-bad" not in done.stderr and done.stderr.count("\n") == 1


def test_the_scoring_loop_of_peers_exits_on_an_unreadable_mask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``peers.score_all`` (``peers.py``'s loop over the photos) reads each pair: the same one-line exit."""
    peers = bench_script("peers", monkeypatch)
    bad = _data_with_a_bad_mask(tmp_path)
    sets = peers.validation_sets(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        peers.score_all({"none": lambda image: np.zeros(image.shape[:2], np.float32)}, sets, progress=False)
    message = str(exit_info.value.code)
    assert message.startswith(f"error: {bad}: ") and "--skip-bad" not in message


def test_the_copy_audit_names_a_photo_without_its_mask(tmp_path: Path) -> None:
    """``audit_copies.py`` lists the set itself (``discover``): a photo without its mask ended in a ``DataError``
    traceback advising "(or pass --skip-bad)"; it exits with one line naming the photos and what to do."""
    make_paired_set(tmp_path / "set", n=2)
    (tmp_path / "set" / "masks" / "p1.png").unlink()
    done = subprocess.run(
        [sys.executable, str(BENCH / "audit_copies.py"), str(tmp_path / "set"), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: ") and "without a mask" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "--skip-bad" not in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
