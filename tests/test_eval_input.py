"""What ``evaluate`` (and ``bench/peers.py``) feed the network against what ``splash``/``mask``, the Python API and
``serve`` feed it.

Evaluation resizes the decoded photo to the model's input in one step
(:meth:`~colorsplash.runtime.model.onnx_model.Model.predict_scored` on the whole photo); the product first makes the
working copy (:meth:`~colorsplash.runtime.edges.working.RefineSettings.working_copy`; a large JPEG given to the CLI,
alone or in a folder: a DCT-reduced decode, :func:`~colorsplash.runtime.pipeline.dct_working_copy`) and resizes that.
Both are RGB uint8 and go through the one :func:`~colorsplash.runtime.model.preprocess.preprocess`. They are the same
bits for a photo within the working size (every Oxford val and unseen-breeds photo) and a blur apart above it (feral
cats' 640x640): measured on every validation photo (2026-12-02, docs/benchmarks.md), feral valid IoU 0.8700 evaluated
against 0.8683 on the product's input, the other sets identical. These tests pin that distance so that it cannot grow
unnoticed: past 0.002 IoU the published figures would no longer measure what users get, and evaluation would have to
feed the network the product's working copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import save_picture

import colorsplash
from colorsplash.evaluation import datasets as data
from colorsplash.evaluation import pet_validation
from colorsplash.evaluation.evaluate import evaluate_model
from colorsplash.evaluation.metrics import iou
from colorsplash.runtime.edges.working import RefineSettings
from colorsplash.runtime.model import preprocess as prep
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import decode_image_bytes
from colorsplash.runtime.pipeline import decode_and_plan
from colorsplash.training.predictors import gated, load_predictor

MAX_MEAN_LEVELS = 2.0  # mean |difference| of the two network inputs, uint8 levels (measured: 0.6 to 1.5)
MAX_IOU_GAP = 0.002  # mean IoU, evaluation's input against the product's (measured: 0.0016 on feral valid)


def _photo(h: int, w: int) -> np.ndarray:
    """A generated RGB uint8 ``h x w`` photo: gradients, a fine pattern, and a disc of "fur" in the middle."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    img = np.stack([200 * x + 30, 180 * y + 40, 120 + 60 * np.sin(x * 60) * np.cos(y * 45)], -1)
    disc = (x - 0.5 * w / max(h, w)) ** 2 + (y - 0.5 * h / max(h, w)) ** 2 < 0.06
    fur = 40 * np.sin(x * 700 + 3 * np.sin(y * 90))
    img[disc] = np.stack([180 + fur, 120 + fur, 60 + 0 * fur], -1)[disc]
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def network_inputs(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """The RGB uint8 ``S x S x 3`` pictures the network is given, in order (just before normalisation)."""
    seen: list[np.ndarray] = []
    resize = prep.resize_to_input

    def spy(image: np.ndarray, size: int) -> np.ndarray:
        seen.append(resize(image, size).copy())
        return seen[-1]

    monkeypatch.setattr(prep, "resize_to_input", spy)
    return seen


def _inputs(root: Path, seen: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The network's input for the one photo of the seed-layout set ``root``: from ``evaluate``'s predictor, from
    the CLI's one-photo path (:func:`decode_and_plan`) and from the Python API (as ``serve``: the working copy)."""
    photo = next((root / "input").iterdir())
    model = load_model(None, threads=1, precision="file")
    runs = {
        "evaluate": lambda: evaluate_model(load_predictor(model.path)[0], data.discover(root), show_progress=False),
        "splash": lambda: decode_and_plan(
            photo.read_bytes(), photo.name, model, SplashOptions(refine=False), RefineSettings()
        ),
        "api": lambda: colorsplash.predict_alpha(str(photo), model, refine=False),
    }
    out = {}
    for path, run in runs.items():
        before = len(seen)
        run()
        # one network input each: a path that stopped going through the spy would compare the previous one's
        assert len(seen) == before + 1, f"{path} gave the network {len(seen) - before} inputs through the spy"
        out[path] = seen[-1]
    return out


def _seed_set(root: Path, h: int, w: int) -> Path:
    save_picture(root / "input" / "cat.jpg", _photo(h, w), quality=92)
    save_picture(root / "mask" / "mask_cat.png", np.zeros((h, w), np.uint8))
    return root


def test_within_the_working_size_evaluation_feeds_the_network_the_products_bits(
    tmp_path: Path, network_inputs: list[np.ndarray]
) -> None:
    """500x375 (Oxford's usual size): decoder, colour order, resize and values all the same."""
    got = _inputs(_seed_set(tmp_path, 375, 500), network_inputs)
    assert np.array_equal(got["evaluate"], got["splash"])
    assert np.array_equal(got["evaluate"], got["api"])


@pytest.mark.parametrize("hw", [(640, 640), (480, 640), (1200, 1600)])
def test_above_the_working_size_evaluation_stays_a_blur_from_the_product(
    tmp_path: Path, network_inputs: list[np.ndarray], hw: tuple[int, int]
) -> None:
    """Feral cats' 640x640, COCO's 640x480, a photo the CLI decodes DCT-reduced: a fraction of a level apart on
    average, not a different picture (a smaller working copy, nearest-neighbour, BGR would be)."""
    got = _inputs(_seed_set(tmp_path, *hw), network_inputs)
    for path in ("splash", "api"):
        assert got[path].shape == got["evaluate"].shape
        gap = np.abs(got[path].astype(np.int16) - got["evaluate"].astype(np.int16)).mean()
        assert gap <= MAX_MEAN_LEVELS, f"{path}'s network input is {gap:.2f} levels from evaluate's"


def _scored(model: Model, image: np.ndarray) -> tuple[np.ndarray, float]:
    """The product's model run: on the working copy of the photo (``splash``, ``mask``, the API, ``serve``)."""
    return model.predict_scored(RefineSettings().working_copy(image, model.config.input_size))


@pytest.mark.slow
@pytest.mark.realdata
def test_published_feral_iou_is_within_0_002_of_what_users_get(shared_data: Path) -> None:
    """Every feral valid photo (the set where the two inputs differ), scored as ``evaluate`` scores it and on the
    product's decode and working copy: the means stay within :data:`MAX_IOU_GAP` (about 25 s)."""
    samples = pet_validation.validation_sets([shared_data / "feral-cats"])[pet_validation.FERAL]
    model = load_model(None, threads=1, precision="file")
    evaluated = load_predictor(model.path)[0]
    product = gated(lambda image: _scored(model, image), model.presence_threshold)
    gaps = []
    for sample in samples:
        image, mask = data.load_pair(sample)
        rgb = decode_image_bytes(Path(sample.image).read_bytes(), None, str(sample.image)).rgb
        gaps.append(iou(product(rgb), mask, 0.5) - iou(evaluated(image), mask, 0.5))
    assert len(gaps) > 150, f"only {len(gaps)} feral valid photos under {shared_data}"
    assert abs(float(np.mean(gaps))) <= MAX_IOU_GAP, f"mean IoU gap {np.mean(gaps):+.4f} on feral valid"
