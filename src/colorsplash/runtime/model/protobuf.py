"""Reading protobuf (the encoding of ONNX files) without the ``onnx`` package, which the light runtime does not
have: a file is memory-mapped (:func:`mapped`) and walked field by field (:func:`fields`), so a large tensor or
graph is stepped over, never read. Shared by :mod:`colorsplash.runtime.model.model_file` (external data locations) and
:mod:`colorsplash.runtime.model.variants` (metadata)."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["NotProtobuf", "fields", "mapped", "string_entry"]


class NotProtobuf(ValueError):
    """The file's bytes are not protobuf, so not an ONNX file (ONNX Runtime would refuse it too)."""


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while pos < end and shift < 70:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise NotProtobuf("truncated varint")


def _skip_number(buf: memoryview, pos: int, end: int, wire: int) -> int:
    """The position after a number field's value at ``pos``: varint (wire type 0), 64 or 32 bits (1, 5)."""
    if wire == 0:
        return _varint(buf, pos, end)[1]
    return pos + (8 if wire == 1 else 4)


def _skip_value(buf: memoryview, pos: int, end: int, wire: int) -> int:
    """The position after the value at ``pos`` of a field of wire type ``wire``: a number (0, 1, 5) or a
    length-delimited value (2; its length not checked against ``end``).

    Raises:
        NotProtobuf: another wire type, or a varint running past ``end``.
    """
    if wire in (0, 1, 5):
        return _skip_number(buf, pos, end, wire)
    if wire == 2:
        length, pos = _varint(buf, pos, end)
        return pos + length
    raise NotProtobuf(f"wire type {wire}")


def fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field of the message at ``buf[pos:end]``; the other
    wire types (numbers, deprecated groups) are stepped over."""
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        field, wire = tag >> 3, tag & 7
        if wire in (0, 1, 5):
            pos = _skip_number(buf, pos, end, wire)
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise NotProtobuf("field runs past its message")
            yield field, pos, pos + length
            pos += length
        elif wire == 3:
            pos = skip_group(buf, pos, end, field)
        else:
            raise NotProtobuf(f"wire type {wire}")
    if pos != end:
        raise NotProtobuf("field runs past its message")


def skip_group(buf: memoryview, pos: int, end: int, field: int) -> int:
    """The position after the end-group tag of the group ``field`` starting at ``pos`` (nested groups too)."""
    depth = 1
    while depth:
        tag, pos = _varint(buf, pos, end)
        wire = tag & 7
        if wire in (3, 4):
            depth += 1 if wire == 3 else -1
        else:
            pos = _skip_value(buf, pos, end, wire)
        if pos > end:
            raise NotProtobuf("group runs past its message")
    return pos


def ends_inside_a_field(buf: memoryview) -> bool:
    """Whether the message filling ``buf`` ends inside one of its top-level fields, as a file cut short does (a
    copy or download that did not finish): a length or number that runs past the last byte. ``False`` for a whole
    message, and for bytes that are not protobuf in another way (an unknown wire type)."""
    pos, end = 0, len(buf)
    while pos < end:
        try:
            tag, pos = _varint(buf, pos, end)
            if tag & 7 not in (0, 1, 2, 5):  # a group or no wire type: not a cut-short file's sign
                return False
            pos = _skip_value(buf, pos, end, tag & 7)
        except NotProtobuf:  # a varint running past the end
            return True
    return pos > end


def string_entry(buf: memoryview, start: int, stop: int) -> tuple[bytes, bytes]:
    """(key, value) of the ``StringStringEntryProto`` at ``buf[start:stop]`` (fields 1 and 2; empty when absent)."""
    entry = {key: bytes(buf[a:b]) for key, a, b in fields(buf, start, stop) if key in (1, 2)}
    return entry.get(1, b""), entry.get(2, b"")


@contextmanager
def mapped(path: str | Path) -> Iterator[memoryview]:
    """The bytes of the file ``path``, memory-mapped read-only (an empty view for an empty file).

    Raises:
        OSError: the file cannot be opened or mapped.
    """
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield memoryview(b"")
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as whole:
            view = memoryview(whole)
            try:
                yield view
            finally:
                view.release()
