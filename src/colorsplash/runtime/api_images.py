"""The images the Python API accepts (NumPy arrays, Pillow images, paths, binary file objects) turned into RGB
pixels, with a file's own transparency and :class:`Photo` where there is one (:mod:`colorsplash.runtime.api`)."""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TypeVar, Union

import numpy as np
from PIL import Image

from colorsplash.runtime.fork_safe import ForkSafeLock
from colorsplash.runtime.pictures.photo_io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    Photo,
    decode_image_bytes,
    own_transparency,
    read_picture_bytes,
    to_rgb_array,
)
from colorsplash.runtime.pictures.picture_open import (
    READ_ERRORS,
    PixelLimitError,
    load_pixels,
    unreadable,
    unreadable_file,
)

__all__ = ["ImageLike", "PictureFile", "picture_file", "read_file", "rgb_and_own_alpha", "to_rgb"]

T = TypeVar("T")

ImageLike = Union[np.ndarray, Image.Image, str, "os.PathLike[str]", IO[bytes]]

PILLOW_IMAGE = "the Pillow image"  # how errors name a Pillow image given to the API
# A Pillow image decodes its pixels from its file on first use, and that is not thread-safe: one ``Image.open`` image
# given to several API calls at once (predict_alpha and splash in two threads) was decoded by both, each getting
# part of it (a wrongly grey or coloured band, silently), "I/O operation on closed file" or a bare AssertionError.
# Its load is made by one thread at a time, the others then find its pixels; locks by the image's id(), striped so
# that different images rarely wait for each other's decode.
_PILLOW_LOAD_LOCKS = tuple(ForkSafeLock() for _ in range(64))


