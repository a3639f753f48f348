"""What a TIFF whose first page Pillow's reader refuses is, in a user's words: a compression Pillow cannot decode
(JPEG 2000, LERC, JPEG XL...) or a damaged page, rather than "unrecognised content" (the file is a TIFF by its
first bytes). Used by :func:`colorsplash.runtime.picture_open.open_unchecked`."""

from __future__ import annotations

from PIL import TiffImagePlugin, UnidentifiedImageError

__all__ = ["UnsupportedCompressionError", "is_tiff", "tiff_refusal"]

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


def tiff_refusal(damage: BaseException) -> Exception:
    """The error for a TIFF (by its first bytes) whose first page Pillow's reader refused with ``damage``: an
    :class:`UnsupportedCompressionError` naming the compression where the reader did not know it (Pillow's
    ``KeyError`` of the compression number, under its ``SyntaxError``), else a ``ValueError`` "damaged TIFF"."""
    cause = damage.__cause__
    code = cause.args[0] if isinstance(cause, KeyError) and cause.args else None
    if isinstance(code, int) and code not in TiffImagePlugin.COMPRESSION_INFO:
        method = _COMPRESSION_NAMES.get(code, "an unknown method")
        return UnsupportedCompressionError(
            f"a TIFF compressed with {method} (compression {code}), which Pillow cannot decode; {_SAVE_AS}"
        )
    return ValueError(f"damaged TIFF: {damage}")
