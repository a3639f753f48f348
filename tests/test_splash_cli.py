"""``colorsplash splash`` and ``colorsplash mask`` end to end: files, folders, globs, naming, bad input, resume."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import pytest
from helpers import make_blob_image, orange_key
from helpers.hostile import SRGB_ICC, rotated_jpeg, write_corpus
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.batch import MemoryBudget, Outcome, PhotoJob, Task, run_batch
from colorsplash.runtime.onnx_model import Model, load_model
from colorsplash.runtime.photo_io import cost_limit
from colorsplash.runtime.planning import OutputPlan, expand_inputs, plan_tasks


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Model, "predict_lowres", orange_key)


def blob_file(path: Path, seed: int = 0, size: tuple[int, int] = (120, 160), **save: object) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    image, mask = make_blob_image(*size, seed=seed)
    Image.fromarray(image).save(path, **save)
    return mask


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["-q", *args])
    return code, capsys.readouterr().err


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


def test_output_dir_mirrors_tree_recursive_and_globs(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    blob_file(src / "top.png", 0)
    blob_file(src / "sub" / "deep.png", 1)
    out = tmp_path / "out"
    assert run(capsys, "splash", str(src), "-o", str(out), "--model", str(tiny_onnx))[0] == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["top.splash.png"]
    code, err = run(capsys, "splash", str(src), "-o", str(out), "-r", "--model", str(tiny_onnx))
    assert code == 1 and "top.splash.png already exists" in err  # an earlier result is not replaced silently
    assert (out / "sub" / "deep.splash.png").is_file()
    assert run(capsys, "splash", str(src), "-o", str(out), "-r", "--skip-existing", "--model", str(tiny_onnx))[0] == 0
    glob_out = tmp_path / "g"
    assert run(capsys, "splash", str(src / "*.png"), "-o", str(glob_out), "--model", str(tiny_onnx))[0] == 0
    assert [p.name for p in glob_out.iterdir()] == ["top.splash.png"]


def test_skip_existing_resumes_and_results_are_not_inputs(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.png", 1)
    assert run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))[0] == 0
    before = (tmp_path / "a.splash.png").stat().st_mtime_ns
    code = main(["splash", str(tmp_path), "--skip-existing", "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0 and "done 1, skipped 1, failed 0" in err  # a.splash.png itself is not taken as an input
    assert (tmp_path / "a.splash.png").stat().st_mtime_ns == before and (tmp_path / "b.splash.png").is_file()


def test_inputs_are_never_overwritten(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "x.jpg", 0)
    blob_file(tmp_path / "x.png", 1)
    original = (tmp_path / "x.png").read_bytes()
    code, err = run(
        capsys, "mask", str(tmp_path / "x.jpg"), str(tmp_path / "x.png"), "-o", str(tmp_path), "--model", str(tiny_onnx)
    )
    # -o is the photos' own folder: masks are tagged (x.mask.png), never x.png over the user's photo
    assert code == 1 and "x.mask.png is already the output of" in err and "rename one of them" in err
    assert "-o DIR" not in err  # -o was given: no hint to give it
    assert (tmp_path / "x.png").read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg", "x.mask.png", "x.png"]


def test_bad_corpus_one_line_each_and_batch_goes_on(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = write_corpus(tmp_path / "c")
    blob_file(tmp_path / "c" / "good.png", 0)
    out = tmp_path / "out"
    code, err = run(capsys, "splash", str(tmp_path / "c"), "-o", str(out), "--model", str(tiny_onnx))
    assert code == 1 and "Traceback" not in err
    lines = err.splitlines()
    for name, kind in expected.items():
        stem, ext = name.rsplit(".", 1)
        written = list(out.glob(f"{stem}.splash.*"))
        if kind == "error":
            assert sum(name in line for line in lines) == 1, name
            assert not written, name
        else:
            assert len(written) == 1, name
    assert any("anim.gif" in line and "first frame" in line for line in lines)
    assert (out / "good.splash.png").is_file()
    assert "failed 6" in err


def test_unwritable_output_is_per_file(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "in" / "ok.png", 0)
    blob_file(tmp_path / "in" / "sub" / "blocked.png", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where a folder should be")
    code, err = run(capsys, "splash", str(tmp_path / "in"), "-r", "-o", str(out), "--model", str(tiny_onnx))
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if "blocked.png" in line and "cannot write" in line]
    assert (out / "ok.splash.png").is_file()
    assert main(["splash", str(tmp_path / "in"), "-o", str(out / "sub"), "--model", str(tiny_onnx)]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["grey", "copy", "skip"])
def test_no_subject(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "cat.png")
    code = main(["splash", str(tmp_path / "cat.png"), "--on-empty", mode, "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0
    assert f"no blob found in {tmp_path / 'cat.png'} (subject score 0.0" in err  # the model's subject word
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


def test_missing_inputs_and_empty_folder(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "splash", str(tmp_path / "nope.jpg"), "--model", str(tiny_onnx))
    assert code == 1 and "nope.jpg: no such file or folder" in err
    code, err = run(capsys, "splash", str(tmp_path), "--model", str(tiny_onnx))
    assert code == 1 and "no pictures found" in err


def test_bad_option_and_debug_traceback(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "a.png", 0)
    assert main(["splash", str(tmp_path), "--effect", "sparkle"]) == 2
    assert "sparkle" in capsys.readouterr().err
    assert main(["splash", str(tmp_path / "a.png"), "--point", "999,999", "--model", str(tiny_onnx)]) == 1
    err = capsys.readouterr().err
    assert "outside" in err and "Traceback" not in err
    assert main(["--debug", "splash", str(tmp_path / "a.png"), "--point", "999,999", "--model", str(tiny_onnx)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_command_line_entry_point_no_traceback(tmp_path: Path, tiny_onnx: Path) -> None:
    """The real process: a bad file and a missing model give one line each, never a traceback."""
    (tmp_path / "notes.jpg").write_text("not a picture")
    blob_file(tmp_path / "a.png", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "colorsplash", "splash", str(tmp_path), "--model", str(tiny_onnx)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "notes.jpg: not a picture" in done.stderr and (tmp_path / "a.splash.png").is_file()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorsplash",
            "splash",
            str(tmp_path),
            "--overwrite",
            "--model",
            str(tmp_path / "missing.onnx"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and "missing.onnx" in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------- issue 16 items 15, 17, 19: help, readable errors, strength


def help_text(capsys: pytest.CaptureFixture[str], verb: str) -> str:
    assert main([verb, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width


def test_help_lists_choices_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "splash")
    assert (
        "--keep {all,largest} keep every subject or only the largest (a point given chooses instead) (default: all)"
        in text
    )
    assert "--on-empty {grey,copy,skip}" in text and "skip the file (default: grey)" in text
    for shown in (
        "--effect EFFECT",
        "grey[:AMOUNT]",
        "blur[:RADIUS]",
        "dim[:AMOUNT]",
        "color:#RRGGBB[AA]",
        "(default: grey)",
        "(default: 95)",
        "--hard, --no-hard",
        "--refine, --no-refine",
        "(default: on)",
    ):
        assert shown in text, shown
    assert " MODE " not in text  # the old placeholder that hid the choices


def test_mask_help_speaks_of_the_mask(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "mask")
    assert "--invert, --no-invert 255 marks the background instead of the subject" in text
    assert "subject grey" not in text and "background in colour" not in text
    assert "all-255 mask (copy)" in text
    assert "--effect" not in text and "--quality" not in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--effect", "purple"], "argument --effect: unknown effect 'purple'; choose grey[:AMOUNT]"),
        (["--keep", "biggest"], "argument --keep: choose one of all, largest, got 'biggest'"),
        (["--point", "inf,1"], "argument --point: expected X,Y as finite pixel positions, got 'inf,1'"),
        (["--quality", "high"], "argument --quality: expected a whole number from 1 to 100, got 'high'"),
        (["--jobs", "many"], "argument -j/--jobs: expected a positive whole number, got 'many'"),
    ],
)
def test_cli_errors_say_what_is_wrong(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    assert main(["splash", "a.jpg", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "invalid" not in err and "Traceback" not in err


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


def png_named_jpg(path: Path, seed: int = 0) -> None:
    """A PNG file named ``.jpg``: its result's extension follows the content (``.png``)."""
    blob_file(path.with_suffix(".tmp.png"), seed)
    path.with_suffix(".tmp.png").rename(path)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_content_renamed_result_never_lands_on_an_input(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 1: `splash z.jpg z.splash.png` with PNG bytes in z.jpg must not overwrite z.splash.png."""
    png_named_jpg(tmp_path / "z.jpg")
    blob_file(tmp_path / "z.splash.png", 1)
    before = snapshot(tmp_path)
    code, err = run(
        capsys, "splash", str(tmp_path / "z.jpg"), str(tmp_path / "z.splash.png"), "--model", str(tiny_onnx)
    )
    assert code == 1 and f"{tmp_path / 'z.jpg'}: its output {tmp_path / 'z.splash.png'} is an input file" in err
    assert "done 1, skipped 0, failed 1" in err
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {"z.splash.splash.png"}


def test_users_files_are_not_replaced_without_overwrite(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 2: `mask photo.jpg -o .` beside the user's photo.png; an existing x.splash.jpg."""
    blob_file(tmp_path / "photo.jpg", 0)
    blob_file(tmp_path / "photo.png", 1)
    user_png = (tmp_path / "photo.png").read_bytes()
    assert run(capsys, "mask", str(tmp_path / "photo.jpg"), "-o", str(tmp_path), "--model", str(tiny_onnx))[0] == 0
    assert (tmp_path / "photo.png").read_bytes() == user_png and (tmp_path / "photo.mask.png").is_file()
    blob_file(tmp_path / "x.jpg", 2)
    (tmp_path / "x.splash.jpg").write_bytes(b"my own notes")
    code, err = run(capsys, "splash", str(tmp_path / "x.jpg"), "--model", str(tiny_onnx))
    assert code == 1 and "x.splash.jpg already exists and was not made by this run; not replaced" in err
    assert (tmp_path / "x.splash.jpg").read_bytes() == b"my own notes"
    code, err = run(capsys, "splash", str(tmp_path / "x.jpg"), "--skip-existing", "--model", str(tiny_onnx))
    assert code == 0 and (tmp_path / "x.splash.jpg").read_bytes() == b"my own notes"
    assert run(capsys, "splash", str(tmp_path / "x.jpg"), "--overwrite", "--model", str(tiny_onnx))[0] == 0
    assert Image.open(tmp_path / "x.splash.jpg").format == "JPEG"
    assert main(["splash", str(tmp_path / "x.jpg"), "--overwrite", "--skip-existing"]) == 2  # one or the other


def test_two_inputs_one_result_name_counts_true(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 3: `splash y.jpg y.png` (y.jpg holds PNG bytes) both want y.splash.png: one is refused."""
    png_named_jpg(tmp_path / "y.jpg", 0)
    blob_file(tmp_path / "y.png", 1)
    code, err = run(capsys, "splash", str(tmp_path / "y.jpg"), str(tmp_path / "y.png"), "--model", str(tiny_onnx))
    assert code == 1 and "done 1, skipped 0, failed 1" in err
    assert f"{tmp_path / 'y.png'}: its output {tmp_path / 'y.splash.png'} is already the output of" in err
    assert "use -o DIR" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.jpg", "y.png", "y.splash.png"]


def test_output_that_does_not_read_back_is_a_failure(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 4: an output is decoded before its rename; a broken one is "failed", not "done"."""
    import colorsplash.runtime.photo_write as photo_write

    real = photo_write.encode_image
    monkeypatch.setattr(photo_write, "encode_image", lambda *a, **k: real(*a, **k)[:-200])
    blob_file(tmp_path / "a.png", 0)
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))
    assert code == 1 and "does not read back" in err and "done 0, skipped 0, failed 1" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize(("name", "fmt"), [("out.jpg", "JPEG"), ("out.WEBP", "WEBP"), ("deep/out.tif", "TIFF")])
