"""HEIC/HEIF photos (iPhones' default since 2017) through the optional ``pillow-heif`` package.

Pillow has no HEIF reader of its own. With ``pip install 'colorsplash[heif]'`` the reader of ``pillow-heif``
(libheif) is registered with Pillow the first time a file's first bytes say HEIC/HEIF, so a process that never
meets such a file never imports it. Without the package such a photo is refused in words that name the extra.

Decoded HEIF photos come upright: libheif applies the file's rotation and mirroring, and ``pillow-heif`` writes
orientation 1 in the EXIF it hands over, so nothing is turned twice. Results are written as JPEG
(:func:`colorsplash.runtime.pictures.photo_write.output_format`): no HEIF encoder is assumed.
"""

from __future__ import annotations

import importlib

from colorsplash.runtime.fork_safe import ForkSafeLock

__all__ = ["HEIF_AVC_BRANDS", "HEIF_BRANDS", "HEIF_INSTALL", "has_heif_reader", "is_heif"]

HEIF_INSTALL = "pip install 'colorsplash[heif]'"
# ISO-BMFF major brands (``ftyp`` box at byte 4, brand at 8-12) that pillow-heif's reader takes -> the name users
# know the format by (ISO/IEC 23008-12 annex B): HEVC images ``heic`` (Main), ``heix`` (Main 10, RExt), ``heim``
# and ``heis`` (multi-layer, scalable); HEVC image sequences ``hevc``, ``hevx``, ``hevm``, ``hevs`` (bursts,
# animations: the primary picture is read); the structural brands ``mif1`` and ``msf1``.
HEIF_BRANDS = {brand: "HEIC" for brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs")}
HEIF_BRANDS |= {b"mif1": "HEIF", b"msf1": "HEIF"}
# HEIF of AVC (H.264) pictures (annex E: ``avci`` images, ``avcs`` sequences): pillow-heif's reader does not take
# them (its check accepts the brands above only; libheif would need its optional openh264 decoder), so they are
# named as a format colorsplash does not read, not as HEIC (installing pillow-heif would not help) nor as videos.
HEIF_AVC_BRANDS = {b"avci": "AVC-coded HEIF", b"avcs": "AVC-coded HEIF"}

_LOCK = ForkSafeLock()
_registered: bool | None = None  # None: not tried yet in this process


def is_heif(prefix: bytes) -> str | None:
    """The format's name, ``HEIC`` or ``HEIF``, when the first 12+ bytes of a file are an ISO-BMFF ``ftyp`` box of
    the brands of :data:`HEIF_BRANDS`; ``None`` otherwise."""
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
