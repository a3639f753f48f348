"""``colorsplash splash`` and ``colorsplash mask``: help texts (choices, defaults, what the options do) and
readable errors (one line, no traceback unless --debug) for bad options and inputs (issue 16 items 15, 17, 19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)

from colorsplash.cli import main


def test_missing_inputs_and_empty_folder(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "splash", str(tmp_path / "nope.jpg"), "--model", str(tiny_onnx))
    assert code == 1 and "nope.jpg: no such file or folder" in err
    code, err = run(capsys, "splash", str(tmp_path), "--model", str(tiny_onnx))
    assert code == 1 and "no pictures found" in err
    assert "file(s)" not in err  # it said "1 file(s): done 0, skipped 0, failed 1" of a folder holding none


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


def test_jobs_help_says_how_the_model_runs_beside_the_workers(capsys: pytest.CaptureFixture[str]) -> None:
    """-j said "the model runs beside them on its own thread": on a CPU of several cores it runs one photo per core
    (runtime.batch.batch_model), whatever -j says."""
    for verb in ("splash", "mask"):
        text = help_text(capsys, verb)
        assert "on its own thread" not in text
        assert "(default auto: one per core, 2 to 8); the model runs beside them, on a CPU of several cores" in text


def test_mask_help_speaks_of_the_mask(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "mask")
    assert "--invert, --no-invert 255 marks the background instead of the subject" in text
    assert "subject grey" not in text and "background in colour" not in text
    assert "all-255 mask (copy)" in text
    assert "--effect" not in text and "--quality" not in text
    # --point "also colours a photo" and --edges' "colour decontamination ... no background colour on the edge" were
    # the splash's words: a mask colours nothing, and decontamination changes a splash's colours, not the alpha
    assert "colour" not in text.lower() and "also masks it in a photo the model judged to hold no subject" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--effect", "purple"], "argument --effect: unknown effect 'purple'; choose grey[:AMOUNT]"),
        (["--keep", "biggest"], "argument --keep: choose one of all, largest, got 'biggest'"),
        (["--point", "inf,1"], "argument --point: expected X,Y as finite pixel positions, got 'inf,1'"),
        (["--quality", "high"], "argument --quality: expected a whole number from 1 to 100, got 'high'"),
        (["--jobs", "many"], "argument -j/--jobs: expected a positive whole number or auto, got 'many'"),
        (["--jobs", "0"], "argument -j/--jobs: must be a positive whole number or auto, got 0"),
    ],
)
def test_cli_errors_say_what_is_wrong(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    assert main(["splash", "a.jpg", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and "invalid" not in err and "Traceback" not in err


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


def test_threshold_help_says_what_p_does_to_the_soft_alpha(capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (verbs): `mask --threshold P` without --hard gave a soft mask (P remapped to 128) though every help
    called P a "probability cut-off". The help of splash and mask, the HTTP API's description and the Python
    docstring now say what P does, and this checks that it does it."""
    from colorsplash.runtime.edges.alpha import compute_alpha
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
    from colorsplash.runtime.edges.alpha import compute_alpha
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
