"""What a file is by its first 16 bytes: a picture format colorsplash reads, another Pillow format, a phone's
HEIC/AVIF without a reader here, or a video container. Only signature checks run; nothing is decoded (a WebP's
chunk headers are walked to tell a lossless one: :func:`is_lossless_webp`)."""

from __future__ import annotations

import struct

from PIL import Image

from colorsplash.runtime.pictures.heif import HEIF_AVC_BRANDS, is_heif

SIGNATURE_BYTES = 16  # how much of a file the checks here look at

# The Pillow formats colorsplash reads (HEIF with pillow-heif): any other is refused by name before its reader runs.
READ_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "HEIF")


# ISO-BMFF brands (``ftyp`` at byte 4) of the phones' picture formats Pillow may have no reader for here (AVIF's
# where this Pillow lacks it, HEIC's without pillow-heif, AVC-coded HEIF's always): an iPhone's HEIC is a photo,
# not a damaged file nor a video.
_FTYP_BRANDS = {b"avif": "AVIF", b"avis": "AVIF", **HEIF_AVC_BRANDS}
# Videos by their first bytes: any other ISO-BMFF file (an iPhone's Live Photo .MOV, a phone's .mp4), Matroska/WebM,
# AVI; named as videos rather than "unrecognised content".
VIDEO_NAMES = ("QuickTime/MP4", "Matroska/WebM", "AVI")


def _video_format(prefix: bytes) -> str | None:
    if prefix[4:8] == b"ftyp" or prefix[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return VIDEO_NAMES[0]
    if prefix[:4] == b"\x1aE\xdf\xa3":
        return VIDEO_NAMES[1]
    return VIDEO_NAMES[2] if prefix[:4] == b"RIFF" and prefix[8:12] == b"AVI " else None


def other_format(prefix: bytes) -> str | None:
    """The Pillow format outside :data:`READ_FORMATS` whose signature check accepts ``prefix`` (only the
    check runs, on 16 bytes; formats without one are not named), HEIC/HEIF/AVIF by their ``ftyp`` brand, or a
    video container (one of :data:`VIDEO_NAMES`); ``None`` when none does."""
    if prefix[4:8] == b"ftyp" and prefix[8:12] in _FTYP_BRANDS:
        return _FTYP_BRANDS[prefix[8:12]]  # AVIF (no reader, or it could not open the file); AVC-coded HEIF
    if heif := is_heif(prefix):
        return heif  # no pillow-heif, or its reader could not open the file
    if video := _video_format(prefix):
        return video
    return signature_format(prefix, readable=False)


def signature_format(prefix: bytes, readable: bool = True) -> str | None:
    """The first Pillow format whose signature check accepts ``prefix`` (a file's first 16 bytes), among those
    colorsplash reads (:data:`READ_FORMATS`, ``readable``) or the others; ``None`` when none does. Only the check
    runs: formats without one are never named, and nothing is decoded."""
    Image.init()
    for fmt in Image.ID:
        accept = Image.OPEN[fmt][1]
        if (fmt in READ_FORMATS) != readable or accept is None:
            continue
        try:
            verdict = accept(prefix)
        except (SyntaxError, IndexError, TypeError, ValueError, struct.error):
            continue
        if verdict and not isinstance(verdict, str):
            return fmt
    return None


def is_lossless_webp(data: bytes) -> bool:
    """Whether ``data`` (a whole WebP file) holds a lossless picture: its first picture chunk is ``VP8L`` (a lossy
    one is ``VP8 ``), after an extended file's ``VP8X``, ``ICCP``, ``EXIF``... chunks. Only chunk headers are read."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind in (b"VP8L", b"VP8 ", b"ANMF"):
            return kind == b"VP8L"
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return False


def starts_as_picture(prefix: bytes) -> bool:
    """Whether ``prefix`` (a file's first 16 bytes) begins a picture colorsplash reads: the signature check of one
    of :data:`READ_FORMATS` accepts it, or it is a HEIC/HEIF by its ``ftyp`` brand (read with pillow-heif)."""
    return bool(is_heif(prefix)) or signature_format(prefix) is not None
