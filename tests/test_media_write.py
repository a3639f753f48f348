"""Encoding results (EXIF/ICC kept, formats, quality) and writing them atomically (never half a file, never over
one the run did not make unless asked). Reading pictures: ``test_media.py``."""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.hostile import SRGB_ICC
from PIL import Image
from test_media import corpus  # noqa: F401 (the fixture)

from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.pictures.photo_io import read_photo
from colorsplash.runtime.pictures.photo_write import (
    check_encoded,
    encode_image,
    output_format,
    write_image,
    write_stdout,
)


def test_encode_keeps_exif_icc_and_quality(corpus: Path) -> None:  # noqa: F811 (the fixture)
    photo = read_photo(corpus / "rotated.jpg")
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    high = encode_image(rgb, "JPEG", 95, photo.exif, photo.icc)
    low = encode_image(rgb, "JPEG", 30)
    assert len(low) < len(high)
    with Image.open(io.BytesIO(high)) as img:
        assert img.format == "JPEG" and img.info.get("icc_profile") == SRGB_ICC
        assert img.getexif()[0x0112] == 1
    for arr, mode in ((np.zeros((5, 6, 4), np.uint8), "RGBA"), (np.zeros((5, 6), np.uint8), "L")):
        with Image.open(io.BytesIO(encode_image(arr, "PNG"))) as img:
            assert img.mode == mode and img.size == (6, 5)


@pytest.mark.parametrize(
    ("fmt", "suffix", "alpha", "expected"),
    [
        ("JPEG", ".JPG", False, ("JPEG", ".JPG")),
        ("PNG", ".jpg", False, ("PNG", ".png")),  # a PNG named .jpg: the name follows the content
        ("JPEG", ".jpg", True, ("PNG", ".png")),  # a cut-out needs transparency
        ("WEBP", ".webp", True, ("WEBP", ".webp")),
        ("MPO", ".jpg", False, ("JPEG", ".jpg")),
        ("PPM", ".ppm", False, ("PNG", ".png")),
        (None, "", False, ("PNG", ".png")),
    ],
)
def test_output_format(fmt: str | None, suffix: str, alpha: bool, expected: tuple[str, str]) -> None:
    assert output_format(fmt, suffix, alpha) == expected


