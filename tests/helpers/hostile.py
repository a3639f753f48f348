"""Generated awkward and hostile pictures for the tests (a helper module, not a test module).

:func:`write_corpus` is the small corpus of odd-but-valid and bad pictures used by the reading tests;
:func:`write_hostile` writes the large hostile-input corpus (more than 60 cases: truncated, empty, wrong
extension, every mode and bit depth, TIFF layouts, huge headers, EXIF orientations, corrupt EXIF, odd names,
collisions, existing outputs) that the CLI must survive without a traceback, a modified input or an output that
cannot be opened. Everything is generated: no file is downloaded or stored.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageCms

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
OK, ERROR, REFUSED = "ok", "error", "refused"  # refused: a naming collision or an existing output


def gradient(h: int = 20, w: int = 30, seed: int = 0) -> np.ndarray:
    """RGB uint8 ``HxWx3`` with an orange block on a dark noisy background."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 80, (h, w, 3)).astype(np.uint8)
    rgb[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (240, 120, 30)
    return rgb


def encoded(array: np.ndarray | Image.Image, fmt: str, **params: object) -> bytes:
    img = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def png_claiming(width: int, height: int, mode_bytes: bytes | None = None) -> bytes:
    """A PNG whose header claims ``width x height`` (a decompression bomb's signature) with almost no data;
    ``mode_bytes`` replaces bit depth and colour type (e.g. ``b"\\x01\\x00"`` for 1-bit grey)."""
    data = bytearray(encoded(Image.new("L", (1, 1)), "PNG"))
    tail = mode_bytes + bytes(data[26:29]) if mode_bytes else bytes(data[24:29])
    ihdr = struct.pack(">II", width, height) + tail
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def bilevel_bomb(side: int = 10000) -> bytes:
    """A real 1-bit PNG, ``side x side``, all white: a few KB that decode to ``side**2`` pixels."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    body = zlib.compress(row * side, 9)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def rotated_jpeg() -> bytes:
    """40 wide x 20 high, red top-left corner, EXIF orientation 6 (display rotated 90 deg clockwise), sRGB ICC."""
    img = Image.new("RGB", (40, 20), (20, 20, 200))
    img.paste((255, 0, 0), (0, 0, 8, 8))
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "TestCam"
    return encoded(img, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=SRGB_ICC)


def oriented_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(gradient(20, 40), "JPEG", quality=90, exif=exif.tobytes())


def corrupt_exif_jpeg() -> bytes:
    """A JPEG whose EXIF IFD claims 20 entries but holds one (orientation 6): Pillow warns "Corrupt EXIF data"."""
    tiff = b"MM\x00*\x00\x00\x00\x08" + (20).to_bytes(2, "big") + bytes.fromhex("011200030000000100060000")
    return encoded(gradient(20, 40), "JPEG", exif=b"Exif\x00\x00" + tiff)


def cv2_tiff(array: np.ndarray) -> bytes:
    """``array`` (RGB, grey, 8 or 16 bit) as OpenCV writes a TIFF (LZW, its own layout tags)."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".tif", array)
    assert ok
    return buf.tobytes()


def write_corpus(folder: Path) -> dict[str, str]:
    """Write the good-but-awkward and the bad pictures into ``folder``; name -> expected ``ok`` or ``error``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rotated.jpg").write_bytes(rotated_jpeg())
    Image.new("CMYK", (30, 20), (0, 200, 200, 0)).save(folder / "cmyk.jpg", quality=90)
    fake_cmyk_icc = SRGB_ICC[:16] + b"CMYK" + SRGB_ICC[20:]  # unusable profile: must not stop the photo
    Image.new("CMYK", (30, 20), (0, 200, 200, 0)).save(folder / "cmyk_icc.jpg", icc_profile=fake_cmyk_icc)
    Image.fromarray(np.tile(np.arange(0, 60000, 2000, dtype=np.uint16), (20, 1))).save(folder / "deep16.png")
    Image.new("RGB", (30, 20), (250, 120, 30)).convert("P").save(folder / "palette.png", transparency=0)
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[:, :15] = (250, 120, 30, 255)
    Image.fromarray(rgba).save(folder / "rgba.png")
    Image.new("L", (30, 20), 128).save(folder / "grey.jpg")
    frames = [Image.new("RGB", (30, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    Image.new("RGB", (1, 1), (250, 120, 30)).save(folder / "one.png")
    Image.new("RGB", (20000, 10), (40, 40, 40)).save(folder / "wide.png")
    good = (folder / "rotated.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])  # cut inside the header
    big = encoded(np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8), "JPEG")
    (folder / "cut.jpg").write_bytes(big[: len(big) * 2 // 3])  # cut inside the pixels
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("these are my notes, not a picture\n")
    (folder / "bomb.png").write_bytes(png_claiming(30000, 30000))  # Pillow's own hard limit
    (folder / "big.png").write_bytes(png_claiming(11000, 10000))  # over our default limit only
    return {
        "rotated.jpg": OK,
        "cmyk.jpg": OK,
        "cmyk_icc.jpg": OK,
        "deep16.png": OK,
        "palette.png": OK,
        "rgba.png": OK,
        "grey.jpg": OK,
        "anim.gif": OK,
        "one.png": OK,
        "wide.png": OK,
        "truncated.jpg": ERROR,
        "cut.jpg": ERROR,
        "empty.jpg": ERROR,
        "notes.jpg": ERROR,
        "bomb.png": ERROR,
        "big.png": ERROR,
    }


def _good_cases() -> dict[str, Callable[[], bytes]]:
    """File name -> maker of pictures that must give a result, in every mode, depth and layout."""
    rgb, grey = gradient(), gradient()[..., 0]
    deep = (np.linspace(0, 65535, 600).reshape(20, 30)).astype(np.uint16)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    anim = [Image.fromarray(gradient(seed=s)) for s in range(3)]
    cases: dict[str, Callable[[], bytes]] = {
        "rgb.jpg": lambda: encoded(rgb, "JPEG"),
        "rgb.png": lambda: encoded(rgb, "PNG"),
        "grey.jpg": lambda: encoded(grey, "JPEG"),
        "grey.png": lambda: encoded(grey, "PNG"),
        "grey16.png": lambda: encoded(Image.fromarray(deep), "PNG"),
        "rgb48.png": lambda: cv2.imencode(".png", np.dstack([deep] * 3))[1].tobytes(),
        "rgba.png": lambda: encoded(rgba, "PNG"),
        "la.png": lambda: encoded(Image.fromarray(rgba).convert("LA"), "PNG"),
        "palette.png": lambda: encoded(Image.fromarray(rgb).convert("P"), "PNG"),
        "palette_trns.png": lambda: encoded(Image.fromarray(rgb).convert("P"), "PNG", transparency=0),
        "bilevel.png": lambda: encoded(Image.fromarray(grey).convert("1"), "PNG"),
        "bilevel_g4.tif": lambda: encoded(Image.fromarray(grey).convert("1"), "TIFF", compression="group4"),
        "cmyk.jpg": lambda: encoded(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        "cmyk.tif": lambda: encoded(Image.fromarray(rgb).convert("CMYK"), "TIFF"),
        "float32.tif": lambda: encoded(Image.fromarray(grey.astype(np.float32) / 255), "TIFF"),
        "grey8.tif": lambda: encoded(grey, "TIFF"),
        "grey16.tif": lambda: encoded(Image.fromarray(deep), "TIFF"),
        "rgba.tif": lambda: encoded(rgba, "TIFF"),
        "rgb_lzw.tif": lambda: encoded(rgb, "TIFF", compression="tiff_lzw"),
        "rgb_jpeg.tif": lambda: encoded(rgb, "TIFF", compression="jpeg"),
        "cv2_lzw.tif": lambda: cv2_tiff(rgb),
        "cv2_grey.tif": lambda: cv2_tiff(grey),
        "cv2_rgb48.tif": lambda: cv2_tiff(np.dstack([deep] * 3)),
        "anim.gif": lambda: encoded(anim[0], "GIF", save_all=True, append_images=anim[1:], duration=50),
        "still.gif": lambda: encoded(rgb, "GIF"),
        "lossy.webp": lambda: encoded(rgb, "WEBP", quality=80),
        "alpha.webp": lambda: encoded(rgba, "WEBP", lossless=True),
        "anim.webp": lambda: encoded(anim[0], "WEBP", save_all=True, append_images=anim[1:]),
        "rgb.bmp": lambda: encoded(rgb, "BMP"),
        "palette.bmp": lambda: encoded(Image.fromarray(rgb).convert("P"), "BMP"),
        "progressive.jpg": lambda: encoded(rgb, "JPEG", progressive=True),
        "icc.jpg": lambda: encoded(rgb, "JPEG", icc_profile=SRGB_ICC),
        "corrupt_exif.jpg": corrupt_exif_jpeg,
        "one.png": lambda: encoded(rgb[:1, :1], "PNG"),
        "line.png": lambda: encoded(rgb[:1], "PNG"),
        "tall.png": lambda: encoded(np.repeat(rgb[:, :1], 40, axis=0), "PNG"),
        "png_named.jpg": lambda: encoded(rgb, "PNG"),
        "jpeg_named.png": lambda: encoded(rgb, "JPEG"),
        "gif_named.jpg": lambda: encoded(rgb, "GIF"),
        "UPPER.JPG": lambda: encoded(rgb, "JPEG"),
        "long.jpeg": lambda: encoded(rgb, "JPEG"),
        "café 猫 ü.jpg": lambda: encoded(rgb, "JPEG"),
        "with spaces.png": lambda: encoded(rgb, "PNG"),
        "-dash.png": lambda: encoded(rgb, "PNG"),
        "x" * 236 + ".jpg": lambda: encoded(rgb, "JPEG"),  # 240 bytes: its result (247) and temp name must fit
    }
    for orientation in range(1, 9):
        cases[f"orient{orientation}.jpg"] = lambda o=orientation: oriented_jpeg(o)  # type: ignore[misc]
    return cases


def _bad_cases() -> dict[str, Callable[[], bytes]]:
    """File name -> maker of files that must fail with one line naming them."""
    jpeg, png = encoded(gradient(64, 64), "JPEG"), encoded(gradient(64, 64, 1), "PNG")
    bad_crc = bytearray(png)
    bad_crc[40] ^= 0xFF
    huge_jpeg = bytearray(jpeg)
    sof = huge_jpeg.find(b"\xff\xc0")
    huge_jpeg[sof + 5 : sof + 9] = struct.pack(">HH", 65000, 65000)
    huge_gif = bytearray(encoded(gradient(), "GIF"))
    huge_gif[6:10] = struct.pack("<HH", 65535, 65535)
    return {
        "empty.jpg": lambda: b"",
        "text.jpg": lambda: b"these are my notes\n",
        "html.png": lambda: b"<html></html>",
        "random.png": lambda: np.random.default_rng(1).integers(0, 256, 4000).astype(np.uint8).tobytes(),
        "header_cut.jpg": lambda: jpeg[:100],
        "pixels_cut.jpg": lambda: jpeg[: len(jpeg) * 2 // 3],
        "idat_cut.png": lambda: png[: len(png) - 30],
        "signature_only.png": lambda: png[:8],
        "bad_crc.png": lambda: bytes(bad_crc),
        "bomb.png": lambda: png_claiming(30000, 30000),
        "over_limit.png": lambda: png_claiming(11000, 10000),
        "huge_header.jpg": lambda: bytes(huge_jpeg),
        "huge_screen.gif": lambda: bytes(huge_gif),
        "deep_bomb.png": lambda: png_claiming(9000, 9000, b"\x10\x06"),  # 16-bit RGBA: too costly to decode
        "tiff_cut.tif": lambda: encoded(gradient(), "TIFF")[:150],
        "zero_width.png": lambda: png_claiming(0, 10),
    }


def write_hostile(folder: Path) -> dict[str, str]:
    """Write the hostile corpus into ``folder``; file name -> expected outcome of ``splash FOLDER`` (beside the
    inputs): :data:`OK`, :data:`ERROR` (one line naming it), or :data:`REFUSED` (a collision, one line).

    Besides the single-file cases: ``clash.jpg`` holds PNG bytes beside an input ``clash.splash.png`` (its result
    would land on that input), ``pair.jpg`` (PNG bytes) and ``pair.png`` want the same result name, ``mine.jpg``
    has a user's own ``mine.splash.jpg`` beside it, and ``.hidden.jpg`` is not an input at all.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    for table, outcome in ((_good_cases(), OK), (_bad_cases(), ERROR)):
        for name, make in table.items():
            (folder / name).write_bytes(make())
            expected[name] = outcome
    rgb_png = encoded(gradient(seed=3), "PNG")
    (folder / "clash.jpg").write_bytes(rgb_png)
    # A user's picture that the folder scan takes for an earlier result: given explicitly it is an input.
    (folder / "clash.splash.png").write_bytes(encoded(gradient(seed=4), "PNG"))
    (folder / "pair.jpg").write_bytes(rgb_png)
    (folder / "pair.png").write_bytes(encoded(gradient(seed=5), "PNG"))
    (folder / "mine.jpg").write_bytes(encoded(gradient(seed=6), "JPEG"))
    (folder / "mine.splash.jpg").write_bytes(b"the user's own file, not a result of this run")
    (folder / ".hidden.jpg").write_bytes(encoded(gradient(), "JPEG"))
    expected.update({"clash.jpg": REFUSED, "pair.jpg": OK, "pair.png": REFUSED, "mine.jpg": REFUSED})
    return expected
