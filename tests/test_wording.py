"""The same words for the same things across the CLI, the Python API and the HTTP API (words audit): the model's
own subject word in the no-subject line, options named as each caller names them, one way of naming the model."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import colorsplash
from colorsplash.cli import main
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.runtime.wording import model_label, option_name, option_use

DARK = np.full((30, 40, 3), 20, np.uint8)  # nothing orange: the keyed tiny model finds no subject


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def http(tiny_onnx: Path, model: Model) -> Iterator[Any]:
    """The HTTP API on the tiny model (subject "blob"), probability keyed on orange pixels."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server.app import create_app

    with TestClient(create_app(tiny_onnx), base_url="http://127.0.0.1:8000") as client:
        yield client


def test_spellings_of_one_option() -> None:
    assert [option_name("on_empty", s) for s in ("cli", "python", "http")] == ["--on-empty", "on_empty", "on-empty"]
    assert option_use("on_empty", "copy", "cli") == "--on-empty copy"
    assert option_use("on_empty", "copy", "python") == 'on_empty="copy"'
    assert option_use("on_empty", "copy", "http") == "on-empty=copy"


def test_the_no_subject_line_names_the_models_subject_in_each_callers_words(
    model: Model, http: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "no subject found" for every model, and the Python API's and HTTP API's messages told the user to
    use ``--threshold``; the tiny model was trained with ``--subject blob``."""
    Image.fromarray(DARK).save(tmp_path / "room.png")
    assert main(["splash", str(tmp_path / "room.png"), "--model", str(model.path)]) == 0
    cli = capsys.readouterr().err
    assert f"no blob found in {tmp_path / 'room.png'}" in cli
    assert "--point X,Y colours the blob there, --on-empty copy keeps the photo" in cli

    with pytest.raises(colorsplash.NoSubjectError, match=r"^no blob found in the photo .*; skipped$"):
        colorsplash.splash(DARK, model, on_empty="skip")
    # Only the cut-off left it empty (a point overrules the photo-level score): the option named as a keyword.
    orange = DARK.copy()
    orange[10:20, 10:20] = (255, 128, 0)
    with pytest.raises(colorsplash.NoSubjectError, match="lower threshold\\)") as caught:
        colorsplash.splash(orange, model, on_empty="skip", threshold=1.0)
    assert "--" not in str(caught.value)

    resp = http.post("/api/splash?on-empty=skip&threshold=1&point=15,15", content=png(orange))
    assert resp.status_code == 422 and resp.json()["error"].startswith("no blob found in upload")
    assert "lower threshold)" in resp.json()["error"] and "--" not in resp.json()["error"]


def test_bad_options_are_named_as_each_caller_names_them(
    model: Model, http: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Python API and HTTP API said ``--on-empty: ...`` and ``--format: ...`` (no CLI flag at all)."""
    with pytest.raises(colorsplash.OptionError, match="^on_empty: choose one of grey, copy, skip") as caught:
        colorsplash.splash(DARK, model, on_empty="nope")
    assert caught.value.name == "on_empty" and caught.value.spelt("cli").args[0].startswith("--on-empty: ")
    with pytest.raises(colorsplash.OptionError, match="^point: 99,0 is outside the 40x30 photo"):
        colorsplash.predict_alpha(DARK, model, point=(99, 0))

    resp = http.post("/api/splash?format=gif", content=png(DARK))
    assert resp.status_code == 422 and resp.json() == {
        "error": "format: choose one of jpeg, png, webp, got 'gif'",
        "option": "format",
    }
    resp = http.post("/api/splash?on_empty=nope", content=png(DARK))
    assert resp.json()["option"] == "on_empty" and resp.json()["error"].startswith("on-empty: choose one of")

    Image.fromarray(DARK).save(tmp_path / "room.png")  # the CLI keeps its flags
    assert main(["splash", str(tmp_path / "room.png"), "--model", str(model.path), "--point", "99,0"]) == 1
    assert f"{tmp_path / 'room.png'}: --point: 99,0 is outside the 40x30 photo" in capsys.readouterr().err


def test_each_verb_names_the_model_it_ran_the_same_way(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``splash --model FILE`` did not say which model ran (``serve`` did, in its own words)."""
    Image.fromarray(DARK).save(tmp_path / "room.png")
    label = "model: Blob model — tiny-test"
    for verb in ("splash", "mask"):
        assert main([verb, str(tmp_path / "room.png"), "--model", str(tiny_onnx), "--overwrite"]) == 0
        summary = capsys.readouterr().err.splitlines()[-1]
        assert summary.startswith("1 file(s): done 1") and summary.endswith(f"; {label} ({tiny_onnx})")
    assert load_model(tiny_onnx).label == f"{label} ({tiny_onnx})"
    bundled = load_model()
    assert bundled.label == "model: Pet model — cats and dogs (int8)"  # no path: the variant that runs
    assert load_model(precision="fp32").label == "model: Pet model — cats and dogs (fp32)"
    assert model_label(bundled.config, tiny_onnx, bundled=False).endswith(f"({tiny_onnx})")
    # A model named by its file said its name twice: "Food model — food.onnx (runs/food.onnx)"
    food = ModelConfig(subject="food")
    assert model_label(food, "runs/food.onnx", bundled=False) == "model: Food model — runs/food.onnx"
    assert model_label(ModelConfig(), "cars.onnx", bundled=False) == "model: Custom model — cars.onnx"


def test_cli_errors_have_argparses_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Our errors said "colorsplash: error:", argparse's "colorsplash splash: error:"; an option the verb lacks
    (``mask --effect``) got the top level's "colorsplash: error: unrecognized arguments" and the list of verbs."""
    Image.fromarray(DARK).save(tmp_path / "room.png")
    assert main(["splash", str(tmp_path / "room.png"), "-o", str(tmp_path / "x.jpg"), "--effect", "transparent"]) == 2
    assert capsys.readouterr().err.startswith(f"colorsplash splash: error: -o {tmp_path / 'x.jpg'}: JPEG cannot")
    assert main(["splash", str(tmp_path / "room.png"), "--effect", "purple"]) == 2
    assert "\ncolorsplash splash: error: argument --effect: unknown effect 'purple'" in capsys.readouterr().err
    assert main(["mask", str(tmp_path / "room.png"), "--effect", "blur"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: colorsplash mask ") and "{splash,mask," not in err
    assert err.endswith(
        "colorsplash mask: error: unrecognized arguments: --effect blur; --effect is an option of splash, video, "
        "not of mask (see colorsplash mask --help)\n"
    )


def test_each_verb_says_its_pixel_limit_and_why_they_differ(capsys: pytest.CaptureFixture[str]) -> None:
    """``splash`` (100 MP) and ``serve`` (50 MP) had different ``--max-pixels`` defaults, neither saying why."""
    from colorsplash.runtime.pictures.limits import DEFAULT_MAX_PIXELS
    from colorsplash.server import SERVER_MAX_PIXELS

    helps = {}
    for verb in ("splash", "serve"):
        assert main([verb, "--help"]) == 0
        helps[verb] = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_MAX_PIXELS:,}); about 2.5 GB" in helps["splash"]
    assert f"serve's default is {SERVER_MAX_PIXELS:,}: its memory is shared" in helps["splash"]
    assert f"(default {SERVER_MAX_PIXELS:,}: a 48 MP phone photo passes; lower than splash's" in helps["serve"]
    assert "fits the default memory budget" in helps["serve"]


def test_an_unknown_http_field_lists_the_known_ones_as_fields(model: Model, http: Any) -> None:
    """``/api/splash?foo=1`` said "foo: unknown option; known: ..., on_empty, ..." (the Python keyword, which
    the HTTP API spells on-empty); the Python API keeps its keywords."""
    error = http.post("/api/splash?foo-bar=1", content=png(DARK)).json()["error"]
    assert error.startswith("foo-bar: unknown option; known: effect, ") and "on-empty" in error
    assert "_" not in error
    with pytest.raises(colorsplash.OptionError, match=r"^foo_bar: unknown option; known: .*on_empty"):
        colorsplash.splash(DARK, model, foo_bar=1)


def test_need_torch_has_one_prefix(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Without PyTorch: "colorsplash train: error: colorsplash train needs PyTorch" (the prefix twice)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert main(["train", "data", "-o", "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorsplash train: error: train needs PyTorch, which is not installed: pip install")
    assert err.count("colorsplash train") == 1


def test_videos_frames_without_a_subject_are_counted_in_the_models_words(
    model: Model, caplog: pytest.LogCaptureFixture
) -> None:
    """Some frames without a subject: "no subject found in 2 of 5 frames (--on-empty grey there)", whatever the
    model finds, and with --invert those frames are all background, kept in colour, not greyed."""
    import logging

    from colorsplash.runtime.options import SplashOptions
    from colorsplash.runtime.video.clip import _report_empty
    from colorsplash.runtime.video.video_frames import FrameSplasher

    lines = []
    for invert in (False, True):
        splasher = FrameSplasher(model, SplashOptions(invert=invert))
        splasher.empty_frames, splasher.empty_note = 2, "a note"
        caplog.clear()
        with caplog.at_level(logging.INFO):
            _report_empty(splasher, 5, Path("clip.mp4"))
        lines.append(caplog.records[-1].getMessage())
    assert lines[0] == "clip.mp4: no blob found in 2 of 5 frames (--on-empty grey there)"
    assert lines[1] == "clip.mp4: no blob found in 2 of 5 frames (all background there (--invert): kept in full colour)"


def test_the_shared_option_helps_name_no_option_in_one_callers_spelling() -> None:
    """A ``SplashOptions`` help is shown by the CLI's --help, ``help(colorsplash.splash)`` and the HTTP API's
    /docs alike, so it names other options bare (``edges``), never as the CLI's ``--edges``."""
    import dataclasses

    for f in dataclasses.fields(colorsplash.SplashOptions):
        for key in ("help", "mask_help"):
            assert "--" not in f.metadata[key], (f.name, key, f.metadata[key])


def test_the_copy_paste_flags_speak_of_the_subject_not_of_pets() -> None:
    """Audit (custom subject 2): `train --help` told someone training on food of "a pasted pet's box", "most
    pets per composite": copy-paste pastes the run's own training subject onto scenes and --negatives photos."""
    import dataclasses

    from colorsplash.training.config import AugmentConfig

    paste = [f for f in dataclasses.fields(AugmentConfig) if f.name.startswith("paste_")]
    assert len(paste) == 5
    for f in paste:
        assert "pet" not in f.metadata["help"].replace("pet-free", ""), (f.name, f.metadata["help"])