def test_atomic_write_replaces_whole_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.png"
    write_image(target, np.zeros((4, 4, 3), np.uint8), "PNG")
    write_image(target, np.full((4, 4, 3), 255, np.uint8), "PNG")
    assert np.asarray(Image.open(target)).min() == 255
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_interrupted_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jpg"
    target.write_bytes(b"old")

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_a_text_file_that_does_not_read_back_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report, metrics file or cache written through a disk that loses writes: the bytes are read back before
    the rename (as a picture's are), so the old file stays and the error names the file."""
    from colorsplash.runtime import files

    real_fdopen = os.fdopen

    def lossy_fdopen(fd: int, mode: str) -> io.BufferedWriter:
        fp = real_fdopen(fd, mode)
        write = fp.write
        fp.write = lambda data: write(bytes(data)[:-3]) and len(data)  # type: ignore[method-assign]
        return fp

    monkeypatch.setattr(files.os, "fdopen", lossy_fdopen)
    target = tmp_path / "summary.json"
    target.write_text("old")
    with pytest.raises(OSError, match=f"cannot write {target}: the file written read back other than.*check the disk"):
        atomic_write(target, '{"mean_iou": 0.9}\n')
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_unwritable_destination_is_one_oserror_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot write .*file/out.png"):
        atomic_write(blocker / "out.png", b"data")


def test_a_file_where_the_folder_would_be_is_named_not_errno_text(tmp_path: Path) -> None:
    """Audit: ``COLORSPLASH_CACHE_DIR`` set to a file logged "cannot write FILE/variants.json: File exists", the
    errno's words, which name neither what is in the way nor that it should be a folder."""
    blocker = tmp_path / "cache"
    blocker.write_text("x")
    with pytest.raises(OSError) as info:
        atomic_write(blocker / "sub" / "variants.json", "{}")
    assert str(info.value) == f"cannot write {blocker / 'sub' / 'variants.json'}: {blocker} is a file, not a folder"


def test_write_image_reopens_before_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 4: an encoded file that does not read back is an error, and nothing gets the name."""
    import colorsplash.runtime.pictures.photo_write as photo_write

    good = encode_image(np.zeros((4, 4, 3), np.uint8), "PNG")
    monkeypatch.setattr(photo_write, "encode_image", lambda *a, **k: good[: len(good) // 2])
    with pytest.raises(ValueError, match="out.png: the PNG just written does not read back"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.uint8), "PNG")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_written_picture_is_read_back_once(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``atomic_write``'s read-back and the picture's own check each read the file: a 12 MP JPEG's 5 MB twice
    (11 ms more per photo, on the path issue 17 times). One read serves both."""
    reads: list[str] = []
    read_bytes = Path.read_bytes

    def counted(self: Path) -> bytes:
        reads.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    write_image(tmp_path / f"out.{fmt.lower()}", np.zeros((8, 8, 3), np.uint8), fmt)
    assert len(reads) == 1, reads


def test_atomic_write_without_replace_never_clobbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jpg"
    atomic_write(target, b"first", replace=False)
    with pytest.raises(OSError, match="out.jpg: it already exists"):
        atomic_write(target, b"second", replace=False)
    assert target.read_bytes() == b"first"

    def no_links(src: object, dst: object) -> None:
        raise OSError(1, "Operation not permitted")  # FAT, some network shares

    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(OSError, match="already exists"):
        atomic_write(target, b"third", replace=False)
    atomic_write(tmp_path / "new.jpg", b"fourth", replace=False)
    assert target.read_bytes() == b"first" and (tmp_path / "new.jpg").read_bytes() == b"fourth"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.jpg", "out.jpg"]


def test_temporary_name_fits_whenever_the_name_does(tmp_path: Path) -> None:
    """Issue 16 item 20: a 255-byte name (multi-byte characters included) is writable."""
    from colorsplash.runtime.temp_names import name_fits

    for name in ("x" * 251 + ".png", "é" * 125 + "x.png"):
        assert name_fits(tmp_path / name)
        atomic_write(tmp_path / name, b"data", replace=False)
        assert (tmp_path / name).read_bytes() == b"data"
    assert not name_fits(tmp_path / ("x" * 252 + ".png"))
    assert not name_fits(tmp_path / ("é" * 126 + ".png"))  # 130 characters but 256 bytes


def test_a_refused_write_names_the_output_even_when_cleaning_up_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder refuses even removing a temporary file that was never made (EROFS): the error used to
    name that hidden file instead of the output (robustness audit)."""

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    def no_write(tmp: Path, path: Path, replace: bool) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "unlink", refuse)
    monkeypatch.setattr("colorsplash.runtime.files._publish", no_write)
    with pytest.raises(OSError, match=r"cannot write .*out\.bin: Read-only file system") as info:
        atomic_write(tmp_path / "out.bin", b"x")
    assert ".part" not in str(info.value)


def test_temporary_names_use_the_file_systems_encoding(tmp_path: Path) -> None:
    """Under a C locale without UTF-8 mode names are ASCII with escaped bytes: the temporary name encoded the stem
    as UTF-8 and failed for every non-ASCII file name (robustness audit)."""
    import subprocess
    import sys

    name = "Kätzchen 猫.jpg".encode()
    (tmp_path / os.fsdecode(name)).write_bytes(b"x")
    code = (
        "import os, sys; from colorsplash.runtime.files import atomic_write; "
        "folder = os.fsencode(sys.argv[1]); "
        "[atomic_write(os.fsdecode(os.path.join(folder, n)) + '.out', b'y') for n in os.listdir(folder)]; "
        "print(sys.getfilesystemencoding())"
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert (tmp_path / os.fsdecode(name + b".out")).read_bytes() == b"y"


# ------------------------------------------------------------ behaviour no test held (mutation audit of the tests)


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "text")
        write_image(tmp_path / "b.png", np.zeros((4, 5, 3), np.uint8), "PNG")
    finally:
        os.umask(umask)
    for name in ("a.txt", "b.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_a_failed_link_that_is_not_about_links_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    with pytest.raises(OSError, match="cannot write .*out.jpg: Input/output error"):
        atomic_write(tmp_path / "out.jpg", b"data", replace=False)
    assert list(tmp_path.iterdir()) == []


def test_check_encoded_refuses_a_short_unended_or_resized_picture() -> None:
    jpeg = encode_image(np.zeros((8, 16, 3), np.uint8), "JPEG")
    check_encoded(jpeg, "JPEG", (16, 8), "x.jpg", jpeg)
    with pytest.raises(ValueError, match="x.jpg.*bytes read back"):
        check_encoded(jpeg[:-100] + jpeg[-2:], "JPEG", (16, 8), "x.jpg", jpeg)  # a write that did not land whole
    with pytest.raises(ValueError, match="x.jpg.*end-of-image"):
        check_encoded(jpeg[:-2], "JPEG", (16, 8), "x.jpg", jpeg[:-2])
    with pytest.raises(ValueError, match="x.png.*reads back as PNG 16x8"):
        check_encoded(encode_image(np.zeros((8, 16, 3), np.uint8), "PNG"), "PNG", (8, 16), "x.png")


def test_exif_follows_the_jfif_header_in_a_jpeg_result() -> None:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    data = encode_image(np.zeros((8, 16, 3), np.uint8), "JPEG", exif=exif.tobytes())
    assert data[2:4] == b"\xff\xe0"  # JFIF's APP0 first, as the standard wants
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    assert data[app0_end : app0_end + 2] == b"\xff\xe1"


def test_webp_quality_is_applied() -> None:
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert len(encode_image(noisy, "WEBP", quality=20)) < 0.7 * len(encode_image(noisy, "WEBP", quality=95))


def test_standard_output_that_takes_nothing_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stuck(io.RawIOBase):
        def writable(self) -> bool:
            return True

        calls = 0

        def write(self, data: object) -> int:
            self.calls += 1
            assert self.calls == 1, "wrote again after a write that took nothing"
            return 0

    class Out:
        buffer = Stuck()

    monkeypatch.setattr(sys, "stdout", Out())
    png = encode_image(np.zeros((4, 4, 3), np.uint8), "PNG")
    with pytest.raises(OSError, match="standard output closed"):
        write_stdout(png, "PNG", (4, 4, 3))


@pytest.mark.parametrize("fmt", ["BMP", "GIF"])
def test_a_format_without_profiles_gets_the_colours_converted_to_srgb(fmt: str) -> None:
    """BMP and GIF hold no ICC profile: a Display P3 photo written as ``-o x.bmp`` kept its P3 numbers untagged,
    so every viewer showed them as sRGB (duller, shifted); the pixels are now converted to sRGB."""
    from helpers.metadata import display_p3_icc
    from PIL import ImageCms

    icc = display_p3_icc()
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:, :2] = (200, 100, 50)  # an orange, and a saturated green (outside sRGB: clipped)
    rgb[:, 2:] = (60, 180, 70)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    want = ImageCms.profileToProfile(Image.fromarray(rgb), profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    assert want is not None and not np.array_equal(np.asarray(want), rgb)  # P3 and sRGB numbers differ
    with Image.open(io.BytesIO(encode_image(rgb, fmt, icc=icc))) as img:
        got = np.asarray(img.convert("RGB")).astype(int)
    assert np.abs(got - np.asarray(want).astype(int)).max() <= 1


@pytest.mark.parametrize("exif", [False, True])  # True: an extended WebP (VP8X), its picture after the EXIF
def test_a_lossless_webp_gives_a_lossless_webp_splash(tmp_path: Path, exif: bool) -> None:
    """A lossless WebP came back lossy at --quality (values moved by several levels): as a 4:4:4 JPEG keeps its
    colour resolution, a lossless WebP's result is lossless; a lossy one's stays lossy."""
    from colorsplash.cli import main
    from colorsplash.runtime.model.onnx_model import bundled_model_path

    rgb = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    tags = Image.Exif()
    tags[0x010F] = "TestCam"
    extra = {"exif": tags.tobytes()} if exif else {}
    Image.fromarray(rgb).save(tmp_path / "a.webp", lossless=True, **extra)
    Image.fromarray(rgb).save(tmp_path / "b.webp", quality=90, **extra)
    photo = read_photo(tmp_path / "a.webp")
    assert np.array_equal(photo.rgb, rgb) and photo.lossless and not read_photo(tmp_path / "b.webp").lossless
    args = ["-q", "splash", "--on-empty", "copy", "--model", str(bundled_model_path())]
    assert main([*args, str(tmp_path / "a.webp"), "-o", str(tmp_path / "a.out.webp")]) == 0
    with Image.open(tmp_path / "a.out.webp") as img:
        assert np.array_equal(np.asarray(img.convert("RGB")), rgb)  # a random picture: no pet, copied exactly
