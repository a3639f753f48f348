"""``colorsplash mask`` as a compositor uses it: what each output format does to the mask's values, and what the
user is told about it (audit of mask and alpha outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)
from PIL import Image

JPEG_NOTE = "a.png: a JPEG mask is lossy"


def test_a_jpeg_mask_says_it_is_lossy(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mask --hard -o m.jpg` wrote a "binary mask: 0 or 255 only" with other values along its edge, without a
    word: a note says so and names the lossless formats to write instead."""
    blob_file(tmp_path / "a.png", 0)
    code, err = run(
        capsys, "mask", str(tmp_path / "a.png"), "--hard", "--model", str(tiny_onnx), "-o", str(tmp_path / "m.jpg")
    )
    assert code == 0 and JPEG_NOTE in err and ".png" in err, err
    values = np.unique(np.asarray(Image.open(tmp_path / "m.jpg")))
    assert len(values) > 2  # what the note is about: --hard's 0/255 are not kept by JPEG
    for name in ("m.png", "m.tif", "m.webp"):  # lossless: no such note, and --hard's two values kept
        code, err = run(
            capsys, "mask", str(tmp_path / "a.png"), "--hard", "--model", str(tiny_onnx), "-o", str(tmp_path / name)
        )
        assert code == 0 and "lossy" not in err, err
        assert set(np.unique(np.asarray(Image.open(tmp_path / name).convert("L")))) <= {0, 255}


def test_predict_alpha_docstring_names_every_option_that_changes_the_alpha() -> None:
    """``predict_alpha``'s Args said threshold, hard, feather, keep, point, invert, refine and on_empty "matter
    here": ``edges`` was left out, though ``edges="fast"`` gives another alpha (the mask CLI has ``--edges``)."""
    import re

    import colorsplash
    from colorsplash.runtime.options import MASK_OPTION_NAMES

    doc = colorsplash.predict_alpha.__doc__ or ""
    said = re.search(r"options: splash options;(.*?)matter here", doc, re.S)
    assert said is not None, doc
    named = set(re.findall(r"``(\w+)``", said.group(1)))
    assert set(MASK_OPTION_NAMES) <= named, sorted(set(MASK_OPTION_NAMES) - named)


def _edges(row: np.ndarray) -> tuple[float, float]:
    """Where the two sides of a light band lie in a row of an area-shrunk :func:`_band` picture, in that row's
    pixels (0 = its left side): the dark share of the left half, and the middle plus the light share of the right."""
    values = row.astype(np.float64) / 255.0
    half = values.size // 2
    return half - float(values[:half].sum()), half + float(values[half:].sum())


