"""``evaluate``'s lines: the last names the report files it wrote (without matplotlib, the light runtime, there is
no ``worst.png``, which the line named all the same); the warning on a set the model was not trained on says what
the split's photos were for training."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.layouts import make_paired_set

from colorsplash.cli import main


def test_without_matplotlib_the_gallery_is_not_named_as_written(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "colorsplash.training.plots", None)  # import fails as without matplotlib
    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    assert main(["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out)]) == 0
    said, notes = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "summary.json"]
    assert "note: no worst.png" in notes and "note:" not in said  # the table's stream (redirected) holds no notes
    wrote = [line for line in said.splitlines() if line.startswith("wrote ")]
    assert wrote == [f"wrote {out / 'scores.csv'} and {out / 'summary.json'}"], said


def test_overwrite_without_matplotlib_leaves_no_earlier_gallery_behind(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--overwrite replaces an earlier report; its worst.png, which this report cannot redraw, would pass for this
    report's gallery: it is removed, saying so. Without --overwrite the earlier report is refused untouched."""
    monkeypatch.setitem(sys.modules, "colorsplash.training.plots", None)
    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    out.mkdir()
    (out / "worst.png").write_bytes(b"an earlier report's gallery")
    args = ["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out)]
    assert main(args) == 2
    assert (out / "worst.png").read_bytes() == b"an earlier report's gallery"
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "summary.json"]
    assert f"note: removed {out / 'worst.png'}" in capsys.readouterr().err


def test_worst_0_draws_no_gallery_and_names_none(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--worst 0`` was refused ("must be a positive whole number"), though 0 is how the other counts say "none"
    (``train --swa-epochs 0``, ``-j 0``): it writes the report without worst.png, names none, and an earlier report's
    gallery replaced with --overwrite does not stay behind to pass for this report's."""
    import json

    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    out.mkdir()
    (out / "worst.png").write_bytes(b"an earlier report's gallery")
    args = ["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out), "--worst", "0"]
    assert main([*args, "--overwrite"]) == 0
    said, notes = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "summary.json"]
    assert f"note: removed {out / 'worst.png'}, the earlier report's gallery (--worst 0 draws none)" in notes
    assert [line for line in said.splitlines() if line.startswith("wrote ")] == [
        f"wrote {out / 'scores.csv'} and {out / 'summary.json'}"
    ]
    assert json.loads((out / "summary.json").read_text())["worst"] == []
    assert main(["evaluate", "--worst", "-1"]) == 2 and "got -1" in capsys.readouterr().err


@pytest.mark.parametrize(("split", "ending"), [("val", "ones training held out"), ("train", "ones training used")])
def test_the_unknown_set_warning_says_what_the_split_was_for_training(
    split: str, ending: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``--split train`` on a set the model does not record said its train photos were "not known to be ones
    training held out": held out is what val photos are; train photos are the ones training used."""
    from colorsplash.evaluation.datasets import discover
    from colorsplash.evaluation.evaluate import warn_unknown_sets
    from colorsplash.runtime.model.config import ModelConfig

    make_paired_set(tmp_path / "pairs", n=2)
    config = ModelConfig(training={"datasets": ["cats"]})
    assert warn_unknown_sets(discover(tmp_path / "pairs"), config, split)
    assert f"so these {split} photos are not known to be {ending}" in caplog.text


def test_summary_json_counts_images_in_whole_numbers(tmp_path: Path, tiny_onnx: Path) -> None:
    """summary.json said ``"images": 2.0`` per set and overall, but ``"images": 2`` for the photos without the
    subject (and ``"skipped": 0``): a count is a whole number everywhere."""
    import json

    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    assert main(["-q", "evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out)]) == 0
    text = (out / "summary.json").read_text()
    summary = json.loads(text)
    assert summary["overall"]["images"] == 2 and type(summary["overall"]["images"]) is int, text
    assert type(summary["datasets"]["pairs"]["images"]) is int


def test_a_data_folder_with_no_photo_in_the_split_is_named(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``evaluate pets/ big/ --split val`` where no photo of the small ``pets`` falls in the val part: its row was
    simply missing from the table and the overall row was the other set's, without a word. A warning names it."""
    from colorsplash.evaluation.datasets import discover_all
    from colorsplash.evaluation.evaluate import select_split

    make_paired_set(tmp_path / "big", n=12)
    make_paired_set(tmp_path / "pets", n=2)
    found = discover_all([tmp_path / "big", tmp_path / "pets"])
    assert {s.dataset for s in select_split(found, "val", 0.15, 3)} == {"big"}  # the case: pets has no val photo
    out = tmp_path / "report"
    args = ["evaluate", str(tmp_path / "big"), str(tmp_path / "pets"), "--split", "val", "--seed", "3"]
    assert main([*args, "--model", str(tiny_onnx), "-o", str(out), "--worst", "0"]) == 0
    assert "--split val: no photo of pets (2 photo(s)) is in the val part" in caplog.text


def test_an_empty_split_of_sets_with_their_own_split_does_not_send_the_user_to_val_fraction(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate --negatives streets --split val`` where the fixed quarter of the negatives that validates holds no
    photo said "use --split all or another --val-fraction", and ``--val-fraction 0.99`` failed the same: a
    negative's split (as a scenes set's pet-free photos', a list's) is its own, which --val-fraction never moves."""
    import numpy as np
    from helpers.layouts import save_picture

    from colorsplash.evaluation.negatives import discover_negatives

    save_picture(tmp_path / "streets" / "road.png", np.zeros((20, 30, 3), np.uint8))
    assert [s.split for s in discover_negatives([tmp_path / "streets"])] == ["train"]  # the case
    args = ["evaluate", "--negatives", str(tmp_path / "streets"), "--split", "val", "--val-fraction", "0.99"]
    assert main([*args, "--model", str(tiny_onnx), "-o", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert "the val split of " in err and "is empty" in err and "another --val-fraction" not in err
    assert "--val-fraction and --seed do not move" in err and "use --split all" in err
