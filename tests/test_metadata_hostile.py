"""Metadata from photos anyone may send (the HTTP API too): it costs time in proportion to its size, so that a
small upload cannot hold a worker for minutes (each case here took 8 to 15 seconds, growing with the square of its
size, before its fix, and takes well under one now: the limit asserted, 3 seconds of this process's CPU time, leaves
room on both sides; wall-clock time would count other processes on the cores too), and what does not fit a result is
left out with a note, not an error."""

from __future__ import annotations

import gc
import io
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from helpers.metadata import RDF, resource, segment, with_segments
from PIL import Image, ImageCms, PngImagePlugin

from colorsplash.cli import main
from colorsplash.runtime.pictures.photo_io import decode_image_bytes
from colorsplash.runtime.pictures.photo_write import encode_image
from colorsplash.runtime.pictures.picture_open import ImageReadError
from colorsplash.runtime.pictures.xmp import MAX_ELEMENTS, MAX_XMP_BYTES, XmpTarget, XmpUnusable, clean_xmp

SECONDS = 3.0


@contextmanager
def cpu_seconds() -> Iterator[list[float]]:
    """This thread's CPU time in the block (``[seconds]`` once it ends), the garbage collector held off: what a
    parse costs itself. Other processes, threads earlier tests left running, and collections that walk every object
    a long test process holds (0.5 s once in a test worker, for a parse of 0.03 s) do not count."""
    spent: list[float] = []
    was_on = gc.isenabled()
    gc.disable()
    started = time.thread_time()
    try:
        yield spent
    finally:
        spent.append(time.thread_time() - started)
        if was_on:
            gc.enable()


CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_jpeg_of_many_tiny_photoshop_resources_is_read_in_linear_time() -> None:
    """1 MB of empty resources in 16 APP13 segments: the padding check counted the zeros to the block's end once
    per resource (15 s here)."""
    tiny = resource(0x040C, b"") * 5400  # 12 bytes each, ~64 KB a segment
    data = with_segments(_jpeg(), *[segment(0xED, b"Photoshop 3.0\x00" + tiny) for _ in range(16)])
    with cpu_seconds() as spent:
        photo = decode_image_bytes(data, name="x.jpg")
    assert spent[0] < SECONDS  # 0.1 s here
    assert photo.iptc is None and not photo.notes and not photo.metadata_notes  # none kept, none malformed
    kept = with_segments(
        _jpeg(), segment(0xED, b"Photoshop 3.0\x00" + tiny + resource(0x0404, b"\x1c\x02x") + bytes(8))
    )
    assert decode_image_bytes(kept).iptc == resource(0x0404, b"\x1c\x02x")  # zero padding after the last one


def test_malformed_photoshop_resources_are_not_copied_and_a_note_says_so() -> None:
    iptc = resource(0x0404, b"\x1c\x02x")
    cases = {
        iptc[:-3]: "resource 1028 of 3 bytes runs past the end",
        iptc + b"8BIM\x04\x04\x00\x00\x00": "resource 1028 cut off",
        iptc + b"\x00\x00MeSa": "no resource signature at byte 16",
    }
    for block, why in cases.items():
        photo = decode_image_bytes(with_segments(_jpeg(), segment(0xED, b"Photoshop 3.0\x00" + block)), name="x.jpg")
        assert photo.iptc is None
        assert photo.metadata_notes == [
            f"x.jpg: IPTC metadata (captions, keywords, credit) is damaged ({why}); not copied"
        ]
        assert not photo.notes  # metadata notes apart from reading notes


def test_xmp_with_tens_of_thousands_of_namespaces_is_rewritten_in_linear_time() -> None:
    """19,000 properties each in its own default namespace (under MAX_ELEMENTS), and 14,000 prefixes like the
    generated ones: every new prefix was looked for among all those given so far (6.6 s here for this 0.9 MB
    packet, which a 100 KB PNG holds; 0.2 s now)."""
    declared = "".join(f' xmlns:ns{i}="urn:d{i}" ns{i}:p="{i}"' for i in range(1, 14_000))
    defaults = "".join(f'<p xmlns="u{i}"/>' for i in range(19_000))
    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"><rdf:Description
 xmlns:crs="{CRS}" crs:Exposure2012="1"{declared}>{defaults}</rdf:Description></rdf:RDF></x:xmpmeta>""".encode()
    with cpu_seconds() as spent:
        cleaned = clean_xmp(packet, XmpTarget((8, 8), icc_kept=True))
    assert spent[0] < SECONDS  # 0.35-0.45 s here (wall clock: 0.75-1.3 s beside one test run)
    assert cleaned is not None and CRS.encode() not in cleaned
    node = next(ElementTree.fromstring(cleaned.decode()).iter(f"{{{RDF}}}Description"))
    assert {k: v for k, v in node.attrib.items()} == {f"{{urn:d{i}}}p": str(i) for i in range(1, 14_000)}
    assert [child.tag for child in node] == [f"{{u{i}}}p" for i in range(19_000)]


def test_xmp_of_a_megabyte_of_tiny_elements_is_refused_while_parsing() -> None:
    """A packet of 250,000 empty elements (1 MB, a few KB once compressed in a PNG) cost ~4 s and ~80 MiB per
    photo: parsed whole, then cleaned and written again. Parsing now stops past MAX_ELEMENTS."""
    tiny = "<a/>" * 250_000
    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"><rdf:Description
 xmlns:crs="{CRS}" crs:Exposure2012="1">{tiny}</rdf:Description></rdf:RDF></x:xmpmeta>""".encode()
    with cpu_seconds() as spent, pytest.raises(XmpUnusable, match=f"more than {MAX_ELEMENTS:,} elements"):
        clean_xmp(packet, XmpTarget((8, 8), icc_kept=True))
    assert spent[0] < 0.5  # 0.025 s here; the whole parse took ~4 s


