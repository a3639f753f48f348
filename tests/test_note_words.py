"""Every note a photo can give is in a photographer's words: what the picture is and what happened to it, never
Pillow's mode names (``I;16``, ``F``, ``LA``), PNG chunk or JPEG segment names (``iTXt``, ``iCCP``, ``APP1``) or
Pillow itself; each names the file, is one line and fits the HTTP header's 300 characters. Notes said
"grey16.png: I;16 pixels reduced to 8 bits" and "(Pillow's limit)" (words audit). The scan covers every picture
the reading tests generate (every mode, depth and layout) and the metadata cases that give a note."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from helpers.hostile import SRGB_ICC, _good_cases, encoded, gradient
from helpers.metadata import resource, segment, with_segments
from PIL import Image, PngImagePlugin

from colorsplash.runtime.pictures.photo_io import decode_image_bytes
from colorsplash.runtime.pictures.photo_meta import damaged_exif_note
from colorsplash.runtime.pictures.photo_write import metadata_notes
from colorsplash.runtime.pictures.xmp import MAX_XMP_BYTES
from colorsplash.runtime.result_notes import Written, result_notes
from colorsplash.server.notes import MAX_NOTE_CHARS

# Pillow's modes (one-band, alpha, premultiplied...; bilevel "1" is a number too), PNG chunks, JPEG segments, and
# Pillow. CMYK and RGB are a photographer's words too, and stay allowed.
MODES = r"L|LA|La|P|PA|I|I;16\w*|F|RGBA|RGBa|RGBX|YCbCr|LAB|HSV"
# Pillow's own warnings on damaged EXIF ("Corrupt EXIF data.  Expecting to read 12 bytes but only got 0", "Tag data
# larger than file. Skipping tag 270", "Metadata Warning, tag 256 had too many entries").
WARNINGS = r"Corrupt EXIF|Expecting to read|Skipping tag|Tag data larger|Tag offset|Metadata Warning|MakerNote"
JARGON = re.compile(
    rf"(?<![\w;])(?:{MODES})(?![\w;])|\b(?:[a-zA-Z]{{2}}[A-Z]t|iCCP|eXIf|IHDR|IDAT|APP\d+)\b|Pillow|{WARNINGS}"
)
WRITTEN: list[tuple[Written, str | None, str]] = [
    ("splash", "JPEG", "cli"),
    ("splash", "PNG", "http"),
    ("cut-out", "PNG", "cli"),
    ("mask", "PNG", "cli"),
    ("view", "JPEG", "http"),
    ("splash", None, "python"),
]


def _png_with(*chunks: tuple[bytes, bytes]) -> bytes:
    png = encoded(gradient(24, 32), "PNG")
    raw = b"".join(len(d).to_bytes(4, "big") + k + d + zlib.crc32(k + d).to_bytes(4, "big") for k, d in chunks)
    at = png.index(b"IDAT") - 4
    return png[:at] + raw + png[at:]


def _cut_after_first_page(data: bytes) -> bytes:
    """A little-endian TIFF ``data`` cut 10 bytes into its second page's directory."""
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    return data[: second + 10]


