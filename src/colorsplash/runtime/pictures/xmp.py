"""A photo's XMP made fit for its result: the photographer's metadata kept, what would lie about the result dropped.

Kept: everything a photographer or their catalogue put there (ratings, colour labels, keywords, captions, titles,
creator, copyright, locations, Lightroom's hierarchical keywords, darktable's colour labels, history...).
Dropped, as it would describe pixels or parts of the file that the result does not have:

- Ultra HDR gain maps (``hdrgm:``) and Apple's (``HDRGainMap:``, ``apdi:``): a viewer would look for a gain map;
- Google's Motion Photo and other camera extras (``GCamera:``), the container directory of appended items
  (``Container:Directory`` with its ``Item:`` entries), depth maps and embedded images (``GDepth:``, ``GImage:``,
  dynamic depth): the video, gain map or depth map after the picture is not in the result;
- Camera Raw develop settings (``crs:``, ``crss:``) and darktable's develop history: Lightroom and darktable would
  apply the edits again to the already-edited result;
- thumbnails (``xmp:Thumbnails``, of the colour original), the note of extended XMP (``xmpNote:HasExtendedXMP``:
  extended XMP, in further JPEG segments, is not carried), the stored layout (``tiff:BitsPerSample``,
  ``Compression``...), digests of the original's EXIF, and the original file's ``xmpMM:DocumentID`` and
  ``InstanceID`` (the result is another file; ``OriginalDocumentID`` and ``DerivedFrom`` are kept);
- sizes that are not the result's (``tiff:ImageWidth``/``ImageLength``, ``exif:PixelXDimension``/``YDimension``),
  the colour mode when not RGB and the ICC profile's name when the profile is not kept.

``tiff:Orientation`` becomes 1, as the EXIF orientation does: results are written upright (also under a ``tiff``
prefix of a mistyped namespace: Pillow reads the orientation by that prefix where the EXIF has none).

XMP comes from outside and is untrusted: it is parsed as XML (``xml.etree``, expat) only when it is UTF-8, at
most :data:`MAX_XMP_BYTES`, nested at most :data:`MAX_DEPTH` deep, of at most :data:`MAX_ELEMENTS` elements (counted
while parsing, 64 KB at a time: a megabyte of tiny elements, a few kilobytes compressed in a PNG, would cost seconds
and tens of megabytes per photo) and without a document type declaration (no entity can be declared, so none is
expanded); otherwise it is not copied, and a note says why. A packet where
nothing is dropped is kept byte for byte, but for an XML declaration that names another encoding than the UTF-8 its
bytes are in, which is made to say UTF-8; one that changes is written again, with its namespace prefixes (and no
XML declaration: UTF-8, XML's default).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "MAX_XMP_BYTES", "XmpTarget", "XmpUnusable", "clean_xmp"]

MAX_XMP_BYTES = 1 << 20  # Pillow's own limit for a PNG text chunk; XMP that a JPEG can hold is under 64 KB
MAX_DEPTH = 64  # XMP trees are about 10 deep
# Phones write ~50 elements, Lightroom and darktable (keywords, history) a few thousand
MAX_ELEMENTS = 20_000
_FEED = 1 << 16  # bytes of text parsed before the counts are checked
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML = "http://www.w3.org/XML/1998/namespace"
_XMP = "http://ns.adobe.com/xap/1.0/"
_TIFF = "http://ns.adobe.com/tiff/1.0/"
_EXIF = "http://ns.adobe.com/exif/1.0/"
_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_MM = "http://ns.adobe.com/xap/1.0/mm/"
_DARKTABLE = "http://darktable.sf.net/"
# Namespaces (and those under them) whose properties are all dropped: see the module's docstring.
_DROPPED_NAMESPACES = (
    "http://ns.adobe.com/hdr-gain-map/1.0/",
    "http://ns.apple.com/HDRGainMap/1.0/",
    "http://ns.apple.com/pixeldatainfo/1.0/",
    "http://ns.google.com/photos/1.0/camera/",
    "http://ns.google.com/photos/1.0/container/",  # and .../container/item/
    "http://ns.google.com/photos/1.0/depthmap/",
    "http://ns.google.com/photos/1.0/image/",
    "http://ns.google.com/photos/dd/1.0/",
    "http://ns.adobe.com/camera-raw-settings/1.0/",
    "http://ns.adobe.com/camera-raw-saved-settings/1.0/",
    "http://ns.adobe.com/xmp/note/",
)
_DROPPED_PROPERTIES = {
    _XMP: frozenset({"Thumbnails"}),
    _TIFF: frozenset(
        {
            "BitsPerSample",
            "Compression",
            "PhotometricInterpretation",
            "SamplesPerPixel",
            "PlanarConfiguration",
            "YCbCrSubSampling",
            "YCbCrPositioning",
            "NativeDigest",
        }
    ),
    _EXIF: frozenset({"NativeDigest"}),
    _MM: frozenset({"DocumentID", "InstanceID"}),
}
_DARKTABLE_DEVELOP = ("history", "masks_history", "iop_order", "auto_presets_applied")
_SIZES = {  # size properties: 0 width, 1 height
    (_TIFF, "ImageWidth"): 0,
    (_TIFF, "ImageLength"): 1,
    (_EXIF, "PixelXDimension"): 0,
    (_EXIF, "PixelYDimension"): 1,
}
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>'
_NAME = re.compile(r"\{(.*)\}(.*)")
# An XML declaration's encoding (group 2), at the packet's start (after a UTF-8 byte order mark): nowhere else legal
_DECLARED = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml\s[^>]*?\bencoding\s*=\s*([\"'])([^\"'>]*)\1")


class XmpUnusable(ValueError):
    """XMP that is not copied: too large, not UTF-8, not well-formed, too deep, or with a document type."""


@dataclass(frozen=True)
class XmpTarget:
    """What the XMP must agree with: the result's ``size`` (width, height, upright) and whether the photo's ICC
    profile goes into it (``icc_kept``)."""

    size: tuple[int, int]
    icc_kept: bool


def clean_xmp(packet: bytes, target: XmpTarget) -> bytes | None:
    """``packet`` (an XMP packet, UTF-8 bytes) with what would lie about the result dropped (see the module's
    docstring): the same bytes when nothing is (an XML declaration of another encoding made ``UTF-8``), ``None``
    when no property is left.

    Raises:
        XmpUnusable: saying what is wrong with ``packet`` (it is then not copied).
    """
    root, prefixes = _parse(packet)
    graphs = list(root.iter(f"{{{_RDF}}}RDF"))
    if not graphs:
        raise XmpUnusable("no rdf:RDF element")
    changed = False
    # Orientation under a tiff: prefix of another namespace (a mistyped URI) is read by Pillow as the orientation
    tiff = frozenset({_TIFF} | {uri for uri, prefix in prefixes.items() if prefix == "tiff"})
    for rdf in graphs:
        for node in list(rdf):
            changed |= _clean_node(node, target, tiff)
            if not _has_properties(node):
                rdf.remove(node)
                changed = True
    if not any(len(rdf) for rdf in graphs):
        return None
    return _serialize(root, prefixes) if changed else _declared_utf8(packet)


def _declared_utf8(packet: bytes) -> bytes:
    """``packet`` (UTF-8: :func:`_parse` read it so) with its XML declaration saying so: one that names another
    encoding (UTF-16, ISO-8859-1..., which the bytes are not, or no longer are once a PNG's Latin-1 text was
    read) would have other readers refuse the packet or misread every accented letter."""
    declared = _DECLARED.match(packet)
    if declared is None or declared.group(2).lower() == b"utf-8":
        return packet
    return packet[: declared.start(2)] + b"UTF-8" + packet[declared.end(2) :]


def _parse(packet: bytes) -> tuple[ElementTree.Element, dict[str, str]]:
    """The packet's root element and its namespace prefixes (URI -> first prefix declared for it)."""
    if len(packet) > MAX_XMP_BYTES:
        raise XmpUnusable(f"{len(packet):,} bytes, more than the {MAX_XMP_BYTES:,} read")
    try:
        text = packet.rstrip(b"\x00 \t\r\n").decode("utf-8")
    except UnicodeDecodeError as err:
        raise XmpUnusable(f"not UTF-8 ({err.reason} at byte {err.start})") from None
    if "<!DOCTYPE" in text:
        raise XmpUnusable("it holds a document type declaration (XMP has none)")
    parser: ElementTree.XMLPullParser = ElementTree.XMLPullParser(events=("start", "end", "start-ns"))
    counts = _Counts()
    try:
        for at in range(0, len(text), _FEED):
            parser.feed(text[at : at + _FEED])
            counts.read(parser)
        parser.close()
        counts.read(parser)
    except ElementTree.ParseError as err:
        raise XmpUnusable(f"not well-formed XML ({err})") from None
    if counts.root is None:
        raise XmpUnusable("no XML element")
    return counts.root, counts.prefixes


