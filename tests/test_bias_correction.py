"""Bias correction of the int8 export: each int8 convolution's bias cancels its weights' rounding on average."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from colorsplash.training.bias_correction import _mean_shift  # noqa: E402
from colorsplash.training.quantize import quantize_int8  # noqa: E402


def _float_graph(path: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """x (1x4x8x8) -> a depthwise 3x3 convolution and a 4 -> 6 3x3 convolution, both with biases, both reading
    x (so their input means are the calibration feeds' own). Returns the float weights by name."""
    arrays = {
        "w_dw": rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32),
        "b_dw": rng.normal(0, 0.1, 4).astype(np.float32),
        "w_full": rng.normal(0, 0.3, (6, 4, 3, 3)).astype(np.float32),
        "b_full": rng.normal(0, 0.1, 6).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w_dw", "b_dw"], ["dw"], name="dw", group=4, pads=[1] * 4),
        helper.make_node("Conv", ["x", "w_full", "b_full"], ["full"], name="full", pads=[1] * 4),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, None, 8, 8]) for n in ("dw", "full")],
        [numpy_helper.from_array(a, n) for n, a in arrays.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return arrays


def test_mean_shift_is_the_weight_error_times_the_input_means() -> None:
    rng = np.random.default_rng(0)
    dw, means = rng.normal(size=(6, 2, 3, 3)), rng.normal(size=4)  # 2 groups of 2 input channels
    expected = [sum(dw[o, c].sum() * means[(o // 3) * 2 + c] for c in range(2)) for o in range(6)]
    assert np.allclose(_mean_shift(dw, means, groups=2), expected)


def test_int8_biases_cancel_the_weights_rounding_on_the_calibration_means(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    src, dst = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    weights = _float_graph(src, rng)
    offsets = np.array([0.5, 1.5, -1.0, 2.0], np.float32).reshape(1, 4, 1, 1)  # means far from 0
    inputs = [(rng.normal(size=(1, 4, 8, 8)) + offsets).astype(np.float32) for _ in range(6)]
    quantize_int8(src, dst, inputs, input_name="x", float_ends=(0, 0))
    means = np.mean([x.mean(axis=(0, 2, 3)) for x in inputs], axis=0, dtype=np.float64)
    graph = onnx.load(str(dst)).graph
    init = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in graph.initializer}
    for name, groups in (("dw", 4), ("full", 1)):
        w = init[f"w_{name}_quantized"] * init[f"w_{name}_scale"].reshape(-1, 1, 1, 1)
        shift = _mean_shift(w - weights[f"w_{name}"], means, groups)
        b_scale = init[f"b_{name}_quantized_scale"]
        bias_change = init[f"b_{name}_quantized"] * b_scale - weights[f"b_{name}"]
        assert np.abs(shift).max() > 2 * b_scale.max()  # a rounding worth correcting, not noise
        assert np.all(np.abs(bias_change + shift) <= 0.5 * b_scale + 1e-9)  # cancelled to the bias's own step
