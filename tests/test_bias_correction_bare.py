"""Bias correction (:mod:`colorsplash.training.bias_correction`) on a graph holding a convolution without a bias:
that one is left as it is, the others still corrected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from colorsplash.training.bias_correction import _mean_shift  # noqa: E402
from colorsplash.training.quantize import quantize_int8  # noqa: E402


def test_a_convolution_without_a_bias_is_left_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    arrays = {
        "w_bare": rng.normal(0, 0.3, (4, 4, 3, 3)).astype(np.float32),
        "w_full": rng.normal(0, 0.3, (6, 4, 3, 3)).astype(np.float32),
        "b_full": rng.normal(0, 0.1, 6).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w_bare"], ["bare"], name="bare", pads=[1] * 4),
        helper.make_node("Conv", ["x", "w_full", "b_full"], ["full"], name="full", pads=[1] * 4),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, None, 8, 8]) for n in ("bare", "full")],
        [numpy_helper.from_array(a, n) for n, a in arrays.items()],
    )
    src, dst = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    offsets = np.array([0.5, 1.5, -1.0, 2.0], np.float32).reshape(1, 4, 1, 1)
    inputs = [(rng.normal(size=(1, 4, 8, 8)) + offsets).astype(np.float32) for _ in range(6)]
    quantize_int8(src, dst, inputs, input_name="x", float_ends=(0, 0))
    init = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in onnx.load(str(dst)).graph.initializer}
    means = np.mean([x.mean(axis=(0, 2, 3)) for x in inputs], axis=0, dtype=np.float64)
    w = init["w_full_quantized"] * init["w_full_scale"].reshape(-1, 1, 1, 1)
    shift = _mean_shift(w - arrays["w_full"], means, 1)
    b_scale = init["b_full_quantized_scale"]
    assert np.all(np.abs(init["b_full_quantized"] * b_scale - arrays["b_full"] + shift) <= 0.5 * b_scale + 1e-9)