class _Counts:
    """What the parser's events said so far: the root, namespace prefixes (URI -> first prefix), the depth and
    the number of elements, with the limits checked as the events come."""

    def __init__(self) -> None:
        self.root: ElementTree.Element | None = None
        self.prefixes: dict[str, str] = {}
        self.depth = self.elements = 0

    def read(self, parser: ElementTree.XMLPullParser) -> None:
        """Raises XmpUnusable: over :data:`MAX_DEPTH` or :data:`MAX_ELEMENTS`."""
        for entry in parser.read_events():  # (event, element) or, for "start-ns", (event, (prefix, uri))
            event, item = entry[0], entry[-1]
            if event == "start-ns" and isinstance(item, tuple):
                self.prefixes.setdefault(item[1], item[0])
            elif event == "start" and isinstance(item, ElementTree.Element):
                self.root = item if self.root is None else self.root
                self.depth += 1
                self.elements += 1
                if self.depth > MAX_DEPTH:
                    raise XmpUnusable(f"nested more than {MAX_DEPTH} deep")
                if self.elements > MAX_ELEMENTS:
                    raise XmpUnusable(f"more than {MAX_ELEMENTS:,} elements")
            else:
                self.depth -= 1


def _split(name: str) -> tuple[str, str]:
    """``{uri}local`` -> (uri, local); ``("", name)`` for a name in no namespace."""
    match = _NAME.fullmatch(name)
    return (match.group(1), match.group(2)) if match else ("", name)


