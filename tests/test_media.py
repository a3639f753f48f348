"""Reading awkward pictures (a generated corpus): upright RGB uint8, EXIF/ICC kept, conversions noted, clear
errors. Encoding and writing results: ``test_media_write.py``."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from helpers.hostile import SRGB_ICC, write_corpus
from PIL import Image, PngImagePlugin

from colorsplash.evaluation.mask_read import read_grey
from colorsplash.runtime.edges.working import RefineSettings
from colorsplash.runtime.pictures.photo_io import (
    ImageReadError,
    decode_image_bytes,
    read_photo,
    read_rgb,
    to_rgb_array,
    transparency_note,
)
from colorsplash.runtime.pictures.photo_write import encode_image, write_image
from colorsplash.runtime.pictures.picture_open import open_unchecked
from colorsplash.runtime.pipeline import dct_working_copy, decode_and_plan, upright_size


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder)
    return folder


def test_every_good_file_reads_as_upright_rgb_uint8(corpus: Path) -> None:
    sizes = {"one.png": (1, 1), "wide.png": (10, 20000), "rotated.jpg": (40, 20), "anim.gif": (20, 30)}
    for name, kind in write_corpus(corpus).items():
        if kind != "ok":
            continue
        photo = read_photo(corpus / name)
        assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3, name
        assert photo.rgb.shape[:2] == sizes.get(name, (20, 30)), name


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated.jpg", "truncated"),
        ("cut.jpg", "truncated"),
        ("empty.jpg", "empty"),
        ("notes.jpg", "not a picture"),
        ("bomb.png", "pixels"),
        ("big.png", "pixel limit"),
        ("missing.jpg", "no such file"),
    ],
)
def test_bad_files_raise_one_clear_error_naming_the_file(corpus: Path, name: str, words: str) -> None:
    with pytest.raises(ImageReadError) as info:
        read_photo(corpus / name)
    message = str(info.value)
    assert name in message and words in message and "\n" not in message


def test_pixel_limit_is_configurable(corpus: Path) -> None:
    with pytest.raises(ImageReadError, match="pixel limit 1,000"):
        read_photo(corpus / "wide.png", max_pixels=1000)
    assert read_photo(corpus / "wide.png", max_pixels=200_000).rgb.shape == (10, 20000, 3)


def test_exif_orientation_applied_exif_and_icc_kept(corpus: Path) -> None:
    photo = read_photo(corpus / "rotated.jpg")
    # Orientation 6: the stored top-left corner is shown at the top-right.
    assert photo.rgb.shape == (40, 20, 3)
    assert photo.rgb[2, -3, 0] > 200 and photo.rgb[2, 2, 0] < 100
    exif = Image.Exif()
    exif.load(photo.exif)
    assert exif[0x0112] == 1 and exif[0x010F] == "TestCam"
    assert photo.icc == SRGB_ICC


def test_conversions_are_noted(corpus: Path) -> None:
    assert any("first frame" in n and "3 frames" in n for n in read_photo(corpus / "anim.gif").notes)
    assert read_photo(corpus / "anim.gif").rgb[0, 0].tolist() == [255, 0, 0]
    cmyk = read_photo(corpus / "cmyk_icc.jpg")
    assert cmyk.icc is None and any("CMYK" in n for n in cmyk.notes)  # a CMYK profile must not tag RGB output
    assert cmyk.rgb[0, 0, 0] > 200 and cmyk.rgb[0, 0, 2] < 100  # cyan-free, magenta+yellow = red-ish
    assert any("8 bits" in n for n in read_photo(corpus / "deep16.png").notes)
    deep = read_photo(corpus / "deep16.png").rgb
    assert deep[0, 0, 0] < deep[0, -1, 0]  # the 16-bit gradient survives the reduction
    assert read_photo(corpus / "rgba.png").rgb[0, -1].tolist() == [255, 255, 255]  # transparent -> white


def test_decode_image_bytes_matches_read_photo(corpus: Path) -> None:
    data = (corpus / "rotated.jpg").read_bytes()
    from_bytes, from_file = decode_image_bytes(data), read_photo(corpus / "rotated.jpg")
    assert np.array_equal(from_bytes.rgb, from_file.rgb) and from_bytes.exif == from_file.exif
    with pytest.raises(ImageReadError, match="upload"):
        decode_image_bytes(b"")
    with pytest.raises(ImageReadError, match="not a picture"):
        decode_image_bytes(b"GIF89a? no", name="upload")


def test_jpeg_pixels_match_pillow_and_large_icc_survives(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 255, (48, 64, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=90)
    ours = read_photo(tmp_path / "a.jpg").rgb  # decoded by OpenCV
    assert np.abs(ours.astype(int) - np.asarray(Image.open(tmp_path / "a.jpg"))).max() <= 2
    big_icc = SRGB_ICC + bytes(150_000)  # needs three APP2 segments
    with Image.open(io.BytesIO(encode_image(rgb, "JPEG", 90, icc=big_icc))) as img:
        assert img.info["icc_profile"] == big_icc


def test_pillow_bomb_guard_is_left_to_the_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 7: importing colorsplash must not switch off Pillow's guard for the whole process; our reads
    use their own per-call limit, so a small Pillow limit set by the host does not stop them either."""
    import colorsplash.cli  # noqa: F401 - everything a user imports; nothing may switch the guard off

    assert Image.MAX_IMAGE_PIXELS is not None
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    Image.new("RGB", (30, 20), (200, 100, 50)).save(tmp_path / "a.png")
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "a.png")  # the host's guard still works for the host's own reads
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_photo(tmp_path / "a.png").rgb.shape == (20, 30, 3)
        # TIFF applies Pillow's guard again while loading: over the host's limit, no stray warning...
        Image.new("RGB", (30, 20), (200, 100, 50)).save(tmp_path / "a.tif")
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 400)
        assert read_photo(tmp_path / "a.tif").rgb.shape == (20, 30, 3)
    # ...and over twice that, one clear line where this Pillow applies its guard to TIFFs while loading (11 and
    # later); Pillow 10 does not, and then the picture is read.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    try:
        with open_unchecked(tmp_path / "a.tif") as probe:
            probe.load()
    except Image.DecompressionBombError:
        with pytest.raises(ImageReadError, match=r"a.tif: 30x20 TIFF is over Pillow's own limit in this process"):
            read_photo(tmp_path / "a.tif")
    else:
        assert read_photo(tmp_path / "a.tif").rgb.shape == (20, 30, 3)


