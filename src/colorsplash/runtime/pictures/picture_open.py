"""Opening pictures safely: the header is read and the limits applied before any pixel is decoded.

The one pixel limit of the package (:data:`DEFAULT_MAX_PIXELS`, re-exported by
:mod:`colorsplash.runtime.pictures.photo_io`) and the decode-cost estimate that goes with it live here, below the
readers and writers that use them. Pillow's own decompression-bomb guard (the process-wide
``Image.MAX_IMAGE_PIXELS``) is left as the host process set it: :func:`open_unchecked` opens a picture without it
and :func:`open_checked` applies our limits per call instead.
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from PIL import Image, ImageFile, UnidentifiedImageError

from colorsplash.runtime.files import not_a_file
from colorsplash.runtime.fork_safe import ForkSafeLock
from colorsplash.runtime.pictures.header_checks import refuse_costly_header
from colorsplash.runtime.pictures.heif import HEIF_INSTALL, has_heif_reader, is_heif
from colorsplash.runtime.pictures.limits import DEFAULT_MAX_PIXELS
from colorsplash.runtime.pictures.png_text import PNG_SIGNATURE, UNREAD_PROFILE, UNREAD_TEXT, Unread, readable_png
from colorsplash.runtime.pictures.signatures import READ_FORMATS, VIDEO_NAMES, other_format
from colorsplash.runtime.pictures.tiff_refusal import (
    UnsupportedCompressionError,
    first_compression,
    is_tiff,
    tiff_refusal,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_ERRORS",
    "READ_FORMATS",
    "ImageReadError",
    "PictureInfo",
    "PixelLimitError",
    "UnsupportedFormatError",
    "cost_limit",
    "cost_mode",
    "counted_pixels",
    "decode_cost",
    "load_pixels",
    "open_checked",
    "open_quiet",
    "open_unchecked",
    "probe_picture",
    "unreadable",
    "unreadable_file",
    "warnings_as_notes",
]

# Working memory per pixel once decoded (RGB copy, full-resolution alpha and its refinement, the effect, the
# encoder), bytes; the decode itself adds :data:`_DECODE_BYTES` of its mode.
WORK_BYTES_PER_PIXEL = 25
# Bytes per pixel to decode a mode and convert it to RGB uint8 (Pillow's buffer + conversions + the RGB array).
_DECODE_BYTES = dict.fromkeys(("1", "L", "P"), 4) | dict.fromkeys(("RGB", "YCbCr", "LAB", "HSV"), 6)
_DECODE_BYTES |= dict.fromkeys(("LA", "PA", "La"), 17) | dict.fromkeys(("RGBA", "RGBa"), 19) | {"CMYK": 10}
_DECODE_BYTES |= dict.fromkeys(("I;16", "I;16B", "I;16L", "I;16N"), 10) | dict.fromkeys(("I", "F"), 12)
_RGB_COST = _DECODE_BYTES["RGB"] + WORK_BYTES_PER_PIXEL  # the cost per pixel that the pixel limit is counted in
# catch_warnings swaps process-wide state: one thread's blocks at a time (a block may hold another: reentrant); a
# fork waits for a block to end, so that a child has the lock free and the warnings filters restored
_WARNINGS_LOCK = ForkSafeLock(threading.RLock, wait_at_fork=True)
# Formats read only after their long signature (not BMP's "BM"; a GIF's header cut short is still "not a picture")
_SIGNED = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
_CUT = "a header segment cut short or malformed"


class ImageReadError(ValueError):
    """A file could not be read as a picture; the message names the file and says what to do."""


class PixelLimitError(ImageReadError):
    """A picture has more pixels than a limit allows (ours, a caller's, or Pillow's own guard in this process),
    or would take more memory to decode than that limit allows; read from its header, nothing decoded. The HTTP
    API answers it with 413. :attr:`what`: the message without its advice, for a caller whose way out is not the
    advice's option (the data set readers take no ``--max-pixels``)."""

    def __init__(self, message: str, what: str | None = None) -> None:
        super().__init__(message)
        self.what = message if what is None else what