def _verdict(name: str, value: str | None, target: XmpTarget, tiff: frozenset[str]) -> str | None:
    """A property's fate: ``None`` drops it, else its (new) value. ``value`` is ``None`` for a structured one;
    ``tiff``: the namespaces whose ``Orientation`` is the picture's (TIFF's, and any written with its prefix)."""
    uri, local = _split(name)
    if uri.startswith(_DROPPED_NAMESPACES) or local in _DROPPED_PROPERTIES.get(uri, ()):
        return None
    if uri == _DARKTABLE and local.startswith(_DARKTABLE_DEVELOP):
        return None
    if (uri, local) in _SIZES:
        kept = value is not None and value.strip() == str(target.size[_SIZES[(uri, local)]])
        return value if kept else None
    if uri in tiff and local == "Orientation":
        return "1"
    if uri == _PHOTOSHOP and local == "ColorMode":
        return value if value is not None and value.strip() == "3" else None  # 3: RGB
    if uri == _PHOTOSHOP and local == "ICCProfile" and not target.icc_kept:
        return None
    return "" if value is None else value


def _clean_node(node: ElementTree.Element, target: XmpTarget, tiff: frozenset[str]) -> bool:
    """Drop or rewrite the properties of one ``rdf:Description`` (attributes and child elements); whether any
    changed."""
    changed = False
    for name, value in list(node.attrib.items()):
        if _split(name)[0] == _RDF:
            continue
        verdict = _verdict(name, value, target, tiff)
        if verdict != value:
            changed = True
            if verdict is None:
                del node.attrib[name]
            else:
                node.attrib[name] = verdict
    for child in list(node):
        simple = not len(child)
        text = (child.text or "") if simple else None
        verdict = _verdict(child.tag, text, target, tiff)
        if verdict is None:
            node.remove(child)
            changed = True
        elif simple and verdict != text:
            child.text = verdict
            changed = True
    return changed


def _has_properties(node: ElementTree.Element) -> bool:
    return len(node) > 0 or any(_split(name)[0] != _RDF for name in node.attrib)


def _serialize(root: ElementTree.Element, prefixes: dict[str, str]) -> bytes:
    """The tree as an XMP packet (UTF-8), every namespace it uses declared on its root with its prefix as read."""
    used = sorted({_split(name)[0] for el in root.iter() for name in (el.tag, *el.attrib)} - {"", _XML})
    names, taken, generated = {_XML: "xml"}, {"xml"}, itertools.count(1)
    for uri in used:  # a set and one counter: tens of thousands of namespaces cost no more than their count
        prefix = prefixes.get(uri, "")
        while not prefix or prefix in taken:  # none (a default namespace), or another URI's
            prefix = f"ns{next(generated)}"
        names[uri] = prefix
        taken.add(prefix)
    out = [_PACKET_BEGIN]
    _write(root, names, out, [f"xmlns:{names[uri]}={quoteattr(uri)}" for uri in used])
    out.append(_PACKET_END)
    return "".join(out).encode("utf-8")


def _qualified(name: str, names: dict[str, str]) -> str:
    uri, local = _split(name)
    return f"{names[uri]}:{local}" if uri else local


def _write(el: ElementTree.Element, names: dict[str, str], out: list[str], declarations: list[str]) -> None:
    """Append ``el`` (nested at most :data:`MAX_DEPTH` deep: :func:`_parse` checked) and its tail to ``out``."""
    tag = _qualified(el.tag, names)
    attrs = [*declarations, *(f"{_qualified(k, names)}={quoteattr(v)}" for k, v in el.attrib.items())]
    out.append(f"<{tag}" + "".join(" " + a for a in attrs))
    if len(el) or el.text:
        out.append(">" + escape(el.text or ""))
        for child in el:
            _write(child, names, out, [])
        out.append(f"</{tag}>")
    else:
        out.append("/>")
    out.append(escape(el.tail or ""))