def _band(h: int, w: int) -> np.ndarray:
    """RGB uint8 ``HxWx3``: black with a white band from a tenth of the width to nine tenths: its sides lie near the
    left and right edges, where a copy stretched wrongly puts them furthest off."""
    image = np.zeros((h, w, 3), np.uint8)
    image[:, w // 10 : w * 9 // 10] = 255
    return image


@pytest.mark.parametrize(
    ("hw", "target"), [((1160, 1160), (128, 128)), ((400, 6009), (38, 576)), ((97, 130), (60, 80))]
)
def test_the_working_copy_lines_up_with_the_photo(hw: tuple[int, int], target: tuple[int, int]) -> None:
    """The model's copy of a photo cut the photo to a multiple of the whole factor (up to 9 pixels dropped at the
    right and bottom) and stretched the rest over the copy: near the right edge a subject stood up to 7 photo pixels
    left of where it is (6009 px wide), and so did the mask made from it. Edges land where an area resize puts them."""
    import cv2

    from colorsplash.runtime.edges.working import shrink

    image = _band(*hw)
    got = _edges(shrink(image, target)[target[0] // 2, :, 0])
    want = _edges(cv2.resize(image, target[::-1], interpolation=cv2.INTER_AREA)[target[0] // 2, :, 0])
    assert np.allclose(got, want, atol=0.1), (got, want)


@pytest.mark.parametrize("orientation", [1, 3, 6])
def test_a_large_jpegs_dct_copy_lines_up_with_the_photo(orientation: int) -> None:
    """A JPEG whose sides are no multiple of 8 is decoded at 1/8 scale with up to 7 pixels of its encoder's padding
    in its last column and row; the copy stretched them over the picture, so it stood up to 7 photo pixels off at
    the far side (the right, or the left for a photo stored turned 180 degrees)."""
    import io

    import cv2
    from PIL import ImageOps

    from colorsplash.runtime.pictures.orientation import orient_pixels
    from colorsplash.runtime.pipeline import reduced_jpeg

    h, w, target = 1201, 1601, (150, 200)  # 1/8 scale: 201x151 decoded, 200.125x150.125 of them picture
    upright = _band(h, w)
    stored = orient_pixels(upright, {1: 1, 3: 3, 6: 8}[orientation])  # 8 undoes 6 (a quarter turn back)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, "JPEG", quality=100, subsampling=0, exif=exif.tobytes())
    assert ImageOps.exif_transpose(Image.open(buf)).size == (w, h)
    small = reduced_jpeg(buf.getvalue(), target)
    assert small is not None and small.shape[:2] == target
    want = _edges(cv2.resize(upright, target[::-1], interpolation=cv2.INTER_AREA)[75, :, 0])
    assert np.allclose(_edges(small[75, :, 0]), want, atol=0.1), (_edges(small[75, :, 0]), want)


def test_a_skipped_photo_gets_no_notes_about_a_file_never_written(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`splash --on-empty skip -o s.bmp` of a photo without a subject said "a BMP holds no EXIF metadata; not
    copied" of a result it did not write (and `mask ... -o m.jpg` "a JPEG mask is lossy")."""
    Image.new("RGB", (64, 48), (90, 90, 200)).save(tmp_path / "a.png")  # blue: no orange subject
    args = ("mask", str(tmp_path / "a.png"), "--on-empty", "skip", "--model", str(tiny_onnx))
    code, err = run(capsys, *args, "-o", str(tmp_path / "m.jpg"))
    assert code == 0 and "skipped" in err and "lossy" not in err, err
    assert not (tmp_path / "m.jpg").exists()
    exif = Image.Exif()
    exif[0x0110] = "Camera"
    Image.new("RGB", (64, 48), (90, 90, 200)).save(tmp_path / "b.jpg", exif=exif.tobytes())
    args = ("splash", str(tmp_path / "b.jpg"), "--on-empty", "skip", "--model", str(tiny_onnx))
    code, err = run(capsys, *args, "-o", str(tmp_path / "s.bmp"))  # said "a BMP holds no EXIF metadata; not copied"
    assert code == 0 and "skipped" in err and "EXIF" not in err, err


def test_the_cut_off_line_never_shows_the_highest_probability_reaching_the_cut_off(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mask --threshold 0.99999` of a photo whose highest probability is 0.99995 said "no pixel reaches the cut-off
    1.00 (highest 1.00)": both rounded to the nearest. The highest is rounded down and the cut-off to the nearest,
    with more places where two would read the wrong way round, as the subject score against its threshold is."""
    Image.new("RGB", (64, 48), (235, 60, 5)).save(tmp_path / "a.png")  # the stand-in's probability: 0.99995
    args = ("mask", str(tmp_path / "a.png"), "--threshold", "0.99999", "--model", str(tiny_onnx))
    code, err = run(capsys, *args, "-o", str(tmp_path / "m.png"))
    assert code == 0 and "no pixel reaches the cut-off 1.00 (highest 0.99)" in err, err


@pytest.mark.parametrize("threshold", [0.0, 0.3])
def test_a_soft_threshold_keeps_0_and_1(model: object, threshold: float) -> None:
    """README: "the soft alpha is remapped so that P becomes half colour (128 in a mask; 0 and 1 stay)". With
    `--threshold 0` the whole background (0) became 0.5: a mask of 128 everywhere but the subject."""
    import colorsplash

    image, _ = make_blob_image(96, 128, seed=3)
    plain = colorsplash.predict_alpha(image, model)
    moved = colorsplash.predict_alpha(image, model, threshold=threshold)
    assert (plain == 0).any() and (plain == 1).any()
    assert (moved[plain == 0] == 0).all() and (moved[plain == 1] == 1).all()


def _blobs(h: int, w: int, discs: list[tuple[int, int, int]]) -> np.ndarray:
    """RGB uint8 ``HxWx3``: dark noise with orange discs (centre x, centre y, radius), the stand-in's subjects."""
    image = np.random.default_rng(5).integers(0, 90, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    for cx, cy, r in discs:
        image[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = (230, 120, 40)
    return image


def test_keep_and_point_keep_the_chosen_subjects_soft_edge(model: object) -> None:
    """`--keep largest` (and `--point`) cut the soft edge of the subject kept one working pixel beyond its 0.5
    outline (7 photo pixels on a 12 MP photo): a pet's fur lost up to 0.7 of its alpha, on a photo of one pet too.
    The chosen subject keeps its alpha; only what lies nearer another subject goes."""
    import colorsplash

    one = _blobs(240, 320, [(160, 120, 60)])
    whole = colorsplash.predict_alpha(one, model)
    assert ((whole > 0.05) & (whole < 0.95)).sum() > 200  # a soft edge to keep
    np.testing.assert_array_equal(colorsplash.predict_alpha(one, model, keep="largest"), whole)
    two = _blobs(240, 320, [(100, 120, 60), (270, 120, 25)])
    whole = colorsplash.predict_alpha(two, model)
    for options in ({"keep": "largest"}, {"point": "100,120"}):
        kept = colorsplash.predict_alpha(two, model, **options)
        np.testing.assert_array_equal(kept[:, :170], whole[:, :170])  # the big one's side: as it was
        assert kept[:, 240:].max() == 0 and whole[:, 240:].max() == 1  # the small one: gone


def test_a_skipped_photo_gets_no_note_on_the_transparency_of_a_result_never_written(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`splash --on-empty skip` of a transparent PNG without a subject still said "transparent areas flattened onto
    white; a cut-out keeps them: --effect transparent" of the splash it did not write (`mask`: "the mask does not
    include the picture's transparency"), though a skipped photo was to get only what reading it noted."""
    picture = np.zeros((48, 64, 4), np.uint8)
    picture[..., :3], picture[:, 32:, 3] = (90, 90, 200), 255  # blue (no orange subject), half transparent
    Image.fromarray(picture, "RGBA").save(tmp_path / "a.png")
    for verb, out in (("splash", "s.png"), ("mask", "m.png")):
        args = (verb, str(tmp_path / "a.png"), "--on-empty", "skip", "--model", str(tiny_onnx))
        code, err = run(capsys, *args, "-o", str(tmp_path / out))
        assert code == 0 and "skipped" in err and "transparen" not in err, err
        assert not (tmp_path / out).exists()