# What Pillow raises on cut-off or corrupt content (DecompressionBombError: its guard inside a plugin's open or
# load; RuntimeError: the AVIF and HEIF readers, libavif's and libheif's errors on damaged data). The one list: every
# reader of pictures catches these, and :func:`unreadable` words them as an :class:`ImageReadError`.
READ_ERRORS = (
    OSError,
    RuntimeError,
    KeyError,  # a TIFF page of a compression Pillow does not know, met counting pages
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    struct.error,
    Image.DecompressionBombError,
)


def unreadable(name: str, err: BaseException) -> ImageReadError:
    """The error of a picture ``name`` whose content its reader refused (``err``, one of :data:`READ_ERRORS`), with
    the reader's reason on one line."""
    detail = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, KeyError):
        detail = f"unknown value {detail}"
    return ImageReadError(f"{name}: unreadable or truncated picture ({detail}); re-export it")


def unreadable_file(name: str, err: OSError) -> ImageReadError:
    """The error of a picture file ``name`` that the system would not let us read (``err``): its permissions, or a
    disk or network share failing; its content is not judged, so re-exporting it is not the advice."""
    if isinstance(err, PermissionError):
        return ImageReadError(f"{name}: cannot be opened ({err.strerror}); check the file's permissions")
    return ImageReadError(f"{name}: cannot be read ({err.strerror or err}); check the disk or share and try again")


@contextmanager
def warnings_as_notes(name: str, notes: list[str]) -> Iterator[None]:
    """Pillow's warnings inside the block (``Corrupt EXIF data...``) become ``notes`` naming ``name``, instead of
    lines on stderr that name Pillow's source file."""
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for item in caught:
        text = " ".join(str(item.message).split())
        notes.append(f"{name}: {text.rstrip('. ')}")


# The picture formats colorsplash reads (Pillow's names; a phone's multi-picture JPEG, MPO, comes from the JPEG
# reader): those of ``photo_io.IMAGE_EXTENSIONS``. AVIF (phones, the web) where this Pillow has its reader
# (Pillow 11.2 and later, built with libavif); HEIC/HEIF (iPhones) where pillow-heif is installed
# (:mod:`colorsplash.runtime.pictures.heif`). Every other Pillow reader (EPS runs Ghostscript; PSD, FITS, XPM, ICO, DDS,
# SPIDER, IM... rarely used parsers) never sees a photo, an upload or a data set's file.
_FORMAT_WORDS = {"WEBP": "WebP", "HEIF": "HEIC"}  # Pillow's names as users know them


def _in_words(formats: Sequence[str], advice: bool) -> str:
    """``formats`` (Pillow's names) as a sentence's list, "JPEG, PNG and HEIC"; ``advice``: HEIC with the extra
    that reads it."""
    words = [_FORMAT_WORDS.get(f, f) + (" (with colorsplash[heif])" if advice and f == "HEIF" else "") for f in formats]
    return f"{', '.join(words[:-1])} and {words[-1]}"


READ_FORMATS_WORDS = _in_words(READ_FORMATS, advice=True)  # "JPEG, PNG, ..., AVIF and HEIC (with colorsplash[heif])"


def read_formats_words() -> str:
    """:data:`READ_FORMATS` in the words errors name them by: HEIC with the extra that reads it only where this
    Python lacks it (a server reading HEIC told its web visitors to install colorsplash[heif])."""
    return READ_FORMATS_WORDS if not has_heif_reader() else _in_words(READ_FORMATS, advice=False)


def read_formats_here() -> str:
    """The formats of :data:`READ_FORMATS` this Python reads, in the words of :data:`READ_FORMATS_WORDS` without its
    install advice: AVIF only with Pillow's reader, HEIC only with pillow-heif's (``/api/health``'s ``reads``, which
    the web page names to its visitor)."""
    Image.init()
    return _in_words([f for f in READ_FORMATS if (has_heif_reader() if f == "HEIF" else f in Image.ID)], advice=False)


