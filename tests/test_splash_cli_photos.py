"""``colorsplash splash`` and ``colorsplash mask`` on photos, end to end: full resolution, colour kept and
background grey, metadata, no subject, masks, effects and their strength, transparency, JPEG colour resolution."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from helpers.hostile import SRGB_ICC, rotated_jpeg
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)
from PIL import Image

from colorsplash.cli import main


def test_folder_splash_full_resolution_colour_kept_background_grey(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    mask = blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.jpg", 1, quality=95)
    code, err = run(capsys, "splash", str(tmp_path), "--model", str(tiny_onnx))
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "a.splash.png"))
    src = np.asarray(Image.open(tmp_path / "a.png"))
    assert out.shape == src.shape
    inner = cv2.erode(mask, np.ones((7, 7), np.uint8)).astype(bool)
    # The matte edge stage's unknown band reaches 1.5 model pixels (4 px here) beyond the model's edge.
    outer = ~cv2.dilate(mask, np.ones((11, 11), np.uint8)).astype(bool)
    assert np.abs(out[inner].astype(int) - src[inner]).mean() < 3  # subject: colours as they were (RGB order)
    assert np.ptp(out[outer].astype(int), axis=1).max() <= 1  # background: grey (R = G = B)
    assert Image.open(tmp_path / "b.splash.jpg").format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.splash.png", "b.jpg", "b.splash.jpg"]


def test_exif_orientation_exif_and_icc_kept(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.jpg").write_bytes(rotated_jpeg())
    assert run(capsys, "splash", str(tmp_path / "r.jpg"), "--model", str(tiny_onnx), "--quality", "90")[0] == 0
    with Image.open(tmp_path / "r.splash.jpg") as img:
        assert img.size == (20, 40)  # upright
        assert img.getexif()[0x0112] == 1 and img.getexif()[0x010F] == "TestCam"
        assert img.info["icc_profile"] == SRGB_ICC


@pytest.mark.parametrize("mode", ["grey", "copy", "skip"])
def test_no_subject(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "cat.png")
    code = main(["splash", str(tmp_path / "cat.png"), "--on-empty", mode, "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0
    assert (
        f"no blob found in {tmp_path / 'cat.png'} (subject score 0.0" in err and "under the model's 0.50)" in err
    )  # the model's subject word
    assert "max probability" not in err  # internal, and read as "there is a subject" next to a high value
    if mode == "grey":  # it said "background effect only" and not what to do (journey audit)
        assert "--point X,Y colours the blob there, --on-empty copy keeps the photo" in err
    out = tmp_path / "cat.splash.png"
    if mode == "skip":
        assert not out.exists() and "skipped 1" in err
    elif mode == "copy":
        assert np.array_equal(np.asarray(Image.open(out)), dark)
    else:
        assert np.ptp(np.asarray(Image.open(out)).astype(int), axis=2).max() <= 1


@pytest.mark.parametrize(
    ("mode", "line", "value"), [("grey", "wrote an empty mask", 0), ("copy", "wrote an all-subject mask", 255)]
)
def test_no_subject_mask_says_what_the_mask_holds(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], mode: str, line: str, value: int
) -> None:
    """``mask`` on a photo without a subject: the line names the mask written, not a background effect."""
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "cat.png")
    code = main(["mask", str(tmp_path / "cat.png"), "--on-empty", mode, "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0 and f"no blob found in {tmp_path / 'cat.png'}" in err and line in err
    assert "background effect" not in err and "photo unchanged" not in err
    with Image.open(tmp_path / "cat.mask.png") as img:
        assert (np.asarray(img) == value).all()


@pytest.mark.parametrize("verb", ["mask", "splash"])
def test_skip_to_standard_output_fails_rather_than_write_nothing(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    """``-o -`` (or ``-`` as INPUT) with ``--on-empty skip`` on a photo without a subject wrote nothing and exited 0: a
    pipe read an empty "picture" as a success (``colorsplash mask - --on-empty skip < a.jpg > a.png``). It fails, as
    the HTTP API answers such a photo with 422."""
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "cat.png")
    code = main([verb, str(tmp_path / "cat.png"), "-o", "-", "--on-empty", "skip", "--model", str(tiny_onnx)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "skipped, so nothing was written to standard output" in err and "failed 1" in err


def test_inverted_no_subject_photo_is_all_background(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (verbs): `mask --invert` on a photo with no subject wrote an all-0 mask, and `splash --invert` (subject
    grey, background in colour) greyed the whole photo: with no subject all of it is background, so the mask of
    the background is all 255 and the inverted splash keeps the photo in colour, in the CLI and the Python API."""
    import colorsplash

    photo = tmp_path / "cat.png"
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(photo)
    assert main(["mask", str(photo), "--invert", "--model", str(tiny_onnx)]) == 0
    err = capsys.readouterr().err
    assert "no blob found" in err and "all of it is background (--invert): wrote an all-255 mask" in err
    with Image.open(tmp_path / "cat.mask.png") as img:
        assert (np.asarray(img) == 255).all()
    assert main(["splash", str(photo), "--invert", "--model", str(tiny_onnx)]) == 0
    assert "all of it is background (--invert): kept in full colour" in capsys.readouterr().err
    with Image.open(tmp_path / "cat.splash.png") as img:
        assert np.array_equal(np.asarray(img), dark)
    model = colorsplash.load_model(tiny_onnx)
    assert (colorsplash.predict_alpha(dark, model, invert=True) == 1).all()
    assert (colorsplash.predict_alpha(dark, model) == 0).all()
    with pytest.raises(colorsplash.NoSubjectError):
        colorsplash.predict_alpha(dark, model, invert=True, on_empty="skip")


