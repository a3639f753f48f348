"""The pet model shipped inside the package (``colorsplash/models/pets.onnx``).

Skipped as a whole while the file is absent (before the model is trained and committed). When present: it
loads offline with no arguments, its metadata is complete, it is one file of at most 20 MB, and on a few real
validation photos from ``../shared/data`` (never trained on) it scores above 0.8 foreground IoU on average.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation import metrics
from colorsplash.runtime.model import onnx_model as infer
from colorsplash.runtime.model.config import ARCHES, PRECISIONS

BUNDLED = infer.bundled_model_path()
MAX_BYTES = 20_000_000  # the "at most 20 MB"
MIN_MEAN_IOU = 0.8
PER_SET = 3


def test_bundled_model_is_in_the_package() -> None:
    """A missing model is the packaging failure this file exists to catch: it fails, never skips."""
    assert BUNDLED.is_file(), f"{BUNDLED} is missing: the package ships no model"
    assert BUNDLED.stat().st_size > 1_000_000, f"{BUNDLED} is too small to be the pet model"


def test_no_machine_paths_in_the_bundled_model() -> None:
    text = infer.load_model(BUNDLED).config.to_json()
    assert not re.search(r"(^|[\s\"])/(work|root|home|Users|tmp|mnt)/", text), "absolute training-machine paths"


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError("the bundled model must load without network access")


@pytest.fixture
def offline_model(monkeypatch: pytest.MonkeyPatch) -> infer.Model:
    """``load_model()`` with no argument, no ``$COLORSPLASH_MODEL``, an empty cache and sockets disabled."""
    monkeypatch.delenv(infer.MODEL_ENV, raising=False)
    monkeypatch.setattr(infer, "_cache", {})  # force a real load, not a model cached by another test
    monkeypatch.setattr(socket.socket, "connect", _no_network)
    monkeypatch.setattr(socket, "create_connection", _no_network)
    monkeypatch.setattr(socket, "getaddrinfo", _no_network)
    return infer.load_model()


def test_loads_offline_by_default(offline_model: infer.Model) -> None:
    # precision=auto may pick the bundled float variant (pets.fp32.onnx) on CPUs where it is faster
    assert offline_model.path.parent.resolve() == BUNDLED.parent.resolve()
    image = np.full((90, 120, 3), 128, np.uint8)
    prob = offline_model.predict_probability(image)
    assert prob.shape == (90, 120) and prob.dtype == np.float32
    assert 0.0 <= float(prob.min()) <= float(prob.max()) <= 1.0


def test_metadata_complete(offline_model: infer.Model) -> None:
    cfg = offline_model.config
    assert cfg.arch in ARCHES
    assert cfg.input_size >= 64 and cfg.input_size % 32 == 0
    assert len(cfg.normalization.mean) == 3 and len(cfg.normalization.std) == 3
    assert all(s > 0 for s in cfg.normalization.std)
    assert cfg.color_order == "RGB"
    assert cfg.name.strip(), "the model needs a name (shown by serve and evaluate)"
    training = cfg.training
    sources = json.dumps(training.get("datasets") or training.get("data") or [])
    for dataset in ("oxford-pets", "feral-cats"):
        assert dataset in sources, f"training record does not name {dataset}: {sources}"
    scores = training.get("metrics") or {}
    ious = [v for k, v in scores.items() if "iou" in k.lower() and isinstance(v, int | float)]
    assert ious and all(0.0 < v <= 1.0 for v in ious), f"training metrics lack a validation IoU: {scores}"
    assert cfg.precision in PRECISIONS
    if cfg.precision == "int8":  # calibrated on training photos only, and says so
        calibration = training.get("int8_calibration") or {}
        assert calibration.get("split") == "train" and calibration.get("images", 0) > 0, calibration
    evaluation = training.get("evaluation") or {}
    assert 0.0 < evaluation.get("overall", {}).get("iou", 0.0) <= 1.0, f"no embedded evaluation: {evaluation}"


def test_single_small_file() -> None:
    assert BUNDLED.stat().st_size <= MAX_BYTES, f"{BUNDLED} is {BUNDLED.stat().st_size / 1e6:.1f} MB"
    assert not list(BUNDLED.parent.glob("*.data")), "weights must be inside the .onnx file, not in a .data file"
    onnx = pytest.importorskip("onnx")
    from onnx.external_data_helper import uses_external_data

    proto = onnx.load(str(BUNDLED), load_external_data=False)
    external = [t.name for t in proto.graph.initializer if uses_external_data(t)]
    assert not external, f"initializers stored outside the file: {external[:5]}"


def _spread_nonempty(samples: list[data.Sample], k: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``k`` pairs spread evenly over ``samples`` (by name), skipping near-empty masks (IoU is unstable there)."""
    ordered = sorted(samples, key=lambda s: s.name)
    step = max(1, len(ordered) // k)
    spread = ordered[::step]
    picked = []
    for sample in spread + [s for s in ordered if s not in spread]:
        image, mask = data.load_pair(sample)
        if np.mean(mask == 1) >= 0.02:
            picked.append((sample.name, image, mask))
        if len(picked) == k:
            break
    return picked


@pytest.mark.realdata
def test_iou_on_real_validation_photos(offline_model: infer.Model, shared_data: Path) -> None:
    pairs = []
    for folder in ("feral-cats", "oxford-pets"):
        _, val = data.split_samples(data.discover(shared_data / folder), val_fraction=0.15, seed=0)
        pairs += _spread_nonempty(val, PER_SET)
    assert len(pairs) == 2 * PER_SET
    scores = {name: metrics.iou(offline_model.predict_probability(image), mask) for name, image, mask in pairs}
    assert np.mean(list(scores.values())) > MIN_MEAN_IOU, f"IoU per photo: {scores}"


def test_pets_recipe_is_what_made_it(offline_model: infer.Model) -> None:
    """``train --preset pets`` must reproduce the bundled model: its last stage (the finishing stage of the trunk-
    guided masks, given the head stage's presence head) is the one the file records, with the same architecture,
    input size, name, presence trunk and guidance, and the file carries a presence head taken from elsewhere."""
    from colorsplash.training.recipes import RECIPE_BLENDS, RECIPE_FINISH, RECIPE_HEADS, STAGE_PRESETS

    cfg, last = offline_model.config, RECIPE_FINISH["pets"]
    assert cfg.training.get("preset") == last, f"{BUNDLED} records preset {cfg.training.get('preset')!r}"
    made_by = STAGE_PRESETS[last]["model"]
    assert (cfg.arch, cfg.input_size, cfg.name) == (made_by["arch"], made_by["input_size"], made_by["name"])
    assert (cfg.presence_trunk, cfg.trunk_guidance) == (made_by.get("presence_trunk"), made_by.get("trunk_guidance"))
    head_stage = STAGE_PRESETS[RECIPE_HEADS["pets"]]["model"]
    assert cfg.presence_head and cfg.presence_trunk_size == head_stage["presence_trunk_size"]
    assert "presence_head_from" in cfg.training
    assert "pets" in RECIPE_BLENDS


@pytest.mark.realdata
def test_pets_are_found(offline_model: infer.Model, shared_data: Path) -> None:
    """The subject score passes the pet photos (the threshold was chosen so 98 % of validation pet photos pass:
    all of a handful must); a file with a presence output carries a threshold chosen on validation."""
    pets = []
    for folder in ("feral-cats", "oxford-pets"):
        _, val = data.split_samples(data.discover(shared_data / folder), val_fraction=0.15, seed=0)
        pets += _spread_nonempty(val, PER_SET)
    if (shared_data / "oxford-breeds").is_dir():
        unseen = [s for s in data.discover(shared_data / "oxford-breeds") if s.dataset.endswith(data.UNSEEN_SUFFIX)]
        pets += _spread_nonempty(unseen, PER_SET)
    threshold = offline_model.presence_threshold
    missed = [name for name, image, _ in pets if offline_model.predict_scored(image)[1] < threshold]
    assert not missed, f"pet photos whose subject score is under {threshold:.3f}: {missed}"
    if offline_model.has_presence:
        assert 0.0 < threshold < 1.0 and threshold != 0.5, "the presence threshold was not chosen on validation"


def test_int8_matrix_weights_cannot_saturate_int16_pairs() -> None:
    """Without VNNI, ONNX Runtime's x86 int8 kernels add pairs of uint8 x int8 products in int16 with saturation
    (see :mod:`colorsplash.training.quantize`): every int8 weight feeding a matrix product (convolutions but the
    depthwise ones, Gemms) must stay within -64..64, so 2 x 255 x 64 fits."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    graph = onnx.load(str(BUNDLED)).graph
    weights = {t.name: t for t in graph.initializer}
    made_by = {out: node for node in graph.node for out in node.output}
    checked, widest = 0, 0
    for node in graph.node:
        dq = made_by.get(node.input[1]) if node.op_type in ("Conv", "Gemm") else None
        if dq is None or dq.op_type != "DequantizeLinear":
            continue
        w = numpy_helper.to_array(weights[dq.input[0]])
        groups = next((a.i for a in node.attribute if a.name == "group"), 1)
        if node.op_type == "Conv" and groups > 1 and w.shape[1] == 1:
            continue  # depthwise: accumulated in int32
        assert int(np.abs(w.astype(np.int32)).max()) <= 64, f"{node.name}: int8 weights beyond -64..64"
        checked, widest = checked + 1, max(widest, int(np.abs(w.astype(np.int32)).max()))
    assert checked > 40 and widest == 64  # the 7-bit range is used, not a narrower one


def test_bundled_files_import_only_the_opsets_they_use() -> None:
    """Audit (min deps): pets.onnx imported ``ai.onnx.ml`` 5 and seven other unused domains, and onnxruntime
    1.17.x (pyproject accepts >=1.17) refused it: "Opset 5 is under development". Default opset at most 20,
    the newest onnxruntime 1.17 runs."""
    onnx = pytest.importorskip("onnx")
    for path in sorted(BUNDLED.parent.glob("*.onnx")):
        model = onnx.load(str(path), load_external_data=False)
        imports = {o.domain: o.version for o in model.opset_import}
        assert set(imports) == {n.domain for n in model.graph.node} | {""}, f"{path.name}: {imports}"
        assert imports[""] <= 20, f"{path.name}: opset {imports['']} is newer than onnxruntime 1.17 runs"