class UnsupportedFormatError(UnidentifiedImageError):
    """The content is a picture format colorsplash does not read (named from its first bytes, not parsed), or
    one of :data:`READ_FORMATS` this Python has no reader for (AVIF before Pillow 11.2, HEIC without
    pillow-heif)."""

    def __init__(self, fmt: str) -> None:
        pillow_name = "HEIF" if fmt == "HEIC" else fmt
        if pillow_name in READ_FORMATS and pillow_name in Image.ID:
            text = f"the content says {fmt}, but its {fmt} reader could not open it; check the file"
        elif fmt in VIDEO_NAMES:
            text = f"the content is a video ({fmt}), not a photo; videos are splashed by: colorsplash video FILE"
        elif pillow_name == "HEIF":
            text = f"the content is {fmt} (iPhones' photo format), read with the pillow-heif package: {HEIF_INSTALL}"
        elif fmt in READ_FORMATS:
            text = f"the content is {fmt}, which this Pillow cannot read: pip install -U pillow, or convert it to JPEG"
        else:
            text = (
                f"the content is {fmt}, a picture format colorsplash does not read (it reads {read_formats_words()}); "
                "convert it to one of these"
            )
        super().__init__(text)
        self.format = fmt


def open_unchecked(source: str | Path | IO[bytes]) -> ImageFile.ImageFile:
    """``Image.open`` (header only; a path is opened and closed by the image) limited to :data:`READ_FORMATS`,
    without Pillow's process-wide decompression-bomb check (callers apply their own limit); a PNG's text chunks
    and colour profile that Pillow would refuse the picture for are left out
    (:mod:`colorsplash.runtime.pictures.png_text`).

    Raises:
        UnsupportedFormatError: the first bytes say another picture format (no reader of it runs).
        UnidentifiedImageError: no format accepts the content. SyntaxError etc. as Pillow's plugins raise them.
        UnsupportedCompressionError: a TIFF whose first page is compressed by a method Pillow cannot decode.
        ValueError: a damaged PNG, JPEG, WebP or TIFF (its reader, readable_png or refuse_costly_header refused it).
    """
    Image.init()
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fp:  # one open for the signature and a JPEG's header walk
            prefix = fp.read(16)
            refuse_costly_header(fp, prefix)  # a JPEG's junk, a TIFF's millions of fractions: seconds of Python
    else:
        prefix = source.read(16)
        refuse_costly_header(source, prefix)
    unread = Unread()
    if prefix.startswith(PNG_SIGNATURE):  # without the text chunks and profile Pillow would refuse the picture for
        source, unread = readable_png(source)
    if is_heif(prefix):
        has_heif_reader()  # registers pillow-heif's reader where installed: HEIF joins Image.ID
    damage: tuple[Exception, str] | None = None  # the first refusal of a reader that accepted the content, its format
    for fmt in [f for f in Image.ID if f in READ_FORMATS]:
        factory, accept = Image.OPEN[fmt]
        try:  # as Image.open does: a format whose check or header parser fails lets the next one try
            verdict = accept(prefix) if accept is not None else True
            if not verdict or isinstance(verdict, str):
                continue
            if not isinstance(source, (str, Path)):
                source.seek(0)
            img = factory(source, None)  # type: ignore[arg-type]  # plugins take a path or a stream
            if unread.text:
                img.info[UNREAD_TEXT] = unread.text
            if unread.profile:
                img.info[UNREAD_PROFILE] = unread.profile
            return img
        except (SyntaxError, IndexError, TypeError, struct.error, RuntimeError) as err:
            damage = damage or (err, fmt)  # RuntimeError: AVIF's header, a damaged one (libavif)
            continue
    if damage is not None and damage[1] in _SIGNED:  # its signature says the format: damaged, not "unrecognised"
        said = getattr(damage[0], "msg", None)  # Pillow's words (a SyntaxError's), not Python's (a struct.error's)
        raise ValueError(f"damaged {_SIGNED[damage[1]]}: {said if isinstance(said, str) else _CUT}") from damage[0]
    if damage is not None and is_tiff(prefix):  # a compression Pillow cannot decode, or a damaged first page
        raise tiff_refusal(damage[0], first_compression(source)) from damage[0]
    other = other_format(prefix)
    raise UnidentifiedImageError("cannot identify image file") if other is None else UnsupportedFormatError(other)


