"""The metadata a photographer cares about, carried into results (``splash`` and ``/api/splash``): XMP (ratings,
keywords, captions, creator, copyright) without what would lie about the result (gain maps, Motion Photo, develop
settings, thumbnails, stale orientation and sizes), IPTC without its thumbnail, EXIF's GPS and dates; a phone's
gain-map JPEG (MPO) or Motion Photo becomes a plain JPEG."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from helpers import make_blob_image
from helpers.metadata import (
    DC,
    IPTC_RESOURCE,
    RDF,
    STALE_NAMESPACES,
    VIDEO,
    XMP_HEADER,
    XMP_NS,
    jpeg_segments,
    jpeg_xmp,
    phone_jpeg,
    phone_xmp,
    properties,
    segment,
    with_segments,
)
from PIL import Image, PngImagePlugin

from colorsplash.cli import main
from colorsplash.runtime.model.onnx_model import bundled_model_path
from colorsplash.runtime.pictures.photo_io import decode_image_bytes

TIFF_NS = "http://ns.adobe.com/tiff/1.0/"
EXIF_NS = "http://ns.adobe.com/exif/1.0/"


MODEL = bundled_model_path()  # no PyTorch needed: these tests run on the oldest Pillow too (.ci/min-deps)


def splash(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, *args: str) -> tuple[bytes, str]:
    """Run ``colorsplash splash`` on ``data`` saved as ``name`` (``args``: the result's suffix, then options):
    (result bytes, standard error). The pet model finds no pet here: the result is grey all over."""
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / ("out" + (args[0] if args else src.suffix))
    code = main(["-q", "splash", str(src), "-o", str(out), "--model", str(MODEL), *args[1:]])
    err = capsys.readouterr().err
    assert code == 0, err
    return out.read_bytes(), err


def assert_kept_and_cleaned(packet: bytes | None, size: tuple[int, int]) -> None:
    """The photographer's XMP is there; nothing that would lie about a result of ``size`` (width, height) is."""
    assert packet is not None, "XMP not copied"
    found = properties(packet)
    assert found[f"{{{XMP_NS}}}Rating"] == "4" and found[f"{{{XMP_NS}}}Label"] == "Red"
    assert [found[f"{{{DC}}}subject[{i}]"] for i in (0, 1)] == ["cat", "garden"]
    assert found[f"{{{DC}}}description[0]"] == "Tom & the roses"
    assert found[f"{{{DC}}}creator[0]"] == "Ann Photographer" and found[f"{{{DC}}}rights[0]"] == "(c) Ann"
    assert found.get(f"{{{TIFF_NS}}}Orientation", "1") == "1"
    for axis, name in enumerate(("PixelXDimension", "PixelYDimension")):
        assert found.get(f"{{{EXIF_NS}}}{name}", str(size[axis])) == str(size[axis])
    for namespace in STALE_NAMESPACES:
        assert namespace.encode() not in packet, namespace


def test_motion_photo_splash_keeps_xmp_iptc_gps_dates_and_is_a_plain_jpeg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = np.ascontiguousarray(make_blob_image(120, 160, seed=2)[0])
    data, err = splash(tmp_path, capsys, "PXL_MP.jpg", phone_jpeg(stored, orientation=6))
    assert "XMP" not in err and "IPTC" not in err
    assert_kept_and_cleaned(jpeg_xmp(data), (120, 160))  # upright: 120 wide, 160 high
    assert [b for m, b in jpeg_segments(data) if m == 0xED] == [b"Photoshop 3.0\x00" + IPTC_RESOURCE]  # no thumbnail
    assert b"ftyp" not in data and data.endswith(b"\xff\xd9")  # nothing of the video
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (120, 160)
        exif = img.getexif()
        assert exif[0x0112] == 1 and exif[0x0132] == "2024:05:01 10:00:00"
        sub, gps = exif.get_ifd(0x8769), exif.get_ifd(0x8825)
        assert sub[0x9003] == "2024:05:01 10:00:00" and (sub[0xA002], sub[0xA003]) == (120, 160)
        assert gps[2] == (52.0, 22.0, 0.0) and gps[4] == (4.0, 53.0, 0.0)


def test_ultra_hdr_mpo_becomes_a_plain_jpeg_with_its_xmp_cleaned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Ultra HDR photo: the gain map is a second picture, described in XMP and MPF (Pillow 10 reads it as MPO;
    Pillow 11 and later as a JPEG, seeing ``hdrgm:Version``)."""
    primary = Image.fromarray(make_blob_image(120, 160, seed=4)[0])
    buf = io.BytesIO()
    primary.save(buf, "MPO", save_all=True, append_images=[Image.new("L", (80, 60), 200)])
    # Before the MPF segment: the gain map's offset, counted from the MPF header, stays right.
    mpo = with_segments(buf.getvalue(), segment(0xE1, XMP_HEADER + phone_xmp(160, 120, 1)))
    with Image.open(io.BytesIO(mpo)) as check:
        assert check.format in ("MPO", "JPEG") and check.info.get("mp")
    data, _ = splash(tmp_path, capsys, "PXL_HDR.jpg", mpo)
    assert_kept_and_cleaned(jpeg_xmp(data), (160, 120))
    assert not [b for m, b in jpeg_segments(data) if m == 0xE2 and b.startswith(b"MPF")]
    assert data.count(b"\xff\xd8") == 1  # one picture: no gain map after it
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1


def _png(rgb: np.ndarray, xmp: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=False)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _webp(rgb: np.ndarray, xmp: bytes) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "WEBP", quality=95, xmp=xmp)
    return buf.getvalue()


def _tiff(rgb: np.ndarray, xmp: bytes) -> bytes:
    exif = Image.Exif()
    exif[270], exif[700] = "A TIFF", xmp
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "TIFF", exif=exif.tobytes())
    return buf.getvalue()


def _heif(rgb: np.ndarray, xmp: bytes) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "HEIF", xmp=xmp)
    return buf.getvalue()


def _read_xmp(data: bytes) -> bytes | None:
    with Image.open(io.BytesIO(data)) as img:
        if img.format == "JPEG":
            return jpeg_xmp(data)
        found = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or img.getexif().get(700)
    return found.encode() if isinstance(found, str) else found


@pytest.mark.parametrize(
    ("name", "make", "suffix"),
    [
        ("a.png", _png, ".png"),
        ("a.webp", _webp, ".webp"),
        ("a.tif", _tiff, ".tif"),
        ("a.png", _png, ".jpg"),
        ("a.heic", _heif, ".jpg"),
    ],
)
def test_xmp_kept_and_cleaned_in_each_format(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    make: Callable[[np.ndarray, bytes], bytes],
    suffix: str,
) -> None:
    """PNG's iTXt, WebP's XMP chunk, TIFF's tag 700 (which the EXIF copy used to carry as it was), a PNG's XMP in a
    JPEG result, and an iPhone's HEIC (a JPEG result; with pillow-heif)."""
    rgb = np.ascontiguousarray(make_blob_image(60, 80, seed=5)[0])
    data, _ = splash(tmp_path, capsys, name, make(rgb, phone_xmp(80, 60, 1)), suffix)
    assert_kept_and_cleaned(_read_xmp(data), (80, 60))


def test_api_splash_keeps_cleaned_xmp_and_iptc() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    stored = np.ascontiguousarray(make_blob_image(120, 160, seed=2)[0])
    app = server.create_app(MODEL)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        resp = client.post("/api/splash", content=phone_jpeg(stored), headers={"content-type": "image/jpeg"})
    assert resp.status_code == 200, resp.text
    assert_kept_and_cleaned(jpeg_xmp(resp.content), (120, 160))
    assert [b for m, b in jpeg_segments(resp.content) if m == 0xED] == [b"Photoshop 3.0\x00" + IPTC_RESOURCE]
    assert b"ftyp" not in resp.content


HOSTILE = {
    "entities": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="&b;"/></rdf:RDF></x:xmpmeta>',
    "not UTF-8": phone_xmp().replace(b"Ann", b"\xc4nn"),
    "not well-formed": phone_xmp()[:-40],
    "deep": b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * 100 + b"</a>" * 100 + b"</x:xmpmeta>",
    "no rdf:RDF": b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><a>1</a></x:xmpmeta>',
}


@pytest.mark.parametrize("case", HOSTILE)
def test_unusable_xmp_is_not_copied_and_a_note_says_so(case: str) -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG")
    photo = decode_image_bytes(with_segments(buf.getvalue(), segment(0xE1, XMP_HEADER + HOSTILE[case])), name="x.jpg")
    assert photo.xmp is None
    assert [n for n in photo.metadata_notes if n.startswith("x.jpg: XMP metadata not copied to the result")]
    assert not photo.notes  # about the metadata a splash leaves out, not about reading the picture: kept apart


def test_xmp_too_large_for_a_jpeg_gives_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A PNG's XMP of 70 KB fits the PNG result but not a JPEG segment (extended XMP is not written): the note says
    so, and that a PNG result keeps it (it did say "extended XMP is not written", which a photographer cannot act
    on)."""
    rgb = np.ascontiguousarray(make_blob_image(60, 80, seed=5)[0])
    big = phone_xmp(80, 60, 1).replace(b"Ann Photographer", b"Ann " + b"x" * 70_000)
    data, err = splash(tmp_path, capsys, "a.png", _png(rgb, big), ".jpg")
    assert jpeg_xmp(data) is None
    assert re.search(
        r"a\.png: XMP of [\d,]+ bytes does not fit a JPEG \(at most 65,504\); not copied; a PNG result keeps it\n", err
    ), err
    data, err = splash(tmp_path, capsys, "a.png", _png(rgb, big), ".png", "--overwrite")
    assert "XMP" not in err and b"x" * 70_000 in (_read_xmp(data) or b"")


def test_api_says_in_a_header_that_xmp_too_large_for_a_jpeg_was_left_out() -> None:
    """README said this is "left out with a note", true for `splash` only (review7): the HTTP API answered the JPEG
    without it and without a word. The note now comes in ``X-Colorsplash-Notes`` (a JSON array of strings)."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    rgb = np.ascontiguousarray(make_blob_image(60, 80, seed=5)[0])
    big = phone_xmp(80, 60, 1).replace(b"Ann Photographer", b"Ann " + b"x" * 70_000)
    with TestClient(server.create_app(MODEL), base_url="http://127.0.0.1:8000") as client:
        resp = client.post("/api/splash?format=jpeg", files={"file": ("a.png", _png(rgb, big), "image/png")})
    assert resp.status_code == 200 and jpeg_xmp(resp.content) is None, resp.text
    (note,) = json.loads(resp.headers["x-colorsplash-notes"])
    assert re.fullmatch(
        r"a\.png: XMP of [\d,]+ bytes does not fit a JPEG \(at most 65,504\); not copied; a PNG result keeps it", note
    ), note


def test_photo_without_xmp_gets_none() -> None:
    """The common case: nothing to parse, nothing written."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    photo = decode_image_bytes(buf.getvalue())
    assert photo.xmp is None and photo.iptc is None and not photo.notes and not photo.metadata_notes
    assert VIDEO  # the helper's video is a real MP4 box start


def test_clean_xmp_rules_prefixes_and_untouched_packets() -> None:
    from colorsplash.runtime.pictures.xmp import XmpTarget, clean_xmp

    dt, ps = "http://darktable.sf.net/", "http://ns.adobe.com/photoshop/1.0/"
    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:darktable="{dt}" xmlns:photoshop="{ps}" xmlns:tiff="{TIFF_NS}"
 darktable:colorlabels="2" darktable:history_end="3" photoshop:ICCProfile="Adobe RGB (1998)"
 photoshop:ColorMode="4" tiff:ImageWidth="80" tiff:ImageLength="999">
<darktable:history><rdf:Seq><rdf:li darktable:operation="exposure"/></rdf:Seq></darktable:history>
</rdf:Description></rdf:RDF></x:xmpmeta>""".encode()
    cleaned = clean_xmp(packet, XmpTarget((80, 60), icc_kept=False))
    assert cleaned is not None and b"<rdf:Description" in cleaned and b'darktable:colorlabels="2"' in cleaned
    assert set(properties(cleaned)) == {f"{{{dt}}}colorlabels", f"{{{TIFF_NS}}}ImageWidth"}
    kept_icc = properties(clean_xmp(packet, XmpTarget((80, 60), icc_kept=True)) or b"")
    assert kept_icc[f"{{{ps}}}ICCProfile"] == "Adobe RGB (1998)"
    head = packet.split(b"<rdf:Description")[0]
    clean = head + f'<rdf:Description xmlns:tiff="{TIFF_NS}" tiff:Orientation="1"/></rdf:RDF></x:xmpmeta>'.encode()
    untouched = XmpTarget((4000, 3000), icc_kept=True)
    assert clean_xmp(clean, untouched) == clean  # nothing to drop: the bytes as they were
    only_stale = head + b"<rdf:Description xmlns:crs="
    only_stale += b'"http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+1"/></rdf:RDF></x:xmpmeta>'
    assert clean_xmp(only_stale, untouched) is None  # nothing left: no XMP at all


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_exif_pixel_dimensions_are_the_upright_results(orientation: int) -> None:
    """A phone stores a portrait 160x120 with orientation 6: the upright result is 120x160, and so its EXIF."""
    stored = np.ascontiguousarray(make_blob_image(120, 160, seed=2)[0])
    photo = decode_image_bytes(phone_jpeg(stored, orientation, video=False))
    upright = (120, 160) if orientation in (6, 8) else (160, 120)
    assert (photo.rgb.shape[1], photo.rgb.shape[0]) == upright
    exif = Image.Exif()
    exif.load(photo.exif or b"")
    sub = exif.get_ifd(0x8769)
    assert (sub[0xA002], sub[0xA003]) == upright and sub[0x9003] == "2024:05:01 10:00:00"


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_exif_without_camera_directories_gets_none(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A photo whose EXIF holds IFD0 tags alone (a maker, an artist; no Exif or GPS directory): its result's EXIF
    gained empty Exif and GPS directories, and a TIFF result was written uncompressed for them, as a camera's is."""
    exif = Image.Exif()
    exif[0x010F], exif[0x013B] = "Cam", "Me"
    buf = io.BytesIO()
    Image.fromarray(make_blob_image(60, 80)[0]).save(buf, "JPEG", exif=exif.tobytes())
    data, _ = splash(tmp_path, capsys, "a.jpg", buf.getvalue(), suffix)
    with Image.open(io.BytesIO(data)) as img:
        written = img.getexif()
        if suffix == ".tif":
            assert img.info["compression"] == "tiff_adobe_deflate"
    assert (written.get(0x010F), written.get(0x013B)) == ("Cam", "Me")
    assert not {0x8769, 0x8825} & set(written)


def test_rewritten_xmp_keeps_each_namespace_apart() -> None:
    """One prefix bound to two namespaces (legal XML, in two descriptions) and a prefix like the generated ones: the
    packet written again reads back with every property under its own namespace."""
    from colorsplash.runtime.pictures.xmp import XmpTarget, clean_xmp

    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">
<rdf:Description xmlns:a="urn:one" xmlns:ns5="urn:a0" a:x="1" ns5:z="3"/>
<rdf:Description xmlns:a="urn:two" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" a:y="2"
 crs:Exposure2012="1"/></rdf:RDF></x:xmpmeta>""".encode()
    cleaned = clean_xmp(packet, XmpTarget((8, 8), icc_kept=True))
    assert cleaned is not None and b"camera-raw" not in cleaned
    assert properties(cleaned) == {"{urn:one}x": "1", "{urn:two}y": "2", "{urn:a0}z": "3"}


def _declaring(encoding: str | None) -> str:
    """A packet that keeps all it has (nothing to drop), with an XML declaration of ``encoding`` (none: ``None``)."""
    declaration = "" if encoding is None else f'<?xml version="1.0" encoding="{encoding}"?>'
    return f"""{declaration}<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"><rdf:Description
 xmlns:dc="{DC}" dc:format="Zoë's cat"/></rdf:RDF></x:xmpmeta>"""


def _jpeg_with(packet: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    return with_segments(buf.getvalue(), segment(0xE1, XMP_HEADER + packet))


def _png_text(stored: bytes) -> bytes:
    """A PNG whose XMP is in a tEXt chunk (Latin-1 by the PNG rule; some writers put UTF-8 there), ``stored``."""
    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", stored)
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


@pytest.mark.parametrize(
    "picture",
    [
        _jpeg_with(_declaring("UTF-16").encode()),  # declared UTF-16, UTF-8 bytes: XML readers refused it
        _jpeg_with(_declaring("ISO-8859-1").encode()),  # declared Latin-1, UTF-8 bytes: read "ZoÃ«'s cat"
        _png_text(_declaring("ISO-8859-1").encode("latin-1")),  # true in the PNG; the result's bytes are UTF-8
        _png_text(_declaring(None).encode()),  # UTF-8 bytes in a tEXt chunk: were encoded twice ("ZoÃ«")
    ],
    ids=["jpeg-utf16-declared", "jpeg-latin1-declared", "png-text-latin1", "png-text-utf8"],
)
def test_kept_xmp_reads_as_it_was_meant_from_its_bytes(picture: bytes) -> None:
    """The packet a result carries, parsed from its bytes as any XML reader does (its declaration decides their
    encoding), says what the photo's said; a packet declared UTF-8 is kept byte for byte."""
    photo = decode_image_bytes(picture, name="x")
    assert photo.xmp is not None and not photo.notes and not photo.metadata_notes
    node = next(ElementTree.fromstring(photo.xmp).iter(f"{{{RDF}}}Description"))
    assert node.attrib[f"{{{DC}}}format"] == "Zoë's cat"
    assert photo.xmp.startswith((b"<x:xmpmeta", b'<?xml version="1.0" encoding="UTF-8"?><x:xmpmeta'))
    kept = _declaring("utf-8").encode()
    assert decode_image_bytes(_jpeg_with(kept)).xmp == kept
