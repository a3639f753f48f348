"""What a TIFF whose first page Pillow's reader refuses is, in a user's words: a compression Pillow cannot decode
(JPEG 2000, LERC, JPEG XL...) or a damaged page, rather than "unrecognised content" (the file is a TIFF by its
first bytes). Used by :func:`colorsplash.runtime.pictures.picture_open.open_unchecked`."""

from __future__ import annotations

import struct
from contextlib import nullcontext
from pathlib import Path
from typing import IO

from PIL import TiffImagePlugin, UnidentifiedImageError

__all__ = ["UnsupportedCompressionError", "first_compression", "is_tiff", "tiff_refusal"]

# TIFF compression numbers (tag 259) Pillow has no decoder for, by the name their makers give them
_COMPRESSION_NAMES = {
    9: "JBIG (T.85)",
    10: "JBIG (T.43)",
    32908: "Pixar film",
    32909: "Pixar log",
    33003: "JPEG 2000 (Aperio)",
    33005: "JPEG 2000 (Aperio)",
    34661: "JBIG",
    34712: "JPEG 2000",
    34713: "Nikon's raw compression",
    34715: "JBIG2",
    34887: "LERC",
    34892: "DNG's lossy JPEG",
    34933: "PNG",
    34934: "JPEG XR",
    50002: "JPEG XL",
    52546: "DNG's JPEG XL",
}
_SAVE_AS = "save it as a TIFF with LZW, Deflate or no compression, or as PNG or JPEG"


class UnsupportedCompressionError(UnidentifiedImageError):
    """A TIFF whose first page is compressed by a method Pillow cannot decode; the message says which and what
    to do (without the file's name)."""


def is_tiff(prefix: bytes) -> bool:
    """Whether the first bytes of a file are a TIFF's (BigTIFF's too), as Pillow's TIFF reader accepts them."""
    return prefix[:4] in TiffImagePlugin.PREFIXES


def first_compression(source: str | Path | IO[bytes]) -> int | None:
    """The Compression tag (259) of a TIFF's first directory (1, none, where it has no such tag); ``None`` when
    that directory cannot be read."""
    try:
        with open(source, "rb") if isinstance(source, (str, Path)) else nullcontext(source) as fp:
            fp.seek(0)
            header = fp.read(8)
            if header[2:3] == b"\x2b":  # BigTIFF: 16 bytes (as Pillow's reader reads it)
                header += fp.read(8)
            directory = TiffImagePlugin.ImageFileDirectory_v2(header)
            fp.seek(directory.next)
            directory.load(fp)
    except (OSError, SyntaxError, ValueError, struct.error):
        return None
    code = directory.get(259, 1)
    return code if isinstance(code, int) else None


def tiff_refusal(damage: BaseException, compression: int | None) -> Exception:
    """The error for a TIFF (by its first bytes) whose first page Pillow's reader refused with ``damage``: an
    :class:`UnsupportedCompressionError` naming the compression where the reader did not know it (Pillow's
    ``KeyError`` of the compression number, under its ``SyntaxError``, and that number the first page's
    ``compression``: :func:`first_compression`; the ``KeyError`` of a missing tag, e.g. a palette page's ColorMap,
    is not), else a ``ValueError`` "damaged TIFF"."""
    cause = damage.__cause__
    code = cause.args[0] if isinstance(cause, KeyError) and cause.args else None
    if isinstance(code, int) and code == compression and code not in TiffImagePlugin.COMPRESSION_INFO:
        method = _COMPRESSION_NAMES.get(code, "an unknown method")
        return UnsupportedCompressionError(
            f"a TIFF compressed with {method} (compression {code}), which Pillow cannot decode; {_SAVE_AS}"
        )
    return ValueError(f"damaged TIFF: {damage}")
