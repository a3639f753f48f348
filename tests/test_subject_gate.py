"""The one "is there a subject?" rule (runtime.no_subject.no_subject_reason): splash's plan, evaluation's gated
prediction, training's validation and the threshold's calibration all decide by it, and so agree case by case."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.layouts import save_picture

from colorsplash.cli import main
from colorsplash.evaluation.evaluate import score_image
from colorsplash.evaluation.presence import judge
from colorsplash.runtime.edges.alpha import plan_alpha
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.no_subject import gate_text, no_subject_reason
from colorsplash.runtime.options import SplashOptions
from colorsplash.training.predictors import gated

# (subject score or None for a model without a presence output, threshold, highest probability, cut-off)
CASES = [
    (0.5, 0.5, 0.9, 0.5),  # a score at the threshold passes
    (np.nextafter(0.5, 0.0), 0.5, 0.9, 0.5),  # just under it does not
    (0.655, 0.655, 0.9, 0.5),
    (0.64, 0.655, 0.9, 0.5),  # the cat behind wire
    (0.9, 0.5, 0.45, 0.5),  # the score passes, no pixel reaches the cut-off
    (0.9, 0.5, 0.6, 0.7),  # ... a raised cut-off (--threshold 0.7)
    (0.9, 0.5, 0.6, 0.3),  # a lowered one keeps it
    (None, 0.5, 0.5, 0.5),  # no presence output: the highest probability is the score
    (None, 0.5, 0.49, 0.3),  # ... under the model's threshold although over the cut-off
    (0.2, 0.5, 0.2, 0.5),  # both
]


def _blob(top: float, side: int = 16) -> np.ndarray:
    """A float32 ``side x side`` probability rising to ``top`` in its middle."""
    yy, xx = np.mgrid[:side, :side]
    ramp = np.clip(1.0 - np.hypot(yy - side / 2, xx - side / 2) / side, 0, 1)
    return (ramp / ramp.max() * top).astype(np.float32)


def _splash_empty(score: float | None, threshold: float, top: float, cutoff: float, point: bool = False) -> bool:
    prob = _blob(top)
    small = np.zeros((32, 32, 3), np.uint8)
    options = SplashOptions(threshold=cutoff, hard=True, refine=False, point=(16, 16) if point else None)
    presence = (top if score is None else score, threshold)
    return plan_alpha((32, 32), prob, small, options, presence=presence).empty


def _evaluation_empty(score: float | None, threshold: float, top: float, cutoff: float) -> bool:
    prob = _blob(top)
    out = gated(lambda image: (prob, score), threshold, cutoff)(np.zeros((32, 32, 3), np.uint8))
    return not out.any()


@pytest.mark.parametrize(("score", "threshold", "top", "cutoff"), CASES)
def test_splash_and_evaluation_gate_each_photo_alike(
    score: float | None, threshold: float, top: float, cutoff: float
) -> None:
    expected = no_subject_reason(score, threshold, top, cutoff) is not None
    assert _splash_empty(score, threshold, top, cutoff) == expected
    assert _evaluation_empty(score, threshold, top, cutoff) == expected


@pytest.mark.parametrize(("score", "threshold"), [(s, t) for s, t, _, _ in CASES if s is not None])
def test_calibration_counts_a_photo_as_the_gate_does(score: float, threshold: float) -> None:
    report = judge("head", [threshold], [score], recall=1.0)  # the threshold chosen is the one pet's score
    assert report.threshold == threshold
    assert report.pet_free_rejected == float(no_subject_reason(score, threshold, 1.0) == "score")


def test_a_score_at_the_threshold_and_a_pixel_at_the_cutoff_find_a_subject() -> None:
    """The gate's comparisons themselves (the cases above pin only that every caller agrees): a score equal to the
    threshold passes, and a highest probability equal to the cut-off is a subject pixel (``alpha >= cutoff``)."""
    assert no_subject_reason(0.5, 0.5, 0.9) is None
    assert no_subject_reason(np.nextafter(0.5, 0.0), 0.5, 0.9) == "score"
    assert no_subject_reason(None, 0.5, 0.5) is None  # a one-output model: its top pixel is its score
    assert no_subject_reason(None, 0.5, np.nextafter(0.5, 0.0)) == "score"
    assert no_subject_reason(0.9, 0.5, 0.7, cutoff=0.7) is None
    assert no_subject_reason(0.9, 0.5, np.nextafter(0.7, 0.0), cutoff=0.7) == "cutoff"
    assert no_subject_reason(0.2, 0.5, 0.9, point=True) is None


def test_a_point_overrules_the_score_but_not_the_cutoff() -> None:
    assert no_subject_reason(0.3, 0.5, 0.9, point=True) is None
    assert no_subject_reason(0.3, 0.5, 0.4, point=True) == "cutoff"
    assert not _splash_empty(0.3, 0.5, 0.9, 0.5, point=True)
    assert _splash_empty(0.3, 0.5, 0.4, 0.5, point=True)


@pytest.mark.parametrize("score", [None, 0.5, np.nextafter(0.5, 0.0), 0.2, 0.9])
@pytest.mark.parametrize("top", [0.3, 0.8])
def test_validation_gates_a_photo_as_splash_does(
    score: float | None, top: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from types import SimpleNamespace

    from colorsplash.training import steps

    prob = _blob(top)
    mask = (prob >= 0.3).astype(np.uint8)  # what a found subject's prediction gets right, at least in part
    monkeypatch.setattr(steps, "predict_batches", lambda *args: iter([(prob, 0.0, score)]))
    iou, _ = steps.validate(None, SimpleNamespace(masks=[mask], scored_negatives=()), None, None)  # type: ignore[arg-type]
    empty = _splash_empty(score, steps.VAL_PRESENCE_THRESHOLD, top, 0.5)
    assert (iou == 0.0) == empty


def test_evaluate_applies_the_cutoff_of_its_threshold_as_splash_does(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``evaluate --threshold 0.7`` scores a photo whose pixels all stay under 0.7 as splash --threshold 0.7 shows
    it: nothing coloured (it scored the probability under the cut-off at the seed metric's 0.5 and 0.55)."""
    low = _blob(0.6, 64)  # the tiny model has no presence output: score 0.6 passes its threshold 0.5
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: low)
    h, w = 48, 64
    truth = (cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5).astype(np.uint8)
    save_picture(tmp_path / "data" / "images" / "a.png", np.zeros((h, w, 3), np.uint8))
    save_picture(tmp_path / "data" / "masks" / "a.png", truth * 255)
    out = tmp_path / "report"
    args = ["evaluate", str(tmp_path / "data"), "--model", str(tiny_onnx), "-o", str(out), "--split", "all"]
    assert main([*args, "--threshold", "0.7", "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    nothing = score_image(np.zeros((h, w), np.float32), truth, 0.7)
    assert summary["overall"]["seed_miou"] == pytest.approx(nothing["seed_miou"])
    assert nothing["seed_miou"] < score_image(cv2.resize(low, (w, h)), truth, 0.7)["seed_miou"]


def test_the_no_subject_line_gives_the_threshold_the_score_was_held_against(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (leftovers 5): "no food found in x.jpg (subject score 0.29)" did not say against what, and
    ``--threshold 0.3`` (the pixel cut-off) left a one-output model's gate at 0.5 without a word of it."""
    from colorsplash.runtime.edges.alpha import compute_alpha
    from colorsplash.runtime.no_subject import apply_on_empty
    from colorsplash.runtime.wording import Wording

    words, image = Wording("food", "cli"), np.zeros((32, 32, 3), np.uint8)
    options = SplashOptions(refine=False)
    under = compute_alpha(image, _blob(0.9), options, presence=(0.29, 0.38))
    line = apply_on_empty(under, "grey", "x.jpg", words=words) or ""
    assert line.startswith("no food found in x.jpg (subject score 0.29, under the model's 0.38);"), line
    cut = compute_alpha(image, _blob(0.6), SplashOptions(threshold=0.7, refine=False), presence=(0.9, 0.38))
    line = apply_on_empty(cut, "grey", "x.jpg", words=words) or ""
    expected = "(subject score 0.90, passing the model's 0.38; no pixel reaches the cut-off 0.70 (highest 0.60)"
    assert expected in line, line
    # A chosen point skips the score's test: the line said "under the model's 0.38", as if that were the reason
    point = SplashOptions(threshold=0.7, refine=False, point=(16, 16))
    line = apply_on_empty(compute_alpha(image, _blob(0.6), point, presence=(0.29, 0.38)), "grey", "x.jpg", words=words)
    assert "(subject score 0.29, not needed with --point; no pixel reaches the cut-off 0.70" in (line or ""), line
    # The threshold at more places where two would read the wrong way round (the bundled model's 0.6554...)
    near = compute_alpha(image, _blob(0.9), options, presence=(0.652, 0.6554253))
    assert "(subject score 0.65, under the model's 0.66);" in (apply_on_empty(near, "grey", "x.jpg") or "")
    near = compute_alpha(image, _blob(0.6), SplashOptions(threshold=0.7, refine=False), presence=(0.656, 0.6554253))
    assert "(subject score 0.656, passing the model's 0.655;" in (apply_on_empty(near, "grey", "x.jpg") or "")
    # The CLI: a one-output model gates at its 0.5 whatever --threshold says, and the line says so
    monkeypatch.setattr(Model, "predict_lowres", lambda self, image: np.full((64, 64), 0.375, np.float32))
    save_picture(tmp_path / "x.png", np.zeros((48, 64, 3), np.uint8))
    assert main(["splash", str(tmp_path / "x.png"), "--model", str(tiny_onnx), "--threshold", "0.3"]) == 0
    assert "(subject score 0.37, under the model's 0.50);" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("score", "threshold", "expected"),
    [
        (0.61, 0.625, "subject score 0.61, under the model's 0.63"),
        (0.1, 0.125, "subject score 0.10, under the model's 0.13"),
        (0.9, 0.875, "subject score 0.90, passing the model's 0.88"),
        (0.3, 0.5625, "subject score 0.30, under the model's 0.56"),
        (0.562, 0.5625, "subject score 0.562, under the model's 0.563"),
        (0.6521, 0.6523, "subject score 0.6521, under the model's 0.6523"),  # three places read equal
        (0.6557, 0.6556, "subject score 0.6557, passing the model's 0.6556"),
        (0.65221, 0.65224, "subject score 0.6522, under the model's 0.6523"),  # four read equal: rounded away
        (0.65557, 0.65556, "subject score 0.6555, passing the model's 0.6555"),
    ],
)
def test_the_threshold_is_rounded_as_the_page_rounds_it(score: float, threshold: float, expected: str) -> None:
    """Review 10: the line rounded the threshold with Python's ``round`` (halves to even) and the page's notice with
    ``Math.round`` (halves up), so a threshold of 0.625 read "the model's 0.62" in the CLI and "0.63" on the page
    (words.js's gateText, pinned against this by test_browser_page)."""
    assert gate_text(score, threshold) == expected