def to_rgb(image: ImageLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Any accepted image -> RGB uint8 ``HxWx3``.

    Arrays: uint8 ``HxWx3`` (RGB), ``HxW`` or ``HxWx1`` (grey) or ``HxWx4`` (RGBA, composited over white), at least 1x1.
    Paths and binary file objects: read by content, upright by their EXIF orientation, at most ``max_pixels``.

    Raises:
        ValueError: an array of another dtype (the message gives the conversion that fits its values) or shape,
        or an empty (0-pixel) image; ImageReadError: an unreadable file, or a Pillow image whose pixels cannot be
        read (:func:`_load_pillow`); TypeError: none of the kinds above.
    """
    photo = read_file(image, max_pixels)
    if photo is not None:
        return photo.rgb
    if isinstance(image, Image.Image):
        if image.width == 0 or image.height == 0:
            raise ValueError(f"the image is empty ({image.width}x{image.height} pixels); nothing to splash")
        _load_pillow(image)
        return np.asarray(image) if image.mode == "RGB" else to_rgb_array(image)
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"got {type(image).__name__}: give picture data as a file object, io.BytesIO(data), "
            "or a path as str (os.fsdecode(path))"
        )
    raise TypeError(f"expected a NumPy array, a PIL image, a path or a binary file object, got {type(image).__name__}")


def _load_pillow(image: Image.Image) -> None:
    """Decode a Pillow image's pixels, which ``Image.open`` leaves in its file until first use.

    Raises:
        ImageReadError: the image, or its file, was closed before its pixels were read (a ``with Image.open(...)``
            block left: Pillow itself failed with a bare ``AssertionError``), or is closed after them; the file's
            content is damaged or cut off (Pillow's ``OSError``); over Pillow's own pixel limit.
    """
    with _PILLOW_LOAD_LOCKS[(id(image) >> 4) % len(_PILLOW_LOAD_LOCKS)]:  # one decode at a time (see the locks)
        _load_pillow_alone(image)


def _load_pillow_alone(image: Image.Image) -> None:
    """:func:`_load_pillow`, the caller holding the image's lock (raises as there)."""
    pending = bool(getattr(image, "tile", None))  # pixels still in the file
    fp = getattr(image, "fp", None)
    closed = ImageReadError(
        f"{PILLOW_IMAGE}: it is closed, or its file is, and it holds no pixels (Image.open reads them on first "
        "use; leaving its with block or .close() closes it); use the image, or call its .load(), before that, or "
        "pass the file's path instead"
    )
    if pending and (fp is None or getattr(fp, "closed", False)):
        raise closed
    try:
        load_pixels(image, PILLOW_IMAGE)
    except PixelLimitError:
        raise
    except READ_ERRORS as err:  # decoding the file's content, or (none pending) an image its .close() emptied
        raise (unreadable(PILLOW_IMAGE, err) if pending else closed) from err


def _array_to_rgb(image: np.ndarray) -> np.ndarray:
    """:func:`to_rgb` of an array (uint8 ``HxWx3`` is returned as it is)."""
    image = np.asarray(image)  # a subclass as a plain array: a grey np.matrix failed "shape too large to be a matrix"
    if image.ndim in (2, 3) and (image.shape[0] == 0 or image.shape[1] == 0):
        raise ValueError(f"the image array is empty (shape {image.shape}); nothing to splash")
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image array (0..255), got dtype {image.dtype}; {_uint8_hint(image)}")
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return to_rgb_array(Image.fromarray(np.ascontiguousarray(image)))  # RGBA over white
    raise ValueError(
        f"expected an image array of shape HxWx3 (RGB), HxWx4 (RGBA), HxW or HxWx1 (grey), got shape {image.shape}"
        + _shape_hint(image.shape)
    )


def _shape_hint(shape: tuple[int, ...]) -> str:
    """What an image array of another shape most likely is, and how to pass it (the end of an error message)."""
    if len(shape) == 4 and shape[0] == 1:
        return "; a batch of one? pass x[0]"
    if len(shape) == 3 and shape[0] in (1, 3, 4):
        return "; channels first (CxHxW)? pass x.transpose(1, 2, 0)"
    if len(shape) == 3 and shape[2] == 2:
        return "; grey and alpha? pass PIL.Image.fromarray(x) (mode LA)"
    return ""


@dataclass(frozen=True)
class PictureFile:
    """The bytes of a picture file given to the API (a path, or a binary file object read to its end), not decoded.

    Attributes:
        data: the file's bytes (at least one).
        name: the path as given, the file object's ``name``, or ``the BytesIO object``: errors name it.
        start: where a file object stood when it was read (0 for a path, or when it cannot tell).
    """

    data: bytes
    name: str
    start: int = 0

    def decode(self, decoder: Callable[[bytes, str], T]) -> T:
        """``decoder(data, name)`` (a decode that raises :class:`ImageReadError` for an unreadable picture); an
        unreadable picture read from a file object not at its start says where it was read from."""
        try:
            return decoder(self.data, self.name)
        except PixelLimitError:
            raise
        except ImageReadError as err:
            if not self.start:
                raise
            raise ImageReadError(
                f"{err} (read from byte {self.start:,}, where the file object stood; if the picture starts before, "
                "rewind it with .seek(0) first)"
            ) from err


def read_file(image: object, max_pixels: int | None) -> Photo | None:
    """The picture of a path or of a binary file object (:func:`picture_file`, decoded as :func:`read_photo`
    decodes a file); ``None`` for other kinds of image.

    Raises:
        as :func:`picture_file`; ImageReadError: as :func:`read_photo` (one read from a file object not at its
            start says where it was read from).
    """
    source = picture_file(image, max_pixels)
    return None if source is None else source.decode(lambda data, name: decode_image_bytes(data, max_pixels, name))


def picture_file(image: object, max_pixels: int | None = None) -> PictureFile | None:
    """The bytes of a path or of a binary file object (read from where it stands to its end, as :func:`read_photo`
    reads a file; a pipe or socket too); ``None`` for other kinds of image. A path's header is checked first
    (a picture, at most ``max_pixels``) so that a large file of something else is not read whole.

    Raises:
        ImageReadError: as :func:`read_picture_bytes` (a path that is missing, not a file, empty, not a picture or
            over ``max_pixels``); a file object
            that is closed, fails to read or has nothing left to read.
        TypeError: a file object opened in text mode or for writing only, or read asynchronously.
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        return PictureFile(read_picture_bytes(path, max_pixels), str(path))
    if isinstance(image, (bytes, bytearray, memoryview, np.ndarray, Image.Image)):
        return None
    read = getattr(image, "read", None)
    if not callable(read):
        return None
    label = getattr(image, "name", None)
    name = label if isinstance(label, str) and label else f"the {type(image).__name__} object"
    text_mode = f"{name}: it is open in text mode, pictures are bytes; open the file in binary mode (rb)"
    if isinstance(image, io.TextIOBase):
        raise TypeError(text_mode)
    if getattr(image, "closed", False) is True:  # reading it said only "read of closed file", naming nothing
        raise ImageReadError(f"{name}: the file object is closed; open the file again, or pass its path")
    if inspect.iscoroutinefunction(read):  # Starlette's UploadFile: "gave coroutine ... open the file in rb"
        raise TypeError(
            f"{name}: it is read asynchronously (await its .read()); pass its .file (a web framework's upload has "
            "one), or the bytes as io.BytesIO(await upload.read())"
        )
    start = _position(image)
    try:
        data = read()
    except UnicodeDecodeError as err:  # a text-mode reader of another kind
        raise TypeError(text_mode) from err
    except io.UnsupportedOperation as err:  # open(path, "ab"): Python's bare "read"
        raise TypeError(f"{name}: it is not open for reading; open the file for reading in binary mode (rb)") from err
    except OSError as err:  # a pipe, socket or share failing mid-read: Python's bare OSError
        raise unreadable_file(name, err) from err
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name}: reading it gave {type(data).__name__}, not bytes; open the file in binary mode (rb)")
    if not data:
        raise ImageReadError(f"{name}: nothing to read (0 bytes); if it was read before, rewind it with .seek(0)")
    return PictureFile(bytes(data), name, start)


def _position(stream: object) -> int:
    """Where a file object stands (bytes from its start); 0 when it cannot tell (a pipe, a socket)."""
    tell = getattr(stream, "tell", None)
    try:
        return int(tell()) if callable(tell) else 0
    except (OSError, ValueError, TypeError):
        return 0


def _uint8_hint(image: np.ndarray) -> str:
    """How to make ``image`` (not uint8) the uint8 array it stands for, judged by its dtype and largest value: the
    end of an error message, ``convert with EXPR`` (``x`` the array)."""
    kind = image.dtype.kind
    if kind == "b":
        return "convert with x.astype(np.uint8) * 255"
    if kind not in "fiu":
        return "convert it to numbers 0..255 of dtype uint8"
    finite = image[np.isfinite(image)] if kind == "f" else image
    if finite.size < image.size:  # the conversions below would cast NaN to any value (all NaN: "values are 0..1")
        return "it holds NaN or infinity, which are no colour: replace them first, e.g. with np.nan_to_num(x, posinf=0)"
    peak = float(finite.max()) if finite.size else 0.0
    if kind == "f" and peak <= 1.0:
        return "its values are 0..1: convert with np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)"
    if peak <= 255:
        if kind == "f":
            return "its values are 0..255: convert with np.clip(np.rint(x), 0, 255).astype(np.uint8)"
        return "convert with np.clip(x, 0, 255).astype(np.uint8)"
    if kind != "f" and image.dtype.itemsize == 2:
        return "16-bit values: convert with (x.astype(np.uint16) >> 8).astype(np.uint8)"
    if peak <= 65535:
        return "16-bit values: convert with (np.clip(x, 0, 65535).astype(np.uint16) >> 8).astype(np.uint8)"
    return f"values up to {peak:g}: scale them to 0..255, e.g. np.clip(x * (255 / x.max()), 0, 255).astype(np.uint8)"


def rgb_and_own_alpha(image: ImageLike, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`to_rgb` of an image that is not a file (:func:`picture_file` gives ``None``: an array or Pillow
    image) and its own transparency (uint8 ``HxW``, ``None`` when opaque: an RGBA array's alpha or a Pillow
    image's); a file's are its :class:`Photo`'s."""
    rgb = to_rgb(image, max_pixels)
    if isinstance(image, Image.Image):
        return rgb, own_transparency(image)
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 4 and image[..., 3].min() < 255:
        return rgb, np.ascontiguousarray(image[..., 3])
    return rgb, None
