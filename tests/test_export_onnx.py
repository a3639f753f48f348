"""ONNX export: one self-contained file, the config as metadata, the same numbers as PyTorch; fp16 and int8
files (quantised layers, calibration photos, onnxruntime versions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from helpers.export import (  # noqa: E402
    lite_checkpoint_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, lite_checkpoint)
    paired_data_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, paired_data)
)

from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, ModelConfig  # noqa: E402
from colorsplash.runtime.model.onnx_model import load_model  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint  # noqa: E402
from colorsplash.training.export import export_onnx  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run_both(checkpoint: Path, onnx_path: Path, batch: int = 3) -> tuple[np.ndarray, np.ndarray]:
    model, config = load_checkpoint(checkpoint)
    x = torch.randn(batch, 3, config.input_size, config.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    return expected, got


@pytest.mark.parametrize("which", ["tiny_checkpoint", "lite_checkpoint"])
def test_onnx_runtime_agrees_with_pytorch(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    checkpoint: Path = request.getfixturevalue(which)
    out = tmp_path / "model.onnx"
    config = export_onnx(checkpoint, out)
    expected, got = _run_both(checkpoint, out)
    assert got.shape == expected.shape == (3, 1, config.input_size, config.input_size)
    assert np.abs(got - expected).max() < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no .onnx.data, no temp files
    split = [n.name for n in onnx.load(str(out)).graph.node if n.name.endswith("/channel_sum")]
    assert split == (["/head/Conv/channel_sum"] if which == "lite_checkpoint" else [])  # tiny: a 1x1 head


def test_metadata_holds_the_config(tiny_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.onnx"
    returned = export_onnx(tiny_checkpoint, out)
    _, config = load_checkpoint(tiny_checkpoint)
    from colorsplash.runtime.model.variants import file_hash

    # The checkpoint's config, and which checkpoint it was (evaluate summaries are matched to it by this).
    config = ModelConfig(
        **{**config.__dict__, "training": {**config.training, "checkpoint_sha256": file_hash(tiny_checkpoint)}}
    )
    proto = onnx.load(str(out), load_external_data=False)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert ModelConfig.from_json(meta[CONFIG_METADATA_KEY]) == config == returned
    assert all(not t.HasField("data_location") or t.data_location == 0 for t in proto.graph.initializer)
    loaded = load_model(out)
    assert loaded.config == config
    assert loaded.predict_probability(np.zeros((30, 50, 3), np.uint8)).shape == (30, 50)


def test_fp16_export_is_smaller_and_close(lite_checkpoint: Path, tmp_path: Path) -> None:
    full, half = tmp_path / "full.onnx", tmp_path / "half.onnx"
    export_onnx(lite_checkpoint, full)
    export_onnx(lite_checkpoint, half, fp16=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    expected, got = _run_both(lite_checkpoint, half, batch=1)
    assert np.abs(got - expected).max() < 0.05


@pytest.mark.slow
def test_int8_export_is_smaller_quantised_and_close(lite_checkpoint: Path, paired_data: Path, tmp_path: Path) -> None:
    full, q8 = tmp_path / "full.onnx", tmp_path / "q8.onnx"
    export_onnx(lite_checkpoint, full)
    config = export_onnx(lite_checkpoint, q8, int8_data=[paired_data], calibration_images=6, show_progress=False)
    assert config.precision == "int8"
    assert config.training["int8_calibration"]["images"] == 6
    assert q8.stat().st_size < 0.4 * full.stat().st_size
    graph = onnx.load(str(q8)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in graph.node}
    # The stem and the head keep float weights (see quantize.FLOAT_ENDS); the convolutions between are int8. The
    # float head is split into a depthwise convolution and a channel sum (see graph_edits).
    made_by = {out: node for node in graph.node for out in node.output}
    convs = [node for node in graph.node if node.op_type in ("Conv", "ConvTranspose")]
    weights = [
        "int8" if c.input[1] in made_by and made_by[c.input[1]].op_type == "DequantizeLinear" else "float"
        for c in convs
    ]
    assert [c.name.rsplit("/", 1)[-1] for c in convs[-2:]] == ["depthwise", "channel_sum"]
    convs = convs[:-1]  # the split head counts as one float convolution
    assert weights[0] == weights[-1] == weights[-2] == "float" and set(weights[1:-2]) == {"int8"}
    assert "first 1 and last 1 convolutions in float" in config.training["int8_calibration"]["method"]
    # Matrix-product weights are 7-bit (no int16 pair saturation on AVX2), depthwise ones keep 8 bits.
    weight_of = {t.name: t for t in graph.initializer}
    widest = {"depthwise": 0, "matrix": 0}
    for c in convs[1:-1]:
        w = onnx.numpy_helper.to_array(weight_of[made_by[c.input[1]].input[0]]).astype(np.int32)
        kind = "depthwise" if w.shape[1] == 1 and any(a.name == "group" and a.i > 1 for a in c.attribute) else "matrix"
        widest[kind] = max(widest[kind], int(np.abs(w).max()))
    assert widest == {"depthwise": 127, "matrix": 64}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.onnx", "q8.onnx"]
    expected, got = _run_both(lite_checkpoint, q8, batch=2)
    assert got.shape == expected.shape
    assert np.corrcoef(expected.ravel(), got.ravel())[0, 1] > 0.9  # quantisation noise, not a different net
    assert load_model(q8).config == config


def test_saturation_free_overrides_pick_matrix_products(tmp_path: Path) -> None:
    """7-bit weights for every Conv but the depthwise ones and the excluded, and for Gemms along their output axis."""
    from onnx import TensorProto, helper, numpy_helper

    def weight(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(np.ones(shape, np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w_stem"], ["a"], name="stem"),
        helper.make_node("Conv", ["a", "w_dw"], ["b"], name="dw", group=4),
        helper.make_node("Conv", ["b", "w_pw"], ["c"], name="pw"),
        helper.make_node("GlobalAveragePool", ["c"], ["d"], name="pool"),
        helper.make_node("Flatten", ["d"], ["e"], name="flat"),
        helper.make_node("Gemm", ["e", "w_fc"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w_stem", (4, 3, 3, 3)), weight("w_dw", (4, 1, 3, 3)), weight("w_pw", (8, 4, 1, 1))]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [*inits, weight("w_fc", (2, 8))],
    )
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph), str(path))
    from colorsplash.training import quantize

    got = quantize.saturation_free_overrides(path, excluded=["stem"])
    assert got == {"w_pw": [{"axis": 0, "reduce_range": True}], "w_fc": [{"axis": 0, "reduce_range": True}]}


@pytest.mark.slow
def test_int8_calibration_holds_one_range_of_photos_at_a_time(
    lite_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colorsplash.training import quantize

    assert [quantize.calibration_stride(n) for n in (64, 6, 7, 12, 1)] == [8, 6, 7, 6, 1]
    full, q8 = tmp_path / "full.onnx", tmp_path / "q8.onnx"
    export_onnx(lite_checkpoint, full)
    ranges: list[tuple[int, int]] = []
    real = quantize._Reader.set_range

    def spy(self: object, start_index: int, end_index: int) -> None:
        ranges.append((start_index, end_index))
        real(self, start_index, end_index)  # type: ignore[arg-type]

    monkeypatch.setattr(quantize._Reader, "set_range", spy)
    monkeypatch.setattr(quantize, "CALIBRATION_CHUNK", 4)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(0, 1, (1, 3, 64, 64)).astype(np.float32) for _ in range(12)]
    quantize.quantize_int8(full, q8, inputs)
    assert ranges == [(0, 4), (4, 8), (8, 12)]
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in onnx.load(str(q8)).graph.node}


def test_int8_calibration_never_uses_validation_images(lite_checkpoint: Path, paired_data: Path) -> None:
    from colorsplash.evaluation.datasets import discover, split_samples
    from colorsplash.training.quantize import calibration_photos

    _, config = load_checkpoint(lite_checkpoint)
    config = ModelConfig(**{**config.__dict__, "training": {"train_config": {"val_fraction": 0.5, "seed": 3}}})
    train, val = split_samples(discover(paired_data), 0.5, 3)
    assert train and val
    chosen, sources = calibration_photos([paired_data], config, count=100)
    assert set(chosen) == {s.image for s in train}
    assert [(s.kind, s.photos) for s in sources] == [("training split", len(train))]
    assert len(calibration_photos([paired_data], config, count=2)[0]) == 2


def test_int8_and_fp16_together_are_refused(lite_checkpoint: Path, paired_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fp16 or int8"):
        export_onnx(lite_checkpoint, tmp_path / "x.onnx", fp16=True, int8_data=[paired_data])
    assert not list(tmp_path.iterdir())


def test_export_says_when_its_input_is_already_onnx_or_calibration_is_short(
    tiny_checkpoint: Path, tiny_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit item 11: an ONNX input gave "invalid load key"; --int8 on fewer photos than asked said nothing."""
    from helpers.layouts import make_paired_set

    with pytest.raises(ValueError, match="already an ONNX model"):
        export_onnx(tiny_onnx, tmp_path / "again.onnx")
    data = tmp_path / "few"
    make_paired_set(data, n=3)
    config = export_onnx(tiny_checkpoint, tmp_path / "q8.onnx", int8_data=[data], calibration_images=64)
    calibrated = config.training["int8_calibration"]["images"]
    assert 0 < calibrated < 64
    assert f"int8 calibration on {calibrated} photo(s), not the 64 asked for" in caplog.text
    # "that is all the training split of food hold" (audit, custom subject 2): a sentence that reads right.
    assert f"that is all there is in the training split of {data};" in caplog.text
    # where more come from (a user's 49 subject photos, with 60 negatives beside them, were told only "more photos")
    assert "name more folders after --int8 (a folder of photos, such as the run's --negatives, counts whole)" in (
        caplog.text
    )


