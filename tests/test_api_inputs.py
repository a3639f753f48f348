"""The Python API as a programmer meets it: the inputs it is given (web addresses, file objects, arrays of other
dtypes, large files) and what it says when it refuses them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

import colorsplash
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.pictures.photo_io import own_transparency


@pytest.fixture(scope="module")
def blob() -> tuple[np.ndarray, np.ndarray]:
    return make_blob_image(60, 80, seed=3)


@pytest.mark.parametrize(
    "url", ["https://example.com/cat.jpg", "http://example.com/a/b.png", "HTTPS://X/c.jpg", "ftp://h/c"]
)
def test_a_web_address_is_refused_as_one_and_never_fetched(model: Model, url: str) -> None:
    """A URL was reported as ``https:/example.com/cat.jpg: no such file`` (one slash lost, no word of why)."""
    for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.subject_score):
        with pytest.raises(colorsplash.ImageReadError) as caught:
            call(url, model)
        assert str(caught.value).startswith(f"{url}: is a web address (URL)")
        assert "download it" in str(caught.value)
    with pytest.raises(colorsplash.ModelLoadError) as caught_model:
        colorsplash.load_model(url + ".onnx")
    assert str(caught_model.value).startswith(f"{url}.onnx: is a web address (URL)")


@pytest.mark.parametrize("quoted", [False, True])
def test_a_file_url_names_the_path_it_holds(model: Model, tmp_path: Path, quoted: bool) -> None:
    """``file:///home/me/cat.jpg`` was called a web address, with the advice to download it; it is a local file:
    the message names its path (decided: not opened, as every entry point takes paths; one wording for all)."""
    folder = tmp_path / ("my photos" if quoted else "photos")
    url = folder.as_uri() + "/cat.jpg"
    for call in (colorsplash.splash, colorsplash.subject_score):
        with pytest.raises(colorsplash.ImageReadError) as caught:
            call(url, model)
        assert (
            str(caught.value)
            == f"{url}: is a file:// address, not a path; give the file's path itself ({folder}/cat.jpg)"
        )


@pytest.mark.parametrize("name", ["C:\\x.jpg", "C:/x.jpg", "shots/a://b.jpg"])
def test_drive_letters_and_paths_holding_colons_are_not_web_addresses(model: Model, name: str) -> None:
    with pytest.raises(colorsplash.ImageReadError) as caught:
        colorsplash.splash(name, model)
    assert str(caught.value) == f"{name}: no such file"


def test_the_cli_refuses_a_web_address_in_the_same_words(tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI said ``https://example.com/cat.jpg: no such file or folder``."""
    from colorsplash.cli import main

    assert main(["-q", "splash", "https://example.com/cat.jpg", "--model", str(tiny_onnx)]) == 1
    assert "https://example.com/cat.jpg: is a web address (URL)" in capsys.readouterr().err


def test_the_pixel_limit_of_files_can_be_set_in_python(
    model: Model, blob: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """The API had no way to read a file over 100 MP (``max_pixels=`` was an unknown option) and its refusal
    said to raise ``--max-pixels``, a flag of the CLI."""
    image, _ = blob
    path = tmp_path / "p.png"
    Image.fromarray(image).save(path)
    big = tmp_path / "big.png"
    Image.new("1", (20_000, 5_001)).save(big)  # 100,020,000 pixels in a 12 kB file: only its header is read
    for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.subject_score):
        with pytest.raises(colorsplash.ImageReadError, match=r"pixel limit 100,000,000.*max_pixels="):
            call(big, model)
        with pytest.raises(colorsplash.ImageReadError, match=r"pixel limit 4,000.*max_pixels="):
            call(path, model, max_pixels=4_000)
        assert call(path, model, max_pixels=4_800) is not None  # 60x80 is 4,800 pixels
        assert call(path, model, max_pixels=None) is not None
    assert colorsplash.splash(image, model, max_pixels=10).shape == image.shape  # arrays are decoded already
    for bad in (0, -5, 2.5, "big", True):
        with pytest.raises(colorsplash.OptionError, match="^max_pixels: expected a whole number"):
            colorsplash.splash(path, model, max_pixels=bad)


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [
        (np.float32, 1 / 255),
        (np.float64, 1 / 255),
        (np.float32, 1.0),
        (np.float64, 1.0),
        (np.uint16, 257),
        (np.int64, 1),
        (np.int32, 1),
        (np.int16, 257),
        (np.int32, 257),
        (np.float32, 257),
        (np.float64, 257),
    ],
)
def test_other_dtypes_are_refused_with_a_conversion_that_gives_the_picture(
    model: Model, blob: tuple[np.ndarray, np.ndarray], dtype: type, scale: float
) -> None:
    """Every array of another dtype was told ``np.clip(x * 255, 0, 255).astype(np.uint8)``: for floats 0..255,
    16-bit and integer arrays that makes a white picture (no subject), without an error. Then 16-bit values in
    int32 or float arrays were still told ``np.clip(x, 0, 255)`` (or "its values are 0..255"): white again."""
    image, _ = blob
    x = (image.astype(np.float64) * scale).astype(dtype)
    with pytest.raises(ValueError, match=f"expected a uint8 image array.*{np.dtype(dtype).name}") as caught:
        colorsplash.splash(x, model)
    expression = str(caught.value).rsplit("convert with ", 1)[1]
    assert np.array_equal(eval(expression, {"np": np, "x": x}), image)


