"""Evaluation at original resolution: scores, summaries, split selection, report files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.layouts import make_oxford_set, make_paired_set, make_seed_set, save_picture
from PIL import Image

from colorsplash.cli import main
from colorsplash.evaluation.datasets import IGNORE, discover, discover_all, split_samples
from colorsplash.evaluation.evaluate import (
    ImageScore,
    evaluate_model,
    select_split,
    summarize,
    upsample_probability,
    worst,
)
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.training.predictors import load_predictor


def _red_detector(image: np.ndarray) -> np.ndarray:
    """A perfect 'model' for make_blob_image pictures: the blob is the only bright-red region."""
    return (image[..., 0] > 150).astype(np.float32)


def test_perfect_predictions_score_one_at_original_size(tmp_path: Path) -> None:
    make_seed_set(tmp_path / "seed", n=2, h=50, w=70)
    make_paired_set(tmp_path / "pairs", n=2)
    samples = discover_all([tmp_path / "seed", tmp_path / "pairs"])
    scores = evaluate_model(_red_detector, samples, show_progress=False)
    assert [(s.dataset, s.name, s.width, s.height) for s in scores] == [
        ("seed", "cat0", 70, 50),
        ("seed", "cat1", 70, 50),
        ("pairs", "p0", 56, 40),
        ("pairs", "p1", 56, 40),
    ]
    for s in scores:
        assert s.iou > 0.97 and s.dice > 0.98 and s.pixel_accuracy > 0.99  # JPEG masks: a few noisy edge pixels
    inverted = evaluate_model(lambda im: 1.0 - _red_detector(im), samples[2:], show_progress=False)
    assert all(s.iou == 0.0 and s.pixel_accuracy == 0.0 for s in inverted)


def test_oxford_border_pixels_are_not_scored(tmp_path: Path) -> None:
    trimap = make_oxford_set(tmp_path, ["Bengal_1"])

    def right_except_border(image: np.ndarray) -> np.ndarray:
        pred = (trimap == 1).astype(np.float32)
        pred[trimap == 3] = 1.0 - pred[trimap == 3]  # wrong on every border pixel
        return pred

    (score,) = evaluate_model(right_except_border, discover(tmp_path), show_progress=False)
    assert score.iou == 1.0 and score.pixel_accuracy == 1.0 and score.seed_miou == 1.0
    assert np.count_nonzero(trimap == 3) > 0


def test_a_photo_whose_mask_scores_no_pixel_is_left_out_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trimap that is all border (Oxford's 3 on every pixel: nothing scored) gave its photo IoU 1.0, nothing
    against nothing, and it lifted the mean: it is left out of the scores (the model is not run on it), and a warning
    names it."""
    make_oxford_set(tmp_path, ["Abyssinian_1", "Bengal_1"])
    save_picture(tmp_path / "trimaps" / "Bengal_1.png", np.full((30, 40), 3, np.uint8))
    seen: list[int] = []

    def wrong_everywhere(image: np.ndarray) -> np.ndarray:
        seen.append(1)
        return np.zeros(image.shape[:2], np.float32)

    scores = evaluate_model(wrong_everywhere, discover(tmp_path), show_progress=False)
    assert [s.name for s in scores] == ["Abyssinian_1"] and scores[0].iou == 0.0 and len(seen) == 1
    assert "1 photo(s) left out of the scores: their masks leave no pixel scored" in caplog.text
    assert "Bengal_1.png" in caplog.text and "masks are empty" not in caplog.text