def test_an_icc_profile_too_large_for_a_jpeg_is_left_out_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JPEG numbers its ICC segments in one byte: a WebP's (or TIFF's) profile of more than 255 segments made
    `splash -o x.jpg` fail with "bytes must be in range(0, 256)"; it is now left out and a note says so."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    most = 255 * (65533 - 14)
    fits = srgb + bytes(most - len(srgb))
    with Image.open(io.BytesIO(encode_image(np.zeros((8, 8, 3), np.uint8), "JPEG", icc=fits))) as img:
        assert img.info["icc_profile"] == fits  # 255 segments
    photo = tmp_path / "wide.webp"
    Image.new("RGB", (32, 24), (200, 30, 30)).save(photo, lossless=True, icc_profile=fits + b"\x00")
    assert main(["splash", str(photo), "-o", str(tmp_path / "wide.jpg"), "--on-empty", "copy"]) == 0
    err = capsys.readouterr().err
    assert f"ICC profile of {most + 1:,} bytes does not fit a JPEG (at most {most:,}); not copied" in err, err
    with Image.open(tmp_path / "wide.jpg") as img:
        assert "icc_profile" not in img.info


def test_xmp_that_grows_past_the_read_cap_once_cleaned_is_left_out_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 400 KB packet whose text is ``>`` (legal as it is, escaped as ``&gt;`` when written again) grows to 1.6 MB
    once its Camera Raw setting is dropped: the PNG result held XMP that colorsplash itself refuses to read (over
    MAX_XMP_BYTES), so its own result lost its metadata when splashed again. The writer now leaves it out with a
    note, as it does XMP too large for a JPEG."""
    packet = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"><rdf:Description xmlns:crs="{CRS}"
 crs:Exposure2012="1" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{">" * 400_000}</dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>"""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet, zip=False)
    Image.new("RGB", (32, 24), (200, 30, 30)).save(tmp_path / "a.png", pnginfo=info)
    photo = decode_image_bytes((tmp_path / "a.png").read_bytes(), name="a.png")
    assert photo.xmp is not None and len(photo.xmp) > MAX_XMP_BYTES  # cleaned: &gt; is 4 times as long
    assert main(["splash", str(tmp_path / "a.png"), "-o", str(tmp_path / "out.png"), "--on-empty", "copy"]) == 0
    err = capsys.readouterr().err
    assert f"a.png: XMP of {len(photo.xmp):,} bytes once cleaned is more than colorsplash reads" in err, err
    with Image.open(tmp_path / "out.png") as img:
        assert "XML:com.adobe.xmp" not in img.info and "xmp" not in img.info
    again = decode_image_bytes((tmp_path / "out.png").read_bytes())
    assert again.notes == [] and again.metadata_notes == []
    for fmt in ("PNG", "WEBP", "TIFF", "JPEG"):  # no format gets more than its reader takes
        with Image.open(io.BytesIO(encode_image(photo.rgb, fmt, xmp=photo.xmp))) as img:
            assert not (img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")) and 700 not in img.getexif(), fmt


def _png_with(*chunks: tuple[bytes, bytes], after_pixels: bool = False) -> bytes:
    """A 32x24 PNG with ``chunks`` (type, data) before its image data, or after it (read while loading)."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, "PNG")
    png = buf.getvalue()
    raw = b"".join(
        len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big") for kind, data in chunks
    )
    at = png.index(b"IEND") - 4 if after_pixels else png.index(b"IDAT") - 4
    return png[:at] + raw + png[at:]


@pytest.mark.parametrize("after_pixels", [False, True])
def test_a_png_with_compressed_xmp_over_pillows_limit_is_read_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after_pixels: bool
) -> None:
    """XMP compressed in an iTXt chunk, 1.2 MB once decompressed (a few KB as stored): Pillow refuses the whole
    PNG, and `splash` said "unreadable or truncated picture ...; re-export it". The picture is read without it,
    and a note says the XMP was not copied."""
    packet = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}"/></x:xmpmeta>' + " " * 1_200_000
    itxt = b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(packet.encode())
    (tmp_path / "a.png").write_bytes(_png_with((b"iTXt", itxt), after_pixels=after_pixels))
    assert main(["splash", str(tmp_path / "a.png"), "-o", str(tmp_path / "out.png"), "--on-empty", "copy"]) == 0
    err = capsys.readouterr().err
    why = (
        "compressed, more than 1,048,576 bytes once decompressed (the picture reader's limit); the picture was read "
        "without it"
    )
    assert f"a.png: XMP metadata not copied to the result: {why}" in err, err
    with Image.open(tmp_path / "out.png") as img:
        assert img.size == (32, 24) and not (img.info.get("xmp") or img.info.get("XML:com.adobe.xmp"))


def test_a_png_with_over_64_mb_of_compressed_text_reads_without_the_rest() -> None:
    """66 comments of 1 MiB each once decompressed (70 KB as stored) pass Pillow's limit per chunk, not its 64 MiB
    for all: the PNG was refused. Those past the limit are left out (comments are not copied: no note)."""
    comment = b"Comment\0\0" + zlib.compress(b" " * (1 << 20))
    photo = decode_image_bytes(_png_with(*[(b"zTXt", comment)] * 66), name="a.png")
    assert photo.rgb.shape == (24, 32, 3) and not photo.notes and not photo.metadata_notes


def _count_inflated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of what ``png_text`` inflates from now on, one entry per call (checked never unbounded)."""
    from colorsplash.runtime.pictures import png_text

    inflated: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self) -> None:
            self.inner = real()
            self.unconsumed_tail = b""

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            assert max_length > 0  # 0 would mean "no limit"
            out = self.inner.decompress(data, max_length)
            self.unconsumed_tail = self.inner.unconsumed_tail
            inflated.append(len(out))
            return out

    monkeypatch.setattr(png_text.zlib, "decompressobj", Counting)
    return inflated