def test_float_arrays_holding_nan_are_told_to_replace_it_first(model: Model) -> None:
    """A float array holding NaN was told "its values are 0..1: convert with np.clip(np.rint(x * 255), ...)" (all
    NaN too), a cast that turns NaN into any value, with NumPy's "invalid value encountered in cast" warning."""
    some = np.full((6, 8, 3), 0.5, np.float32)
    some[0, 0] = np.nan
    for x in (some, np.full((6, 8, 3), np.nan, np.float32), np.where(some > 0, np.inf, 0.5)):
        with pytest.raises(ValueError, match=r"it holds NaN or infinity.*np\.nan_to_num\(x, posinf=0\)$") as caught:
            colorsplash.splash(x, model)
        expression = str(caught.value).rsplit("e.g. with ", 1)[1]
        assert np.isfinite(eval(expression, {"np": np, "x": x})).all()


def test_bool_arrays_are_refused_with_a_conversion(model: Model) -> None:
    mask = np.zeros((6, 8), bool)
    mask[2:4] = True
    with pytest.raises(ValueError, match="bool") as caught:
        colorsplash.predict_alpha(mask, model)
    expression = str(caught.value).rsplit("convert with ", 1)[1]
    assert np.array_equal(eval(expression, {"np": np, "x": mask}), mask.astype(np.uint8) * 255)


