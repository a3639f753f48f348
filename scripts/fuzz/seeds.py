"""Write the seed corpora of the fuzz harnesses: small valid pictures of every format colorsplash reads, with the
metadata it parses (EXIF, XMP, ICC, IPTC, PNG text), and small masks and trimaps.

Usage: ``python scripts/fuzz/seeds.py OUT`` writes ``OUT/photos`` and ``OUT/masks`` (a few hundred KB in all).
"""

from __future__ import annotations

import contextlib
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, PngImagePlugin

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
 xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="4" tiff:Orientation="6" hdrgm:Version="1.0"
 exif:PixelXDimension="32" exif:PixelYDimension="24">
<dc:subject><rdf:Bag><rdf:li>cat</rdf:li></rdf:Bag></dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""
IPTC = b"\x1c\x02\x78\x00\x05Hello\x1c\x02\x19\x00\x03cat"


def _resource(rid: int, data: bytes) -> bytes:
    return b"8BIM" + struct.pack(">HHI", rid, 0, len(data)) + data + b"\x00" * (len(data) % 2)


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _rgb(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 80, (h, w, 3)).astype(np.uint8)
    rgb[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (240, 120, 30)
    return rgb


def _save(img: Image.Image | np.ndarray, fmt: str, **params: object) -> bytes:
    img = img if isinstance(img, Image.Image) else Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112], exif[0x010F], exif[0x0132] = orientation, "Cam", "2024:05:01 10:00:00"
    exif[0x8769] = {0x9003: "2024:05:01 10:00:00", 0xA002: 32, 0xA003: 24}
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}
    return exif.tobytes()


def photo_seeds() -> dict[str, bytes]:
    rgb = _rgb()
    img = Image.fromarray(rgb)
    deep = np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    frames = [Image.fromarray(_rgb(seed=s)) for s in range(3)]
    jpeg = _save(img, "JPEG", quality=80, exif=_exif(), icc_profile=SRGB_ICC)
    jpeg_meta = (
        jpeg[:2]
        + _segment(0xE1, XMP_HEADER + XMP)
        + _segment(0xED, b"Photoshop 3.0\x00" + _resource(0x0404, IPTC) + _resource(0x040C, b"thumb"))
        + jpeg[2:]
    )
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "hello")
    info.add_text("Title", "zipped " * 20, zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=False)
    png_meta = _save(img, "PNG", pnginfo=info, icc_profile=SRGB_ICC, exif=_exif(8))
    ihdr = png_meta[:33]
    ztxt = _chunk(b"zTXt", b"XML:com.adobe.xmp\x00\x00" + zlib.compress(XMP))
    seeds = {
        "exif_icc.jpg": jpeg,
        "xmp_iptc.jpg": jpeg_meta,
        "progressive.jpg": _save(img, "JPEG", progressive=True, subsampling=0),
        "grey.jpg": _save(img.convert("L"), "JPEG"),
        "cmyk.jpg": _save(img.convert("CMYK"), "JPEG"),
        "motion.jpg": jpeg + b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
        "meta.png": png_meta,
        "ztxt_xmp.png": ihdr + ztxt + png_meta[33:],
        "palette_trns.png": _save(img.convert("P"), "PNG", transparency=0),
        "deep16.png": _save(Image.fromarray(deep), "PNG"),
        "rgba.png": _save(rgba, "PNG"),
        "la.png": _save(Image.fromarray(rgba).convert("LA"), "PNG"),
        "bilevel.png": _save(img.convert("1"), "PNG"),
        "apng.png": _save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50),
        "lossy.webp": _save(img, "WEBP", quality=70, exif=_exif(3), icc_profile=SRGB_ICC, xmp=XMP),
        "alpha.webp": _save(rgba, "WEBP", lossless=True),
        "anim.webp": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "anim.gif": _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "trns.gif": _save(img.convert("P"), "GIF", transparency=3),
        "exif.tif": _save(img, "TIFF", exif=_exif(6), icc_profile=SRGB_ICC),
        "cmyk.tif": _save(img.convert("CMYK"), "TIFF", compression="tiff_lzw"),
        "float.tif": _save(Image.fromarray(rgb[..., 0].astype(np.float32) / 255), "TIFF"),
        "deep16.tif": _save(Image.fromarray(deep), "TIFF"),
        "rgba_deflate.tif": _save(rgba, "TIFF", compression="tiff_adobe_deflate"),
        "pages.tif": _save(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "g4.tif": _save(img.convert("1"), "TIFF", compression="group4"),
        "jpeg.tif": _save(img, "TIFF", compression="jpeg"),
        "rgb.bmp": _save(img, "BMP"),
        "palette.bmp": _save(img.convert("P"), "BMP"),
    }
    tiff_xmp = Image.Exif()
    tiff_xmp[700] = XMP
    seeds["xmp.tif"] = _save(img, "TIFF", exif=tiff_xmp.tobytes())
    seeds.update(_heif_seeds(img))
    return seeds


def _heif_seeds(img: Image.Image) -> dict[str, bytes]:
    seeds = {}
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        seeds["exif.heic"] = _save(img, "HEIF", quality=50, exif=_exif(6), xmp=XMP)
    except (ImportError, OSError, KeyError, ValueError):
        pass
    with contextlib.suppress(OSError, KeyError, ValueError):  # no AVIF writer in this Pillow
        seeds["still.avif"] = _save(img, "AVIF", quality=50, exif=_exif(6))
    return seeds


def mask_seeds() -> dict[str, bytes]:
    h, w = 24, 32
    disc = np.zeros((h, w), np.uint8)
    disc[6:18, 8:24] = 255
    trimap = np.where(disc > 0, 255, 0).astype(np.uint8)
    trimap[5:19, 7:25][trimap[5:19, 7:25] == 0] = 128
    oxford = np.select([trimap == 255, trimap == 128], [1, 3], 2).astype(np.uint8)
    voc = Image.fromarray((disc > 0).astype(np.uint8), "P")
    voc.putpalette([0, 0, 0, 128, 0, 0] + [0, 0, 0] * 253 + [224, 224, 192])
    cutout = np.dstack([_rgb(h, w), disc])
    colours = np.zeros((h, w, 3), np.uint8)
    colours[disc > 0] = (200, 0, 0)
    return {
        "mask.png": _save(disc, "PNG"),
        "mask01.png": _save((disc > 0).astype(np.uint8), "PNG"),
        "mask.jpg": _save(disc, "JPEG", exif=_exif(6)),
        "trimap.png": _save(trimap, "PNG"),
        "oxford.png": _save(oxford, "PNG"),
        "voc.png": _save(voc, "PNG"),
        "cutout.png": _save(cutout, "PNG"),
        "colours.png": _save(colours, "PNG"),
        "mask16.png": _save(Image.fromarray(disc.astype(np.uint16) * 257), "PNG"),
        "mask.gif": _save(disc, "GIF"),
        "mask.bmp": _save(disc, "BMP"),
        "mask.tif": _save(Image.fromarray(disc).convert("1"), "TIFF", compression="group4"),
        "mask.webp": _save(disc, "WEBP", lossless=True),
    }


def main(out: Path) -> None:
    for folder, seeds in (("photos", photo_seeds()), ("masks", mask_seeds())):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (out / folder / name).write_bytes(data)
        print(f"{out / folder}: {len(seeds)} seeds, {sum(map(len, seeds.values())):,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
