"""``colorsplash splash`` and ``colorsplash mask`` end to end: files, folders, globs, naming, bad input, resume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_blob_image
from PIL import Image
from test_media import SRGB_ICC, rotated_jpeg, write_corpus

from colorsplash.cli import main
from colorsplash.runtime.onnx_model import Model


def orange_key(self: Model, image: np.ndarray) -> np.ndarray:
    """A stand-in model: orange pixels (R - B large) are the subject; float32 ``S x S``."""
    s = self.config.input_size
    rgb = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
    return (1.0 / (1.0 + np.exp(-(rgb[..., 0] - rgb[..., 2] - 130.0) / 10.0))).astype(np.float32)


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


def test_folder_splash_full_resolution_colour_kept_background_grey(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    mask = blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.jpg", 1, quality=95)
    code, err = run(capsys, "splash", str(tmp_path), "--model", str(tiny_onnx))
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "a.splash.png"))
    src = np.asarray(Image.open(tmp_path / "a.png"))
    assert out.shape == src.shape
    inner = cv2.erode(mask, np.ones((7, 7), np.uint8)).astype(bool)
    outer = ~cv2.dilate(mask, np.ones((7, 7), np.uint8)).astype(bool)
    assert np.abs(out[inner].astype(int) - src[inner]).mean() < 3  # subject: colours as they were (RGB order)
    assert np.ptp(out[outer].astype(int), axis=1).max() <= 1  # background: grey (R = G = B)
    assert Image.open(tmp_path / "b.splash.jpg").format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.splash.png", "b.jpg", "b.splash.jpg"]


def test_exif_orientation_exif_and_icc_kept(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.jpg").write_bytes(rotated_jpeg())
    assert run(capsys, "splash", str(tmp_path / "r.jpg"), "--model", str(tiny_onnx), "--quality", "90")[0] == 0
    with Image.open(tmp_path / "r.splash.jpg") as img:
        assert img.size == (20, 40)  # upright
        assert img.getexif()[0x0112] == 1 and img.getexif()[0x010F] == "TestCam"
        assert img.info["icc_profile"] == SRGB_ICC


def test_output_dir_mirrors_tree_recursive_and_globs(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
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


def test_skip_existing_resumes_and_results_are_not_inputs(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.png", 1)
    assert run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))[0] == 0
    before = (tmp_path / "a.splash.png").stat().st_mtime_ns
    code = main(["splash", str(tmp_path), "--skip-existing", "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0 and "done 1, skipped 1, failed 0" in err  # a.splash.png itself is not taken as an input
    assert (tmp_path / "a.splash.png").stat().st_mtime_ns == before and (tmp_path / "b.splash.png").is_file()


def test_inputs_are_never_overwritten(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    blob_file(tmp_path / "x.jpg", 0)
    blob_file(tmp_path / "x.png", 1)
    original = (tmp_path / "x.png").read_bytes()
    code, err = run(capsys, "mask", str(tmp_path / "x.jpg"), str(tmp_path / "x.png"), "-o", str(tmp_path),
                    "--model", str(tiny_onnx))
    # -o is the photos' own folder: masks are tagged (x.mask.png), never x.png over the user's photo
    assert code == 1 and "x.mask.png is already the output of" in err and "rename one of them" in err
    assert "-o DIR" not in err  # -o was given: no hint to give it
    assert (tmp_path / "x.png").read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg", "x.mask.png", "x.png"]


def test_bad_corpus_one_line_each_and_batch_goes_on(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
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


def test_unwritable_output_is_per_file(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                       capsys: pytest.CaptureFixture[str]) -> None:
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
def test_no_subject(tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str],
                    mode: str) -> None:
    dark = np.random.default_rng(0).integers(0, 80, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(dark).save(tmp_path / "cat.png")
    code = main(["splash", str(tmp_path / "cat.png"), "--on-empty", mode, "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0
    assert f"no subject found in {tmp_path / 'cat.png'} (max probability 0.0" in err
    out = tmp_path / "cat.splash.png"
    if mode == "skip":
        assert not out.exists() and "skipped 1" in err
    elif mode == "copy":
        assert np.array_equal(np.asarray(Image.open(out)), dark)
    else:
        assert np.ptp(np.asarray(Image.open(out)).astype(int), axis=2).max() <= 1


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


def test_transparent_jpeg_becomes_png_cutout(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    blob_file(tmp_path / "a.jpg", 0, quality=95)
    assert run(capsys, "splash", str(tmp_path / "a.jpg"), "--effect", "transparent",
               "--model", str(tiny_onnx))[0] == 0
    with Image.open(tmp_path / "a.splash.png") as img:
        assert img.format == "PNG" and img.mode == "RGBA"


def test_missing_inputs_and_empty_folder(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "splash", str(tmp_path / "nope.jpg"), "--model", str(tiny_onnx))
    assert code == 1 and "nope.jpg: no such file or folder" in err
    code, err = run(capsys, "splash", str(tmp_path), "--model", str(tiny_onnx))
    assert code == 1 and "no pictures found" in err


def test_bad_option_and_debug_traceback(tmp_path: Path, tiny_onnx: Path, keyed: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    blob_file(tmp_path / "a.png", 0)
    with pytest.raises(SystemExit):
        main(["splash", str(tmp_path), "--effect", "sparkle"])
    assert "sparkle" in capsys.readouterr().err
    assert main(["splash", str(tmp_path / "a.png"), "--point", "999,999", "--model", str(tiny_onnx)]) == 1
    err = capsys.readouterr().err
    assert "outside" in err and "Traceback" not in err
    assert main(["--debug", "splash", str(tmp_path / "a.png"), "--point", "999,999",
                 "--model", str(tiny_onnx)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_command_line_entry_point_no_traceback(tmp_path: Path, tiny_onnx: Path) -> None:
    """The real process: a bad file and a missing model give one line each, never a traceback."""
    (tmp_path / "notes.jpg").write_text("not a picture")
    blob_file(tmp_path / "a.png", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "colorsplash", "splash", str(tmp_path), "--model", str(tiny_onnx)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "notes.jpg: not a picture" in done.stderr and (tmp_path / "a.splash.png").is_file()
    done = subprocess.run([sys.executable, "-m", "colorsplash", "splash", str(tmp_path), "--overwrite", "--model",
                           str(tmp_path / "missing.onnx")], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "missing.onnx" in done.stderr and "Traceback" not in done.stderr
