"""A JPEG's marker structure, read without decoding: the header's segments, where the picture ends and whether
its image data were overwritten. Used to pick the fast decoder safely (:mod:`colorsplash.runtime.pictures.photo_io`), to
stitch band-encoded JPEGs (:mod:`colorsplash.runtime.pictures.jpeg_bands`) and to check written ones
(:mod:`colorsplash.runtime.pictures.photo_write`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

__all__ = [
    "JPEG_SOS",
    "JpegData",
    "ends_jpeg",
    "header_junk",
    "refuse_header_junk",
    "jpeg_data_damaged",
    "jpeg_header_segments",
    "walk_jpeg_data",
]


def ends_jpeg(data: bytes) -> bool:
    """Whether a JPEG's bytes end with its end-of-image marker (trailing zero padding allowed): a JPEG just
    written whose bytes landed in full does. (Reading a photo, which may carry more after its picture, finds the
    end with :func:`walk_jpeg_data`.)"""
    return data.rstrip(b"\x00").endswith(b"\xff\xd9")


# Markers a JPEG may hold after its first scan's header, between scans: DHT, DAC, SOS, DQT, DNL, DRI (and RSTn,
# and EOI at the end). Anything else there is corruption (random bytes in the image data).
_BETWEEN_SCANS = frozenset({0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD})


@dataclass(frozen=True)
class JpegData:
    """What the walk of a JPEG's image data found (:func:`walk_jpeg_data`).

    Attributes:
        damaged: a marker no encoder writes inside image data (bytes overwritten in the middle of the file).
        end: offset just past the end-of-image marker (EOI) that ends the picture's last scan; ``None`` when the
            data stop before it (a cut-off file) or are damaged. What follows it (a Motion Photo's video, an MPO's
            next picture, padding) is not this picture.
    """

    damaged: bool
    end: int | None


def walk_jpeg_data(data: bytes) -> JpegData:
    """Walk a JPEG's markers after its first scan header up to the EOI that ends its last scan.

    Markers are 0xFF followed by other than 0x00 (a stuffed byte), 0xFF fill or RSTn; the segments allowed
    between scans are skipped by their length (their tables may hold 0xFF). The header before the first scan is
    walked by segment lengths, so an EXIF thumbnail's EOI (inside APP1) is never taken for the end. Any other
    marker before EOI is damage: libjpeg only warns (unseen) and fills the rest with grey, and Pillow accepts
    some such files too. Checked on 5,000 JPEGs of the data sets (25 progressive): none flagged. Bit flips that
    keep the marker structure are not seen (they decode to glitches, as every decoder shows them).
    """
    import numpy as np  # here: importing this module (for ImageReadError) stays light

    pos = _first_scan_data(data)
    if pos is None:
        return JpegData(damaged=False, end=None)
    arr = np.frombuffer(data, np.uint8)
    after = np.flatnonzero(arr[pos:-1] == 0xFF) + pos
    code = arr[after + 1]
    marks = after[(code != 0x00) & (code != 0xFF) & ((code < 0xD0) | (code > 0xD7))]
    i = 0
    while i < len(marks):
        at = int(marks[i])
        if data[at + 1] == 0xD9:
            return JpegData(damaged=False, end=at + 2)
        if data[at + 1] not in _BETWEEN_SCANS or at + 4 > len(data):
            return JpegData(damaged=True, end=None)
        i = int(np.searchsorted(marks, at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")))
    return JpegData(damaged=False, end=None)


def jpeg_data_damaged(data: bytes) -> bool:
    """Whether a JPEG's image data holds a marker no encoder writes there (see :func:`walk_jpeg_data`)."""
    return walk_jpeg_data(data).damaged


def _first_scan_data(data: bytes) -> int | None:
    """Offset of the entropy-coded data after a JPEG's first scan header, ``None`` when there is none."""
    for code, at, length in jpeg_header_segments(data):
        if code == JPEG_SOS:
            return at + 2 + length
    return None


