"""Writing results in the input's format, atomically, with the input's EXIF, ICC profile, XMP and IPTC (what is
carried: :mod:`colorsplash.runtime.pictures.photo_meta`).

Writes go to a temporary file in the destination folder, which is read back and checked before it gets its name
(``os.replace``, or a no-clobber link with ``replace=False``): an interrupted run never leaves a half-written
picture, a result that cannot be opened is an error, and an existing file is only ever replaced whole. Reading
photos: :mod:`colorsplash.runtime.pictures.photo_io`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.pictures.colour_profile import to_srgb
from colorsplash.runtime.pictures.jpeg_bands import JPEG_MAX_SIDE, encode_jpeg
from colorsplash.runtime.pictures.jpeg_markers import ends_jpeg
from colorsplash.runtime.pictures.photo_meta import (
    JPEG_IRB_HEADER,
    JPEG_XMP_HEADER,
    PNG_XMP_KEY,
    SUB_IFDS,
    XMP_TAG,
    Carried,
)
from colorsplash.runtime.pictures.picture_open import READ_ERRORS, load_pixels, open_unchecked
from colorsplash.runtime.pictures.xmp import MAX_XMP_BYTES

__all__ = [
    "ALPHA_FORMATS",
    "FORMAT_EXTENSIONS",
    "MAX_SIDE",
    "side_problem",
    "check_encoded",
    "encode_image",
    "metadata_notes",
    "format_for_suffix",
    "output_format",
    "write_image",
    "write_stdout",
]

# Pillow format name -> file extensions, the first one canonical.
FORMAT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "PNG": (".png",),
    "WEBP": (".webp",),
    "TIFF": (".tif", ".tiff"),
    "BMP": (".bmp",),
    "GIF": (".gif",),
}
ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")  # the formats written here that hold transparency
# The largest side each format holds (its encoder's limit: libjpeg-turbo's, WebP's 14 bits, GIF's 16); PNG, TIFF, BMP
# hold more than the pixel limit allows.
MAX_SIDE = {"JPEG": JPEG_MAX_SIDE, "WEBP": 16383, "GIF": 65535}
_PHONE_FORMATS = ("MPO", "HEIF", "AVIF")  # multi-picture JPEG, HEIC, AVIF: photos, written as JPEG
_MAX_SEGMENT = 65533  # largest JPEG marker segment payload
_ICC_CHUNK = _MAX_SEGMENT - 14  # an APP2 segment's share of an ICC profile, after "ICC_PROFILE\0", number, count
_MAX_ICC = 255 * _ICC_CHUNK  # the segments are numbered in one byte: a larger profile does not fit a JPEG
# The most a JPEG result carries of each piece of metadata, bytes: one segment after its header (EXIF, XMP, IPTC),
# 255 numbered segments (ICC). Larger is dropped by :func:`_encode_jpeg` and noted by :func:`metadata_notes`.
_JPEG_ROOM = {
    "EXIF": _MAX_SEGMENT,
    "XMP": _MAX_SEGMENT - len(JPEG_XMP_HEADER),
    "IPTC": _MAX_SEGMENT - len(JPEG_IRB_HEADER),
    "ICC profile": _MAX_ICC,
}
_METADATA_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")  # the formats written with EXIF, ICC and XMP


def side_problem(width: int, height: int, fmt: str, instead: str = "write it as PNG or TIFF") -> str | None:
    """Why a ``width x height`` result cannot be written as ``fmt`` (a side longer than it holds, :data:`MAX_SIDE`),
    ending in ``instead``, which format to choose (the server's words: it writes no TIFF); ``None`` when it fits.
    The one rule: the encoder's refusal and the plan's, which knows the size from the header, before anything is
    decoded (a 66000x1500 panorama to ``-o x.jpg`` was refused after 14 s of work and 2 GB)."""
    if max(width, height) <= MAX_SIDE.get(fmt, max(width, height)):
        return None
    return f"a {width}x{height} result is too large for {fmt} (at most {MAX_SIDE[fmt]:,} pixels a side); {instead}"


def output_format(input_format: str | None, input_suffix: str, alpha: bool = False) -> tuple[str, str]:
    """(Pillow format, file extension) for a result: the input's format; JPEG for the phones' lossy formats not
    written here (MPO, HEIF, AVIF: a 12 MP photo as PNG would be 5-10x larger); PNG when the format is unknown or
    cannot hold transparency. The input's own extension is kept when it names that format (``.JPG`` stays
    ``.JPG``)."""
    fmt = "JPEG" if input_format in _PHONE_FORMATS else input_format
    fmt = fmt if fmt in FORMAT_EXTENSIONS else "PNG"
    if alpha and fmt not in ALPHA_FORMATS:
        fmt = "PNG"
    exts = FORMAT_EXTENSIONS[fmt]
    return fmt, input_suffix if input_suffix.lower() in exts else exts[0]


def encode_image(
    array: np.ndarray,
    fmt: str,
    quality: int = 95,
    exif: bytes | None = None,
    icc: bytes | None = None,
    prepare: Callable[[slice], None] | None = None,
    *,
    full_chroma: bool = False,
    xmp: bytes | None = None,
    iptc: bytes | None = None,
    lossless: bool = False,
) -> bytes:
    """Encode RGB ``HxWx3``, RGBA ``HxWx4`` or grey ``HxW`` uint8 pixels as ``fmt`` (a Pillow format name).

    ``quality`` applies to JPEG and WebP (grey ``HxW`` pixels, a mask, and any picture with ``lossless``, the
    input was a lossless WebP, are written lossless in WebP); EXIF, ICC
    and XMP (a packet, UTF-8) are embedded where the format allows (JPEG, PNG, WebP, TIFF; a BMP or GIF gets none,
    its pixels converted from ``icc`` to sRGB: :func:`~colorsplash.runtime.pictures.colour_profile.to_srgb`), and
    ``iptc``
    (Photoshop resources, see :class:`colorsplash.runtime.pictures.photo_io.Photo`) in a JPEG; what does not fit is left
    out (see :func:`metadata_notes`: XMP is never over what colorsplash reads back). A colour JPEG keeps
    full-resolution colour (4:4:4) with ``full_chroma`` (the input had it), else has 4:2:0 as cameras write.
    ``prepare(rows)`` may fill ``array[rows]`` in place just before those rows are encoded: colour JPEGs are
    encoded in bands on all cores (:mod:`colorsplash.runtime.pictures.jpeg_bands`), later bands prepared while earlier
    ones encode; other formats get one call for all rows first.

    Raises:
        ValueError: a side longer than ``fmt`` holds (:data:`MAX_SIDE`), saying which formats hold it.
    """
    h, w = array.shape[:2]
    if (too_large := side_problem(w, h, fmt)) is not None:
        raise ValueError(too_large)
    carried = Carried(exif, icc, xmp, iptc)
    if fmt == "JPEG" and array.ndim == 3 and array.shape[2] == 3:
        return _encode_jpeg(array, quality, carried, prepare, full_chroma)
    if prepare is not None:
        prepare(slice(0, array.shape[0]))
    if fmt == "JPEG" and array.ndim == 3:
        return _encode_jpeg(np.ascontiguousarray(array[..., :3]), quality, carried, full_chroma=full_chroma)
    if icc and fmt not in _METADATA_FORMATS and array.ndim == 3:  # BMP, GIF: no profile, so sRGB's numbers
        array = to_srgb(array, icc)
    img = Image.fromarray(np.ascontiguousarray(array))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **_save_params(fmt, img.mode, quality, carried, lossless))
    return buf.getvalue()


def _save_params(fmt: str, mode: str, quality: int, carried: Carried, lossless: bool = False) -> dict[str, Any]:
    """Pillow's ``save`` options for a picture of Pillow ``mode`` written as ``fmt`` (not a colour JPEG's, which
    :func:`_encode_jpeg` writes), with the metadata ``carried`` where the format holds it; ``lossless``: a WebP
    without loss (its input was one)."""
    exif, icc, xmp = carried.exif, carried.icc, carried.xmp
    params: dict[str, Any] = {}
    if fmt == "JPEG":
        params = {"quality": quality}
    elif fmt == "WEBP":  # grey is a mask: lossless (lossy WebP stores it as colour and moved values by up to 6)
        params = {"lossless": True} if mode == "L" or lossless else {"quality": quality, "method": 4}
    elif fmt == "PNG":
        params = {"compress_level": 3}  # ~2x faster than the default 6 for a few percent more bytes
    elif fmt == "TIFF":
        params = {"compression": _tiff_compression(exif)}
    if exif and fmt in _METADATA_FORMATS:
        params["exif"] = exif
    if icc and fmt in _METADATA_FORMATS and mode in ("RGB", "RGBA"):
        params["icc_profile"] = icc
    if _fits(xmp, fmt, "XMP"):
        params.update(_xmp_params(fmt, xmp, exif))
    return params


def _tiff_compression(exif: bytes | None) -> str:
    """Deflate for a TIFF result, or none (``raw``) when its ``exif`` points to a sub-directory
    (:data:`~colorsplash.runtime.pictures.photo_meta.SUB_IFDS`: a camera's exposure and dates, the GPS position): Pillow
    writes compressed TIFFs through libtiff, which refuses them ("Error setting from dictionary"); its own writer,
    of uncompressed TIFFs, writes them."""
    if not exif:
        return "tiff_adobe_deflate"
    tags = Image.Exif()
    tags.load(exif)
    return "raw" if any(tag in tags for tag in SUB_IFDS) else "tiff_adobe_deflate"


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def _encode_jpeg(
    rgb: np.ndarray,
    quality: int,
    carried: Carried,
    prepare: Callable[[slice], None] | None = None,
    full_chroma: bool = False,
) -> bytes:
    """RGB uint8 -> JPEG bytes with OpenCV (libjpeg-turbo, 4:2:0 like Pillow or 4:4:4 with ``full_chroma``;
    large pictures in bands on all cores, see :func:`colorsplash.runtime.pictures.jpeg_bands.encode_jpeg`), EXIF, XMP,
    ICC and IPTC spliced in as the APP1, APP1, APP2 and APP13 segments that cameras and Photoshop write. What does not
    fit one segment (EXIF, XMP, IPTC) or 255 (ICC) is dropped: :func:`metadata_notes` says so; extended XMP is not
    written."""
    data = encode_jpeg(rgb, quality, prepare, full_chroma=full_chroma)
    segments = []
    exif, icc, xmp, iptc = carried.exif, carried.icc, carried.xmp, carried.iptc
    if _fits(exif, "JPEG", "EXIF"):  # longer EXIF (huge thumbnails) cannot fit a JPEG segment: dropped
        segments.append(_segment(0xE1, exif))
    if _fits(xmp, "JPEG", "XMP"):
        segments.append(_segment(0xE1, JPEG_XMP_HEADER + xmp))
    if _fits(icc, "JPEG", "ICC profile"):
        parts = [icc[i : i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
        for i, part in enumerate(parts, 1):
            segments.append(_segment(0xE2, b"ICC_PROFILE\x00" + bytes((i, len(parts))) + part))
    if _fits(iptc, "JPEG", "IPTC"):
        segments.append(_segment(0xED, JPEG_IRB_HEADER + iptc))
    pos = 2  # after SOI, and after OpenCV's JFIF APP0 segment when present
    if data[2:4] == b"\xff\xe0":
        pos = 4 + int.from_bytes(data[4:6], "big")
    return data[:pos] + b"".join(segments) + data[pos:]


def _xmp_params(fmt: str, xmp: bytes, exif: bytes | None) -> dict[str, Any]:
    """Pillow's save arguments that write ``xmp`` into a ``fmt`` file (Pillow 10 has no ``xmp=`` for PNG, JPEG or
    TIFF): a PNG's ``XML:com.adobe.xmp`` text, a WebP's XMP chunk, a TIFF's tag 700 (added to its ``exif``).
    Nothing for the formats that have no place for it (BMP, GIF)."""
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt(PNG_XMP_KEY, xmp.decode("utf-8"), zip=False)
        return {"pnginfo": info}
    if fmt == "WEBP":
        return {"xmp": xmp}
    if fmt == "TIFF":
        tags = Image.Exif()
        if exif:
            tags.load(exif)
        tags[XMP_TAG] = xmp
        return {"exif": tags.tobytes()}
    return {}


def metadata_notes(
    fmt: str,
    exif: bytes | None,
    name: str,
    xmp: bytes | None = None,
    iptc: bytes | None = None,
    icc: bytes | None = None,
) -> list[str]:
    """Notes for the metadata that a ``fmt`` result will not carry because it does not fit (:func:`encode_image`
    drops it silently): EXIF, XMP or IPTC larger than one JPEG segment, an ICC profile larger than 255, XMP larger
    than colorsplash reads (:data:`colorsplash.runtime.pictures.xmp.MAX_XMP_BYTES`: a packet written again can grow); in
    a BMP or GIF, which hold none, all of it (:func:`_no_room_notes`)."""
    if fmt not in _METADATA_FORMATS:
        return _no_room_notes(fmt, name, exif, xmp, iptc, icc)
    carried = (("EXIF", exif), ("XMP", xmp), ("IPTC", iptc), ("ICC profile", icc))
    return [_unfit_note(fmt, kind, len(data), name) for kind, data in carried if data and not _fits(data, fmt, kind)]


def _no_room_notes(
    fmt: str, name: str, exif: bytes | None, xmp: bytes | None, iptc: bytes | None, icc: bytes | None
) -> list[str]:
    """The notes of a ``fmt`` result that holds no metadata (BMP, GIF): which of the photo's EXIF, XMP and IPTC
    are not copied, and that its colours were converted from its ICC profile to sRGB (see :func:`encode_image`)."""
    article = f"a {fmt}"
    kinds = [kind for kind, data in (("EXIF", exif), ("XMP", xmp), ("IPTC", iptc)) if data]
    notes = []
    if kinds:
        listed = ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0]
        keeps = "a JPEG result" if "IPTC" in kinds else "a JPEG, PNG, WebP or TIFF result"  # IPTC: JPEG only
        notes.append(f"{name}: {article} holds no {listed} metadata; not copied ({keeps} keeps it)")
    if icc:
        notes.append(f"{name}: {article} holds no colour profile; colours converted from the picture's profile to sRGB")
    return notes


def _unfit_note(fmt: str, kind: str, size: int, name: str) -> str:
    """The note of ``kind`` metadata of ``size`` bytes that a ``fmt`` result does not carry. For EXIF or XMP too
    large for a JPEG it says what to do: a PNG result keeps it (PNG holds any EXIF, and XMP up to what colorsplash
    reads). IPTC is written to JPEGs only; an ICC profile over 16.7 MB gets no advice."""
    if fmt == "JPEG":
        keeps = "; a PNG result keeps it" if kind in ("EXIF", "XMP") else ""
        return f"{name}: {kind} of {size:,} bytes does not fit a JPEG (at most {_JPEG_ROOM[kind]:,}); not copied{keeps}"
    return (
        f"{name}: XMP of {size:,} bytes once cleaned is more than colorsplash reads (at most {MAX_XMP_BYTES:,}); "
        "not copied"
    )


def _fits(data: bytes | None, fmt: str, kind: str) -> TypeGuard[bytes]:
    """Whether ``data`` (a ``kind`` of :data:`_JPEG_ROOM`) is there and fits a ``fmt`` result: a JPEG's room, at
    most :data:`colorsplash.runtime.pictures.xmp.MAX_XMP_BYTES` of XMP in any format (the most its reader takes: a
    result must read back with its XMP), no limit on the rest in other formats."""
    if not data:
        return False
    if fmt == "JPEG":
        return len(data) <= _JPEG_ROOM[kind]
    return kind != "XMP" or len(data) <= MAX_XMP_BYTES


def format_for_suffix(suffix: str) -> str | None:
    """Pillow format written for a file extension (``.JPG`` -> ``JPEG``), ``None`` when we do not write it."""
    return next((fmt for fmt, exts in FORMAT_EXTENSIONS.items() if suffix.lower() in exts), None)


def check_encoded(data: bytes, fmt: str, size: tuple[int, int], name: str, encoded: bytes | None = None) -> None:
    """Check that ``data`` (what was read back from a written file) is a ``fmt`` picture of ``size`` (width,
    height) that decodes.

    With ``encoded`` (the bytes handed to the writer) a JPEG is checked without decoding its pixels: the bytes
    read back must equal ``encoded`` (so the write landed in full), its markers up to the image data must parse
    (our spliced EXIF, XMP, ICC and IPTC segments included) and it must end with the end-of-image marker. A JPEG coming
    from libjpeg-turbo's encoder is as sound as the bytes it returned; decoding it again cost as much as the
    splash itself on 12 MP photos. Every other case decodes ``data`` completely: TIFF, PNG and WebP writers take
    tags and modes from the input and have produced files that nothing could open.

    Raises:
        ValueError: naming ``name``, when the bytes do not read back as that picture.
    """
    structural = fmt == "JPEG" and encoded is not None
    try:
        if structural and data != encoded:
            raise OSError(f"{len(data)} bytes read back, {len(encoded or b'')} written")
        if structural and not ends_jpeg(data):
            raise OSError("no end-of-image marker")
        with open_unchecked(io.BytesIO(data)) as img:
            if not structural:
                load_pixels(img, name)
            got_fmt, got_size = img.format, img.size
    except (*READ_ERRORS, UnidentifiedImageError) as err:
        raise ValueError(f"{name}: the {fmt} just written does not read back ({err}); nothing was written") from err
    if got_fmt != fmt or got_size != size:
        raise ValueError(
            f"{name}: the {fmt} {size[0]}x{size[1]} just written reads back as {got_fmt} "
            f"{got_size[0]}x{got_size[1]}; nothing was written"
        )


def write_image(
    path: str | Path,
    array: np.ndarray,
    fmt: str,
    quality: int = 95,
    exif: bytes | None = None,
    icc: bytes | None = None,
    replace: bool = True,
    prepare: Callable[[slice], None] | None = None,
    *,
    full_chroma: bool = False,
    xmp: bytes | None = None,
    iptc: bytes | None = None,
    lossless: bool = False,
) -> None:
    """Write ``array`` (uint8: RGB ``HxWx3``, RGBA ``HxWx4`` or grey ``HxW``, as :func:`encode_image` takes it)
    to ``path`` as ``fmt``. Encode (see :func:`encode_image`, which calls ``prepare``), re-open the temporary file
    and check what it
    holds (:func:`check_encoded`), then give it its name atomically (see
    :func:`colorsplash.runtime.files.atomic_write`; ``replace=False`` never replaces an existing file).

    Raises:
        ValueError: the encoded file does not read back. OSError: it cannot be written (or exists).
    """
    path = Path(path)
    size = (array.shape[1], array.shape[0])
    encoded = encode_image(
        array, fmt, quality, exif, icc, prepare, full_chroma=full_chroma, xmp=xmp, iptc=iptc, lossless=lossless
    )
    atomic_write(
        path,
        encoded,
        check=lambda again: check_encoded(again, fmt, size, str(path), encoded),  # the one read back
        replace=replace,
    )


def write_stdout(data: bytes, fmt: str, shape: tuple[int, ...]) -> None:
    """Check that ``data`` reads back, then write all of it to standard output (binary).

    Raises:
        OSError: the reader closed the pipe (or the disk filled) before every byte was written.
    """
    check_encoded(data, fmt, (shape[1], shape[0]), "standard output")
    out, view = sys.stdout.buffer, memoryview(data)
    try:
        while view:  # a pipe closed part-way makes write() return a short count; the next write raises
            written = out.write(view)
            if not written:
                raise BrokenPipeError("no byte written")
            view = view[written:]
        out.flush()
    except BrokenPipeError as err:
        raise OSError(f"standard output closed by its reader before all {len(data):,} bytes were written") from err