def open_quiet(source: str | Path | IO[bytes]) -> ImageFile.ImageFile:
    """:func:`open_unchecked` with Pillow's warnings while reading the header dropped (damaged EXIF, which the JPEG
    reader parses at open): for the header reads before a decode, which notes them (:func:`open_checked`), rather
    than lines on stderr naming Pillow's source file."""
    with warnings_as_notes("", []):
        return open_unchecked(source)


def load_pixels(img: Image.Image, name: str) -> None:
    """``img.load()``. Some plugins (TIFF, GIF frames) apply Pillow's own guard while loading: over the host's
    ``Image.MAX_IMAGE_PIXELS`` its warning is dropped (our limit was applied before), and over twice that its
    error becomes one line naming ``name``.

    Raises:
        PixelLimitError: Pillow's guard refused the picture. Others as ``img.load()`` raises them.
    """
    limit = Image.MAX_IMAGE_PIXELS
    try:
        if limit is not None and img.width * img.height > limit:
            with warnings_as_notes(name, []):
                img.load()
        else:
            img.load()
    except Image.DecompressionBombError as err:
        raise _over_pillow_limit(name, f"{img.width}x{img.height} {img.format}") from err


def _over_pillow_limit(name: str, what: str) -> PixelLimitError:
    """The error of a picture (``what``: its size and format, or what its header claims) that Pillow's own guard
    refused, at open (a GIF's frame) or while loading (TIFF, GIF)."""
    return PixelLimitError(
        f"{name}: {what} is over Pillow's own limit in this process (PIL.Image.MAX_IMAGE_PIXELS = "
        f"{Image.MAX_IMAGE_PIXELS or 0:,}), which it applies to this format; use a smaller picture"
    )


def decode_cost(width: int, height: int, mode: str) -> int:
    """Estimated peak bytes to decode a ``width x height`` picture of Pillow ``mode`` and process it.

    A 10- or 12-bit HEIC opens as ``RGB`` and counts as such: pillow-heif's Pillow reader has libheif convert it to
    8-bit RGB while decoding (no 16-bit copy is made); its measured peak is that of an 8-bit one."""
    return width * height * (_DECODE_BYTES.get(mode, 16) + WORK_BYTES_PER_PIXEL)


def cost_mode(img: Image.Image) -> str:
    """The mode an opened picture costs as (the ``mode`` of :func:`decode_cost`): its own, but ``RGBA`` for a
    palette with a transparent colour, which is decoded through RGBA as a picture with alpha is (counted as its
    palette, a 12 MP one took 1.3 times the memory budget's estimate of a viewable copy)."""
    return "RGBA" if img.mode == "P" and "transparency" in img.info else img.mode