def test_decode_cost_counts_deep_and_alpha_modes() -> None:
    """Issue 16 item 9: the limit is counted in 8-bit RGB pixels, estimated from the header before decoding."""
    from helpers.hostile import png_claiming

    from colorsplash.runtime.pictures.photo_io import cost_limit, decode_cost, probe_picture

    assert probe_picture(png_claiming(10000, 10000), "grey.png").cost <= cost_limit(100_000_000)
    assert decode_cost(100, 100, "RGBA") > decode_cost(100, 100, "RGB") > decode_cost(100, 100, "1")
    with pytest.raises(ImageReadError, match=r"deep\.png: 9000x9000 RGBA needs about .* GB"):
        probe_picture(png_claiming(9000, 9000, b"\x10\x06"), "deep.png")  # 81 MP, but 16-bit RGBA
    assert probe_picture(png_claiming(9000, 9000, b"\x10\x06"), "deep.png", max_pixels=200_000_000).mode == "RGBA"


@pytest.mark.parametrize("kind", ["float32", "grey16", "cmyk", "rgba", "bilevel", "cv2_lzw", "cv2_rgb48"])
def test_tiff_layout_tags_are_not_copied_and_result_opens(tmp_path: Path, kind: str) -> None:
    """Issue 16 item 4: a TIFF's IFD0 is its EXIF; its layout tags must not reach the result."""
    from helpers.hostile import cv2_tiff, encoded, gradient

    rgb, grey = gradient(), gradient()[..., 0]
    deep = np.linspace(0, 65535, 600).reshape(20, 30).astype(np.uint16)
    data = {
        "float32": lambda: encoded(Image.fromarray(grey.astype(np.float32) / 255), "TIFF"),
        "grey16": lambda: encoded(Image.fromarray(deep), "TIFF"),
        "cmyk": lambda: encoded(Image.fromarray(rgb).convert("CMYK"), "TIFF"),
        "rgba": lambda: encoded(np.dstack([rgb, grey]), "TIFF"),
        "bilevel": lambda: encoded(Image.fromarray(grey).convert("1"), "TIFF"),
        "cv2_lzw": lambda: cv2_tiff(rgb),
        "cv2_rgb48": lambda: cv2_tiff(np.dstack([deep] * 3)),
    }[kind]()
    photo = decode_image_bytes(data, name=f"{kind}.tif")
    if photo.exif is not None:
        exif = Image.Exif()
        exif.load(photo.exif)
        assert not {256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 339} & set(exif), kind
    write_image(tmp_path / "out.tif", photo.rgb, "TIFF", exif=photo.exif, icc=photo.icc)
    with Image.open(tmp_path / "out.tif") as img:
        img.load()
        assert img.size == (30, 20) and img.mode == "RGB"


