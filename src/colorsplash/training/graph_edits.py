"""Exact rewrites of an exported ONNX graph that make ONNX Runtime's CPU kernels faster (export time only).

ONNX Runtime's CPU provider runs float convolutions in a blocked layout (NCHWc) that computes output channels in
blocks of 8 (AVX2) or 16 (AVX-512): a convolution with one output channel costs as much as one with eight. The
output head (``k x k`` convolution, ``C -> 1``, at the full input size) is such a convolution: 3.8-4.1 ms of a
50 ms forward pass at 384 px on AVX2, the largest single float node. :func:`split_single_output_convs` computes
the same sums as a depthwise ``k x k`` convolution (``C -> C``, one kernel slice per channel) and a ``1 x 1``
convolution of ones (``C -> 1``) that adds the channels: 0.8 ms together (``bench/model_speed.py``, see
``docs/benchmarks.md``). Only the order of the additions changes (logits agree to about 1e-5).
:func:`drop_unused_opsets` removes opset imports no node uses, which older ONNX Runtime versions refuse.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def node_attributes(node: Any) -> dict[str, Any]:
    """An ONNX node's attributes by name, as Python values (ints, lists, bytes); absent ones are left out."""
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_single_output_conv(node: Any, weights: dict[str, np.ndarray]) -> bool:
    """A float ``Conv`` with one output channel, one group, a kernel larger than 1x1 and its weight (and bias, if
    any) stored as initializers (quantised convolutions read theirs through DequantizeLinear: left alone)."""
    if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in weights:
        return False
    if len(node.input) > 2 and node.input[2] and node.input[2] not in weights:
        return False
    w = weights[node.input[1]]
    attrs = node_attributes(node)
    return bool(w.dtype == np.float32 and w.ndim == 4 and w.shape[0] == 1 and w.shape[2] * w.shape[3] > 1) and (
        attrs.get("group", 1) == 1 and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    )


def split_single_output_convs(model: Any) -> list[str]:
    """Rewrite, in place, every float ``C -> 1`` convolution of ``model`` (an ``onnx.ModelProto``) with a kernel
    larger than 1x1 as a depthwise convolution followed by a ``1 x 1`` convolution of ones; see the module doc.

    The depthwise convolution keeps the original's kernel shape, pads, strides and dilations; the bias goes to its
    first channel (the sum adds it once). Returns the names of the rewritten nodes (empty: nothing to do).
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    rewritten, replaced = [], set()
    for node in [n for n in graph.node if _is_single_output_conv(n, weights)]:
        w = weights[node.input[1]]
        channels = w.shape[1]
        bias = np.zeros(channels, np.float32)
        if len(node.input) > 2 and node.input[2]:
            bias[0] = weights[node.input[2]].reshape(-1)[0]
        prefix = node.name or node.output[0]
        names = (f"{prefix}/depthwise_weight", f"{prefix}/depthwise_bias", f"{prefix}/channel_sum_weight")
        arrays = (w.reshape(channels, 1, *w.shape[2:]), bias, np.ones((1, channels, 1, 1), np.float32))
        graph.initializer.extend(numpy_helper.from_array(a, n) for a, n in zip(arrays, names, strict=True))
        attrs = {k: v for k, v in node_attributes(node).items() if k != "group"}
        depthwise = helper.make_node(
            "Conv", [node.input[0], names[0], names[1]], [f"{prefix}/depthwise"], f"{prefix}/depthwise", **attrs
        )
        depthwise.attribute.extend([helper.make_attribute("group", channels)])
        total = helper.make_node(
            "Conv", [depthwise.output[0], names[2]], list(node.output), f"{prefix}/channel_sum", kernel_shape=[1, 1]
        )
        replaced.update(node.input[1:])
        index = list(graph.node).index(node)
        graph.node.remove(node)
        graph.node.insert(index, total)
        graph.node.insert(index, depthwise)
        rewritten.append(prefix)
    _drop_unused(graph, replaced)
    return rewritten


def drop_unused_opsets(model: Any) -> list[str]:
    """Remove, in place, the opset imports of ``model`` (an ``onnx.ModelProto``) for domains no node uses; returns
    the removed domains. Why: ONNX Runtime's quantisation pre-processing saves its optimised graph with an import
    for every domain it knows (``ai.onnx.ml`` 5, ``com.microsoft.nchwc`` ...), and an ONNX Runtime older than that
    opset refuses the whole file ("Opset 5 is under development": ONNX Runtime 1.17), though the graph uses
    none of those operators. Only the default domain is always kept."""
    used = {node.domain for node in model.graph.node} | {""}
    keep = [o for o in model.opset_import if o.domain in used]
    dropped = [o.domain for o in model.opset_import if o.domain not in used]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    return dropped


def _drop_unused(graph: Any, names: set[str]) -> None:
    """Remove the initializers in ``names`` that no node reads any more (the rewritten convolutions' weights)."""
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name not in names or i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
