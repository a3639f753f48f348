"""Schemathesis hooks for ``api.sh``: the photo a request carries is, as often as not, a real picture (the seed
photos of ``seeds.py``, as they are or with a few bytes changed) rather than random bytes, so that the model, the
effects and the encoders run too. ``FUZZ_SEEDS`` names the folder of seed photos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import strategies as st

_FOLDER = Path(os.environ.get("FUZZ_SEEDS", "fuzz-seeds/photos"))
_SEEDS = sorted(p.read_bytes() for p in _FOLDER.glob("*") if p.is_file())


def _damaged(picture: bytes, changes: list[tuple[int, int]]) -> bytes:
    data = bytearray(picture)
    for at, value in changes:
        data[at % len(data)] = value
    return bytes(data)


_PICTURES = st.sampled_from(_SEEDS) | st.builds(
    _damaged, st.sampled_from(_SEEDS), st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=4)
)


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> Any:
    if not _SEEDS:
        return st.just(body)
    if isinstance(body, dict) and "file" in body:
        return st.just(body) | _PICTURES.map(lambda picture: {**body, "file": picture})
    if isinstance(body, (bytes, str)):
        return st.just(body) | _PICTURES
    return st.just(body)