def counted_pixels(width: int, height: int, mode: str) -> int:
    """The pixel count a ``width x height`` picture of Pillow ``mode`` is held to the pixel limit with: its
    pixels, more where the mode costs more memory than 8-bit RGB (alpha, 16-bit, float; see :func:`decode_cost`).
    Over ``max_pixels`` exactly when :func:`open_checked` refuses it."""
    return max(width * height, -(-decode_cost(width, height, mode) // _RGB_COST))


def cost_limit(max_pixels: int) -> int:
    """The decode-cost limit that goes with ``max_pixels``: what an 8-bit RGB picture at the limit needs."""
    return max_pixels * _RGB_COST


def open_checked(
    fp: str | Path | IO[bytes], name: str, max_pixels: int | None, notes: list[str] | None = None
) -> Image.Image:
    """Open a picture (reads the header only) and apply the pixel limit, before any pixel is decoded.

    The limit counts 8-bit RGB pixels: a mode that costs more memory to decode (16-bit, float, alpha) counts as
    more pixels (see :func:`decode_cost`). Pillow's warnings go to ``notes`` (or are dropped).

    Raises:
        PixelLimitError: over the pixel limit (an :class:`ImageReadError`).
        ImageReadError: not a picture, a cut-off or corrupt header, a file the user may not read.
    """
    sink: list[str] = [] if notes is None else notes
    try:
        with warnings_as_notes(name, sink):
            img = open_unchecked(fp)
    except (UnsupportedFormatError, UnsupportedCompressionError) as err:
        raise ImageReadError(f"{name}: {err}") from err
    except UnidentifiedImageError as err:
        raise ImageReadError(
            f"{name}: not a picture colorsplash reads (unrecognised content; it reads {read_formats_words()}); "
            "check the file"
        ) from err
    except OSError as err:  # the system's (an errno: permissions, a failing disk or share) or Pillow's own (none)
        if err.errno is None:  # cut-off or corrupt header
            raise unreadable(name, err) from err
        raise unreadable_file(name, err) from err  # the file may be fine; re-exporting it would not help
    except Image.DecompressionBombError as err:  # a GIF whose frame claims more than Pillow allows
        raise _over_pillow_limit(name, "the picture its header claims") from err
    except READ_ERRORS as err:  # cut-off or corrupt header
        raise unreadable(name, err) from err
    if max_pixels is not None:
        _check_limits(img, name, max_pixels)
    return img


def _check_limits(img: Image.Image, name: str, max_pixels: int) -> None:
    if img.width * img.height > max_pixels:
        img.close()
        what = f"{name}: {img.width}x{img.height} is more than the pixel limit {max_pixels:,}"
        raise PixelLimitError(f"{what}; raise it with --max-pixels (Python: max_pixels=) if you trust the file", what)
    cost = decode_cost(img.width, img.height, cost_mode(img))
    if cost > cost_limit(max_pixels):
        img.close()
        what = (
            f"{name}: {img.width}x{img.height} {img.mode} needs about {cost / 1e9:.1f} GB to decode "
            f"and process, more than the pixel limit {max_pixels:,} allows ({cost_limit(max_pixels) / 1e9:.1f} GB)"
        )
        raise PixelLimitError(f"{what}; raise --max-pixels (Python: max_pixels=) if you trust the file", what)


@dataclass(frozen=True)
class PictureInfo:
    """What a picture's header says: Pillow ``format`` (``None`` if unknown), size, mode, and the estimated
    ``cost`` in bytes of decoding and processing it (see :func:`decode_cost`)."""

    format: str | None
    width: int
    height: int
    mode: str
    cost: int


def probe_picture(data: bytes | str | Path, name: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> PictureInfo:
    """Read only the header of a picture (bytes or a file) and apply the limits of :func:`open_checked`.

    Raises:
        ImageReadError: empty, unreadable or non-picture content, or over the limits.
    """
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise ImageReadError(f"{name}: {not_a_file(path)}")
        if path.stat().st_size == 0:
            raise ImageReadError(f"{name}: file is empty (0 bytes); re-export or remove it")
    elif not data:
        raise ImageReadError(f"{name}: no data (0 bytes)")
    img = open_checked(io.BytesIO(data) if isinstance(data, bytes) else data, name, max_pixels)
    with img:
        fmt = "JPEG" if img.format == "MPO" else img.format
        return PictureInfo(fmt, img.width, img.height, img.mode, decode_cost(img.width, img.height, cost_mode(img)))
