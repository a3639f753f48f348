"""Reading photos, with their EXIF, ICC profile, XMP and IPTC (writing: :mod:`.photo_write`).

Pictures are opened by content, not extension. The pixels come back as RGB (not BGR) uint8 ``HxWx3``, rotated
upright by the EXIF orientation. This module reads; what a result keeps of the metadata read (EXIF with orientation
1 and only the tags that describe the photo, RGB ICC profiles only, cleaned XMP, IPTC) is decided by
:func:`colorsplash.runtime.pictures.photo_meta.carried_metadata`. A HEIC tagged by ``nclx`` colour numbers instead of a
profile gets an equivalent one (:mod:`colorsplash.runtime.pictures.colour_profile`). Pictures with more than 8 bits per
sample give a note (once per file): results have 8. Notes say what the picture is in a photographer's words ("16-bit
greyscale picture", "CMYK picture"), never Pillow's mode names. Pillow's warnings on damaged EXIF become one note
naming the file, in plain words (:func:`.photo_meta.damaged_exif_note`). Limits: :mod:`.picture_open`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms, JpegImagePlugin

from colorsplash.runtime.files import not_a_file
from colorsplash.runtime.pictures.colour_profile import icc_space, picture_icc
from colorsplash.runtime.pictures.jpeg_markers import walk_jpeg_data
from colorsplash.runtime.pictures.orientation import orient_pixels, pending_orientation, upright
from colorsplash.runtime.pictures.page_count import frame_count, shown_count
from colorsplash.runtime.pictures.photo_meta import FoundMetadata, carried_metadata, read_sub_ifds
from colorsplash.runtime.pictures.photo_write import FORMAT_EXTENSIONS
from colorsplash.runtime.pictures.picture_open import (
    DEFAULT_MAX_PIXELS,
    READ_ERRORS,
    ImageReadError,
    PictureInfo,
    cost_limit,
    decode_cost,
    load_pixels,
    open_checked,
    probe_picture,
    unreadable,
    unreadable_file,
    warnings_as_notes,
)
from colorsplash.runtime.pictures.png_text import PNG_SIGNATURE
from colorsplash.runtime.pictures.signatures import is_lossless_webp
from colorsplash.runtime.wording import Spelling, option_use

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageReadError",
    "Photo",
    "PictureInfo",
    "cost_limit",
    "decode_cost",
    "decode_image_bytes",
    "open_checked",
    "orient_pixels",
    "pending_orientation",
    "probe_picture",
    "read_photo",
    "read_picture_bytes",
    "upright",
]

# A folder's or data set's photos: every extension results are written under (.jfif too), and the phones' formats
IMAGE_EXTENSIONS = (*(ext for exts in FORMAT_EXTENSIONS.values() for ext in exts), ".avif", ".heic", ".heif")


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_picture_file(path: Path) -> bool:
    """Whether a folder's entry ``path`` is a picture to read: a file with a picture's extension, not hidden (a
    ``.name``: macOS's ``._<name>.jpg`` resource forks hold no picture)."""
    return not path.name.startswith(".") and is_image_name(path) and path.is_file()


def open_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` by content, apply EXIF orientation, load pixels (first frame of an animation).

    Raises:
        ImageReadError: missing, empty, truncated or non-image file, or more than ``max_pixels`` pixels.
    """
    return open_oriented(path, max_pixels)[0]


def open_oriented(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[Image.Image, int]:
    """:func:`open_image`'s upright picture (its ``format`` the file's) and the EXIF orientation (1-8, 1: none)
    its stored pixels were turned by (:func:`pending_orientation`): what a caller that also reads the picture's
    orientation needs, without opening the file again. Raises as :func:`open_image`."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: {not_a_file(path)}")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes); re-export or remove it")
    img = open_checked(path, str(path), max_pixels)
    try:
        orientation = pending_orientation(img)  # before loading, as the decode does (a TIFF's EXIF read quietly)
        load_pixels(img, str(path))
        turned = upright(img, orientation)
        turned.format = img.format  # the file's (a turned copy has none): a JPEG mask's values are noisy
        return turned, orientation
    except READ_ERRORS as err:  # ImageReadError among them
        img.close()  # its file, now: not when the error is dropped (a ResourceWarning)
        if isinstance(err, ImageReadError):
            raise
        raise unreadable(str(path), err) from err


# Pillow's format names as users know them, in notes (the rest are the same words: GIF, PNG, AVIF...)
_FORMAT_WORDS = {"WEBP": "WebP", "PNG": "animated PNG"}
_ROUGHLY = "converted to RGB approximately, so its colours may be off"
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")  # Pillow modes whose last band is an alpha
_STRAIGHT = {"RGBa": "RGBA", "La": "LA"}  # premultiplied alpha -> straight (Pillow converts La to nothing else)


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode (P, L, LA, RGBA, premultiplied La and RGBa, CMYK, LAB, I;16, I, F) -> RGB uint8 ``HxWx3``.

    Alpha is composited over white so transparent cut-outs do not turn black; 16-bit and float images
    are scaled to 8 bits.
    """
    if img.mode in _STRAIGHT:
        img = img.convert(_STRAIGHT[img.mode])
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)  # float32, not float64: half the memory of a large picture
        peak = float(np.nanmax(arr, initial=0.0))
        top = 65535.0 if img.mode.startswith("I;16") or peak > 255 else 1.0 if img.mode == "F" and peak <= 1 else 255.0
        # clipped before scaling: a float picture's huge values (-1e38) overflowed float32 (a warning on stderr)
        grey = (np.clip(np.nan_to_num(arr), 0, top) * np.float32(255.0 / top) + 0.5).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def read_rgb(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as RGB (not BGR) uint8 ``HxWx3``, orientation-corrected."""
    return read_rgb_oriented(path, max_pixels)[0]


def read_rgb_oriented(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, int]:
    """:func:`read_rgb`'s photo (RGB uint8 ``HxWx3``, upright: :func:`open_oriented`, which gives the orientation
    too) in the colours :func:`read_photo` gives ``splash`` (a CMYK photo through its own profile: :func:`_to_rgb`)."""
    img, orientation = open_oriented(path, max_pixels)
    return _to_rgb(img, picture_icc(img.info, str(path), []), str(path), []), orientation


@dataclass
class Photo:
    """A decoded photo.

    Attributes:
        rgb: RGB uint8 ``HxWx3``, orientation-corrected (may be read-only).
        format: Pillow's name of the file format (``JPEG``, ``PNG``...), ``None`` for an unknown one.
        exif: the EXIF block with orientation 1, or ``None``.
        icc: the ICC profile when it describes RGB, or ``None``.
        notes: things the user should know about reading the picture, true of every result (first frame of an
            animation, colour conversions); what metadata a written splash leaves out is ``metadata_notes``.
        name: the file name or label used in messages.
        full_chroma: a JPEG with more colour resolution than 4:2:0 (4:4:4 or 4:2:2): a JPEG result is 4:4:4 (the
            splash's colour edge is where halved colour resolution shows).
        lossless: a lossless WebP: a WebP result is lossless too (a lossy one has ``--quality``).
        alpha: the picture's own transparency, uint8 ``HxW`` (255 opaque), when it has any (``rgb`` is then
            flattened onto white); a ``transparent`` cut-out keeps it (:func:`colorsplash.runtime.effects.composite`).
        xmp: the XMP packet (UTF-8) for a result of ``rgb``'s size, cleaned of what would lie about it, or ``None``.
        iptc: the Photoshop resources (APP13 body after its header) a JPEG result keeps: IPTC records, or ``None``.
        metadata_notes: what metadata a written splash leaves out (XMP refused, EXIF that cannot be copied...),
            apart from ``notes``: they do not concern a mask, nor pixels returned by the Python API
            (:func:`colorsplash.runtime.result_notes.result_notes` picks a result's notes).
        What is carried: :mod:`colorsplash.runtime.pictures.photo_meta`.
    """

    rgb: np.ndarray
    format: str | None
    exif: bytes | None = None
    icc: bytes | None = None
    notes: list[str] = field(default_factory=list)
    name: str = "image"
    full_chroma: bool = False
    alpha: np.ndarray | None = None
    xmp: bytes | None = None
    iptc: bytes | None = None
    metadata_notes: list[str] = field(default_factory=list)
    lossless: bool = False


def read_photo(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Photo:
    """Read a picture file; see :class:`Photo`.

    Raises:
        ImageReadError: missing, empty, truncated or non-picture file, a web address, or more than ``max_pixels``
            pixels.
    """
    return _decode(read_picture_bytes(path, max_pixels), str(path), max_pixels)


HEADER_FIRST_BYTES = 16 * 2**20  # over a 50 MP JPEG; a header parse from the file costs ~0.3 ms of a batch photo


def read_picture_bytes(path: str | Path, max_pixels: int | None = None) -> bytes:
    """The bytes of the picture file ``path`` (named as given in errors), not decoded: what :func:`read_photo`
    decodes.

    A file over :data:`HEADER_FIRST_BYTES` that is no picture, or over ``max_pixels`` (``None``: no limit), is
    refused by its header before it is read whole (a multi-GB one cost that much memory); smaller ones are read at once.

    Raises:
        ImageReadError: an empty path; missing, not a file (a folder, a web address), not readable (its
            permissions, a failing disk), empty, not a picture or over ``max_pixels``.
    """
    name = str(path)  # as given: ``Path`` would show ``https://x`` as ``https:/x``
    if not name:  # Path("") is the current folder: it read ": is a folder, not a file"
        raise ImageReadError("the image path is empty (''); name a picture file")
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{name}: {not_a_file(path)}")
    try:
        if path.stat().st_size > HEADER_FIRST_BYTES:
            probe_picture(path, name, max_pixels)
        data = path.read_bytes()
    except OSError as err:  # no permission, a failing disk or share: Python's bare PermissionError / OSError
        raise unreadable_file(name, err) from err
    if not data:
        raise ImageReadError(f"{name}: file is empty (0 bytes); re-export or remove it")
    return data


def transparency_note(photo: Photo, written: str, spelling: Spelling = "cli") -> str | None:
    """The line telling a user what became of ``photo``'s own transparency (``None`` when it has none or a
    cut-out keeps it). ``written``: ``"cut-out"`` (a ``transparent`` splash), ``"mask"``, ``"view"`` (a viewable
    copy) or ``"splash"``; ``spelling``: how the caller writes the option that keeps it (``--effect transparent``)."""
    if photo.alpha is None or written == "cut-out":
        return None
    if written == "mask":
        return f"{photo.name}: transparent areas seen over white; the mask does not include the picture's transparency"
    if written == "view":
        return f"{photo.name}: transparent areas flattened onto white"
    keep = option_use("effect", "transparent", spelling)
    # The option ends the note, so that one sentence reads right in every spelling (and the web page can put its
    # own control's words in place of ``effect=transparent``: words.js).
    return f"{photo.name}: transparent areas flattened onto white; a cut-out keeps them: {keep}"


def decode_image_bytes(data: bytes, max_pixels: int | None = DEFAULT_MAX_PIXELS, name: str = "upload") -> Photo:
    """Decode a picture held in memory (an upload); same rules and errors as :func:`read_photo`."""
    if not data:
        raise ImageReadError(f"{name}: no data (0 bytes)")
    return _decode(data, name, max_pixels)


def _decode(data: bytes, name: str, max_pixels: int | None) -> Photo:
    notes: list[str] = []
    exif_notes: list[str] = []  # Pillow's warnings while reading the header and EXIF (JPEG reads EXIF at open)
    img = open_checked(io.BytesIO(data), name, max_pixels, exif_notes)
    fmt = img.format
    try:
        frames = _frame_count(img, name, notes)
        if frames > 1 and fmt == "HEIF":  # a burst or collection: pillow-heif opens the one the phone shows
            notes.append(f"{name}: HEIC with {frames} pictures; used its primary picture")
        elif frames > 1 and fmt != "MPO":  # MPO's extra frames are previews/depth, not an animation
            notes.append(_frames_note(fmt, frames, name))
        with warnings_as_notes(name, exif_notes):
            exif = img.getexif()
            read_sub_ifds(exif, name, exif_notes, img.info.get("exif"))
            orientation = pending_orientation(img)
        icc = picture_icc(img.info, name, notes)  # its own profile, or one from HEIC's colour numbers
        _note_depth(img, data, name, notes)
        jpeg = fmt in ("JPEG", "MPO")
        walk = walk_jpeg_data(data) if jpeg else None
        if walk is not None and walk.damaged:
            raise ImageReadError(f"{name}: damaged JPEG data (bytes overwritten inside the picture); copy it again")
        # 0: 4:4:4, 1: 4:2:2 (many cameras): written 4:4:4 rather than halved again to 4:2:0
        full_chroma = jpeg and JpegImagePlugin.get_sampling(img) in (0, 1)
        rgb = _decode_jpeg(data, walk.end, img) if walk is not None and img.mode == "RGB" else None
        own_alpha = None
        if rgb is not None:
            rgb = orient_pixels(rgb, orientation)
        else:
            load_pixels(img, name)
            turned = upright(img, orientation)
            own_alpha = own_transparency(turned)
            rgb = _to_rgb(turned, icc, name, notes)
    except ImageReadError:
        raise
    except READ_ERRORS as err:
        raise unreadable(name, err) from err
    finally:
        img.close()
    left_out: list[str] = []  # what the metadata a result carries leaves out
    carried = carried_metadata(FoundMetadata(img, exif, exif_notes, icc), (rgb.shape[1], rgb.shape[0]), name, left_out)
    photo = Photo(rgb, fmt, carried.exif, carried.icc, notes, name, full_chroma, own_alpha, carried.xmp, carried.iptc)
    photo.metadata_notes, photo.lossless = left_out, fmt == "WEBP" and is_lossless_webp(data)
    return photo


def _frame_count(img: Image.Image, name: str, notes: list[str]) -> int:
    """How many frames (pages) the opened picture ``img`` holds, for the note of a multi-page file; 0 when a later
    one is cut off or damaged: ``img`` is then back on its first, which is read (a note says the rest were not)."""
    try:
        with warnings_as_notes(name, []):  # a later page's damaged directory: not this picture's EXIF
            return frame_count(img)  # a TIFF's pages without Pillow's count, whose time grows as their square
    except READ_ERRORS:
        with warnings_as_notes(name, []):  # the first page's directory read again: warned of when it was opened
            img.seek(0)  # Pillow leaves the picture on the page that failed
    what, fmt = "pages" if img.format == "TIFF" else "frames", _FORMAT_WORDS.get(img.format or "", img.format)
    notes.append(f"{name}: {fmt} whose later {what} are damaged or cut off (not read); used the first {what[:-1]} only")
    return 0


def _frames_note(fmt: str | None, frames: int, name: str) -> str:
    """The note of a picture file holding ``frames`` pictures, of which the first is used: an animation's frames
    (GIF, WebP, animated PNG, AVIF), a TIFF's pages."""
    if fmt == "TIFF":
        return f"{name}: TIFF with {shown_count(frames)} pages; used the first page only"
    return f"{name}: {_FORMAT_WORDS.get(fmt or '', fmt)} with {shown_count(frames)} frames; used the first frame only"


def _note_depth(img: Image.Image, data: bytes, name: str, notes: list[str]) -> None:
    """Once per file: a note when the picture has more than 8 bits per sample (the result has 8), saying what it
    is in a photographer's words ("16-bit greyscale picture"), never Pillow's mode (``I;16``, ``I``, ``F``)."""
    bits = _stored_bits(img, data)
    if img.mode.startswith("I;16"):
        bits = 16
    elif img.mode in ("I", "F") and bits <= 8:
        bits = 32  # Pillow's 32-bit integer and floating-point greyscale
    if bits <= 8:
        return
    grey = img.getbands()[0] in ("L", "I", "F")
    what = "floating-point greyscale picture" if img.mode == "F" else "greyscale picture" if grey else "picture"
    notes.append(f"{name}: {bits}-bit {what}; the result has 8 bits per channel")


def _stored_bits(img: Image.Image, data: bytes) -> int:
    """The bits per sample the file stores, as far as its header says (8 when it does not say more)."""
    if data.startswith(PNG_SIGNATURE) and len(data) > 24:
        return data[24]
    if img.format == "HEIF":  # pillow-heif hands 10- and 12-bit HEIC over as 8-bit RGB; its depth is in info
        return int(img.info.get("bit_depth") or 8)
    if img.format == "TIFF":
        value = getattr(img, "tag_v2", {}).get(258, 8)
        return max(value) if isinstance(value, tuple) and value else int(value) if isinstance(value, int) else 8
    return 8


def _decode_jpeg(data: bytes, end: int | None, img: Image.Image) -> np.ndarray | None:
    """Colour JPEG pixels decoded by OpenCV straight into an RGB array, or ``None`` to let Pillow do it.

    Both use libjpeg-turbo; OpenCV skips Pillow's two repacking copies (~40 ms on 12 MP). OpenCV pads a cut-off
    or corrupt scan with grey instead of failing (libjpeg's warning goes to standard error, unseen), so files
    whose last scan does not end with the end-of-image marker (``end`` is ``None``: cut off), and pictures whose
    last row is that grey, go to Pillow, which reports them as truncated or broken (or decodes them: a photo may
    end with a grey row). Only ``data[:end]`` is decoded: a Motion Photo's video (Pixel, Samsung) or an MPO's
    next picture after it is not this picture.
    """
    if end is None:
        return None
    rgb_flag = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.11: libjpeg-turbo writes RGB, no swap pass
    flags = (cv2.IMREAD_COLOR if rgb_flag is None else rgb_flag) | cv2.IMREAD_IGNORE_ORIENTATION
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8, count=end), flags)
    if pixels is None or pixels.shape[:2] != (img.height, img.width):
        return None
    if not np.any(pixels[-1] != 128):  # zero coefficients decode to 128 grey: libjpeg's filling of a damaged scan
        return None
    return pixels if rgb_flag is not None else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def _to_rgb(img: Image.Image, icc: bytes | None, name: str, notes: list[str]) -> np.ndarray:
    """Pixels as RGB uint8; CMYK goes through its ICC profile to sRGB when it has one (a note says which)."""
    if img.mode == "RGB":
        return np.asarray(img)
    if img.mode == "CMYK":
        if icc and icc_space(icc) == "CMYK":
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                rgb_img = ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
                notes.append(f"{name}: CMYK picture converted to sRGB with its colour profile")
                return np.asarray(rgb_img)
            except (ImageCms.PyCMSError, OSError) as err:
                notes.append(f"{name}: CMYK picture whose colour profile cannot be used ({err}); {_ROUGHLY}")
        else:
            notes.append(f"{name}: CMYK picture without a colour profile; {_ROUGHLY}")
    return to_rgb_array(img)  # deeper than 8 bits: noted by :func:`_note_depth`


def own_transparency(img: Image.Image) -> np.ndarray | None:
    """``img``'s alpha as uint8 ``HxW`` (255 opaque) when any pixel is less than opaque, else ``None``: the last
    band of a mode with alpha (premultiplied ones too), or a palette's transparency. ``LAB``'s ``A`` band is a
    colour, not an alpha."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode not in _ALPHA_MODES:
        return None
    alpha = np.asarray(img.getchannel(len(img.getbands()) - 1))
    return alpha if alpha.min() < 255 else None
