"""How many pages or frames a picture holds, for the note that only its first is used (:mod:`.photo_io`), at a
bounded cost.

A GIF's frames are walked here by their blocks (its image data skipped by its sub-blocks' lengths) before Pillow
counts them frame by frame in Python: 1.7 million empty frames in a 24 MB upload took 10.6 s to count. One of more
than :data:`MAX_COUNTED_PAGES` frames is said to hold more than that, as a TIFF; one with megabytes of bytes
between its blocks that start none (24 MB of them: 4.4 s, stepped over one at a time), or its image data in
millions of tiny sub-blocks (12 million: 4 s, read one at a time), gets this count, not Pillow's.

Pillow's ``n_frames`` walks a TIFF's whole chain of directories, looking each one up in a list of those seen: its
time grows with the square of the pages. A 4 MB upload of 40,000 one-pixel pages took 27 s of a server thread to
count (10,000 pages: 1.7 s), and a 25 MB one would take hours. The chain is first walked here by its offsets alone
(a few bytes read per page, a set of those seen); only a TIFF of at most :data:`MAX_COUNTED_PAGES` pages is counted
by Pillow, as before (its later pages' damage noted), and a longer one is said to hold more than that.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from typing import IO

from PIL import Image

MAX_COUNTED_PAGES = 1000  # a TIFF photo has a few pages; counting 1,000 with Pillow takes about 20 ms
MAX_FRACTIONS = 65536  # values of a RATIONAL entry (a resolution holds 1, GPS 3): Pillow takes 0.17 s for 65,536
# Entries read by heavy_tiff_entry in all (its pages and their Exif, GPS and Interop directories): a photo's page
# holds a few dozen. 1,001 overlapping directories of 65,535 entries each, a 0.8 MB upload, took 11 s to check.
MAX_ENTRIES = 2**20
_SUB_DIRECTORIES = (34665, 34853, 40965)  # Exif, GPS, Interop: Pillow reads each whole (Exif.get_ifd)
MAX_STRAY_BYTES = 2**20  # bytes between a GIF's blocks that start none: Pillow steps over 4 MB of them in 0.6 s
# A GIF's data sub-blocks (each 1-255 bytes): Pillow reads them one by one in Python to step over a frame's image
# data, 12 million 1-byte ones (a 24 MB upload of two frames) in 4 s; 2**18 take it about 0.1 s.
MAX_SUB_BLOCKS = 2**18


def frame_count(img: Image.Image) -> int:
    """The frames (an animation's) or pages (a TIFF's) of the opened picture ``img``, as Pillow's ``n_frames``
    counts them; a TIFF or GIF of more than :data:`MAX_COUNTED_PAGES` gives ``MAX_COUNTED_PAGES + 1`` without
    Pillow's count (:func:`shown_count` words it).

    Raises:
        what ``n_frames`` raises for a later page that is damaged or cut off (Pillow's reading errors).
    """
    fp = getattr(img, "fp", None)  # an opened file's stream (Pillow's ImageFile)
    most = MAX_COUNTED_PAGES + 1
    if img.format == "TIFF" and fp is not None and tiff_directories(fp, most) == most:
        return most
    buffer = getattr(fp, "getbuffer", None)  # the bytes of an upload or photo read into memory, not copied
    if img.format == "GIF" and buffer is not None:
        with buffer() as view:  # released at once: a BytesIO with a view of it cannot be closed
            frames, stray, sub_blocks = gif_frames(view, most)
        if frames == most or stray > MAX_STRAY_BYTES or sub_blocks > MAX_SUB_BLOCKS:  # Pillow: one at a time
            return frames
    return int(getattr(img, "n_frames", 1))


def shown_count(count: int) -> str:
    """``count`` from :func:`frame_count` in words: ``3``, or ``more than 1,000`` past :data:`MAX_COUNTED_PAGES`."""
    return f"more than {MAX_COUNTED_PAGES:,}" if count > MAX_COUNTED_PAGES else str(count)


def tiff_directories(fp: IO[bytes], most: int) -> int:
    """The directories (pages) in the chain of the TIFF or BigTIFF ``fp``, counted up to ``most``; the count stops
    at a directory seen before or cut off. ``fp``'s position is kept."""
    return sum(1 for _ in _directory_chain(fp, most))


def heavy_tiff_entry(fp: IO[bytes]) -> str | None:
    """What makes Pillow's reading of the TIFF ``fp``'s directories (the pages it counts, :data:`MAX_COUNTED_PAGES`,
    and their Exif, GPS and Interop directories) take seconds of Python, or ``None``: an entry of more than
    :data:`MAX_FRACTIONS` fractions (Pillow makes an object of each as it reads it: 3 million as the resolution,
    22 MB, took 14.5 s), a BigTIFF directory of more than 65,535 entries (Pillow reads each in Python), or more than
    :data:`MAX_ENTRIES` entries in all (this check's own cost). An EXIF block (a PNG's or WebP's) is such a TIFF.
    ``fp``'s position is kept."""
    left = [MAX_ENTRIES]  # entries that may still be read, over every directory
    for offset, order, big in _directory_chain(fp, MAX_COUNTED_PAGES + 1):
        heavy = _heavy_directory(fp, offset, order, big, 2, left)
        if heavy is not None:
            return heavy
    return None


def _heavy_directory(fp: IO[bytes], offset: int, order: str, big: bool, depth: int, left: list[int]) -> str | None:
    """:func:`heavy_tiff_entry` of the directory at ``offset`` and, ``depth`` levels down, those it points to;
    ``left[0]``: the entries that may still be read, less this directory's."""
    fp.seek(offset)
    raw = fp.read(8 if big else 2)
    entries = struct.unpack(order + ("Q" if big else "H"), raw)[0] if len(raw) == (8 if big else 2) else 0
    if entries > 65535:
        return f"a directory of {entries:,} entries"
    left[0] -= entries
    if left[0] < 0:
        return f"directories of more than {MAX_ENTRIES:,} entries in all"
    block = fp.read(entries * (20 if big else 12))
    shape = order + ("HHQQ" if big else "HHII")
    below = []
    for tag, kind, count, value in struct.iter_unpack(shape, block[: len(block) - len(block) % struct.calcsize(shape)]):
        if kind in (5, 10) and count > MAX_FRACTIONS:  # RATIONAL, SRATIONAL
            return f"tag {tag} holds {count:,} fractions"
        if tag in _SUB_DIRECTORIES and kind in (4, 13, 16) and count == 1 and depth:  # a LONG, IFD or IFD8 offset
            below.append(value)
    return next((h for h in (_heavy_directory(fp, at, order, big, depth - 1, left) for at in below[:3]) if h), None)


def heavy_exif(data: bytes) -> str | None:
    """:func:`heavy_tiff_entry` of an EXIF block (with or without its ``Exif\\0\\0`` start), or ``None``."""
    return heavy_tiff_entry(io.BytesIO(data.removeprefix(b"Exif\x00\x00")))


def _directory_chain(fp: IO[bytes], most: int) -> Iterator[tuple[int, str, bool]]:
    """(offset, byte order for :mod:`struct`, BigTIFF) of each directory in the chain of the TIFF ``fp``, at most
    ``most``, up to one seen before or cut off; ``fp``'s position is kept once the walk ends."""
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
            yield offset, order, big
            offset = _next_directory(fp, offset, order, sizes)
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


_GIF_BLOCK = re.compile(rb"[!,;]")  # an extension, an image, the end: Pillow steps over other bytes one at a time


def gif_frames(data: memoryview, most: int) -> tuple[int, int, int]:
    """(the images, or frames, of the GIF ``data`` counted up to ``most`` as Pillow finds them: blocks in order,
    bytes that start none stepped over; the bytes so stepped over; the sub-blocks walked). The count stops at the
    end block or where the data is cut off."""
    size = len(data)
    flags = data[10] if size > 10 else 0
    at, frames, stray = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0), 0, 0  # after the global colour table
    sub_blocks = 0
    while frames < most and at < size:
        tag = data[at]
        if tag == 0x3B:  # ;
            break
        if tag == 0x21:  # ! label, then sub-blocks
            at, walked = _after_sub_blocks(data, at + 2)
        elif tag == 0x2C:  # , descriptor (9 bytes), local colour table, LZW code size, then sub-blocks
            flags = data[at + 9] if at + 9 < size else 0
            at, walked = _after_sub_blocks(data, at + 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0))
            frames += 1
        else:
            found = _GIF_BLOCK.search(data, at + 1)
            stray += (found.start() if found else size) - at
            at, walked = (found.start() if found else size), 0
        sub_blocks += walked
    return frames, stray, sub_blocks


def _after_sub_blocks(data: memoryview, at: int) -> tuple[int, int]:
    """(where the sub-blocks starting at ``at`` (a length byte, that many bytes, ... a 0) end, how many there were)."""
    count, size = 0, len(data)
    while at < size and (length := data[at]):
        at += length + 1
        count += 1
    return at + 1, count