def test_mask_verb(tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]) -> None:
    mask = blob_file(tmp_path / "in" / "a.jpg", 0, size=(90, 130), quality=95)
    out = tmp_path / "masks"
    assert run(capsys, "mask", str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx))[0] == 0
    with Image.open(out / "a.png") as img:
        assert img.mode == "L" and img.size == (130, 90)
        alpha = np.asarray(img)
    assert alpha[mask == 1].mean() > 240 and alpha[mask == 0].mean() < 15
    assert run(capsys, "mask", str(tmp_path / "in" / "a.jpg"), "--model", str(tiny_onnx))[0] == 0
    assert (tmp_path / "in" / "a.mask.png").is_file()  # beside the input, not a.png


def test_a_webp_mask_holds_the_same_values_as_the_png(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """-o m.webp wrote a lossy WebP: the mask's values moved by up to 6 against the PNG (and the API's alpha)."""
    blob_file(tmp_path / "a.jpg", 0, size=(90, 130), quality=95)
    for ext in ("png", "webp"):
        assert (
            run(capsys, "mask", str(tmp_path / "a.jpg"), "-o", str(tmp_path / f"m.{ext}"), "--model", str(tiny_onnx))[0]
            == 0
        )
    with Image.open(tmp_path / "m.png") as png, Image.open(tmp_path / "m.webp") as webp:
        assert webp.format == "WEBP"
        assert np.array_equal(np.asarray(png), np.asarray(webp.convert("L")))


def test_transparent_jpeg_becomes_png_cutout(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "a.jpg", 0, quality=95)
    assert run(capsys, "splash", str(tmp_path / "a.jpg"), "--effect", "transparent", "--model", str(tiny_onnx))[0] == 0
    with Image.open(tmp_path / "a.splash.png") as img:
        assert img.format == "PNG" and img.mode == "RGBA"


def test_switches_and_effect_strength_from_the_cli(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from colorsplash.cli import build_parser
    from colorsplash.cli.option_flags import options_from_namespace

    opts = options_from_namespace(
        build_parser().parse_args(["splash", "x.png", "--no-refine", "--hard", "--effect", "Dim:0.3"])
    )
    assert (opts.refine, opts.hard, opts.effect) == (False, True, "dim:0.3")
    mask = blob_file(tmp_path / "a.png", 0)
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), "--effect", "dim:0.3")
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "a.splash.png")).astype(np.float32)
    src = np.asarray(Image.open(tmp_path / "a.png")).astype(np.float32)
    outer = ~cv2.dilate(mask, np.ones((11, 11), np.uint8)).astype(bool)  # beyond the matte's band (see above)
    assert np.abs(out[outer] - 0.7 * src[outer]).max() <= 2  # background at 70 % of its brightness, colour kept


