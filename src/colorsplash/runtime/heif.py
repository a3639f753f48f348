"""HEIC/HEIF photos (iPhones' default since 2017) through the optional ``pillow-heif`` package.

Pillow has no HEIF reader of its own. With ``pip install 'colorsplash[heif]'`` the reader of ``pillow-heif``
(libheif) is registered with Pillow the first time a file's first bytes say HEIC/HEIF, so a process that never
meets such a file never imports it. Without the package such a photo is refused in words that name the extra.

Decoded HEIF photos come upright: libheif applies the file's rotation and mirroring, and ``pillow-heif`` writes
orientation 1 in the EXIF it hands over, so nothing is turned twice. Results are written as JPEG
(:func:`colorsplash.runtime.photo_write.output_format`): no HEIF encoder is assumed.
"""

from __future__ import annotations

import importlib
import threading

__all__ = ["HEIF_BRANDS", "HEIF_INSTALL", "has_heif_reader", "is_heif"]

HEIF_INSTALL = "pip install 'colorsplash[heif]'"
# ISO-BMFF major brands (``ftyp`` box at byte 4, brand at 8-12) -> the name users know the format by.
HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"heim": "HEIC", b"heis": "HEIC"}
HEIF_BRANDS |= {b"mif1": "HEIF", b"msf1": "HEIF"}

_LOCK = threading.Lock()
_registered: bool | None = None  # None: not tried yet in this process


def is_heif(prefix: bytes) -> str | None:
    """ "HEIC" or "HEIF" when the first 12+ bytes of a file are an ISO-BMFF ``ftyp`` box of those brands."""
    return HEIF_BRANDS.get(prefix[8:12]) if prefix[4:8] == b"ftyp" else None


def has_heif_reader() -> bool:
    """Register ``pillow-heif``'s reader with Pillow (once per process) and say whether there is one.

    Its defaults are kept (thumbnails, depth maps and auxiliary pictures are listed, decoded only when asked
    for; the option names to turn them off differ between pillow-heif versions).
    """
    global _registered
    with _LOCK:
        if _registered is None:
            try:
                module = importlib.import_module("pillow_heif")
            except ImportError:
                _registered = False
            else:
                module.register_heif_opener()
                _registered = True
        return _registered