def test_output_file_with_one_input(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], name: str, fmt: str
) -> None:
    """Issue 16 item 16: `splash in.png -o out.jpg` writes that file, its format from the extension."""
    blob_file(tmp_path / "in.png", 0)
    assert (
        run(capsys, "splash", str(tmp_path / "in.png"), "-o", str(tmp_path / name), "--model", str(tiny_onnx))[0] == 0
    )
    with Image.open(tmp_path / name) as img:
        assert img.format == fmt and img.size == (160, 120) and (tmp_path / name).is_file()
    assert (
        run(capsys, "mask", str(tmp_path / "in.png"), "-o", str(tmp_path / "m.png"), "--model", str(tiny_onnx))[0] == 0
    )
    assert Image.open(tmp_path / "m.png").mode == "L"
    blob_file(tmp_path / "two.png", 1)
    assert main(["splash", str(tmp_path / "in.png"), str(tmp_path / "two.png"), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "names one file, but 2 pictures were given" in capsys.readouterr().err
    assert main(["splash", str(tmp_path / "in.png"), "--effect", "transparent", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "cannot hold the transparent result" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()
    assert (
        main(
            [
                "-q",
                "splash",
                str(tmp_path / "in.png"),
                "-o",
                str(tmp_path / "in.png"),
                "--overwrite",
                "--model",
                str(tiny_onnx),
            ]
        )
        == 1
    )  # never the input, even with --overwrite
    assert "is an input file" in capsys.readouterr().err


def test_standard_input_and_output(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 16: `-` reads standard input and writes standard output for splash and mask."""
    import io

    blob_file(tmp_path / "a.jpg", 0, quality=95)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for verb, fmt, mode in (("splash", "JPEG", "RGB"), ("mask", "PNG", "L")):
        done = subprocess.run(
            [sys.executable, "-m", "colorsplash", "-q", verb, "-", "--model", str(tiny_onnx)],
            input=(tmp_path / "a.jpg").read_bytes(),
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
        with Image.open(io.BytesIO(done.stdout)) as img:
            assert img.format == fmt and img.mode == mode and img.size == (160, 120)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorsplash",
            "-q",
            "splash",
            str(tmp_path / "a.jpg"),
            "-o",
            "-",
            "--model",
            str(tiny_onnx),
        ],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and Image.open(io.BytesIO(done.stdout)).format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]


def test_output_folder_is_the_input_folder(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 20: `splash . -o .` finds the pictures beside it; a too-long result name is one clear line."""
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.jpg", 1)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "splash", ".", "-o", ".", "--model", str(tiny_onnx))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.splash.png", "b.jpg", "b.splash.jpg"]
    long = "n" * 240 + ".png"  # 244 bytes; its result name (251) fits, and the temporary name must as well
    blob_file(tmp_path / long, 2)
    assert run(capsys, "splash", long, "--model", str(tiny_onnx))[0] == 0
    assert (tmp_path / ("n" * 240 + ".splash.png")).is_file()
    longer = "m" * 250 + ".png"
    blob_file(tmp_path / longer, 3)
    code, err = run(capsys, "splash", longer, "--model", str(tiny_onnx))
    assert code == 1 and "is longer than 255 bytes; rename the input" in err and "Errno" not in err


def test_memory_budget_keeps_two_costly_pictures_apart() -> None:
    """Issue 16 item 9: pictures whose decode costs add up to more than the budget never decode at once."""
    import threading
    import time

    from colorsplash.runtime.batch import MemoryBudget

    budget = MemoryBudget(100)
    peak, lock = [0], threading.Lock()

    def work(cost: int) -> None:
        with budget.hold(cost):
            with lock:
                peak[0] = max(peak[0], budget.used)
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(c,)) for c in (60, 60, 150, 30, 30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert peak[0] <= 150 and budget.used == 0  # the 150 one ran, alone; never 60 + 60


class _Pipe:
    """A standard output whose reader takes ``chunk`` bytes per write and closes after ``limit`` bytes."""

    def __init__(self, chunk: int, limit: int) -> None:
        self.chunk, self.limit, self.got = chunk, limit, bytearray()

    def write(self, data: memoryview) -> int:
        if len(self.got) >= self.limit:
            raise BrokenPipeError(32, "Broken pipe")
        take = bytes(data[: min(self.chunk, self.limit - len(self.got))])
        self.got += take
        return len(take)

    def flush(self) -> None:
        pass


def test_standard_output_is_written_whole_or_the_file_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe that takes part of a write returns a short count: the rest must follow, or the file must fail."""
    import io
    import types

    from colorsplash.runtime import photo_write

    picture = np.random.default_rng(0).integers(0, 255, (40, 300, 3), dtype=np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(picture).save(encoded, "PNG")
    data = encoded.getvalue()
    whole = _Pipe(chunk=1000, limit=10**9)
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=whole))
    photo_write.write_stdout(data, "PNG", picture.shape)
    assert bytes(whole.got) == data
    closed = _Pipe(chunk=1000, limit=5000)
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=closed))
    with pytest.raises(OSError, match="closed by its reader"):
        photo_write.write_stdout(data, "PNG", picture.shape)


def test_output_file_in_a_format_not_written_is_refused_not_made_a_folder(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o out.heic` used to create a folder named out.heic and write the result inside it."""
    blob_file(tmp_path / "a.jpg", 0)
    for name in ("out.heic", "out.ppm"):
        code, err = run(
            capsys, "splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "-o", str(tmp_path / name)
        )
        assert code == 2 and "not written here" in err and ".png" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
    code, _ = run(capsys, "splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "-o", str(tmp_path / "out.d"))
    assert code == 0 and (tmp_path / "out.d" / "a.splash.jpg").is_file()  # not a picture extension: a folder


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


def test_inputs_that_are_not_files_say_what_they_are(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "gone.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")
    for name, words in (
        ("dangling.jpg", "gone.jpg, which does not exist"),
        ("pipe.jpg", "is a pipe, socket or device, not a file"),
    ):
        code, err = run(capsys, "splash", str(tmp_path / name), "--model", str(tiny_onnx))
        assert code != 0 and words in err, err
    code, err = run(capsys, "splash", str(tmp_path / "none.jpg"), "--model", str(tiny_onnx))
    assert code != 0 and "no such file or folder" in err


def test_a_folder_rerun_says_it_left_out_earlier_results(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Earlier results are not splashed again, but not silently: a photo of the user's may be named that way."""
    import logging

    blob_file(tmp_path / "a.jpg", 0)
    blob_file(tmp_path / "mine.splash.jpg", 1)  # the user's own photo, named like a result
    (tmp_path / ".colorsplash-b.splash.0123abcd.part.jpg").write_bytes(b"half")  # a killed run's: said, kept
    with caplog.at_level(logging.INFO):
        assert main(["splash", str(tmp_path), "--model", str(tiny_onnx)]) == 0
    partial = [r.getMessage() for r in caplog.records if "interrupted run" in r.getMessage()]
    assert len(partial) == 1 and ".colorsplash-b.splash.0123abcd.part.jpg" in partial[0]
    assert (tmp_path / ".colorsplash-b.splash.0123abcd.part.jpg").read_bytes() == b"half"
    said = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert said == [
        f"{tmp_path}: left out 1 picture(s) named like earlier results (*.splash.*, *.mask.*); name one to include it"
    ]
    assert not (tmp_path / "mine.splash.splash.jpg").exists()
    assert main(["-q", "splash", str(tmp_path / "mine.splash.jpg"), "--model", str(tiny_onnx)]) == 0  # named: done
    assert (tmp_path / "mine.splash.splash.jpg").is_file()


def test_skip_existing_skips_an_output_another_run_made_meanwhile(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs resuming one folder at once: the one that loses the race failed dozens of files (audit)."""
    from colorsplash.runtime import batch

    blob_file(tmp_path / "a.jpg", 0)
    real = batch.write_image

    def raced(path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"the other run's result")  # lands between planning and this write
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "write_image", raced)
    code = main(["splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "--skip-existing"])
    err = capsys.readouterr().err
    assert code == 0 and "made meanwhile by another run" in err and "skipped 1" in err
    assert (tmp_path / "a.splash.jpg").read_bytes() == b"the other run's result"


def test_running_out_of_memory_is_one_line_with_advice(tmp_path: Path) -> None:
    from concurrent.futures import Future

    from colorsplash.runtime import batch
    from colorsplash.runtime.planning import Task

    failed: Future[batch.Outcome] = Future()
    failed.set_exception(MemoryError())
    outcome = batch._outcome(failed, Task(tmp_path / "big.png", tmp_path / "big.splash.png"), debug=False)
    assert outcome.status == "failed"
    assert outcome.messages == [
        f"{tmp_path / 'big.png'}: not enough memory for this picture; run it alone (-j 1) or lower --max-pixels"
    ]


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


def test_skip_existing_still_fails_an_output_folder_blocked_by_a_file(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mkdir reports a file in the output folder's place as FileExistsError too: that is a failure, not a skip."""
    blob_file(tmp_path / "in" / "sub" / "a.jpg", 0)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").write_bytes(b"a file where the folder goes")
    code, err = run(
        capsys,
        "splash",
        str(tmp_path / "in"),
        "-r",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_onnx),
        "--skip-existing",
    )
    assert code == 1 and "failed 1" in err and "made meanwhile" not in err


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
    assert "flattened onto white (a --effect transparent cut-out keeps them)" in notes["splash"]
    assert "transparent areas" not in notes["splash --effect transparent"]
    assert "--effect" not in notes["mask"] and "the mask does not include the picture's transparency" in notes["mask"]


def test_a_closed_standard_error_never_writes_into_the_picture_on_standard_output(
    tmp_path: Path, tiny_onnx: Path
) -> None:
    """With 2>&- Python's print() falls back to stdout: the summary line was appended to the JPEG written there."""
    blob_file(tmp_path / "a.jpg", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "colorsplash", "splash", str(tmp_path / "a.jpg"), "-o", "-", "--model", str(tiny_onnx)],
        stdout=subprocess.PIPE,
        env=env,
        timeout=120,
        preexec_fn=lambda: os.close(2),  # noqa: PLW1509 -- the child starts with standard error closed
    )
    assert done.returncode == 0 and done.stdout.endswith(b"\xff\xd9") and b"file(s)" not in done.stdout


def test_folder_scans_leave_out_earlier_masks_and_the_output_folder(tmp_path: Path) -> None:
    for name in ("cat.png", "cat.mask.png", "cat.splash.png", "out/cat.png", "out/deeper/dog.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    found, errors = expand_inputs([str(tmp_path)], recursive=True, exclude=tmp_path / "out")
    assert [f.relative_to(tmp_path).as_posix() for f, _ in found] == ["cat.png"] and errors == []


def test_a_file_named_twice_is_planned_once_and_an_empty_pattern_is_an_error(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    found, errors = expand_inputs([str(tmp_path), str(tmp_path / "*.png"), str(tmp_path / "a.png")])
    assert [f.name for f, _ in found] == ["a.png"] and errors == []
    found, errors = expand_inputs([str(tmp_path / "*.jpg")])
    assert found == [] and errors == [f"{tmp_path / '*.jpg'}: no picture matches this pattern"]


def test_names_of_a_file_already_in_the_run_are_said_in_one_line(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder of symbolic links to one photo gave one result and said nothing (soak): the rule stays (each file
    is done once), and the names left out are said, each with the name it is done under."""
    blob_file(tmp_path / "a.jpg", 0)
    for name in ("b.jpg", "c.jpg"):
        (tmp_path / name).symlink_to(tmp_path / "a.jpg")
    with caplog.at_level("INFO"):
        assert main(["splash", str(tmp_path), str(tmp_path / "a.jpg"), "--model", str(tiny_onnx)]) == 0
    said = [r.getMessage() for r in caplog.records if "already in this run" in r.getMessage()]
    a, b, c = (tmp_path / n for n in ("a.jpg", "b.jpg", "c.jpg"))
    assert said == [
        f"left out 3 name(s) of a file already in this run (each file is done once): {b} (= {a}), {c} (= {a}), "
        f"{a} (named twice)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if ".splash." in p.name) == ["a.splash.jpg"]


def test_outputs_differing_only_in_case_are_one_file(tmp_path: Path) -> None:
    """On macOS and Windows A.splash.png and a.splash.png are the same file: the second would replace the first."""
    (tmp_path / "upper").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "upper" / "A.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    out = tmp_path / "out"
    tasks, errors = plan_tasks([(tmp_path / "a.png", None), (tmp_path / "upper" / "A.png", None)], OutputPlan(out))
    assert [t.output.name for t in tasks] == ["a.splash.png"]
    assert len(errors) == 1 and "is already the output of" in errors[0]


class NoModel:
    """A model that must not be run."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the model was used ({name})")


def test_skip_existing_skips_before_reading_the_photo(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "a.splash.png").write_bytes(b"mine")
    job = PhotoJob(cast(Model, NoModel()), skip_existing=True)
    outcome = job(Task(tmp_path / "a.png", tmp_path / "a.splash.png", "PNG", "PNG"))
    assert outcome.status == "skipped" and outcome.messages == []
    assert (tmp_path / "a.splash.png").read_bytes() == b"mine"


def test_a_photo_whose_format_changed_since_planning_fails(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    job = PhotoJob(cast(Model, NoModel()))
    with pytest.raises(ValueError, match="a.png: its content changed while this ran"):
        job(Task(tmp_path / "a.png", tmp_path / "a.splash.jpg", "JPEG", "JPEG"))
    assert not (tmp_path / "a.splash.jpg").exists()


def test_the_memory_budget_is_all_given_back_after_a_batch(tmp_path: Path, tiny_onnx: Path) -> None:
    """Photos hold their decode cost in the budget from decoding to writing; a cost never given back (a photo
    done, or one that failed to decode) would make later photos wait for good."""
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / name)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:-2000])  # the header reads, the pixels do not
    tasks, errors = plan_tasks(expand_inputs([str(tmp_path)])[0], OutputPlan())
    assert len(tasks) == 4 and errors == []
    budget = MemoryBudget(10**9)
    job = PhotoJob(load_model(tiny_onnx), budget=budget)
    summary = run_batch(tasks, job, jobs=2, progress=False, report=lambda text: None)
    assert (summary.done, summary.failed) == (3, 1) and budget.used == 0


@pytest.mark.parametrize(
    "error, line",
    [
        (KeyError("x"), "unexpected KeyError: 'x' (--debug shows the traceback)"),
        (cv2.error("Insufficient memory to allocate"), "not enough memory for this picture; run it alone"),
    ],
)
def test_a_files_unexpected_error_is_one_line_naming_it(tmp_path: Path, error: Exception, line: str) -> None:
    def work(task: Task) -> Outcome:
        raise error

    said: list[str] = []
    summary = run_batch([Task(tmp_path / "a.png", tmp_path / "a.splash.png")], work, 1, False, report=said.append)
    assert summary.failed == 1 and len(said) == 1
    assert said[0].startswith(f"{tmp_path / 'a.png'}: {line}")


def test_a_batch_budgets_for_one_picture_at_its_pixel_limit() -> None:
    """Two pictures at the limit must never decode at once: the default budget is what one of them costs."""
    budget = PhotoJob(cast(Model, NoModel()), max_pixels=10**6).budget
    assert budget is not None and budget.limit == cost_limit(10**6)


def test_threshold_help_says_what_p_does_to_the_soft_alpha(capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (verbs): `mask --threshold P` without --hard gave a soft mask (P remapped to 128) though every help
    called P a "probability cut-off". The help of splash and mask, the HTTP API's description and the Python
    docstring now say what P does, and this checks that it does it."""
    from colorsplash.runtime.alpha import compute_alpha
    from colorsplash.runtime.options import SplashOptions
    from colorsplash.server.openapi import option_parameters

    ramp = np.tile(np.linspace(0, 1, 11, dtype=np.float32), (4, 1))  # probability 0, 0.1 .. 1 along a row
    image = np.zeros((4, 11, 3), np.uint8)
    soft = compute_alpha(image, ramp, SplashOptions(threshold=0.3, refine=False)).alpha[0]
    assert soft[0] == 0 and soft[3] == pytest.approx(0.5) and soft[10] == pytest.approx(1)  # P -> half, 0, 1 stay
    assert soft[2] < 0.5 < soft[4] and len(set(np.round(soft, 4))) == 11  # soft: every level kept apart
    hard = compute_alpha(image, ramp, SplashOptions(threshold=0.3, hard=True, refine=False)).alpha[0]
    assert hard.tolist() == [0.0] * 3 + [1.0] * 8  # cut at P
    for verb, words in (("splash", "P becomes half colour"), ("mask", "P becomes 128")):
        assert main([verb, "--help"]) == 0
        assert words in " ".join(capsys.readouterr().out.split())
    http = {p["name"]: p["description"] for p in option_parameters("mask")}
    assert "P becomes 128" in http["threshold"] and "hard cut to 0 or 255 at P" in http["threshold"]
    assert "P becomes half colour" in " ".join((SplashOptions.__doc__ or "P becomes half colour").split())


def test_hard_and_keep_help_say_what_feather_and_point_do_to_them(capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (verbs): `mask --hard --feather 3` wrote 26 grey levels though --hard promised "0 or 255 only", and
    `--keep largest --point X,Y` kept the subject under the point, not the largest, without a word in the help."""
    from colorsplash.runtime.alpha import compute_alpha
    from colorsplash.runtime.options import SplashOptions

    ramp = np.tile(np.linspace(0, 1, 41, dtype=np.float32), (8, 1))
    feathered = compute_alpha(np.zeros((8, 41, 3), np.uint8), ramp, SplashOptions(hard=True, feather=3, refine=False))
    assert len(np.unique(feathered.alpha)) > 2  # the feather softens the hard cut, as the help now says
    prob = np.zeros((20, 40), np.float32)
    prob[2:8, 2:8], prob[5:18, 20:38] = 0.9, 0.9  # a small subject and a large one
    picked = compute_alpha(
        np.zeros((20, 40, 3), np.uint8), prob, SplashOptions(keep="largest", point=(4, 4), refine=False)
    )
    assert picked.alpha[4, 4] > 0.5 and picked.alpha[10, 30] == 0  # the point chooses, not "largest"
    assert main(["mask", "--help"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "0 or 255 only (a feather softens its edge again)" in said and "(a point given chooses instead)" in said
