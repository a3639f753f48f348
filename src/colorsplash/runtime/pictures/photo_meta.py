"""The metadata a result carries from its photo: the one owner of what is copied (writing it:
:mod:`colorsplash.runtime.pictures.photo_write`).

- EXIF: the IFD0 tags that describe the photo (``_METADATA_TAGS``: camera, dates, artist, copyright, and the Exif
  and GPS sub-IFDs), orientation 1 (results are written upright), the Exif sub-IFD's pixel width and height
  those of the result; never the layout tags of a TIFF (a result nothing can open), nor a thumbnail.
- XMP: from a JPEG's APP1 segment, a PNG's ``XML:com.adobe.xmp`` text, a WebP's or HEIF's XMP, or a TIFF's tag
  700; cleaned by :func:`colorsplash.runtime.pictures.xmp.clean_xmp` (ratings, keywords, captions, creator kept; gain
  maps, motion photos, develop settings, thumbnails and stale sizes dropped).
- IPTC: a JPEG's Photoshop resources (APP13), only those of ``_IRB_KEPT`` (the IPTC records of captions,
  keywords, credit..., their digest, copyright flag and URL): never the thumbnail (resource 1036), nor an XMP or
  ICC copy that would bypass the two rules above. A TIFF's IPTC (tag 33723) travels with its EXIF.
- ICC profile: the picture's own (or the one :func:`colorsplash.runtime.pictures.colour_profile.picture_icc` builds)
  when it describes RGB; a CMYK or grey profile would be wrong for the RGB result.

:func:`carried_metadata` applies all of these to what the reader found (:class:`FoundMetadata`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

from colorsplash.runtime.pictures.colour_profile import icc_space
from colorsplash.runtime.pictures.page_count import heavy_exif
from colorsplash.runtime.pictures.picture_open import READ_ERRORS, warnings_as_notes
from colorsplash.runtime.pictures.png_text import UNREAD_TEXT
from colorsplash.runtime.pictures.xmp import XmpTarget, XmpUnusable, clean_xmp

__all__ = [
    "SUB_IFDS",
    "Carried",
    "FoundMetadata",
    "carried_metadata",
    "damaged_exif_note",
    "metadata_exif",
    "read_sub_ifds",
    "read_xmp",
    "result_iptc",
    "result_xmp",
]

ORIENTATION_TAG = 0x0112
XMP_TAG = 700  # a TIFF's XMP, in IFD0
PNG_XMP_KEY = "XML:com.adobe.xmp"  # a PNG's XMP text chunk
_EXIF_IFD, _INTEROP_IFD = 0x8769, 0xA005
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
SUB_IFDS = (_EXIF_IFD, 0x8825, _INTEROP_IFD)  # the Exif, GPS and Interop directories (Pillow's TAGS_V2_GROUPS)
# EXIF/TIFF IFD0 tags that describe the photo, not how its pixels are stored: the only ones copied to a result.
# A TIFF's IFD0 is its EXIF block, and copying its layout tags (sizes, strips, bits, compression...) into a
# result makes a file that nothing can open. XMP (700) is not among them: it is cleaned on its own.
_METADATA_TAGS = frozenset(
    {
        269,
        270,
        271,
        272,
        274,
        282,
        283,
        285,
        296,
        305,
        306,
        315,
        316,
        318,
        319,
        18246,
        18249,
        33432,
        33723,
        34665,
        34853,
        40091,
        40092,
        40093,
        40094,
        40095,
        42016,
        42032,
        42033,
        42034,
        42035,
        42036,
        42037,
    }
)
JPEG_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
JPEG_IRB_HEADER = b"Photoshop 3.0\x00"
_IRB_KEPT = frozenset({0x0404, 0x0425, 0x040A, 0x040B})  # IPTC-NAA records, their MD5, copyright flag, URL


@dataclass(frozen=True)
class Carried:
    """The metadata a result carries: ``exif`` (an EXIF block), ``icc`` (an RGB ICC profile), ``xmp`` (a cleaned
    XMP packet, UTF-8) and ``iptc`` (Photoshop resources, the body of an APP13 segment after its header)."""

    exif: bytes | None = None
    icc: bytes | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None


# Pillow's warnings on damaged EXIF, as a short detail of damaged_exif_note: "Corrupt EXIF data.  Expecting to read
# 12 bytes but only got 0", "Tag data larger than file. Skipping tag 270", ...; any other, cut to _MAX_DETAIL.
_EXPECTED = re.compile(r"Expecting to read (\d+) bytes but only got (\d+)")
_WARNING_WORDS = (
    ("Tag data larger than file", "a value larger than the file"),
    ("Tag offset too large", "a value placed past the end of the file"),
    ("too many entries", "a value with more parts than it may have"),
    ("Truncated File Read", "cut short"),  # older Pillow (10) for a value larger than the file
)
_MAX_DETAIL = 80


@dataclass(frozen=True)
class FoundMetadata:
    """What a picture holds, as its reader found it: ``img``, the opened picture (its ``format``, ``info`` and a
    JPEG's ``applist``; it may be closed), its ``exif``, Pillow's warnings while reading that EXIF
    (``exif_warnings``, each naming the file: a corrupt block) and its ICC profile ``icc`` (any colour space)."""

    img: Image.Image
    exif: Image.Exif
    exif_warnings: list[str]
    icc: bytes | None


def carried_metadata(found: FoundMetadata, size: tuple[int, int], name: str, notes: list[str]) -> Carried:
    """What a result of ``size`` (width, height, upright) carries of ``found`` (see the module's docstring); what
    is left out for a reason the user should know gets a note in ``notes``, naming ``name``. EXIF that Pillow
    warned about is not copied (its orientation was used)."""
    icc = found.icc if icc_space(found.icc) == "RGB" else None
    xmp = result_xmp(found.img, found.exif, XmpTarget(size, icc is not None), name, notes)
    exif = None
    if found.exif_warnings:
        notes.append(damaged_exif_note(name, found.exif_warnings))
    else:
        exif = metadata_exif(found.exif, size, name, notes)
    return Carried(exif, icc, xmp, result_iptc(found.img, name, notes))


def read_sub_ifds(exif: Image.Exif, name: str, warned: list[str], raw: object = None) -> None:
    """Read ``exif``'s sub-directories (Exif, GPS, Interop) now, inside the caller's block of Pillow's warnings on
    its EXIF (``warned``, each naming ``name``): a damaged one makes the EXIF damaged (not copied, one note), instead
    of a line on stderr when the copy (:func:`metadata_exif`) or a TIFF's loading reads it. One that cannot be read
    at all is added to ``warned``. Only the directories the EXIF points to are read: Pillow's ``get_ifd`` of an
    absent one adds it empty, and ``tobytes`` then writes it (a result's EXIF gained empty Exif and GPS
    directories, and a TIFF result was written uncompressed for them). An EXIF block (``raw``: a PNG's or WebP's,
    as Pillow found it) of millions of fractions is damaged as it is, none of it read (:func:`.heavy_exif`)."""
    heavy = heavy_exif(raw) if isinstance(raw, bytes) else None
    if heavy is not None:  # reading one such entry took 19 s
        warned.append(f"{name}: {heavy}")
        return
    for tag in SUB_IFDS:
        if (_EXIF_IFD if tag == _INTEROP_IFD else tag) not in exif:
            continue  # Interop is pointed to from the Exif directory, the others from IFD0
        try:
            exif.get_ifd(tag)
        except KeyError:  # absent: Pillow 10 raises where later versions answer {}
            continue
        except READ_ERRORS as err:
            warned.append(f"{name}: {' '.join(str(err).split()) or type(err).__name__}")


def damaged_exif_note(name: str, warned: list[str]) -> str:
    """The one note of a photo ``name`` whose EXIF Pillow warned about (``warned``: its warnings, each naming
    the file): in plain words what became of it, Pillow's first warning as a short detail in brackets."""
    more = f"; {len(warned) - 1} more problem(s)" if len(warned) > 1 else ""
    detail = _warning_detail(warned[0].removeprefix(f"{name}: "))
    return f"{name}: EXIF metadata (camera, dates, GPS) is damaged ({detail}{more}); not copied to the result"


def _warning_detail(text: str) -> str:
    """Pillow's warning ``text`` on damaged EXIF as a short detail (:data:`_WARNING_WORDS`), else cut short."""
    short = _EXPECTED.search(text)
    if short:
        return f"cut short: {short[1]} bytes expected, {short[2]} found"
    return next((plain for words, plain in _WARNING_WORDS if words in text), text[:_MAX_DETAIL])


def metadata_exif(exif: Image.Exif, size: tuple[int, int], name: str, notes: list[str]) -> bytes | None:
    """The EXIF block to copy into a result of ``size`` (width, height): descriptive tags only (see
    ``_METADATA_TAGS``), orientation 1, the Exif sub-IFD's pixel dimensions ``size`` where it has them; ``None``
    when nothing is left or it cannot be re-encoded, or Pillow warned while writing it (then a note says so)."""
    for tag in [t for t in exif if t not in _METADATA_TAGS]:
        del exif[tag]
    if not len(exif):
        return None
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1
    warned: list[str] = []  # Pillow's warnings while writing it: a value it changed to write ("too many entries")
    try:
        with warnings_as_notes(name, warned):
            if _EXIF_IFD in exif:  # a camera's width and height as stored, before its orientation turned them
                sub = exif.get_ifd(_EXIF_IFD)
                for tag, value in ((_PIXEL_X, size[0]), (_PIXEL_Y, size[1])):
                    if tag in sub:
                        sub[tag] = value
            block = exif.tobytes()
    except (ValueError, TypeError, struct.error, OSError) as err:
        why = f"holds a value that cannot be written ({err})"
        notes.append(f"{name}: EXIF data (camera, dates, GPS) {why}; not copied to the result")
        return None
    if warned:
        notes.append(damaged_exif_note(name, warned))
        return None
    return block


def read_xmp(img: Image.Image, exif: Image.Exif) -> bytes | None:
    """The XMP packet of an opened picture, as stored (``None`` when it has none): a JPEG's first standard XMP
    segment (Pillow 10 has no ``info["xmp"]`` for JPEG), the ``xmp`` Pillow reads from other formats, a PNG's
    ``XML:com.adobe.xmp`` text (Pillow < 11, or a tEXt/zTXt chunk), or EXIF tag 700 (a TIFF's, or one a JPEG's
    EXIF carries); text as :func:`_stored_bytes` turns it back into bytes.

    Raises:
        XmpUnusable: a PNG's XMP chunk was left out to open the picture (:mod:`colorsplash.runtime.pictures.png_text`).
    """
    if img.format in ("JPEG", "MPO"):
        for marker, body in getattr(img, "applist", []):
            if marker == "APP1" and body.startswith(JPEG_XMP_HEADER):
                return bytes(body[len(JPEG_XMP_HEADER) :])
    found = img.info.get("xmp") or img.info.get(PNG_XMP_KEY) or exif.get(XMP_TAG)
    if isinstance(found, str):
        return _stored_bytes(found)
    if isinstance(found, (bytes, bytearray)) and found:
        return bytes(found)
    unread = img.info.get(UNREAD_TEXT, {}).get(PNG_XMP_KEY)
    if unread:
        raise XmpUnusable(f"{unread}; the picture was read without it")
    return None


def _stored_bytes(text: str) -> bytes:
    """The bytes of XMP that Pillow handed over as text. A PNG's iTXt is UTF-8 (Pillow decoded it so); a tEXt or
    zTXt chunk, or an EXIF string, Pillow decodes as Latin-1 (the PNG rule): its bytes as stored when they are
    UTF-8 (XMP's own encoding, which writers put there; encoding the Latin-1 reading again as UTF-8 garbled every
    accented letter: ``é`` became ``Ã©``), else the Latin-1 text read, in UTF-8."""
    if not isinstance(text, PngImagePlugin.iTXt):
        try:
            stored = text.encode("latin-1")
            stored.decode("utf-8")
            return stored
        except UnicodeError:
            pass  # Latin-1 indeed (or not Latin-1 text): as read
    return text.encode("utf-8")


def result_xmp(img: Image.Image, exif: Image.Exif, target: XmpTarget, name: str, notes: list[str]) -> bytes | None:
    """:func:`colorsplash.runtime.pictures.xmp.clean_xmp` of the picture's packet (:func:`read_xmp`); ``None`` with a
    note when it is unusable."""
    try:
        packet = read_xmp(img, exif)
        return clean_xmp(packet, target) if packet else None
    except XmpUnusable as err:
        notes.append(f"{name}: XMP metadata not copied to the result: {err}")
        return None


def result_iptc(img: Image.Image, name: str, notes: list[str]) -> bytes | None:
    """The Photoshop resources of a JPEG's APP13 segments that a result keeps (``_IRB_KEPT``), as the body of an
    APP13 segment after its ``Photoshop 3.0`` header; ``None`` when there are none. A malformed block is not
    copied (a note says so)."""
    if img.format not in ("JPEG", "MPO"):
        return None
    bodies = [b for m, b in getattr(img, "applist", []) if m == "APP13" and b.startswith(JPEG_IRB_HEADER)]
    if not bodies:
        return None
    try:
        kept = _kept_resources(b"".join(bytes(b[len(JPEG_IRB_HEADER) :]) for b in bodies))
    except ValueError as err:
        notes.append(f"{name}: IPTC metadata (captions, keywords, credit) is damaged ({err}); not copied")
        return None
    return kept or None


def _kept_resources(block: bytes) -> bytes:
    """The resources of ``_IRB_KEPT`` in a Photoshop image resource block, byte for byte.

    Raises:
        ValueError: a resource runs past the block's end or does not start with its signature.
    """
    kept, pos = bytearray(), 0
    while pos < len(block):
        if block[pos : pos + 4] != b"8BIM" or pos + 7 > len(block):
            if not block[pos:].strip(b"\x00"):  # zero padding to the end (looked at once: not per resource)
                break
            raise ValueError(f"no resource signature at byte {pos}")
        rid = int.from_bytes(block[pos + 4 : pos + 6], "big")
        name_len = block[pos + 6] + 1
        size_at = pos + 6 + name_len + name_len % 2  # the Pascal name is padded to an even length
        if size_at + 4 > len(block):
            raise ValueError(f"resource {rid} cut off")
        size = int.from_bytes(block[size_at : size_at + 4], "big")
        end = size_at + 4 + size + size % 2
        if size_at + 4 + size > len(block):
            raise ValueError(f"resource {rid} of {size:,} bytes runs past the end")
        if rid in _IRB_KEPT:
            kept += block[pos:end]
        pos = end
    return bytes(kept)
