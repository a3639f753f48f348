"""Generated photos with a photographer's metadata (a helper module, not a test module): XMP with what a result
keeps (rating, label, keywords, caption, creator, copyright) and what it must not (Ultra HDR gain map, Motion
Photo, container directory, Camera Raw settings, thumbnail, stale orientation and sizes), IPTC in Photoshop
resources beside a thumbnail resource, GPS and dates in EXIF, a video after the JPEG's end."""

from __future__ import annotations

import io
import struct
from xml.etree import ElementTree

import numpy as np
from PIL import Image

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
XMP_NS = "http://ns.adobe.com/xap/1.0/"
# Namespaces that must not reach a result (they describe a gain map, a video, edits or a thumbnail it lacks).
STALE_NAMESPACES = (
    "http://ns.adobe.com/hdr-gain-map/1.0/",
    "http://ns.google.com/photos/1.0/camera/",
    "http://ns.google.com/photos/1.0/container/",
    "http://ns.adobe.com/camera-raw-settings/1.0/",
    "http://ns.adobe.com/xap/1.0/g/img/",
)
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x10\x00mdat" + bytes(4088)


def phone_xmp(width: int = 4000, height: int = 3000, orientation: int = 6) -> bytes:
    """An XMP packet as a phone and Lightroom leave it: kept and stale properties (see the module's docstring)."""
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="{RDF}">
  <rdf:Description rdf:about="" xmlns:xmp="{XMP_NS}" xmlns:dc="{DC}"
    xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/"
    xmlns:Container="http://ns.google.com/photos/1.0/container/"
    xmlns:Item="http://ns.google.com/photos/1.0/container/item/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/"
    xmp:Rating="4" xmp:Label="Red" hdrgm:Version="1.0" GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"
    crs:Saturation="-100" tiff:Orientation="{orientation}"
    exif:PixelXDimension="{width}" exif:PixelYDimension="{height}">
   <dc:subject><rdf:Bag><rdf:li>cat</rdf:li><rdf:li>garden</rdf:li></rdf:Bag></dc:subject>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Tom &amp; the roses</rdf:li></rdf:Alt></dc:description>
   <dc:creator><rdf:Seq><rdf:li>Ann Photographer</rdf:li></rdf:Seq></dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) Ann</rdf:li></rdf:Alt></dc:rights>
   <Container:Directory><rdf:Seq>
    <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"/></rdf:li>
    <rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"
      Item:Length="{len(VIDEO)}"/></rdf:li>
   </rdf:Seq></Container:Directory>
   <xmp:Thumbnails><rdf:Alt><rdf:li rdf:parseType="Resource"><xmpGImg:image>/9j/4AAQ</xmpGImg:image></rdf:li>
   </rdf:Alt></xmp:Thumbnails>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def resource(rid: int, data: bytes) -> bytes:
    """One Photoshop image resource (``8BIM``, id, empty Pascal name, size, data padded to an even length)."""
    return b"8BIM" + struct.pack(">HHI", rid, 0, len(data)) + data + b"\x00" * (len(data) % 2)


IPTC = b"".join(
    bytes((0x1C, 2, dataset)) + struct.pack(">H", len(value)) + value
    for dataset, value in ((120, b"Tom among the roses"), (25, b"cat"), (110, b"Ann / Agency"))
)
IPTC_RESOURCE = resource(0x0404, IPTC)
THUMBNAIL_RESOURCE = resource(0x040C, b"\xff\xd8thumbnail of the colour original\xff\xd9")


def segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def with_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """``jpeg`` with ``segments`` inserted after its SOI and its APP0/APP1 segments."""
    pos = 2
    while jpeg[pos + 1] in (0xE0, 0xE1):
        pos += 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]


def phone_exif(width: int, height: int, orientation: int) -> Image.Exif:
    """EXIF with camera, dates, GPS and the stored pixel sizes (before orientation), as a phone writes it."""
    exif = Image.Exif()
    exif[0x0112], exif[0x010F], exif[0x0110], exif[0x0132] = orientation, "Google", "Pixel 8", "2024:05:01 10:00:00"
    exif[0x8769] = {0x9003: "2024:05:01 10:00:00", 0xA002: width, 0xA003: height}  # dicts: Pillow 10 writes them
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)}
    return exif


def phone_jpeg(rgb: np.ndarray, orientation: int = 6, video: bool = True) -> bytes:
    """``rgb`` (stored, before orientation) as a phone's Motion Photo: EXIF, XMP and IPTC, a video after EOI."""
    h, w = rgb.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92, exif=phone_exif(w, h, orientation).tobytes())
    xmp = segment(0xE1, XMP_HEADER + phone_xmp(w, h, orientation))
    irb = segment(0xED, b"Photoshop 3.0\x00" + IPTC_RESOURCE + THUMBNAIL_RESOURCE)
    return with_segments(buf.getvalue(), xmp, irb) + (VIDEO if video else b"")


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, body) of a JPEG's segments up to its first scan."""
    pos, found = 2, []
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        found.append((data[pos + 1], data[pos + 4 : pos + 2 + length]))
        pos += 2 + length
    return found


def jpeg_xmp(data: bytes) -> bytes | None:
    bodies = [b for m, b in jpeg_segments(data) if m == 0xE1 and b.startswith(XMP_HEADER)]
    assert len(bodies) <= 1
    return bodies[0][len(XMP_HEADER) :] if bodies else None


def properties(packet: bytes) -> dict[str, str]:
    """An XMP packet's simple properties (attributes of ``rdf:Description``) and the text of its list items, by
    ``{uri}name`` (items: ``{uri}name[i]``), read with ElementTree."""
    found: dict[str, str] = {}
    for node in ElementTree.fromstring(packet.decode()).iter(f"{{{RDF}}}Description"):
        found.update({k: v for k, v in node.attrib.items() if not k.startswith(f"{{{RDF}}}")})
        for child in node:
            for i, item in enumerate(child.iter(f"{{{RDF}}}li")):
                found[f"{child.tag}[{i}]"] = item.text or ""
    return found


def display_p3_icc() -> bytes:
    """A Display P3 ICC profile (colorsplash's own builder, as for a HEIC tagged by numbers)."""
    from colorsplash.runtime.pictures.colour_profile import nclx_icc

    xy = (0.680, 0.320, 0.265, 0.690, 0.150, 0.060, 0.3127, 0.3290)
    keys = [f"color_primary_{c}_{a}" for c in ("red", "green", "blue", "white") for a in ("x", "y")]
    icc = nclx_icc({"color_primaries": 12, "transfer_characteristics": 13, **dict(zip(keys, xy, strict=True))})
    assert icc is not None
    return icc
