"""How many pages or frames a picture holds, for the note that only its first is used (:mod:`.photo_io`), at a
bounded cost.

Pillow's ``n_frames`` walks a TIFF's whole chain of directories, looking each one up in a list of those seen: its
time grows with the square of the pages. A 4 MB upload of 40,000 one-pixel pages took 27 s of a server thread to
count (10,000 pages: 1.7 s), and a 25 MB one would take hours. The chain is first walked here by its offsets alone
(a few bytes read per page, a set of those seen); only a TIFF of at most :data:`MAX_COUNTED_PAGES` pages is counted
by Pillow, as before (its later pages' damage noted), and a longer one is said to hold more than that.
"""

from __future__ import annotations

import struct
from typing import IO

from PIL import Image

MAX_COUNTED_PAGES = 1000  # a TIFF photo has a few pages; counting 1,000 with Pillow takes about 20 ms


def frame_count(img: Image.Image) -> int:
    """The frames (an animation's) or pages (a TIFF's) of the opened picture ``img``, as Pillow's ``n_frames``
    counts them; a TIFF of more than :data:`MAX_COUNTED_PAGES` pages gives ``MAX_COUNTED_PAGES + 1`` without
    Pillow's count (:func:`shown_count` words it).

    Raises:
        what ``n_frames`` raises for a later page that is damaged or cut off (Pillow's reading errors).
    """
    fp = getattr(img, "fp", None)  # an opened file's stream (Pillow's ImageFile)
    if img.format == "TIFF" and fp is not None:
        pages = tiff_directories(fp, MAX_COUNTED_PAGES + 1)
        if pages > MAX_COUNTED_PAGES:
            return pages
    return int(getattr(img, "n_frames", 1))


def shown_count(count: int) -> str:
    """``count`` from :func:`frame_count` in words: ``3``, or ``more than 1,000`` past :data:`MAX_COUNTED_PAGES`."""
    return f"more than {MAX_COUNTED_PAGES:,}" if count > MAX_COUNTED_PAGES else str(count)


def tiff_directories(fp: IO[bytes], most: int) -> int:
    """The directories (pages) in the chain of the TIFF or BigTIFF ``fp``, counted up to ``most``; the count stops
    at a directory seen before or cut off. ``fp``'s position is kept."""
    where = fp.tell()
    try:
        fp.seek(0)
        head = fp.read(16)
        order = "<" if head[:2] == b"II" else ">"
        big = head[2:4] in (b"\x2b\x00", b"\x00\x2b")  # BigTIFF: 8-byte counts and offsets, 20-byte entries
        sizes = ("Q", 20, "Q") if big else ("H", 12, "I")
        offset = struct.unpack_from(order + ("Q" if big else "I"), head, 8 if big else 4)[0] if len(head) >= 16 else 0
        seen: set[int] = set()
        while offset and offset not in seen and len(seen) < most:
            seen.add(offset)
            offset = _next_directory(fp, offset, order, sizes)
        return len(seen)
    finally:
        fp.seek(where)


def _next_directory(fp: IO[bytes], offset: int, order: str, sizes: tuple[str, int, str]) -> int:
    """The offset of the directory after the one at ``offset`` (0: none, or cut off)."""
    count_code, entry, next_code = sizes
    fp.seek(offset)
    raw = fp.read(struct.calcsize(count_code))
    if len(raw) < struct.calcsize(count_code):
        return 0
    fp.seek(offset + len(raw) + struct.unpack(order + count_code, raw)[0] * entry)
    raw = fp.read(struct.calcsize(next_code))
    return struct.unpack(order + next_code, raw)[0] if len(raw) == struct.calcsize(next_code) else 0