def test_sixteen_bit_input_is_noted_once(tmp_path: Path) -> None:
    from helpers.hostile import cv2_tiff

    deep = np.dstack([np.linspace(0, 65535, 600).reshape(20, 30).astype(np.uint16)] * 3)
    for name, data in (
        ("rgb48.png", __import__("cv2").imencode(".png", deep)[1].tobytes()),
        ("rgb48.tif", cv2_tiff(deep)),
    ):
        notes = decode_image_bytes(data, name=name).notes
        assert [n for n in notes if "16-bit" in n] == [f"{name}: 16-bit picture; the result has 8 bits per channel"]


def test_corrupt_exif_warning_becomes_a_note_naming_the_file(tmp_path: Path) -> None:
    """Issue 16 item 20: Pillow's "Corrupt EXIF data" warning names our file, not Pillow's source, in plain
    words: what became of the EXIF."""
    import warnings

    from helpers.hostile import corrupt_exif_jpeg

    (tmp_path / "cat.jpg").write_bytes(corrupt_exif_jpeg())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping to Python's machinery fails the test
        photo = read_photo(tmp_path / "cat.jpg")
    assert photo.rgb.shape == (40, 20, 3)  # its orientation (6) was still used
    assert photo.exif is None
    assert not photo.notes  # about the metadata a splash leaves out: apart from the reading notes
    assert photo.metadata_notes == [
        f"{tmp_path / 'cat.jpg'}: EXIF metadata (camera, dates, GPS) is damaged (cut short: 12 bytes expected, "
        "0 found); not copied to the result"
    ]


@pytest.mark.parametrize("data", [b"x", b"BM", b"\x89P", b"GIF"])
def test_a_few_bytes_are_not_a_picture(data: bytes) -> None:
    """Content shorter than a format's magic number is one clear error, not a struct.error from a plugin."""
    with pytest.raises(ImageReadError, match="not a picture"):
        decode_image_bytes(data, name="tiny")


_INVERSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_every_format_is_turned_upright_exactly_once(fmt: str, orientation: int) -> None:
    # Pillow turns TIFFs upright by itself (11 and later at open, 10 while loading); turning them again by the tag
    # gave a sideways or flipped result (on Pillow 10.x: run this file in a venv with pillow==10.0.*).
    upright = np.zeros((32, 48, 3), np.uint8)
    upright[:16, :16] = (255, 0, 0)  # red top-left, blue bottom-right: any wrong turn or flip moves them
    upright[16:, 32:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    extra = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(upright).transpose(_INVERSE[orientation]).save(buffer, fmt, exif=exif, **extra)
    data = buffer.getvalue()
    assert upright_size(data) == (32, 48)
    rgb = decode_image_bytes(data).rgb.astype(int)
    assert rgb.shape == (32, 48, 3)
    assert np.abs(rgb - upright).mean() < 6  # a wrong turn moves a block: a mean error of 40 or more


def test_flattened_transparency_is_noted_and_opaque_alpha_is_not(tmp_path: Path) -> None:
    rgba = np.full((20, 30, 4), 255, np.uint8)
    rgba[..., :3] = (250, 120, 30)
    Image.fromarray(rgba).save(tmp_path / "opaque.png")  # an alpha band, every pixel opaque: nothing lost
    rgba[:5, :, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    Image.fromarray(rgba).convert("P").save(tmp_path / "palette.gif", transparency=0)
    assert transparency_note(read_photo(tmp_path / "opaque.png"), "splash") is None
    for name in ("cut.png", "palette.gif"):
        assert "transparent areas flattened onto white" in str(transparency_note(read_photo(tmp_path / name), "splash"))


def test_a_damaged_jpeg_scan_is_an_error_not_a_grey_picture(tmp_path: Path) -> None:
    """OpenCV fills a scan broken in the middle with grey and returns it; such a file must fail like a cut one."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:450]
    photo = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "JPEG", quality=90)
    data = bytearray(buffer.getvalue())
    middle = len(data) // 3
    data[middle : middle + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    damaged = bytes(data)
    assert damaged.endswith(b"\xff\xd9")  # not cut short: only the scan is broken
    with pytest.raises(OSError):  # what Pillow says of it (precondition of this test)
        Image.open(io.BytesIO(damaged)).load()
    with pytest.raises(ImageReadError, match="damaged.jpg"):
        decode_image_bytes(damaged, name="damaged.jpg")
    grey_end = photo.copy()
    grey_end[-8:] = 128  # a sound photo whose last rows are that very grey still reads
    buffer = io.BytesIO()
    Image.fromarray(grey_end).save(buffer, "JPEG", quality=95)
    assert decode_image_bytes(buffer.getvalue()).rgb.shape == (300, 450, 3)


def test_a_marker_inside_the_image_data_is_damage_even_where_pillow_decodes_it() -> None:
    """Random bytes that happen to look like an APPn marker end libjpeg's scan early with only a warning; Pillow
    then decodes grey too (recheck audit). The marker walk catches it; a sound and a progressive file pass."""
    from colorsplash.runtime.pictures.jpeg_markers import jpeg_data_damaged

    yy, xx = np.mgrid[0:240, 0:320]
    photo = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)
    sound, progressive = io.BytesIO(), io.BytesIO()
    Image.fromarray(photo).save(sound, "JPEG", quality=90)
    Image.fromarray(photo).save(progressive, "JPEG", quality=90, progressive=True)
    assert not jpeg_data_damaged(sound.getvalue()) and not jpeg_data_damaged(progressive.getvalue())
    data = bytearray(sound.getvalue())
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff\xe6\x01\x00\x12\x34\x56\x78"  # "APP6, 256 bytes long" amid the image data
    assert jpeg_data_damaged(bytes(data))
    with pytest.raises(ImageReadError, match="odd.jpg: damaged JPEG data"):
        decode_image_bytes(bytes(data), name="odd.jpg")


# ------------------------------------------------------------ behaviour no test held (mutation audit of the tests)


def test_deep_integer_pictures_are_scaled_and_rounded() -> None:
    img = Image.fromarray(np.array([[0, 32768, 65535]], np.int32))  # mode I, as 16-bit PNGs and TIFFs may open
    assert img.mode == "I"
    assert to_rgb_array(img)[0, :, 0].tolist() == [0, 128, 255]  # 127.5 rounds up; not clipped at 255


def test_palette_transparency_is_flattened_onto_white(tmp_path: Path) -> None:
    img = Image.new("P", (4, 2))
    img.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    img.putpixel((0, 0), 1)
    img.save(tmp_path / "p.png", transparency=0)
    rgb = read_photo(tmp_path / "p.png").rgb
    assert rgb[0, 0].tolist() == [200, 30, 30] and rgb[1, 1].tolist() == [255, 255, 255]


def test_an_empty_data_set_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.png: file is empty"):
        read_rgb(tmp_path / "empty.png")


def test_a_phones_multi_picture_jpeg_is_not_an_animation(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 8), c) for c in ((200, 30, 30), (0, 0, 0))]
    frames[0].save(tmp_path / "phone.jpg", "MPO", save_all=True, append_images=frames[1:])
    photo = read_photo(tmp_path / "phone.jpg")
    assert photo.format == "MPO" and not [n for n in photo.notes if "frame" in n]


def test_a_palette_mask_reads_as_its_indices(tmp_path: Path) -> None:
    img = Image.new("P", (3, 1))
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
    for x in range(3):
        img.putpixel((x, 0), x)
    img.save(tmp_path / "trimap.png")
    assert read_grey(tmp_path / "trimap.png").tolist() == [[0, 1, 2]]


class _NoSubjectModel:
    """The model's part :func:`decode_and_plan` uses: an input side, a threshold, and a run that finds nothing."""

    config = SimpleNamespace(input_size=320)
    presence_threshold = 0.5

    def predict_scored(self, small: np.ndarray) -> tuple[np.ndarray, float]:
        return np.zeros((40, 40), np.float32), 0.0


def test_a_png_is_decoded_once_alone_and_in_a_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review 10: the upright size read before the decode (is a JPEG's working copy to come from its DCT?) decoded
    a PNG whole, as Pillow loads a PNG to find its EXIF: every PNG was decoded twice by the one-photo path, and by
    the folder's stages too since they make that copy (:func:`dct_working_copy`). Only a JPEG's header is read."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((1200, 1600, 3), 90, np.uint8)).save(buffer, "PNG")
    data, decodes = buffer.getvalue(), []
    load = PngImagePlugin.PngImageFile.load

    def counted(self: PngImagePlugin.PngImageFile) -> Any:
        decodes.extend([1] if self.tile else [])  # pixels still to decode: a decode, not a repeated load()
        return load(self)

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", counted)
    settings = RefineSettings()
    assert settings.working_hw(1200, 1600, 320) != (1200, 1600)  # large enough for a working copy
    assert dct_working_copy(data, (1200, 1600), settings, 320) is None  # the folder's load stage
    assert decodes == []
    planned = decode_and_plan(data, "x.png", cast(Any, _NoSubjectModel()), settings=settings)  # a photo alone
    assert planned.photo.rgb.shape == (1200, 1600, 3)
    assert decodes == [1]
