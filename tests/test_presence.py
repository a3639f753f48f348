"""The photo-level subject score: trained by a presence head, exported as a second ONNX output, read by the
runtime (older one-output files: the highest probability), driving ``empty`` / ``--on-empty``, the API and HTTP."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from colorsplash.runtime import api  # noqa: E402
from colorsplash.runtime.edges.alpha import AlphaResult, compute_alpha  # noqa: E402
from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model, load_model  # noqa: E402
from colorsplash.runtime.no_subject import NoSubjectError, apply_on_empty  # noqa: E402
from colorsplash.training.checkpoint import save_checkpoint  # noqa: E402
from colorsplash.training.losses import presence_loss, presence_targets  # noqa: E402
from colorsplash.training.networks import build_model, forward_train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HEAD = ModelConfig(arch="unet-lite0", input_size=64, presence_head=True, presence_threshold=0.3, name="head-test")


def test_presence_targets_from_pixel_labels() -> None:
    y = torch.zeros(4, 1, 40, 50, dtype=torch.uint8)
    y[0, 0, 5:25, 5:25] = 1  # a pet: 20 % of the frame
    y[1, 0, 0, 0] = 1  # one pet pixel left after augmentation: unsure, no weight
    y[3] = 255  # nothing scored
    has, weight = presence_targets(y)
    assert has.tolist() == [1.0, 0.0, 0.0, 0.0] and weight.tolist() == [1.0, 0.0, 1.0, 0.0]
    right, wrong = torch.tensor([[5.0], [0.0], [-5.0], [9.0]]), torch.tensor([[-5.0], [0.0], [5.0], [9.0]])
    assert float(presence_loss(right, y)) < 0.01 < float(presence_loss(wrong, y))


@pytest.fixture(scope="module")
def head_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("head") / "head.pt"
    save_checkpoint(path, build_model(HEAD), HEAD)
    return path


def test_presence_head_gives_one_logit_per_photo(head_checkpoint: Path) -> None:
    from colorsplash.training.checkpoint import load_checkpoint

    model, config = load_checkpoint(head_checkpoint)
    x = torch.zeros(3, 3, 64, 64)
    seg, presence = forward_train(model, x)
    assert seg.shape == (3, 1, 64, 64) and presence is not None and presence.shape == (3, 1)
    assert model(x).shape == (3, 1, 64, 64)  # the plain forward stays the segmentation network's
    plain = build_model(dataclasses.replace(HEAD, presence_head=False))
    assert forward_train(plain, x)[1] is None


def test_fine_tuning_adds_a_fresh_head_to_weights_without_one(tmp_path: Path) -> None:
    from colorsplash.training.trainer import _load_init_weights

    old = dataclasses.replace(HEAD, presence_head=False)
    save_checkpoint(tmp_path / "old.pt", build_model(old), old)
    model = build_model(HEAD)
    _load_init_weights(model, str(tmp_path / "old.pt"), HEAD)  # only presence.* may be missing
    other = dataclasses.replace(old, decoder_channels=(64, 48, 32, 16, 8))
    save_checkpoint(tmp_path / "other.pt", build_model(other), other)
    with pytest.raises(ValueError, match="decoder"):
        _load_init_weights(model, str(tmp_path / "other.pt"), HEAD)


@pytest.fixture(scope="module")
def head_onnx(head_checkpoint: Path) -> Path:
    from colorsplash.training.export import export_onnx

    out = head_checkpoint.with_suffix(".onnx")
    export_onnx(head_checkpoint, out)
    return out


def test_exported_file_has_the_score_as_second_output(head_onnx: Path, head_checkpoint: Path) -> None:
    from colorsplash.runtime.model.preprocess import preprocess
    from colorsplash.training.checkpoint import load_checkpoint

    model = load_model(head_onnx)
    assert model.has_presence and model.presence_threshold == pytest.approx(0.3)
    image = np.random.default_rng(0).integers(0, 255, (50, 70, 3)).astype(np.uint8)
    prob, score = model.predict_scored(image)
    net, _ = load_checkpoint(head_checkpoint)
    with torch.no_grad():
        seg, presence = net(torch.from_numpy(preprocess(image, model.config))[None], with_presence=True)
    assert score == pytest.approx(float(torch.sigmoid(presence)[0, 0]), abs=1e-4)
    assert np.allclose(prob, torch.sigmoid(seg)[0, 0].numpy(), atol=1e-4)


def test_one_output_files_score_is_the_highest_probability(tiny_onnx: Path) -> None:
    model = load_model(tiny_onnx)
    image = np.random.default_rng(1).integers(0, 255, (40, 60, 3)).astype(np.uint8)
    prob, score = model.predict_scored(image)
    assert not model.has_presence and model.presence_threshold == 0.5
    assert score == pytest.approx(float(prob.max()))


def test_one_output_files_can_carry_a_max_probability_threshold(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colorsplash.runtime.edges.alpha import model_alpha
    from colorsplash.training.checkpoint import atomic_torch_save, read_checkpoint
    from colorsplash.training.export import export_onnx

    payload = read_checkpoint(tiny_checkpoint)
    payload["model_config"] = {**payload["model_config"], "presence_threshold": 0.95}
    atomic_torch_save(payload, tmp_path / "strict.pt")
    export_onnx(tmp_path / "strict.pt", tmp_path / "strict.onnx")
    model = load_model(tmp_path / "strict.onnx")
    image = np.zeros((30, 30, 3), np.uint8)
    for peak, empty in ((0.9, True), (0.99, False)):
        monkeypatch.setattr(Model, "predict_lowres", lambda self, im, p=peak: np.full((64, 64), p, np.float32))
        result = model_alpha(model, image)
        assert result.empty is empty and result.score == pytest.approx(peak)


def test_score_under_the_threshold_means_no_subject_whatever_the_pixels_say() -> None:
    image = np.full((40, 40, 3), 128, np.uint8)
    prob = np.full((16, 16), 0.9, np.float32)
    none = compute_alpha(image, prob, presence=(0.2, 0.3))
    assert none.empty and none.score == pytest.approx(0.2) and not none.alpha.any()
    found = compute_alpha(image, prob, presence=(0.4, 0.3))
    assert not found.empty and found.score == pytest.approx(0.4) and found.alpha.min() > 0.5
    legacy = compute_alpha(image, prob)  # no presence output: the highest probability is the score
    assert not legacy.empty and legacy.score == pytest.approx(0.9)
    result = AlphaResult(np.zeros((4, 4), np.float32), 0.9, True, 0.2)
    with pytest.raises(NoSubjectError, match="subject score 0.20, under the model's 0.50"):
        apply_on_empty(result, "skip", "room.jpg")


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "room.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (48, 64, 3)).astype(np.uint8)).save(path)
    return path


def test_api_reports_the_subject(head_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorsplash

    photo = _photo(tmp_path)
    monkeypatch.setattr(Model, "predict_scored", lambda self, image: (np.full((64, 64), 0.9, np.float32), 0.1))
    subject = colorsplash.subject_score(photo, head_onnx)
    assert (subject.found, subject.score, subject.threshold) == (False, pytest.approx(0.1), pytest.approx(0.3))
    with pytest.raises(NoSubjectError):
        api.predict_alpha(photo, head_onnx, on_empty="skip")
    monkeypatch.setattr(Model, "predict_scored", lambda self, image: (np.full((64, 64), 0.9, np.float32), 0.8))
    alpha, subject = api.alpha_and_subject(photo, head_onnx)
    assert subject.found and subject.score == pytest.approx(0.8) and alpha.shape == (48, 64)


def test_http_headers_say_whether_a_subject_was_found(
    head_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    body = _photo(tmp_path).read_bytes()
    with TestClient(server.create_app(head_onnx), base_url="http://127.0.0.1:8000") as client:
        for score, found in ((0.1, "none"), (0.8, "found")):
            monkeypatch.setattr(
                Model, "predict_scored", lambda self, image, s=score: (np.full((64, 64), 0.9, np.float32), s)
            )
            for route in ("/api/splash", "/api/mask"):
                resp = client.post(route, files={"file": ("room.png", body, "image/png")})
                assert resp.status_code == 200, resp.text
                assert resp.headers["X-Colorsplash-Subject"] == found
                assert float(resp.headers["X-Colorsplash-Subject-Score"]) == pytest.approx(score, abs=1e-3)


def test_threshold_keeps_98_percent_of_pet_photos() -> None:
    from colorsplash.evaluation.presence import choose_threshold, judge

    pets = [i / 100 for i in range(100)]  # 0.00 .. 0.99
    t = choose_threshold(pets)
    assert t == pytest.approx(0.02) and np.mean(np.asarray(pets) >= t) >= 0.98
    assert choose_threshold([0.3] * 10) == pytest.approx(0.3)
    assert choose_threshold([0.9, 0.1, 0.8]) == pytest.approx(0.1)  # 3 photos: none may be lost
    from colorsplash.evaluation.presence import misses_allowed

    assert [misses_allowed(n, 0.995) for n in (199, 200, 399, 400)] == [0, 1, 1, 2]  # 0.005 * 200 is 1, in floats too
    report = judge("head", pets, [0.0, 0.01, 0.5])
    assert report.pet_recall >= 0.98 and report.pet_free_rejected == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no validation pet photos"):
        choose_threshold([])


def test_misses_allowed_counts_a_whole_miss_that_floats_put_just_under() -> None:
    """(1 - 0.9) * 10 is 0.9999999999999998 in floats: 10 photos at recall 0.9 may still lose one (the lowest)."""
    from colorsplash.evaluation.presence import choose_threshold, misses_allowed

    assert misses_allowed(10, 0.9) == 1
    assert choose_threshold([i / 10 for i in range(10)], recall=0.9) == pytest.approx(0.1)


def _scored_sets(tmp_path: Path) -> dict:
    from colorsplash.evaluation.datasets import Sample

    def sample(name: str, kind: str = "oxford") -> Sample:
        return Sample(tmp_path / f"{name}.jpg", tmp_path / f"{name}.png", kind, "set")

    return {"Oxford val": [sample("pet"), sample("bad")], "pet-free": [sample("room", "scene")]}


def test_gate_scores_route_each_set_and_count_area_at_half(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pet photos go to ``pets``, the pet-free set to ``free``; a pixel at exactly 0.5 is subject area (the cut-off's
    own ``>=``); an unreadable pair raises unless ``skip_bad``, which leaves it out."""
    from colorsplash.evaluation import datasets as data
    from colorsplash.evaluation.folders import DataError
    from colorsplash.evaluation.presence import gate_scores

    def load_pair(sample: data.Sample) -> tuple[np.ndarray, np.ndarray]:
        if sample.image.stem == "bad":
            raise DataError(f"{sample.image}: unreadable", "unreadable")
        shade = 1 if sample.image.stem == "pet" else 0
        return np.full((2, 2, 3), shade, np.uint8), np.zeros((2, 2), np.uint8)

    monkeypatch.setattr(data, "load_pair", load_pair)
    probs = {1: np.array([[0.5, 0.9], [0.1, 0.2]], np.float32), 0: np.array([[0.25, 0.0]], np.float32)}
    sets = _scored_sets(tmp_path)
    with pytest.raises(DataError, match="bad.jpg"):
        gate_scores(lambda image: (probs[int(image[0, 0, 0])], None), sets)
    scores = gate_scores(lambda image: (probs[int(image[0, 0, 0])], 0.8 * image[0, 0, 0]), sets, skip_bad=True)
    assert scores.pets == {"head": [0.8], "max": [pytest.approx(0.9)], "area": [0.5]}
    assert scores.free == {"head": [0.0], "max": [0.25], "area": [0.0]}


def test_calibration_record_counts_each_side_and_records_no_pet_free_photos_as_none(tmp_path: Path) -> None:
    from colorsplash.evaluation.presence import calibration_record, judge

    report = judge("max", [0.2, 0.6, 0.9], [])
    assert report.threshold == pytest.approx(0.2) and report.pet_recall == 1.0
    assert np.isnan(report.pet_free_rejected)  # nothing to reject: not a perfect 1.0, not a failing 0.0
    sets = _scored_sets(tmp_path)
    sets["Oxford val"].append(sets["pet-free"][0])
    sets["negatives"] = sets["pet-free"] * 2
    record = calibration_record(report, 0.98, sets, "run/final.pt")
    assert record["pet_free_rejected"] is None and record["rule"] == "max" and record["recall"] == 0.98
    assert (record["pet_photos"], record["pet_free_photos"]) == (3, 3)  # both subject-free sets count
    assert record["sets"] == {"Oxford val": 3, "pet-free": 1, "negatives": 2}