JPEG_SOS = 0xDA  # start of scan: the entropy-coded data follows its segment


def jpeg_header_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The marker segments of a JPEG's header, up to and including its first scan header (SOS): ``(marker code,
    offset of its 0xFF, segment length)``, the length counting its own two bytes and not the marker's. Fill bytes
    (0xFF 0xFF) are skipped; the walk ends early where the bytes stop being segments (a cut-off header)."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        if data[pos + 1] == 0xFF:  # fill byte
            pos += 1
            continue
        code, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        yield code, pos, length
        if code == JPEG_SOS:
            return
        pos += 2 + length


# The most bytes a JPEG's header may hold where a marker segment should start before it is called damaged: Pillow's
# reader steps over such bytes one at a time in Python (25 MB of them: 2 s, at each of the two opens of an upload).
HEADER_JUNK_MOST = 1 << 20
# The most marker segments before the first scan: Pillow's reader takes each in Python (2 million empty comments, 8 MB:
# 3.5 s an open); a photo's header has tens (an ICC profile at most 255, extended XMP a few hundred).
HEADER_SEGMENTS_MOST = 1 << 16


def header_junk(fp: IO[bytes], most: int = HEADER_JUNK_MOST, segments: int = HEADER_SEGMENTS_MOST) -> str | None:
    """What is wrong with a JPEG's header (``fp``: seekable, at any position) that Pillow's reader would step over
    slowly, in words with the offset: more than ``most`` bytes that are no marker segment after its segments (none
    is 0xFF) or fill bytes (0xFF) before a marker, or more than ``segments`` segments before its first scan; or
    ``None``: a header that reaches its first scan, is cut off, or has a few stray or fill bytes, which the reader
    skips. Reads the segments' headers and the runs only."""
    fp.seek(2)
    count = 0
    while len(head := fp.read(4)) == 4 and head[0] == 0xFF:
        if head[1] == 0xFF:  # fill bytes
            at = fp.seek(-3, 1)
            if _run(fp, most, fill=True) > most:
                return f"more than {most:,} bytes that are no marker from byte {at:,}"
            fp.seek(-1, 1)  # the run's last 0xFF begins the marker
        elif head[1] == JPEG_SOS:
            return None
        elif (count := count + 1) > segments:
            return f"more than {segments:,} marker segments before its first scan from byte {fp.tell() - 4:,}"
        else:
            fp.seek(int.from_bytes(head[2:4], "big") - 2, 1)
    if len(head) < 4:
        return None
    at = fp.seek(-len(head), 1)
    return f"more than {most:,} bytes that are no marker from byte {at:,}" if _run(fp, most, False) > most else None


def _run(fp: IO[bytes], most: int, fill: bool) -> int:
    """How many bytes from ``fp``'s position are 0xFF (``fill``) or none is (not ``fill``), counted to ``most + 1``
    at most, in chunks; ``fp`` is left just after them."""
    run = 0
    while run <= most and (chunk := fp.read(min(1 << 16, most + 1 - run))):
        if fill:
            size = len(chunk) - len(chunk.lstrip(b"\xff"))
        else:
            size = found if (found := chunk.find(b"\xff")) >= 0 else len(chunk)
        run += size
        if size < len(chunk):
            fp.seek(size - len(chunk), 1)
            break
    return run


def refuse_header_junk(fp: IO[bytes], prefix: bytes) -> None:
    """Raise ValueError (a damaged JPEG) for a JPEG (by its first bytes, ``prefix``; other content passes) in the
    seekable stream ``fp`` whose header holds more than the reader should step over (:func:`header_junk`); ``fp``'s
    position is left anywhere."""
    if not prefix.startswith(b"\xff\xd8\xff"):
        return
    damage = header_junk(fp, HEADER_JUNK_MOST, HEADER_SEGMENTS_MOST)
    if damage is not None:
        raise ValueError(f"damaged JPEG: {damage}")