def test_binary_file_objects_are_read_as_files_are(
    model: Model, blob: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """File objects (an open file, BytesIO, a web framework's upload) were refused as of the wrong type."""
    image, _ = blob
    path = tmp_path / "p.png"
    Image.fromarray(image).rotate(90, expand=True).save(path, exif=_rotated_exif())  # upright only by EXIF
    from_path = colorsplash.splash(path, model)
    assert np.array_equal(from_path, colorsplash.splash(image, model))
    with open(path, "rb") as fp:
        assert np.array_equal(colorsplash.splash(fp, model), from_path)
    stream = io.BytesIO(path.read_bytes())
    assert np.array_equal(colorsplash.predict_alpha(stream, model), colorsplash.predict_alpha(path, model))
    with pytest.raises(colorsplash.ImageReadError, match=r"BytesIO object: nothing to read.*seek\(0\)"):
        colorsplash.splash(stream, model)  # read to its end above
    with pytest.raises(colorsplash.ImageReadError, match="pixel limit 100"):
        colorsplash.splash(io.BytesIO(path.read_bytes()), model, max_pixels=100)
    with open(path, "rb") as fp:
        rgba = colorsplash.splash(fp, model, effect="transparent")
    assert rgba.shape == (*image.shape[:2], 4)
    with open(path, encoding="latin-1") as text, pytest.raises(TypeError, match="binary mode"):
        colorsplash.splash(text, model)


def _rotated_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view": undoes Image.rotate's 90 anticlockwise
    return exif


def test_bytes_and_other_types_are_a_type_error_that_says_what_to_pass(model: Model) -> None:
    """Another type of image was a ValueError (the docstrings promised TypeError) and bytes were not explained."""
    with pytest.raises(TypeError, match=r"got bytes: .*io\.BytesIO\(data\).*os\.fsdecode"):
        colorsplash.splash(b"\x89PNG...", model)
    with pytest.raises(TypeError, match="expected a NumPy array, a PIL image, a path or a binary file object"):
        colorsplash.predict_alpha([[1, 2]], model)  # type: ignore[arg-type]


def test_user_code_is_type_checked_against_the_api(tmp_path: Path) -> None:
    """Type checkers saw the package's lazy ``__getattr__ -> Any``: a misspelt ``colorsplash.spalsh(...)`` passed
    ``mypy --strict`` as ``Any``, and so did ``colorsplash.Model``, which did not exist."""
    mypy_api = pytest.importorskip("mypy.api")
    user = tmp_path / "user.py"
    user.write_text(
        "import colorsplash\n"
        "def run(model: colorsplash.Model, image: colorsplash.ImageLike) -> None:\n"
        "    reveal_type(colorsplash.splash(image, model))\n"
        "    reveal_type(colorsplash.subject_score(image, model).found)\n"
        "colorsplash.spalsh('cat.jpg')\n"
    )
    src = Path(colorsplash.__file__).parents[1]
    args = ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), str(user)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MYPYPATH", str(src))
        out, err, _ = mypy_api.run(args)
    lines = [line.split(": ", 1)[1] for line in out.splitlines()]
    assert len(lines) == 3, out + err
    assert lines[0].startswith('note: Revealed type is "numpy.ndarray'), out  # not "Any"
    assert lines[1] in ('note: Revealed type is "bool"', 'note: Revealed type is "builtins.bool"'), out
    assert lines[2].startswith('error: Module has no attribute "spalsh"'), out
    assert colorsplash.Model is Model and {"Model", "ImageLike"} <= set(colorsplash.__all__)


def test_pillow_modes_with_and_without_alpha(model: Model) -> None:
    """``La`` (premultiplied grey + alpha) failed with Pillow's "conversion from La to L not supported", and a
    ``LAB`` picture counted its ``A`` band (a colour) as transparency (a note "transparent areas flattened", and
    an all-white mask from :func:`~colorsplash.evaluation.mask_read.read_grey`)."""
    rgba = Image.new("RGBA", (40, 30), (200, 80, 40, 255))
    rgba.paste((200, 80, 40, 0), (0, 0, 20, 30))  # left half transparent
    for mode in ("La", "RGBa", "LA", "PA"):
        image = rgba.convert("LA" if mode == "La" else "RGBA").convert(mode)
        if mode == "PA":  # Pillow 10.0's RGBA -> PA conversion drops the alpha: the palette picture gets it put in
            image = rgba.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).convert("PA")
            image.putalpha(rgba.getchannel("A"))
        out = colorsplash.splash(image, model, effect="transparent", on_empty="copy")
        assert out.shape == (30, 40, 4) and (out[:, :20, 3] == 0).all(), mode
        assert (out[:, 30:, 3] > 250).all(), mode
    lab = rgba.convert("RGB").convert("LAB")
    assert np.asarray(lab.getchannel("A")).min() < 255
    assert own_transparency(lab) is None


def test_a_point_outside_the_photo_is_refused_with_or_without_a_subject(model: Model) -> None:
    """``point`` outside the photo was refused only where the photo had a subject: on one without, it was
    accepted without a word (video frames were checked up front)."""
    dark = np.full((30, 40, 3), 20, np.uint8)
    for image in (dark, make_blob_image(30, 40, seed=1)[0]):
        with pytest.raises(colorsplash.OptionError, match="^point: 5000,5000 is outside the 40x30 photo") as err:
            colorsplash.splash(image, model, point=(5000, 5000))
        assert err.value.name == "point"  # an OptionError like any bad option (it was a plain ValueError)
    with pytest.raises(colorsplash.OptionError, match="^point: 40,0 is outside"):
        colorsplash.predict_alpha(dark, model, point="40,0")
    assert colorsplash.predict_alpha(dark, model, point="39,29").shape == (30, 40)


