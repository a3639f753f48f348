"""The one protobuf reader (``runtime/model/protobuf.py``) behind a model's metadata and its external-data check: fields
of every wire type are stepped over (ONNX files hold varints, fixed 32/64-bit numbers and, from old writers,
groups), and bytes that end inside a field are named, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_model_external_data import external, msg, num, varint

from colorsplash.runtime.model.model_file import external_locations
from colorsplash.runtime.model.protobuf import NotProtobuf
from colorsplash.runtime.model.variants import read_metadata

FIXED64, FIXED32 = varint(1 << 3 | 1) + bytes(8), varint(2 << 3 | 5) + bytes(4)
# Field 30 as a group holding a number, fixed numbers, a string and a nested group (a proto2 writer's).
GROUP = varint(30 << 3 | 3) + num(1, 5) + FIXED64 + FIXED32 + msg(4, "abc") + varint(5 << 3 | 3)
GROUP += varint(5 << 3 | 4) + varint(30 << 3 | 4)
ENTRY = msg(14, msg(1, "k"), msg(2, "v"))  # ModelProto.metadata_props
GRAPH = msg(7, msg(5, FIXED32, external("w", "w.bin"), GROUP))  # a graph whose initializer keeps its data outside


def test_every_wire_type_is_stepped_over(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(num(1, 8) + FIXED64 + GROUP + GRAPH + FIXED32 + ENTRY)
    assert read_metadata(model) == {"k": "v"}
    assert external_locations(model) == ["w.bin"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (GROUP[:-2], "truncated varint"),  # the file ends inside a group
        (varint(1 << 3 | 1) + bytes(3), "field runs past its message"),  # a 64-bit number cut short
        (ENTRY[:-1], "field runs past its message"),
        (varint(1 << 3 | 6), "wire type 6"),
        (b"\xff" * 11, "truncated varint"),  # a varint longer than 10 bytes
    ],
)
def test_bytes_that_are_not_protobuf_are_named(tmp_path: Path, data: bytes, why: str) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(data)
    with pytest.raises(ValueError, match=f"m.onnx: not an ONNX file \\({why}\\)"):
        read_metadata(model)
    with pytest.raises(NotProtobuf, match=why):
        external_locations(model)