def test_compressed_text_past_pillows_memory_limit_is_left_out_without_inflating_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks that each inflate past Pillow's 1 MiB were each inflated to 1 MiB to learn so: 10 MB of 1 KB such
    chunks (a small upload) cost 47 s, where Pillow refused the file in 0.06 s. Past Pillow's 64 MiB inflated in
    all, compressed text is left out unread."""
    inflated = _count_inflated(monkeypatch)
    bomb = b"Comment\0\0" + zlib.compress(b" " * ((1 << 20) + 1))
    photo = decode_image_bytes(_png_with(*[(b"zTXt", bomb)] * 300), name="a.png")
    assert photo.rgb.shape == (24, 32, 3)
    assert sum(inflated) <= 2 * PngImagePlugin.MAX_TEXT_MEMORY  # opened twice at most (probe, decode)


def _big_profile() -> bytes:
    """An sRGB ICC profile padded past Pillow's 1 MiB (its size field says so): 4 KB once compressed."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    padded = srgb + bytes(PngImagePlugin.MAX_TEXT_CHUNK + 1000)
    return len(padded).to_bytes(4, "big") + padded[4:]


def _iccp(profile: bytes) -> tuple[bytes, bytes]:
    return b"iCCP", b"Big profile\0\0" + zlib.compress(profile, 9)


PROFILE_NOTE = (
    "a.png: ICC colour profile not read: compressed, more than 1,048,576 bytes once decompressed (the picture reader's "
    "limit); the result has no profile, so its colours may look different in colour-managed viewers"
)


@pytest.mark.parametrize("after_pixels", [False, True])
def test_a_png_whose_profile_inflates_past_pillows_limit_is_read_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after_pixels: bool
) -> None:
    """An iCCP profile of 1.05 MB once decompressed: Pillow refuses the whole PNG, and `splash` said "unreadable or
    truncated picture ...; re-export it". The photo is read without the profile, and a note says the result has
    none."""
    (tmp_path / "a.png").write_bytes(_png_with(_iccp(_big_profile()), after_pixels=after_pixels))
    assert main(["splash", str(tmp_path / "a.png"), "-o", str(tmp_path / "out.png"), "--on-empty", "copy"]) == 0
    assert PROFILE_NOTE in capsys.readouterr().err
    with Image.open(tmp_path / "out.png") as img:
        assert img.size == (32, 24) and "icc_profile" not in img.info
        assert img.convert("RGB").getpixel((5, 5)) == (200, 30, 30)