def test_int8_export_imports_only_the_opsets_it_uses(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Audit (min deps): the int8 file imported every domain ONNX Runtime's pre-processing knows (``ai.onnx.ml`` 5,
    ``com.microsoft.nchwc`` ...); onnxruntime 1.17.x, which pyproject accepts, refused to load it at all."""
    from helpers.layouts import make_paired_set

    data = tmp_path / "few"
    make_paired_set(data, n=3)
    q8 = tmp_path / "q8.onnx"
    export_onnx(tiny_checkpoint, q8, int8_data=[data], calibration_images=3, show_progress=False)
    model = onnx.load(str(q8))
    assert {o.domain for o in model.opset_import} == {n.domain for n in model.graph.node} | {""}


def test_int8_export_on_onnxruntime_1_17_is_refused_in_words_before_any_work(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audit (min deps): with onnxruntime 1.17 (which the light runtime accepts) ``export --int8`` read and
    calibrated every photo, then failed inside ONNX Runtime: "Expected tensor 'down.0.2.weight' to have 4
    per-channel quantization overrides, but found 1 instead"."""
    monkeypatch.setattr(ort, "__version__", "1.17.3")
    with pytest.raises(RuntimeError, match=r"needs onnxruntime 1\.18 or newer \(this is 1\.17\.3\): pip install -U"):
        export_onnx(tiny_checkpoint, tmp_path / "q8.onnx", int8_data=[tmp_path / "no-photos-read"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["cut short", "other config", "NaN weights"])
def test_an_export_that_does_not_read_back_is_not_published(
    damage: str, tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is re-opened as the runtime will before it is published: a file cut short (a failing disk), one
    whose config is not the one written, or one whose forward pass is not finite was published as the model."""
    import dataclasses

    from colorsplash.training import export as export_mod

    finish = export_mod._finish_file

    def damaged(path: str, config: ModelConfig, fp16: bool) -> None:
        if damage == "other config":
            config = dataclasses.replace(config, name="another model")
        finish(path, config, fp16)
        if damage == "cut short":
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])
        elif damage == "NaN weights":
            proto = onnx.load(path)
            for init in proto.graph.initializer:
                if init.data_type == onnx.TensorProto.FLOAT:
                    values = onnx.numpy_helper.to_array(init).copy()
                    values[...] = np.nan
                    init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
            onnx.save(proto, path)

    monkeypatch.setattr(export_mod, "_finish_file", damaged)
    out = tmp_path / "out" / "model.onnx"
    with pytest.raises(OSError, match=f"cannot write {out}: the exported file.*export it again"):
        export_onnx(tiny_checkpoint, out)
    assert not (tmp_path / "out").exists()  # nothing published, no temporary file, no folder made for it


def test_a_checkpoint_of_a_diverged_run_is_refused_in_words_naming_it(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A checkpoint whose weights hold NaN (its run's loss diverged) gave a file whose forward pass was not finite,
    refused as a failing disk ("export it again"), which no second export mends: the checkpoint is named."""
    payload = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
    name = next(k for k, v in payload["state_dict"].items() if v.is_floating_point())
    payload["state_dict"][name][...] = float("nan")
    diverged = tmp_path / "last.pt"
    torch.save(payload, diverged)
    out = tmp_path / "out" / "model.onnx"
    with pytest.raises(ValueError, match=rf"{diverged}: its weights are not all finite \({name}.*--lr"):
        export_onnx(diverged, out)
    assert not (tmp_path / "out").exists()


def test_an_evaluation_with_a_nan_score_exports(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A summary holding NaN (a data set's score over no scored pixel) read back unequal to itself, so the export
    was refused as if the disk had lost it."""
    summary = {"overall": {"iou": 0.9}, "datasets": {"empty": {"iou": float("nan")}}, "split": "val"}
    config = export_onnx(tiny_checkpoint, tmp_path / "m.onnx", evaluation=summary)
    assert np.isnan(config.training["evaluation"]["datasets"]["empty"]["iou"])
    assert (tmp_path / "m.onnx").is_file()


def test_a_presence_head_whose_threshold_was_never_chosen_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run given --negatives chooses its presence threshold at its end for best.pt only: its last.pt, which
    export's help offers too, exported silently with the default 0.5 (a trained "wild animal" model's run chose
    0.97; the last.pt file called photos scoring 0.5 to 0.97 "found"). Export warns, naming the file and what to do;
    a checkpoint whose threshold was chosen exports without a word on it."""
    from colorsplash.evaluation.presence import CALIBRATION_KEY
    from colorsplash.runtime.model.config import default_model_config
    from colorsplash.training.checkpoint import save_checkpoint
    from colorsplash.training.networks import build_model

    config = ModelConfig(**{**default_model_config("unet-lite0", 64).__dict__, "presence_head": True})
    config = ModelConfig(**{**config.__dict__, "subject": "wild animal"})
    net = build_model(config)
    save_checkpoint(tmp_path / "last.pt", net, config)
    chosen = {"training": {CALIBRATION_KEY: {"threshold": 0.97}}, "presence_threshold": 0.97}
    save_checkpoint(tmp_path / "best.pt", net, ModelConfig(**{**config.__dict__, **chosen}))
    with caplog.at_level("WARNING", logger="colorsplash"):
        export_onnx(tmp_path / "best.pt", tmp_path / "best.onnx")
        assert "presence threshold" not in caplog.text
        export_onnx(tmp_path / "last.pt", tmp_path / "last.onnx")
    assert f"{tmp_path / 'last.pt'}: no presence threshold was chosen for these weights" in caplog.text
    assert "default 0.50: photos without a wild animal may be coloured" in caplog.text
    assert "for best.pt, not last.pt: export the run's best.pt, or check this file" in caplog.text
    caplog.clear()
    (tmp_path / "run").mkdir()  # a best.pt whose run had no validation photo of the subject: no threshold either
    save_checkpoint(tmp_path / "run" / "best.pt", net, config)
    with caplog.at_level("WARNING", logger="colorsplash"):
        export_onnx(tmp_path / "run" / "best.pt", tmp_path / "run.onnx")
    assert "its run had no validation photo of it to choose one on" in caplog.text, caplog.text
