"""``train -o RUN`` refuses, before reading any photo, a run folder that is a file or that holds files of a run's
names which no run wrote (they were replaced without a word)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

pytest.importorskip("torch")

from helpers.train import TINY_UNET  # noqa: E402

from colorsplash.cli import main  # noqa: E402


def _train(data: Path, out: Path) -> list[str]:
    return ["train", str(data), *TINY_UNET, "--size", "64", "--epochs", "1", "-o", str(out)]


def test_run_folder_that_is_a_file_is_refused_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_seed_set(tmp_path / "cats", n=2)
    out = tmp_path / "run"
    out.write_bytes(b"mine")
    assert main(_train(tmp_path / "cats", out)) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Errno" not in err
    assert out.read_bytes() == b"mine"


def test_files_no_run_wrote_are_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_seed_set(tmp_path / "cats", n=2)
    out = tmp_path / "notes"
    out.mkdir()
    (out / "metrics.csv").write_text("my own figures\n")
    assert main(_train(tmp_path / "cats", out)) == 2
    err = capsys.readouterr().err
    assert "metrics.csv" in err and "-o NEW_DIR" in err
    assert (out / "metrics.csv").read_text() == "my own figures\n"


def test_a_run_stopped_before_its_first_epoch_starts_again(tmp_path: Path) -> None:
    """Ctrl-C before an epoch ended says "run the same command again": its own config.json does not stop that."""
    make_seed_set(tmp_path / "cats", n=2)
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"model": {}, "train": {}}))
    (out / "overview.png").write_bytes(b"")
    from colorsplash.cli.train import _refuse_existing_run

    _refuse_existing_run(str(out))


@pytest.mark.parametrize("inside", ["input", "mask"])
def test_a_run_folder_that_data_is_read_from_is_refused(
    inside: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train cats -o cats/input`` trained and wrote overview.png, curves.png and val_predictions.png among the
    photos: the next ``train cats`` stopped on "3 photo(s) without a mask: curves.png, ...". Refused before any photo
    is read, as evaluate's report folder is, and the folder is left as it was."""
    make_seed_set(tmp_path / "cats", n=2)
    run = tmp_path / "cats" / inside
    before = sorted(run.iterdir())
    assert main(_train(tmp_path / "cats", run)) == 2
    err = capsys.readouterr().err
    assert f"-o {run}: photos or masks are read from this folder" in err and "choose another run folder" in err
    assert sorted(run.iterdir()) == before