def test_probability_is_upsampled_before_thresholding(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 64
    yy, xx = np.mgrid[:size, :size]
    low = np.clip(1.2 - np.hypot(yy - 30, xx - 25) / 20, 0, 1).astype(np.float32)  # smooth blob at 64x64
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: low)
    h, w = 150, 230
    truth = (cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5).astype(np.uint8)
    save_picture(tmp_path / "images" / "a.png", np.zeros((h, w, 3), np.uint8))
    save_picture(tmp_path / "masks" / "a.png", truth * 255)
    predict, config, _ = load_predictor(tiny_onnx)
    assert config.input_size == size
    (score,) = evaluate_model(predict, discover(tmp_path), show_progress=False)
    assert (score.width, score.height, score.iou) == (w, h, 1.0)
    # Thresholding first and enlarging the binary map would not match: the test can tell the orders apart.
    coarse = cv2.resize((low >= 0.5).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    assert np.count_nonzero(coarse != truth) > 20


def test_pt_and_onnx_predictors_agree(tiny_checkpoint: Path, tiny_onnx: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (45, 70, 3)).astype(np.uint8)
    from_pt, _, _ = load_predictor(tiny_checkpoint)
    from_onnx, _, _ = load_predictor(tiny_onnx)
    a, b = from_pt(image), from_onnx(image)
    assert a.shape == b.shape == (45, 70) and a.dtype == b.dtype == np.float32
    assert np.abs(a - b).max() < 1e-4
    assert upsample_probability(np.full((4, 4), 1.5, np.float32), 3, 5).max() == 1.0


def test_summary_worst_and_split(tmp_path: Path) -> None:
    rows = [
        ImageScore("a", "x", "a.jpg", 1, 1, 0.2, 0.3, 0.9, 0.5),
        ImageScore("b", "x", "b.jpg", 1, 1, 0.6, 0.7, 0.9, 0.6),
        ImageScore("c", "y", "c.jpg", 1, 1, 1.0, 1.0, 1.0, 1.0),
    ]
    summary = summarize(rows)
    assert summary["datasets"]["x"]["iou"] == pytest.approx(0.4)
    assert summary["datasets"]["y"]["images"] == 1
    assert summary["overall"]["iou"] == pytest.approx(0.6)  # mean over images, not over sets
    assert [s.name for s in worst(rows, 2)] == ["a", "b"]

    make_seed_set(tmp_path, n=8)
    samples = discover(tmp_path)
    train, val = split_samples(samples, 0.5, seed=2)
    assert select_split(samples, "val", 0.5, 2) == val and select_split(samples, "train", 0.5, 2) == train
    assert select_split(samples, "all", 0.5, 2) == samples


def test_evaluate_cli_writes_reports(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: _red_detector(image))
    make_seed_set(tmp_path / "seed", n=3)
    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    rc = main(
        [
            "evaluate",
            str(tmp_path / "seed"),
            str(tmp_path / "pairs"),
            "--model",
            str(tiny_onnx),
            "-o",
            str(out),
            "--worst",
            "2",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "summary.json", "worst.png"]
    with (out / "scores.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [r["name"] for r in table] == ["cat0", "cat1", "cat2", "p0", "p1"]
    assert {"iou", "dice", "pixel_accuracy", "seed_miou", "width", "height"} <= set(table[0])
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["datasets"]) == {"seed", "pairs"} and summary["overall"]["images"] == 5
    assert summary["overall"]["iou"] > 0.95 and len(summary["worst"]) == 2
    assert {r["image"] for r in table} >= {w["image"] for w in summary["worst"]}  # which file, as scores.csv
    printed = capsys.readouterr()
    assert "overall" in printed.out and "pairs" in printed.out
    # "cut-off" as in every other text (it said "cutoff"), and no internal "seed" in the table's header.
    # The model named as every verb names it (it said "colorsplash" for a model trained without --name).
    assert "Blob model — tiny-test (" in printed.out
    assert (
        "images, cut-off 0.5, subject gate 0.5:" in printed.out
        and "seed mIoU" not in printed.out
        and "mIoU .5-.95" in printed.out
    )
    assert "evaluating" not in printed.err  # standard error is not a terminal: no progress bar

    # An earlier report is kept unless --overwrite (it was replaced without a word), refused before scoring.
    before = (out / "summary.json").read_bytes()
    capsys.readouterr()
    refused = main(
        ["-q", "evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out), "--cutoff", ".4"]
    )
    said = capsys.readouterr().err
    assert refused == 2 and "holds an earlier report (scores.csv, summary.json, worst.png)" in said
    assert "--overwrite" in said
    assert (out / "summary.json").read_bytes() == before

    again = [str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out), "--overwrite"]
    monkeypatch.setattr("colorsplash.cli.common.stderr_is_terminal", lambda: True)
    assert main(["evaluate", *again]) == 0
    assert "evaluating" in capsys.readouterr().err  # a terminal: the progress bar
    assert main(["-q", "evaluate", *again]) == 0
    assert "evaluating" not in capsys.readouterr().err  # -q: no progress bar
    for flag in ("--threshold", "--cutoff"):  # splash's name for the cut-off, and the former one
        assert main(["-q", "evaluate", *again, flag, ".4"]) == 0
        assert json.loads((out / "summary.json").read_text())["threshold"] == 0.4


def test_evaluate_cli_bad_files(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_seed_set(tmp_path, n=3)
    (tmp_path / "input" / "cat1.jpg").write_bytes(b"garbage")
    args = ["evaluate", str(tmp_path), "--model", str(tiny_onnx), "-o", str(tmp_path / "out")]
    assert main(args) == 2
    assert "cat1.jpg" in capsys.readouterr().err
    assert main([*args, "--skip-bad"]) == 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["skipped"] == 1
    assert main(["evaluate", str(tmp_path), "--model", str(tmp_path / "none.onnx")]) == 2
    assert "none.onnx" in capsys.readouterr().err


def test_skipped_counts_every_photo_left_out_and_why(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (verbs): photos --skip-bad dropped for having no mask were not counted ('"skipped": 0'). Now every
    photo left out is counted by reason, in summary.json and under the table, within the split scored."""
    data = tmp_path / "pairs"
    make_paired_set(data, n=6)
    for name in ("p0", "p1", "p4"):  # photos without a mask
        (data / "masks" / f"{name}.png").unlink()
    (data / "images" / "p2.png").write_bytes(b"not a picture")
    save_picture(data / "masks" / "p3.png", np.zeros((40, 40), np.uint8))  # another size, not the photo's shape
    (data / "splits.tsv").write_text("p0\tval\np1\tval\np2\tval\np3\tval\np4\ttrain\np5\tval\n")
    out = tmp_path / "out"
    base = ["-q", "evaluate", str(data), "--model", str(tiny_onnx), "--skip-bad", "--no-gate"]
    assert main([*base, "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["images"] == 1 and summary["skipped"] == 5
    assert summary["skipped_reasons"] == {"no mask": 3, "size mismatch": 1, "unreadable": 1}
    printed = capsys.readouterr().out
    assert "skipped 5 photo(s) (--skip-bad): 3 no mask, 1 size mismatch, 1 unreadable" in printed
    # --split val: p4 (no mask) is a training photo, not one of the val photos left out
    assert main([*base, "-o", str(tmp_path / "val"), "--split", "val"]) == 0
    summary = json.loads((tmp_path / "val" / "summary.json").read_text())
    assert summary["skipped"] == 4 and summary["skipped_reasons"]["no mask"] == 2


def test_oxford_ignore_value_is_the_data_modules() -> None:
    from colorsplash.evaluation import metrics

    assert metrics.IGNORE == IGNORE


def test_evaluate_warns_when_the_masks_show_no_subject(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit item 5: masks that show no subject scored a good model IoU 0 without a word; train warned."""
    make_paired_set(tmp_path / "good", n=3)
    evaluate_model(_red_detector, discover(tmp_path / "good"), show_progress=False)
    assert "masks are empty" not in caplog.text
    make_paired_set(tmp_path / "dark", n=3)
    for mask in (tmp_path / "dark" / "masks").iterdir():
        save_picture(mask, np.full_like(np.asarray(Image.open(mask)), 100))  # one dark grey: no subject
    scores = evaluate_model(_red_detector, discover(tmp_path / "dark"), show_progress=False)
    assert all(s.iou == 0.0 for s in scores)
    assert "3 of 3 ground-truth masks are empty" in caplog.text and "not black" in caplog.text


def test_the_empty_mask_warning_says_what_they_score(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The warning on empty ground-truth masks said "they score IoU 0 whatever the model finds", and beside it a
    photo the model (or its subject gate) left uncoloured scored IoU 1: nothing against nothing."""
    make_paired_set(tmp_path / "dark", n=2)
    for mask in (tmp_path / "dark" / "masks").iterdir():
        save_picture(mask, np.zeros_like(np.asarray(Image.open(mask))))
    samples = discover(tmp_path / "dark")
    finds = evaluate_model(_red_detector, samples, show_progress=False)
    nothing = evaluate_model(lambda im: np.zeros(im.shape[:2], np.float32), samples, show_progress=False)
    assert [s.iou for s in finds] == [0.0, 0.0] and [s.iou for s in nothing] == [1.0, 1.0]
    assert "whatever the model finds" not in caplog.text
    assert "they score IoU 0 where the model colours a pixel, 1 where it colours none" in caplog.text


def test_evaluate_scores_what_splash_colours_a_photo_under_the_subject_gate(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A photo whose subject score (one-output file: its highest probability, 0.6) is under the model's threshold
    (0.7) is left grey by splash: evaluate scores it as nothing coloured, as bench/peers.py does; --no-gate
    scores the network's probability (IoU 1 here)."""
    import colorsplash

    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: 0.6 * _red_detector(image))
    monkeypatch.setattr(Model, "presence_threshold", property(lambda self: 0.7))
    make_paired_set(tmp_path / "pairs", n=2)
    image = np.asarray(Image.open(next((tmp_path / "pairs" / "images").iterdir())).convert("RGB"))
    alpha, subject = colorsplash.alpha_and_subject(image, colorsplash.load_model(tiny_onnx))
    assert not subject.found and alpha.max() == 0.0  # what the user gets: nothing coloured
    for flags, iou in (([], 0.0), (["--no-gate"], 1.0)):
        out = tmp_path / f"report{len(flags)}"
        args = ["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out), *flags]
        assert main(args) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["overall"]["iou"] == iou and summary["gate"] is not flags
        model_config = colorsplash.load_model(tiny_onnx).config
        assert summary["gate_threshold"] == (None if flags else model_config.presence_threshold)


def test_pt_predictor_is_gated_by_the_checkpoints_threshold(tiny_checkpoint: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from dataclasses import replace

    from colorsplash.training.checkpoint import load_checkpoint, save_checkpoint

    network, config = load_checkpoint(tiny_checkpoint)
    strict = tmp_path / "strict.pt"  # no photo's score reaches 1.0: the gate rejects every photo
    save_checkpoint(strict, network, replace(config, presence_threshold=1.0))
    image = np.random.default_rng(1).integers(0, 255, (40, 60, 3)).astype(np.uint8)
    gated_fn, _, _ = load_predictor(strict)
    raw_fn, _, _ = load_predictor(strict, gate=False)
    assert gated_fn(image).shape == (40, 60) and not gated_fn(image).any()
    assert raw_fn(image).any()


def test_a_report_folder_that_is_a_file_is_refused_before_scoring(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_paired_set(tmp_path / "pairs", n=2)
    taken = tmp_path / "report.csv"
    taken.write_text("mine\n")
    scored: list[int] = []
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: scored.append(1) or _red_detector(image))
    assert main(["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(taken)]) == 2
    assert "report.csv: is a file; -o names the report folder" in capsys.readouterr().err
    assert not scored and taken.read_text() == "mine\n"


def test_the_table_says_how_photos_without_the_subject_enter_the_means_and_gives_the_subject_photos_alone() -> None:
    """A negative scores IoU 1 with nothing coloured and 0 with any pixel coloured (0.5 % of it: under the 1 % the
    table's own line counts), and the overall row averaged those in with the subject photos' IoU, which neither the
    table, --help nor the README said (one pet photo at 0.9 and four negatives a pixel over: "overall 0.18"). The
    table says how they score, and a row (summary.json's ``with_subject``) gives the subject photos alone."""
    from colorsplash.evaluation.evaluate import format_summary

    rows = [ImageScore("cat", "pets", "cat.jpg", 1, 1, 0.9, 0.95, 0.97, 0.9, coloured=0.3)]
    rows += [ImageScore(f"n{i}", "negs", "n.jpg", 1, 1, 0.0, 0.0, 0.995, 0.5, 0.005, True) for i in range(4)]
    summary = summarize(rows)
    assert summary["overall"]["iou"] == pytest.approx(0.18)  # unchanged: every photo, as export --metrics embeds
    assert summary["with_subject"] == summarize(rows[:1])["overall"]
    table = format_summary(summary)
    assert "\noverall            5  0.1800" in table and "\nwith subject       1  0.9000" in table
    assert "photos without the subject: 4, scored IoU and Dice 1 with nothing coloured, 0 with any pixel" in table
    assert "with_subject" not in summarize(rows[:1]) and "with_subject" not in summarize(rows[1:])
