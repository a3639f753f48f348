"""XMP cleaned for a result (:mod:`colorsplash.runtime.pictures.xmp`) at its edges: an orientation written as an element
or under a mistyped TIFF namespace, the extended-XMP note and EXIF digest dropped, and the parse limits exactly."""

from __future__ import annotations

import pytest

from colorsplash.runtime.pictures.xmp import MAX_DEPTH, MAX_ELEMENTS, XmpTarget, XmpUnusable, clean_xmp

TARGET = XmpTarget((80, 60), icc_kept=True)
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def packet(namespaces: str, attributes: str = "", body: str = "") -> bytes:
    return (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" {namespaces} xmp:Rating="4" {attributes}>'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def test_an_orientation_element_becomes_upright() -> None:
    """``<tiff:Orientation>6</tiff:Orientation>`` (an element, not an attribute): the result is written upright,
    so its XMP must say 1, or a viewer turns it a second time."""
    out = clean_xmp(
        packet('xmlns:tiff="http://ns.adobe.com/tiff/1.0/"', body="<tiff:Orientation>6</tiff:Orientation>"), TARGET
    )
    assert out is not None and b">1</tiff:Orientation>" in out and b">6<" not in out


def test_an_orientation_under_a_mistyped_tiff_namespace_becomes_upright() -> None:
    """A ``tiff`` prefix bound to a mistyped URI (no trailing slash): Pillow reads the orientation by the prefix,
    so it is set to 1 there too."""
    out = clean_xmp(packet('xmlns:tiff="http://ns.adobe.com/tiff/1.0"', 'tiff:Orientation="8"'), TARGET)
    assert out is not None and b'tiff:Orientation="1"' in out


@pytest.mark.parametrize(
    ("namespace", "attribute"),
    [
        ('xmlns:xmpNote="http://ns.adobe.com/xmp/note/"', 'xmpNote:HasExtendedXMP="0123456789ABCDEF"'),
        ('xmlns:exif="http://ns.adobe.com/exif/1.0/"', 'exif:NativeDigest="36864,40960;0F1E"'),
    ],
)
def test_notes_of_the_originals_extended_xmp_and_exif_digest_are_dropped(namespace: str, attribute: str) -> None:
    """Extended XMP is not carried and the EXIF is not the original's: saying otherwise would send readers after
    segments that are not there, or have them discard the EXIF as changed."""
    out = clean_xmp(packet(namespace, attribute), TARGET)
    assert out is not None and attribute.split("=")[0].encode() not in out and b'xmp:Rating="4"' in out


def _nested(depth: int) -> bytes:
    """A packet whose deepest element is ``depth`` levels down (the root is level 1)."""
    inner = depth - 3  # x:xmpmeta, rdf:RDF, rdf:Description
    return packet("", body="<xmp:a>" * inner + "v" + "</xmp:a>" * inner)


def test_the_depth_limit_is_exact() -> None:
    assert clean_xmp(_nested(MAX_DEPTH), TARGET) is not None
    with pytest.raises(XmpUnusable, match=f"nested more than {MAX_DEPTH} deep"):
        clean_xmp(_nested(MAX_DEPTH + 1), TARGET)


def test_the_element_limit_is_exact() -> None:
    flat = "<xmp:k>v</xmp:k>" * (MAX_ELEMENTS - 3)  # with x:xmpmeta, rdf:RDF and rdf:Description
    assert clean_xmp(packet("", body=flat), TARGET) is not None
    with pytest.raises(XmpUnusable, match="elements"):
        clean_xmp(packet("", body=flat + "<xmp:k>v</xmp:k>"), TARGET)


def test_the_size_limit_is_exact() -> None:
    """XMP packets are padded with spaces in place (xpacket's writable tail): a packet of exactly
    :data:`MAX_XMP_BYTES` is read, one byte more is not."""
    from colorsplash.runtime.pictures.xmp import MAX_XMP_BYTES

    body = packet("")
    assert clean_xmp(body + b" " * (MAX_XMP_BYTES - len(body)), TARGET) is not None
    with pytest.raises(XmpUnusable, match="bytes, more than"):
        clean_xmp(body + b" " * (MAX_XMP_BYTES + 1 - len(body)), TARGET)