def test_a_png_with_a_profile_pillow_reads_keeps_it_without_a_note() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = decode_image_bytes(_png_with(_iccp(srgb)), name="a.png")
    assert photo.icc == srgb and photo.notes == []


def test_profiles_after_one_over_pillows_limit_are_left_out_without_inflating_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """300 profiles each inflating past 1 MiB (a 1 MB upload): Pillow inflates the first to its limit and refuses
    the file; the walk inflates no more than that before leaving them all out."""
    inflated = _count_inflated(monkeypatch)
    photo = decode_image_bytes(_png_with(*[_iccp(_big_profile())] * 300), name="a.png")
    assert photo.rgb.shape == (24, 32, 3) and photo.icc is None and photo.notes == [PROFILE_NOTE]
    assert sum(inflated) <= 2 * PngImagePlugin.MAX_TEXT_CHUNK  # opened twice at most (probe, decode)


def test_the_http_api_splashes_a_png_whose_profile_pillow_refuses(tiny_onnx: Path) -> None:
    """The server decodes uploads with the same reader: 200 and a result without the profile, not 415."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    app = server.create_app(tiny_onnx)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        png = _png_with(_iccp(_big_profile()))
        resp = client.post("/api/splash?on_empty=copy", files={"file": ("a.png", png, "image/png")})
    assert resp.status_code == 200, resp.text
    with Image.open(io.BytesIO(resp.content)) as img:
        assert img.size == (32, 24) and "icc_profile" not in img.info


def _damaged(png: bytes, kind: bytes) -> bytes:
    """``png`` with the checksum of its first ``kind`` chunk wrong."""
    at = png.index(kind) - 4
    end = at + 12 + int.from_bytes(png[at : at + 4], "big")
    return png[: end - 4] + bytes(b ^ 0xFF for b in png[end - 4 : end]) + png[end:]


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param((b"tEXt", b"Comment\0hello"), id="damaged-text"),
        pytest.param((b"zTXt", b"Comment\0\7" + zlib.compress(b"hello")), id="unknown-compression"),
    ],
)
def test_a_png_with_a_text_chunk_pillow_refuses_is_read_without_it(chunk: tuple[bytes, bytes]) -> None:
    """A text chunk with a wrong checksum, or a zTXt compressed by a method PNG does not define, made Pillow refuse
    the whole PNG: "not a picture colorsplash reads (unrecognised content)". The text is left out."""
    png = _png_with(chunk)
    if chunk[1] == b"Comment\0hello":
        png = _damaged(png, b"tEXt")
    photo = decode_image_bytes(png, name="a.png")
    assert photo.rgb.shape == (24, 32, 3) and (photo.rgb[0, 0] == (200, 30, 30)).all()


def test_a_damaged_png_is_called_damaged_not_unrecognised() -> None:
    """A PNG (by its signature) whose header chunk's checksum is wrong was "not a picture colorsplash reads
    (unrecognised content ...)"; it is a damaged PNG, to re-export."""
    with pytest.raises(ImageReadError, match=r"unreadable or truncated picture \(damaged PNG: .*re-export it"):
        decode_image_bytes(_damaged(_png_with(), b"IHDR"), name="a.png")


def test_a_png_of_millions_of_chunks_is_refused_before_they_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 25 MB upload of empty chunks (2 million) held a server worker for 21 s (walked, then parsed by Pillow at
    each of three opens). Past MAX_CHUNKS the PNG is refused, naming why."""
    from colorsplash.runtime.pictures import png_text

    monkeypatch.setattr(png_text, "MAX_CHUNKS", 50)
    assert decode_image_bytes(_png_with(*[(b"teSt", b"")] * 40), name="a.png").rgb.shape == (24, 32, 3)
    with pytest.raises(ImageReadError, match=r"more than 50 PNG chunks.*re-export it"):
        decode_image_bytes(_png_with(*[(b"teSt", b"")] * 60), name="a.png")


def test_a_sound_png_of_many_image_data_chunks_is_not_refused_as_too_many(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpng (OpenCV, ImageMagick) writes image data in 8 KB chunks: a sound PNG of over 800 MB (a noisy 16-bit
    photo past 100 MP) holds more than 100,000 of them, and was refused as "more than 100,000 PNG chunks, far more
    than picture writers make". Only small chunks count (here, scaled down: 60 of 8 KB against a limit of 50)."""
    cv2 = pytest.importorskip("cv2")
    from colorsplash.runtime.pictures import png_text

    monkeypatch.setattr(png_text, "MAX_CHUNKS", 50)
    noise = np.random.default_rng(0).integers(0, 256, (400, 400, 3), np.uint8)
    data = cv2.imencode(".png", noise)[1].tobytes()
    assert data.count(b"IDAT") > 55
    assert np.array_equal(decode_image_bytes(data, name="big.png").rgb, noise[..., ::-1])
