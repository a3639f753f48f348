"""Export-time graph rewrites: the same numbers from a graph ONNX Runtime runs faster."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from colorsplash.training.graph_edits import split_single_output_convs  # noqa: E402


def _model(rng: np.random.Generator) -> onnx.ModelProto:
    """x (1x5x11x13) -> head: 3x3 C->1 with bias, stride 1; side: 5x5 C->1 strided, dilated, no bias; wide: 3x3
    C->2; point: 1x1 C->1 (the last two are not single-output k x k convolutions: left alone)."""

    def w(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w_head", "b_head"], ["head"], name="head", kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node(
            "Conv", ["x", "w_side"], ["side"], name="side", strides=[2, 2], dilations=[2, 1], pads=[4, 2, 3, 1]
        ),
        helper.make_node("Conv", ["x", "w_wide"], ["wide"], name="wide", pads=[1] * 4),
        helper.make_node("Conv", ["x", "w_point", "b_point"], ["point"], name="point"),
    ]
    inits = [w("w_head", (1, 5, 3, 3)), w("b_head", (1,)), w("w_side", (1, 5, 5, 5)), w("w_wide", (2, 5, 3, 3))]
    inits += [w("w_point", (1, 5, 1, 1)), w("b_point", (1,))]
    outputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, None, None, None])
        for n in ("head", "side", "wide", "point")
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 11, 13])], outputs, inits
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, {"x": x}))


def test_single_output_convolutions_become_depthwise_and_a_sum_with_the_same_outputs() -> None:
    rng = np.random.default_rng(0)
    model = _model(rng)
    x = rng.normal(size=(1, 5, 11, 13)).astype(np.float32)
    before = _run(model, x)
    assert split_single_output_convs(model) == ["head", "side"]
    onnx.checker.check_model(model)
    after = _run(model, x)
    for a, b in zip(before, after, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, atol=1e-5)
    by_name = {n.name: n for n in model.graph.node}
    expected = {"wide", "point", "head/depthwise", "head/channel_sum", "side/depthwise", "side/channel_sum"}
    assert set(by_name) == expected
    group = {a.name: helper.get_attribute_value(a) for a in by_name["side/depthwise"].attribute}
    assert group["group"] == 5 and group["strides"] == [2, 2] and group["dilations"] == [2, 1]
    # The replaced weights are gone; the others stay.
    names = {i.name for i in model.graph.initializer}
    assert not names & {"w_head", "b_head", "w_side"} and {"w_wide", "w_point", "b_point"} <= names


def test_nothing_to_rewrite_leaves_the_graph_as_it_was() -> None:
    model = _model(np.random.default_rng(1))
    for name in ("head", "side"):
        model.graph.node.remove(next(n for n in model.graph.node if n.name == name))
    model.graph.output.pop(0)
    model.graph.output.pop(0)
    before = model.SerializeToString()
    assert split_single_output_convs(model) == []
    assert model.SerializeToString() == before