def test_exif_too_large_for_a_jpeg_result_is_noted(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exif = Image.Exif()
    exif[0x010E] = "x" * 70000  # ImageDescription: the block no longer fits one JPEG segment
    exif[0x010F] = "Cam"
    image, _ = make_blob_image(120, 160, seed=0)
    Image.fromarray(image).save(tmp_path / "a.png", exif=exif)
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), "-o", str(tmp_path / "b.jpg"))
    assert code == 0 and "does not fit a JPEG" in err and "a.png" in err
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))
    assert code == 0 and "does not fit" not in err  # a PNG result keeps it
    with Image.open(tmp_path / "a.splash.png") as img:
        assert img.getexif()[0x010F] == "Cam"


@pytest.mark.parametrize(
    ("subsampling", "expected"), [(0, 0), (1, 0), (2, 2)], ids=["444-kept", "422-to-444", "420-kept"]
)
def test_a_jpeg_result_keeps_the_inputs_colour_resolution(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], subsampling: int, expected: int
) -> None:
    """4:2:0 halves the colour resolution exactly where a splash has its hard colour edge: a 4:4:4 input (a
    careful export) keeps 4:4:4 (visual audit); camera JPEGs (4:2:0) stay 4:2:0, as small as before."""
    from PIL import JpegImagePlugin

    image, _ = make_blob_image(480, 640, seed=1)
    Image.fromarray(image).save(tmp_path / "a.jpg", quality=95, subsampling=subsampling)
    code, _ = run(capsys, "splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx))
    with Image.open(tmp_path / "a.splash.jpg") as out:
        assert code == 0 and JpegImagePlugin.get_sampling(out) == expected


def test_a_cutout_of_a_transparent_picture_keeps_its_transparency(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], keyed: None
) -> None:
    """`--effect transparent` on an RGBA PNG made its transparent parts opaque white (recheck audit): the cut-out's
    alpha is now the subject's times the picture's; other effects flatten it, as the note says."""
    import colorsplash

    image, mask = make_blob_image(120, 160, seed=0)
    subject = mask.astype(bool)
    image[subject] = (255, 80, 0)  # orange enough that the stand-in model finds it after flattening onto white
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    rgba[:, :80, 3] = 200  # the left half partly transparent
    Image.fromarray(rgba).save(tmp_path / "a.png")
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), "--effect", "transparent")
    assert code == 0 and "transparent areas" not in err  # kept, not flattened: nothing to tell
    with Image.open(tmp_path / "a.splash.png") as out:
        alpha = np.asarray(out)[..., 3].astype(int)
    # With 128 the flattened orange was no subject to the model: alpha 0 there, and the test held without the rule.
    left, right = alpha[:, :80][subject[:, :80]], alpha[:, 80:][subject[:, 80:]]
    assert np.median(left) >= 195 and left.max() <= 201 and right.max() == 255
    api = colorsplash.splash(rgba, colorsplash.load_model(tiny_onnx), effect="transparent")  # the API: the same
    assert np.abs(api[..., 3].astype(int) - alpha).max() <= 1


def test_the_transparency_note_fits_the_verb_and_effect(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], keyed: None
) -> None:
    """A cut-out said its transparency was "flattened onto white (a --effect transparent cut-out keeps them)", and
    `mask` advised `--effect`, an option it does not have (journey audit): each verb now says what it did."""
    rgba = np.dstack([make_blob_image(60, 80, seed=0)[0], np.full((60, 80), 255, np.uint8)])
    rgba[:, :40, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "a.png")
    model = ["--model", str(tiny_onnx)]
    notes = {}
    for verb, *extra in (["splash"], ["splash", "--effect", "transparent"], ["mask"]):
        code, err = run(capsys, verb, str(tmp_path / "a.png"), *model, *extra, "-o", str(tmp_path / f"{len(notes)}"))
        assert code == 0, err
        notes[" ".join([verb, *extra])] = err
    assert (
        "a.png: transparent areas flattened onto white; a cut-out keeps them: --effect transparent\n" in notes["splash"]
    )
    assert "transparent areas" not in notes["splash --effect transparent"]
    assert "--effect" not in notes["mask"] and "the mask does not include the picture's transparency" in notes["mask"]
