"""Reading pictures by content (not by extension) into RGB uint8 arrays.

Real data sets hold PNGs and GIFs named ``.jpg``; phones write EXIF orientation. Every reader here opens
the bytes with Pillow, applies EXIF orientation and converts to 8-bit RGB (or L for masks).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEFAULT_MAX_PIXELS = 200_000_000


class ImageReadError(ValueError):
    """A file could not be read as a picture; the message names the file and says what to do."""


def is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(path)
            if max_pixels is not None and img.width * img.height > max_pixels:
                raise ImageReadError(
                    f"{path}: {img.width}x{img.height} is more than the pixel limit {max_pixels:,}; "
                    "raise the limit (--max-pixels) if you trust the file"
                )
            img.load()
            img = ImageOps.exif_transpose(img)
    except ImageReadError:
        raise
    except UnidentifiedImageError as err:
        raise ImageReadError(f"{path}: not a picture Pillow can read ({err.__class__.__name__})") from err
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as err:
        raise ImageReadError(f"{path}: unreadable or truncated picture ({err}); re-export it") from err
    return img


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