def _metadata_cases() -> dict[str, Callable[[], bytes]]:
    """Pictures whose metadata gives a note: unread PNG text and profile, damaged IPTC, unusable XMP, EXIF too
    large for a JPEG, an unusable CMYK profile, a TIFF's pages (whole, and cut after the first), an animated PNG,
    32-bit integer greyscale."""
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>' + b" " * 1_200_000
    profile = SRGB_ICC + bytes(PngImagePlugin.MAX_TEXT_CHUNK + 1000)
    profile = len(profile).to_bytes(4, "big") + profile[4:]
    jpeg = encoded(gradient(16, 16), "JPEG")
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000
    cmyk_icc = SRGB_ICC[:16] + b"CMYK" + SRGB_ICC[20:]
    frames = [Image.fromarray(gradient(seed=s)) for s in range(2)]
    described = Image.Exif()
    described[0x010E] = "x" * 100  # a description stored after the IFD: cut off with the block's end
    return {
        "big_xmp.png": lambda: _png_with((b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(xmp))),
        "big_profile.png": lambda: _png_with((b"iCCP", b"Big\0\0" + zlib.compress(profile, 9))),
        "damaged_text.png": lambda: _png_with((b"zTXt", b"XML:com.adobe.xmp\0\7" + zlib.compress(b"x"))),
        "iptc.jpg": lambda: with_segments(jpeg, segment(0xED, b"Photoshop 3.0\0" + resource(0x0404, b"\x1cx")[:-3])),
        "bad_xmp.jpg": lambda: with_segments(jpeg, segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><a")),
        "big_exif.png": lambda: encoded(gradient(24, 32), "PNG", exif=exif),
        "cmyk_bad_profile.jpg": lambda: encoded(Image.new("CMYK", (30, 20)), "JPEG", icc_profile=cmyk_icc),
        "pages.tif": lambda: encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "cut_pages.tif": lambda: _cut_after_first_page(encoded(frames[0], "TIFF", save_all=True, append_images=frames)),
        "animated.png": lambda: encoded(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "cut_exif.jpg": lambda: encoded(gradient(16, 16), "JPEG", exif=described.tobytes()[:-60]),
        "int32.tif": lambda: encoded(Image.fromarray(gradient()[..., 0].astype(np.int32) * 1000), "TIFF"),
    }


def every_note() -> list[tuple[str, str]]:
    """(file name, note) for every note the generated pictures give, for each kind of result and caller."""
    notes: list[tuple[str, str]] = []
    for name, make in (_good_cases() | _metadata_cases()).items():
        photo = decode_image_bytes(make(), name=name)
        for written, fmt, spelling in WRITTEN:
            notes += [(name, note) for note in result_notes(photo, written, fmt, spelling)]  # type: ignore[arg-type]
    big = bytes(70_000)  # what no JPEG segment holds; a profile of more than 255 segments
    notes += [("a.png", n) for n in metadata_notes("JPEG", big, "a.png", big, big, bytes(255 * 65519 + 1))]
    notes += [("a.png", n) for n in metadata_notes("PNG", None, "a.png", bytes(MAX_XMP_BYTES + 1))]
    return notes


@pytest.fixture(scope="module")
def notes() -> list[tuple[str, str]]:
    return every_note()


def test_the_scan_sees_every_kind_of_note(notes: list[tuple[str, str]]) -> None:
    """The scan below means something only if the fixtures give each kind of note."""
    text = "\n".join(note for _, note in notes)
    for words in (
        "16-bit greyscale picture",
        "32-bit floating-point greyscale picture",
        "32-bit greyscale picture",
        "16-bit picture",
        "CMYK picture without a colour profile",
        "CMYK picture whose colour profile cannot be used",
        "GIF with 3 frames",
        "WebP with 3 frames",
        "animated PNG with 2 frames",
        "TIFF with 2 pages",
        "TIFF whose later pages are damaged or cut off",
        "transparent areas flattened onto white; a cut-out keeps them: --effect transparent",
        "transparent areas seen over white",
        "EXIF metadata (camera, dates, GPS) is damaged (cut short: 12 bytes expected, 0 found); not copied",
        (  # older Pillow (10, the oldest accepted) says the same cut value is a "Truncated File Read"
            "EXIF metadata (camera, dates, GPS) is damaged (a value larger than the file); not copied",
            "EXIF metadata (camera, dates, GPS) is damaged (cut short); not copied",
        ),
        "XMP metadata not copied to the result",
        "ICC colour profile not read",
        "IPTC metadata (captions, keywords, credit) is damaged",
        "EXIF of 70,000 bytes does not fit a JPEG",
        "ICC profile of",
        "once cleaned is more than colorsplash reads",
    ):
        assert any(w in text for w in ((words,) if isinstance(words, str) else words)), words


def test_no_note_names_a_pillow_mode_a_png_chunk_or_pillow(notes: list[tuple[str, str]]) -> None:
    for name, note in notes:
        assert note.startswith(f"{name}: "), note  # names the file
        words = note[len(name) + 2 :]
        assert not JARGON.search(words), (JARGON.search(words), note)
        assert "\n" not in note and len(note) <= MAX_NOTE_CHARS, note  # one line; whole in the header


def test_the_jargon_check_catches_what_notes_used_to_say() -> None:
    """The pattern above is not one that nothing matches."""
    for old in (
        "I;16 pixels reduced to 8 bits",
        "F pixels reduced to 8 bits",
        "I pixels reduced to 8 bits",
        "compressed, more than 1,048,576 bytes once decompressed (Pillow's limit)",
        "an iTXt chunk",
        "the iCCP chunk",
        "an APP1 segment",
        "LA picture",
        "Corrupt EXIF data. Expecting to read 12 bytes but only got 0; EXIF not copied to the result",
        "Tag data larger than file. Skipping tag 270; EXIF not copied to the result",
    ):
        assert JARGON.search(old), old
    assert not JARGON.search("CMYK picture converted to sRGB with its colour profile; 16-bit RGB, 1 frame")


def test_grey_pictures_of_more_than_8_bits_are_named_by_their_depth() -> None:
    """A 16-bit greyscale PNG said "I;16 pixels reduced to 8 bits" (Pillow's mode), where a 16-bit colour one said
    "16-bit picture; the result has 8 bits per channel"; a float TIFF "F pixels reduced to 8 bits"."""
    deep = (np.linspace(0, 65535, 600).reshape(20, 30)).astype(np.uint16)
    for name, data, what in (
        ("grey16.png", encoded(Image.fromarray(deep), "PNG"), "16-bit greyscale picture"),
        ("grey16.tif", encoded(Image.fromarray(deep), "TIFF"), "16-bit greyscale picture"),
        (
            "float.tif",
            encoded(Image.fromarray(deep.astype(np.float32)), "TIFF"),
            "32-bit floating-point greyscale picture",
        ),
    ):
        photo = decode_image_bytes(data, name=name)
        assert photo.notes == [f"{name}: {what}; the result has 8 bits per channel"]


def test_cmyk_notes_say_what_the_picture_is_and_what_to_expect() -> None:
    photo = decode_image_bytes(encoded(Image.new("CMYK", (30, 20), (0, 200, 200, 0)), "JPEG"), name="print.jpg")
    assert photo.notes == [
        "print.jpg: CMYK picture without a colour profile; converted to RGB approximately, so its colours may be off"
    ]


def test_a_multi_page_tiff_says_pages() -> None:
    frames = [Image.fromarray(gradient(seed=s)) for s in range(2)]
    described = Image.Exif()
    described[0x010E] = "x" * 100  # a description stored after the IFD: cut off with the block's end
    data = encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    assert decode_image_bytes(data, name="scan.tif").notes == ["scan.tif: TIFF with 2 pages; used the first page only"]
    webp = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert decode_image_bytes(webp, name="a.webp").notes == ["a.webp: WebP with 2 frames; used the first frame only"]


def test_metadata_too_large_for_a_jpeg_says_what_keeps_it() -> None:
    """'extended XMP is not written' told a photographer nothing they could do: a PNG result keeps it."""
    big = bytes(70_000)
    assert metadata_notes("JPEG", big, "a.png", big, big) == [
        "a.png: EXIF of 70,000 bytes does not fit a JPEG (at most 65,533); not copied; a PNG result keeps it",
        "a.png: XMP of 70,000 bytes does not fit a JPEG (at most 65,504); not copied; a PNG result keeps it",
        "a.png: IPTC of 70,000 bytes does not fit a JPEG (at most 65,519); not copied",
    ]


def test_the_python_api_names_the_option_as_python_does() -> None:
    """The note ends with the option, so that it reads right in each caller's spelling."""
    rgba = np.dstack([gradient(), np.full((20, 30), 255, np.uint8)])
    rgba[:5, :, 3] = 0
    photo = decode_image_bytes(encoded(rgba, "PNG"), name="a.png")
    keep = "a.png: transparent areas flattened onto white; a cut-out keeps them: "
    assert result_notes(photo, "splash", None, "python") == [keep + 'effect="transparent"']
    assert result_notes(photo, "splash", "PNG", "http") == [keep + "effect=transparent"]
    assert result_notes(photo, "splash", "JPEG", "cli") == [keep + "--effect transparent"]


@pytest.mark.parametrize(
    ("warning", "detail"),
    [
        (
            "Possibly corrupt EXIF MakerNote data.  Expecting to read 8 bytes but only got 2. Skipping tag 1",
            "cut short",
        ),
        ("Tag offset too large", "a value placed past the end of the file"),
        ("Metadata Warning, tag 256 had too many entries: 2, expected 1", "a value with more parts than it may have"),
        ("Something new " * 20, "Something new"),
    ],
)
def test_pillows_exif_warnings_become_one_note_in_plain_words(warning: str, detail: str) -> None:
    """Pillow's other EXIF warnings (no generated picture gives them) get plain words too; one it has not seen is
    kept, cut short, as the detail; several make one note."""
    note = damaged_exif_note("a.jpg", [f"a.jpg: {warning}", "a.jpg: Tag offset too large"])
    assert note.startswith(f"a.jpg: EXIF metadata (camera, dates, GPS) is damaged ({detail}"), note
    assert note.endswith("; 1 more problem(s)); not copied to the result"), note
    assert len(note) <= MAX_NOTE_CHARS and not JARGON.search(note), note