def test_subject_score_answers_without_making_the_alpha(
    model: Model, blob: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``subject_score`` made the whole refined alpha (edge matting included) to report one number: twice the
    time of the model run it needs. Its answer is the splash's, for a photo with a subject and one without."""
    from colorsplash.runtime.api import alpha_and_subject
    from colorsplash.runtime.edges import alpha as alpha_module
    from colorsplash.runtime.model.onnx_model import bundled_model_path

    bundled = colorsplash.load_model(bundled_model_path(), precision="file")  # a presence output
    photos = [blob[0], np.full((50, 70, 3), 25, np.uint8), make_blob_image(200, 120, seed=9)[0]]
    expected = [alpha_and_subject(p, m)[1] for m in (model, bundled) for p in photos]
    assert {s.found for s in expected} == {True, False}
    monkeypatch.setattr(alpha_module, "finish_alpha", _no_alpha_wanted)
    got = [colorsplash.subject_score(p, m) for m in (model, bundled) for p in photos]
    assert got == expected


def _no_alpha_wanted(*args: object, **kwargs: object) -> None:
    raise AssertionError("subject_score made an alpha")


def test_results_are_new_writeable_arrays_as_documented(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    """What comes back (an array for a Pillow image too, new, writeable; the input untouched) was not documented,
    nor that ``quality`` does nothing here."""
    for text in ("PIL.Image.fromarray(out)", "writeable", "never changed", "``quality`` has no effect"):
        assert text in (colorsplash.splash.__doc__ or ""), text
    assert "writeable" in (colorsplash.predict_alpha.__doc__ or "")
    image, _ = blob
    frozen = image.copy()
    frozen.flags.writeable = False
    for source in (frozen, Image.fromarray(image), np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])):
        for effect in ("grey", "transparent", "blur:3"):
            out = colorsplash.splash(source, model, effect=effect, on_empty="copy")
            assert isinstance(out, np.ndarray) and out.flags.writeable
            assert not isinstance(source, np.ndarray) or not np.shares_memory(out, source)
        alpha = colorsplash.predict_alpha(source, model, on_empty="copy")
        assert alpha.flags.writeable and alpha.dtype == np.float32
    assert np.array_equal(frozen, image)


def test_alpha_and_its_subject_from_one_run_are_exported(model: Model) -> None:
    """A splash of a photo without a subject is all grey, and telling so took a second model run
    (``subject_score``): ``alpha_and_subject`` was not exported."""
    alpha, subject = colorsplash.alpha_and_subject(np.full((20, 30, 3), 25, np.uint8), model)
    assert subject == colorsplash.Subject(False, subject.score, subject.threshold) and not alpha.any()
    assert "alpha_and_subject" in colorsplash.__all__


def test_a_text_mode_file_is_a_type_error_that_says_rb(model: Model, tmp_path: Path) -> None:
    """``open(path)`` (text mode, UTF-8) of a picture raised UnicodeDecodeError from inside the reader instead of
    the documented TypeError that says to open it in binary mode."""
    path = tmp_path / "p.png"
    Image.new("RGB", (8, 6), (200, 30, 30)).save(path)
    with open(path, encoding="utf-8") as text, pytest.raises(TypeError, match=r"p\.png: .*text mode.*\(rb\)"):
        colorsplash.splash(text, model)


def test_a_file_object_not_at_its_start_says_where_it_was_read_from(model: Model, tmp_path: Path) -> None:
    """A file object whose first bytes were read (to sniff its type) said ``p.png: not a picture (unrecognised
    content); check the file``: the file is fine, it was read from where the object stood."""
    path = tmp_path / "p.png"
    Image.new("RGB", (8, 6), (200, 30, 30)).save(path)
    with open(path, "rb") as fp:
        fp.read(8)
        with pytest.raises(colorsplash.ImageReadError, match=r"p\.png: not a picture.*from byte 8.*seek\(0\)"):
            colorsplash.splash(fp, model)
        fp.seek(0)
        assert colorsplash.splash(fp, model).shape == (6, 8, 3)
    with pytest.raises(colorsplash.ImageReadError) as caught:  # at its start: no word of positions
        colorsplash.splash(io.BytesIO(b"not a picture at all"), model)
    assert "byte" not in str(caught.value)
