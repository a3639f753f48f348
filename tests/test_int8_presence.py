"""The int8 export keeps the presence output's sign: its logit is not quantised to a range the calibration photos
(subject photos alone, as ``export --int8 my_food/`` gives) set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from colorsplash.runtime.model.model_graph import PRESENCE_OUTPUT  # noqa: E402
from colorsplash.training.quantize import quantize_int8  # noqa: E402


def _presence_graph(path: Path) -> None:
    """x (1x2x8x8) -> a 2 -> 2 1x1 convolution and ReLU (the identity on positive x), global average pooling and
    a Gemm to the photo logit (1x1, ``presence``), as the presence head: the logit is channel 0's mean less
    channel 1's."""
    arrays = {
        "w_conv": np.eye(2, dtype=np.float32).reshape(2, 2, 1, 1),
        "b_conv": np.zeros(2, np.float32),
        "w_fc": np.array([[1.0, -1.0]], np.float32),
        "b_fc": np.zeros(1, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w_conv", "b_conv"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w_fc", "b_fc"], [PRESENCE_OUTPUT], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
        [helper.make_tensor_value_info(PRESENCE_OUTPUT, TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(a, n) for n, a in arrays.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _photo(rng: np.random.Generator, first: float, second: float) -> np.ndarray:
    """A feed whose two channels hover around ``first`` and ``second`` (both positive)."""
    return (rng.uniform(-0.1, 0.1, (1, 2, 8, 8)) + np.array([first, second]).reshape(1, 2, 1, 1)).astype(np.float32)


def test_a_negative_presence_logit_stays_negative_after_calibration_on_subject_photos(tmp_path: Path) -> None:
    """Audit (custom subject 2): ``export --int8 my_food/`` calibrated on food photos alone, whose presence logits
    are all positive; the quantised logit's uint8 range then started at 0, so every photo without food scored
    exactly 0.5, above the threshold the run chose (0.38), and the int8 file never said "no food found". The
    presence output's Gemm now stays float."""
    rng = np.random.default_rng(0)
    src, dst = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    _presence_graph(src)
    subject = [_photo(rng, first, 0.5) for first in np.linspace(1.0, 3.0, 8)]  # logits 0.5 to 2.5
    quantize_int8(src, dst, subject, input_name="x", float_ends=(0, 0))
    session = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    for first, second in ((0.5, 2.5), (1.0, 1.5), (2.0, 0.5)):
        logit = float(session.run([PRESENCE_OUTPUT], {"x": _photo(rng, first, second)})[0][0, 0])
        assert logit == pytest.approx(first - second, abs=0.1), (first, second)
