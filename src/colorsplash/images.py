"""Reading pictures by content (not by extension) into RGB uint8 arrays.

Real data sets hold PNGs and GIFs named ``.jpg``; phones write EXIF orientation. Every reader here opens
the bytes with Pillow, applies EXIF orientation and converts to 8-bit RGB (or L for masks).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own decompression-bomb guard (a global, ~89 MP warning / ~179 MP error) is replaced by the
# configurable ``max_pixels`` check in :func:`open_image`, made before any pixel is decoded.
Image.MAX_IMAGE_PIXELS = None

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEFAULT_MAX_PIXELS = 200_000_000


class ImageReadError(ValueError):
    """A file could not be read as a picture; the message names the file and says what to do."""


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def open_checked(fp: str | Path | IO[bytes], name: str, max_pixels: int | None) -> Image.Image:
    """``Image.open`` (reads the header only) plus the pixel limit, before any pixel is decoded.

    Raises:
        ImageReadError: not a picture, a cut-off or corrupt header, or more than ``max_pixels`` pixels.
    """
    try:
        img = Image.open(fp)
    except UnidentifiedImageError as err:
        raise ImageReadError(f"{name}: not a picture (unrecognised content); check the file") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:  # a cut-off or corrupt header
        raise ImageReadError(f"{name}: unreadable or truncated picture ({err}); re-export it") from err
    if max_pixels is not None and img.width * img.height > max_pixels:
        raise ImageReadError(f"{name}: {img.width}x{img.height} is more than the pixel limit {max_pixels:,}; "
                             "raise it with --max-pixels if you trust the file")
    return img


def open_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` by content, apply EXIF orientation, load pixels (first frame of an animation).

    Raises:
        ImageReadError: missing, empty, truncated or non-image file, or more than ``max_pixels`` pixels.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: file is empty (0 bytes); re-export or remove it")
    img = open_checked(path, str(path), max_pixels)
    try:
        img.load()
        return ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageReadError(f"{path}: unreadable or truncated picture ({err}); re-export it") from err


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Any Pillow mode (P, L, LA, RGBA, CMYK, I;16, I, F) -> RGB uint8 ``HxWx3``.

    Alpha is composited over white so transparent cut-outs do not turn black; 16-bit and float images
    are scaled to 8 bits.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
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
    return to_rgb_array(open_image(path, max_pixels))


def read_grey(path: str | Path) -> np.ndarray:
    """Read a mask or trimap as uint8 ``HxW`` (palette indices kept as values, EXIF orientation applied)."""
    img = open_image(path)
    if img.mode == "P":
        return np.asarray(img, dtype=np.uint8)
    if img.mode in ("I;16", "I", "F"):
        return to_rgb_array(img)[..., 0]
    return np.asarray(img.convert("L"), dtype=np.uint8)
