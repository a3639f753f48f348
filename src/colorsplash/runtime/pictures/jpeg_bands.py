"""JPEG encoding in horizontal bands on all cores, stitched into one standard baseline JPEG by restart markers.

libjpeg-turbo encodes on one core, and at 12 MP that is as long as the rest of a splash. A baseline JPEG whose
restart interval is one row of minimum coded units (MCUs, 16x16 pixels with 4:2:0 chroma) can be cut at any MCU
row: entropy coding and DC prediction start afresh after every restart marker. So each band of rows is encoded
on its own (same quality, hence the same quantisation tables; libjpeg's standard Huffman tables; the same
restart interval), and the bands' entropy-coded data are joined with their restart markers renumbered, under the
first band's headers with the full height written into the frame header. The result decodes to exactly the
pixels of a one-piece encode with the same restart interval, and costs about 2 bytes per MCU row.

A ``prepare`` step (the splash's blend) can run on each band just before it is encoded, so later bands are
prepared while earlier ones encode.

Pixels are RGB (not BGR) uint8 ``HxWx3``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from colorsplash.runtime.cpu import usable_cores
from colorsplash.runtime.pictures.jpeg_markers import JPEG_SOS, jpeg_header_segments

MCU = 16  # rows of one minimum coded unit with 4:2:0 chroma subsampling (8 with full-resolution chroma, 4:4:4)
MIN_BAND_PIXELS = 1 << 20  # bands smaller than a megapixel cost more in thread hand-offs than they save
_SOF0, _EOI = 0xC0, b"\xff\xd9"
JPEG_MAX_SIDE = 65500  # libjpeg-turbo's JPEG_MAX_DIMENSION: a wider or taller picture fails to encode


def band_rows(h: int, w: int, cores: int) -> list[slice]:
    """Row ranges of the bands: twice as many as ``cores`` (so a band is prepared while others encode), each
    at least ``MIN_BAND_PIXELS``, every cut on a multiple of ``MCU``; one band when that leaves only one."""
    count = max(1, min(2 * cores, (h * w) // MIN_BAND_PIXELS, h // MCU))
    if cores < 2:
        count = 1
    cuts = sorted({round(h * i / count / MCU) * MCU for i in range(1, count)} - {0, h})
    edges = [0, *cuts, h]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _mcu(full_chroma: bool) -> int:
    return MCU // 2 if full_chroma else MCU


def _encode(rgb: np.ndarray, quality: int, restart: int, full_chroma: bool = False) -> bytes:
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        quality,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444 if full_chroma else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        cv2.IMWRITE_JPEG_RST_INTERVAL,
        restart,
    ]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"JPEG encoding failed for a {rgb.shape} image")
    return buf.tobytes()


def _scan_start(data: bytes) -> tuple[int, int]:
    """(offset of the baseline frame header's height field, offset of the entropy-coded data) of one JPEG."""
    height_at = -1
    for code, at, length in jpeg_header_segments(data):
        if code == _SOF0:
            height_at = at + 5
        if code == JPEG_SOS and height_at >= 0:
            return height_at, at + 2 + length
    raise ValueError("the JPEG encoder wrote no baseline frame and scan header")


def _renumbered(entropy: bytes, shift: int) -> bytes:
    """``entropy`` (one band's entropy-coded data) with each restart marker RSTn made RST((n + shift) mod 8).
    In entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed byte) or by a marker, so a 0xFF followed by
    0xD0-0xD7 is always a restart marker."""
    arr = np.frombuffer(entropy, np.uint8).copy()
    at = np.flatnonzero((arr[:-1] == 0xFF) & (arr[1:] >= 0xD0) & (arr[1:] <= 0xD7)) + 1
    arr[at] = 0xD0 + (arr[at] - 0xD0 + shift % 8) % 8  # shift % 8 first: uint8 arithmetic (NumPy 2 refuses > 255)
    return arr.tobytes()


def stitch(pieces: Sequence[bytes], heights: Sequence[int], mcu: int = MCU) -> bytes:
    """One baseline JPEG from bands encoded by :func:`_encode` with a restart interval of one MCU row (``mcu``
    pixels high); every band but the last is ``mcu``-row aligned (``heights`` in pixels, top to bottom)."""
    out = bytearray()
    intervals = 0  # restart intervals written so far; the marker after interval i is RST(i mod 8)
    for k, (piece, rows) in enumerate(zip(pieces, heights, strict=True)):
        if not piece.endswith(_EOI):
            raise ValueError("a JPEG band does not end with its end-of-image marker")
        height_at, start = _scan_start(piece)
        if k == 0:
            out += piece[:start]
            out[height_at : height_at + 2] = sum(heights).to_bytes(2, "big")
        else:
            out += bytes((0xFF, 0xD0 + (intervals - 1) % 8))  # closes the previous band's last interval
        out += _renumbered(piece[start:-2], intervals)
        intervals += -(-rows // mcu)
    return bytes(out + _EOI)


def encode_jpeg(
    rgb: np.ndarray,
    quality: int,
    prepare: Callable[[slice], None] | None = None,
    cores: int | None = None,
    full_chroma: bool = False,
) -> bytes:
    """JPEG bytes (baseline, 4:2:0 or with ``full_chroma`` 4:4:4, libjpeg-turbo via OpenCV) of ``rgb`` (RGB, not
    BGR, uint8 ``HxWx3``, C-contiguous), in bands
    on ``cores`` threads (default: the CPUs this process may use) when the picture is large; ``prepare(rows)`` is
    called on each band of rows, top to bottom, just before that band is encoded (it may change ``rgb[rows]`` in
    place). Band cuts lie on multiples of 16 rows, whole MCU rows for both samplings.

    Raises:
        ValueError: the encoder failed, or wrote something that cannot be stitched.
    """
    h, w = rgb.shape[:2]
    if max(h, w) > JPEG_MAX_SIDE:
        raise ValueError(f"a {w}x{h} picture is too large for JPEG (at most {JPEG_MAX_SIDE:,} pixels a side)")
    cores = cores if cores is not None else usable_cores()
    bands = band_rows(h, w, cores)
    if len(bands) == 1:
        if prepare is not None:
            prepare(bands[0])
        return _encode(rgb, quality, 0, full_chroma)
    mcu = _mcu(full_chroma)
    restart = -(-w // mcu)  # one MCU row
    with ThreadPoolExecutor(cores, thread_name_prefix="jpeg") as pool:
        futures = []
        for rows in bands:
            if prepare is not None:
                prepare(rows)
            futures.append(pool.submit(_encode, rgb[rows], quality, restart, full_chroma))
        pieces = [f.result() for f in futures]
    return stitch(pieces, [r.stop - r.start for r in bands], mcu)
