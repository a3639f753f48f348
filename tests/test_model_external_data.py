"""A model file from elsewhere (``--model``, ``evaluate``, the Python API) whose tensors keep their values in
external data files: a location leaving the model's folder is refused in words before ONNX Runtime opens the file
(releases before 1.32, which colorsplash supports, read ``../`` paths and links out of the folder); external data
beside the model keeps working. The graphs are generated here (a 4-value Add, or the tiny model re-saved)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from colorsplash.runtime.model import onnx_model  # noqa: E402
from colorsplash.runtime.model.onnx_model import ModelLoadError, create_session, load_model  # noqa: E402

# The graphs are written as protobuf bytes here, field by field (onnx.proto3's numbers), so that these tests also
# run where the onnx package is not installed: the light runtime on the oldest onnxruntime (.ci/min-deps).
FLOAT, TENSOR, GRAPH, EXTERNAL = 1, 4, 5, 1


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def msg(no: int, *parts: bytes | str) -> bytes:
    """Field ``no`` holding a message (the ``parts`` joined) or a string."""
    body = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return varint(no << 3 | 2) + varint(len(body)) + body


def num(no: int, value: int) -> bytes:
    return varint(no << 3) + varint(value)


def external(name: str, location: str) -> bytes:
    """A TensorProto: 4 floats kept in ``location`` (EXTERNAL, offset 0, 16 bytes)."""
    entries = [msg(13, msg(1, key), msg(2, value)) for key, value in (("location", location), ("offset", "0"))]
    return num(1, 4) + num(2, FLOAT) + msg(8, name) + b"".join(entries) + num(14, EXTERNAL)


def value_info(name: str) -> bytes:
    """A ValueInfoProto: float tensor of 4."""
    return msg(1, name) + msg(2, msg(1, num(1, FLOAT) + msg(2, msg(1, num(1, 4)))))


def node(op: str, inputs: list[str], output: str, *attributes: bytes) -> bytes:
    return b"".join(msg(1, i) for i in inputs) + msg(2, output) + msg(4, op) + b"".join(msg(5, a) for a in attributes)


def add_model(path: Path, location: str, where: str = "initializer") -> Path:
    """ONNX bytes of ``y = x + w``, ``w`` kept in ``location``: as an initializer, a Constant node's value, or
    inside the ``then`` branch of an If node (a subgraph)."""
    w = external("w", location)
    ends = msg(11, value_info("x")) + msg(12, value_info("y"))
    if where == "initializer":
        graph = msg(1, node("Add", ["x", "w"], "y")) + msg(2, "g") + msg(5, w) + ends
    elif where == "constant":
        value = msg(1, "value") + msg(5, w) + num(20, TENSOR)
        graph = msg(1, node("Constant", [], "w", value)) + msg(1, node("Add", ["x", "w"], "y")) + msg(2, "g") + ends
    else:
        branch = msg(1, node("Constant", [], "y", msg(1, "value") + msg(5, w) + num(20, TENSOR)))
        branch += msg(2, "b") + msg(12, value_info("y"))
        cond = num(2, 9) + msg(8, "c") + msg(9, b"\x01")  # BOOL scalar, raw_data true
        then, other = (msg(1, name) + msg(6, branch) + num(20, GRAPH) for name in ("then_branch", "else_branch"))
        graph = msg(1, node("If", ["c"], "y", then, other)) + msg(2, "g") + msg(5, cond) + ends
    model = num(1, 8) + msg(7, graph) + msg(8, msg(1, "") + num(2, 13))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model)
    return path


def function_model(path: Path, location: str) -> Path:
    """ONNX bytes of ``y = F(x)``, a model-local function ``F`` computing ``x + w`` where ``w`` is a Constant of the
    function's attribute ``value``, whose default (``FunctionProto.attribute_proto``) is kept in ``location``."""
    default = msg(1, "value") + msg(5, external("value", location)) + num(20, TENSOR)
    ref = msg(1, "value") + msg(21, "value") + num(20, TENSOR)  # ref_attr_name: the function's attribute
    body = msg(7, node("Constant", [], "w", ref)) + msg(7, node("Add", ["x", "w"], "y"))
    opsets = msg(9, msg(1, "") + num(2, 13))
    function = msg(1, "F") + msg(4, "x") + msg(5, "y") + body + opsets + msg(10, "custom") + msg(11, default)
    graph = msg(1, node("F", ["x"], "y") + msg(7, "custom")) + msg(2, "g") + msg(11, value_info("x"))
    graph += msg(12, value_info("y"))
    imports = msg(8, msg(1, "") + num(2, 13)) + msg(8, msg(1, "custom") + num(2, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(num(1, 9) + msg(7, graph) + imports + msg(25, function))
    return path


def values(path: Path) -> Path:
    np.arange(4, dtype=np.float32).tofile(path)
    return path


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths ONNX Runtime is asked to open."""
    opened: list[str] = []
    real = ort.InferenceSession

    def recording(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording)
    return opened


@pytest.mark.parametrize(
    "location, said",
    [
        ("../outside.bin", "leads out of the model's folder"),
        ("ABSOLUTE", "is an absolute path, outside the model's folder"),
        ("link.bin", "leads out of the model's folder"),
        ("sub/../../outside.bin", "leads out of the model's folder"),
    ],
)
def test_external_data_outside_the_models_folder_is_refused_before_onnx_runtime_opens_it(
    location: str, said: str, tmp_path: Path, sessions: list[str]
) -> None:
    """ONNX Runtime 1.17 read all of these (the outside file's values came out of the model); 1.32 refuses them in
    its own words. colorsplash refuses them itself, naming the file and the location, on every release."""
    outside = values(tmp_path / "outside.bin")
    (tmp_path / "model").mkdir()
    os.symlink(outside, tmp_path / "model" / "link.bin")
    location = str(outside) if location == "ABSOLUTE" else location
    model = add_model(tmp_path / "model" / "m.onnx", location)
    with pytest.raises(ModelLoadError) as caught:
        create_session(model)
    text = str(caught.value)
    assert text.startswith(f"{model}: its weights are kept in an external data file {location!r}, which {said}")
    assert "put the data file beside the model" in text
    assert sessions == []


@pytest.mark.parametrize("where", ["constant", "subgraph"])
def test_external_data_is_found_in_node_values_and_subgraphs(where: str, tmp_path: Path, sessions: list[str]) -> None:
    """Tensors hide in Constant nodes' values and in the branches of If/Loop nodes, not only in initializers."""
    values(tmp_path / "outside.bin")
    model = add_model(tmp_path / "model" / "m.onnx", "../outside.bin", where)
    with pytest.raises(ModelLoadError, match="leads out of the model's folder"):
        create_session(model)
    assert sessions == []


def test_external_data_is_found_in_a_functions_attribute_defaults(tmp_path: Path, sessions: list[str]) -> None:
    """A model-local function's attribute default is a tensor ONNX Runtime reads (its values come out of the
    model, here from ``w.bin`` beside it); its location was not looked at, so ``../outside.bin`` there went to ONNX
    Runtime, which before 1.32 read it."""
    values(tmp_path / "w.bin")
    session = create_session(function_model(tmp_path / "f.onnx", "w.bin"))
    assert session.run(None, {"x": np.ones(4, np.float32)})[0].tolist() == [1, 2, 3, 4]
    sessions.clear()
    with pytest.raises(ModelLoadError, match=r"'\.\./w\.bin', which leads out of the model's folder"):
        create_session(function_model(tmp_path / "model" / "f.onnx", "../w.bin"))
    assert sessions == []


def test_a_linked_model_may_keep_its_data_beside_the_file_it_links_to(tmp_path: Path, sessions: list[str]) -> None:
    """The Hugging Face cache: a snapshot's files are links into ``../../blobs/``, the model's and its data's alike.
    ONNX Runtime 1.32 loads that (the folder of the file a linked model points to counts as the model's); it was
    refused as leading out of the model's folder. Data outside both folders is still refused."""
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshots" / "rev"
    snapshot.mkdir(parents=True)
    add_model(blobs / "aaa", "model.onnx_data")
    values(blobs / "bbb")
    (snapshot / "model.onnx").symlink_to("../../blobs/aaa")
    (snapshot / "model.onnx_data").symlink_to("../../blobs/bbb")
    session = create_session(snapshot / "model.onnx")
    assert session.run(None, {"x": np.ones(4, np.float32)})[0].tolist() == [1, 2, 3, 4]
    sessions.clear()
    values(tmp_path / "outside.bin")
    (snapshot / "model.onnx_data").unlink()
    (snapshot / "model.onnx_data").symlink_to(tmp_path / "outside.bin")
    with pytest.raises(ModelLoadError, match=rf"leads out of the model's folder \({snapshot}, or {blobs} where"):
        create_session(snapshot / "model.onnx")
    assert sessions == []


def test_a_pipe_or_a_missing_file_as_external_data_is_refused(tmp_path: Path, sessions: list[str]) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    os.mkfifo(folder / "fifo.bin")
    with pytest.raises(ModelLoadError, match=r"'fifo.bin', which is not a plain file \(.*fifo.bin is a folder, pipe"):
        create_session(add_model(folder / "a.onnx", "fifo.bin"))
    with pytest.raises(ModelLoadError, match=r"'gone.bin', which is not there \("):
        create_session(add_model(folder / "b.onnx", "gone.bin"))
    assert sessions == []


def test_external_data_beside_the_model_still_loads(tmp_path: Path, tiny_onnx: Path) -> None:
    """A model saved with its weights in a file beside it (as exporters do past 2 GB) loads as before, the plain
    graph and a colorsplash model alike, and predicts what the single file does."""
    values(tmp_path / "w.bin")
    session = create_session(add_model(tmp_path / "add.onnx", "w.bin"))
    assert session.run(None, {"x": np.ones(4, np.float32)})[0].tolist() == [1, 2, 3, 4]
    onnx = pytest.importorskip("onnx")
    split = tmp_path / "tiny" / "tiny.onnx"
    split.parent.mkdir()
    onnx.save_model(
        onnx.load(str(tiny_onnx)), str(split), save_as_external_data=True, location="tiny.data", size_threshold=0
    )
    assert b"tiny.data" in split.read_bytes() and (split.parent / "tiny.data").is_file()
    photo = np.full((40, 56, 3), 128, np.uint8)
    whole = load_model(tiny_onnx, precision="file").predict_probability(photo)
    assert np.allclose(load_model(split, precision="file").predict_probability(photo), whole)


def test_a_file_that_is_not_protobuf_is_named_without_onnx_runtime(tmp_path: Path) -> None:
    """Bytes that are not protobuf (here a field running past the file's end) are 'not a loadable ONNX model'."""
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x3a\xff\x01abc")  # field 7 (graph), 255 bytes long, 3 there
    with pytest.raises(ModelLoadError, match=r"bad.onnx: not a loadable ONNX model \("):
        onnx_model.create_session(bad)


def test_external_data_under_a_path_that_is_not_utf8_is_refused_in_words(tmp_path: Path, sessions: list[str]) -> None:
    """A model file whose path is not UTF-8 is given to ONNX Runtime as its bytes (test_undecodable_names), which
    cannot find its external data by the model's folder: refused naming the file and what to do."""
    try:
        folder = tmp_path / os.fsdecode(b"caf\xe9")
        folder.mkdir()
    except (OSError, UnicodeError) as err:
        pytest.skip(f"this file system refuses a name that is not UTF-8: {err}")
    values(folder / "w.bin")
    model = add_model(folder / "m.onnx", "w.bin")
    with pytest.raises(ModelLoadError) as caught:
        create_session(model)
    said = str(caught.value)
    assert said.startswith(f"{model}: ONNX Runtime opens only paths in UTF-8") and "colorsplash export" in said
    assert sessions == []
