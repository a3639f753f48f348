"""The Python API: ``colorsplash.load_model``, ``predict_alpha`` and ``splash`` on arrays, PIL images and paths."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import make_blob_image, orange_key
from PIL import Image

import colorsplash
from colorsplash.runtime.api import NoSubjectError, to_rgb
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.options import OptionError, SplashOptions


@pytest.fixture(scope="module")
def blob() -> tuple[np.ndarray, np.ndarray]:
    return make_blob_image(90, 130, seed=5)


def test_public_names_are_lazy_and_documented() -> None:
    code = "import sys, colorsplash; print('onnxruntime' in sys.modules, 'cv2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "False"]  # `import colorsplash` stays light
    for name in ("load_model", "predict_alpha", "splash"):
        assert getattr(colorsplash, name).__doc__
    assert colorsplash.__version__
    with pytest.raises(AttributeError):
        _ = colorsplash.nothing_here  # type: ignore[attr-defined]


def test_splash_array_pil_and_path_agree(model: Model, blob: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    image, mask = blob
    Image.fromarray(image).save(tmp_path / "p.png")
    from_array = colorsplash.splash(image, model)
    assert from_array.shape == image.shape and from_array.dtype == np.uint8
    assert np.array_equal(colorsplash.splash(Image.fromarray(image), model), from_array)
    assert np.array_equal(colorsplash.splash(tmp_path / "p.png", model), from_array)
    assert np.array_equal(colorsplash.splash(str(tmp_path / "p.png"), model), from_array)
    inner = mask.astype(bool)
    assert np.abs(from_array[inner].astype(int) - image[inner]).mean() < 5  # subject keeps its colours


def test_predict_alpha_full_resolution_float(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    alpha = colorsplash.predict_alpha(image, model)
    assert alpha.shape == mask.shape and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha[mask == 1].mean() > 0.95 and alpha[mask == 0].mean() < 0.05


def test_options_and_overrides(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, _ = blob
    by_options = colorsplash.splash(image, model, SplashOptions(effect="sepia"))
    assert np.array_equal(colorsplash.splash(image, model, effect="sepia"), by_options)
    assert np.array_equal(
        colorsplash.splash(image, model, effect="sepia", threshold="0.5"),
        colorsplash.splash(image, model, SplashOptions(effect="sepia", threshold=0.5)),
    )
    assert not np.array_equal(colorsplash.splash(image, model), by_options)
    rgba = colorsplash.splash(image, model, effect="transparent")
    assert rgba.shape == (*image.shape[:2], 4)
    with pytest.raises(OptionError, match="^threshold: "):  # named as the keyword, not the CLI flag
        colorsplash.splash(image, model, threshold="2")
    with pytest.raises(OptionError, match="^colour: "):
        colorsplash.splash(image, model, colour="red")


def test_model_by_path(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, blob: tuple[np.ndarray, np.ndarray]) -> None:
    monkeypatch.setattr(Model, "predict_lowres", orange_key)
    image, _ = blob
    assert colorsplash.predict_alpha(image, str(tiny_onnx)).shape == image.shape[:2]


def test_no_subject(model: Model) -> None:
    dark = np.zeros((20, 30, 3), np.uint8)
    assert not colorsplash.predict_alpha(dark, model).any()
    assert np.array_equal(colorsplash.splash(dark + 50, model, on_empty="copy"), dark + 50)
    with pytest.raises(
        NoSubjectError, match=r"no blob found in the photo \(subject score 0.00, under the model's 0.50\); skipped"
    ) as caught:
        colorsplash.splash(dark, model, on_empty="skip")
    # A program deciding what to do with a skipped photo reads the figures, not the message.
    assert caught.value.score is not None and 0.0 <= caught.value.score < model.presence_threshold
    assert caught.value.max_probability is not None and caught.value.max_probability < 0.005


def test_no_subject_error_names_the_file(model: Model, tmp_path: Path) -> None:
    """Audit (custom subject 2): ``splash("nofood.jpg", on_empty="skip")`` raised "no food found in the photo":
    errors name the file, as the CLI's line does."""
    path = tmp_path / "no food.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path)
    for make in (colorsplash.splash, colorsplash.predict_alpha):
        with pytest.raises(NoSubjectError, match=f"no blob found in {path} "):
            make(path, model, on_empty="skip")
    with open(path, "rb") as stream, pytest.raises(NoSubjectError, match=f"no blob found in {path} "):
        colorsplash.splash(stream, model, on_empty="skip")


def test_image_kinds() -> None:
    grey = np.full((4, 5), 7, np.uint8)
    assert to_rgb(grey).shape == (4, 5, 3) and (to_rgb(grey) == 7).all()
    assert to_rgb(grey[..., None]).shape == (4, 5, 3)
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert (to_rgb(rgba) == 255).all()  # transparent -> white
    assert to_rgb(Image.new("L", (5, 4), 9)).shape == (4, 5, 3)
    with pytest.raises(ValueError, match="uint8"):
        to_rgb(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(ValueError, match="shape"):
        to_rgb(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(TypeError, match="list"):
        to_rgb([[1, 2]])  # type: ignore[arg-type]


# ------------------------------------------------------------------ issue 16: one validation for every entry point

BAD_TEXT = [
    ("point", "inf,1"),
    ("point", "1e400,1"),
    ("point", "nan,3"),
    ("point", "1,2,3"),
    ("feather", "1e9"),
    ("feather", "-5"),
    ("threshold", "2"),
    ("threshold", "nan"),
    ("quality", "0"),
    ("quality", "1e3"),
    ("quality", "101"),
    ("feather", "200.5"),
    ("effect", "blur:1000.5"),
    ("effect", "purple"),
    ("effect", "blur:0"),
    ("effect", "grey:1.5"),
    ("effect", "dim:inf"),
    ("effect", "color:#12345"),
    ("keep", "biggest"),
    ("on_empty", "never"),
    ("hard", "maybe"),
]
BAD_TYPED = [
    ("point", (float("inf"), 1)),
    ("point", (1e400, 1)),
    ("point", (-1, 5)),
    ("point", (5, -1)),
    ("point", 7),
    ("feather", 1e9),
    ("feather", -5.0),
    ("feather", float("nan")),
    ("threshold", 2),
    ("threshold", float("nan")),
    ("threshold", True),
    ("quality", 0),
    ("quality", 95.5),
    ("quality", True),
    ("effect", 3),
    ("effect", None),
    ("hard", 2),
    ("refine", None),
    ("keep", None),
]


@pytest.mark.parametrize(("name", "value"), [("feather", 200), ("quality", 100), ("effect", "blur:1000")])
def test_the_highest_allowed_values_are_taken(name: str, value: object) -> None:
    assert getattr(SplashOptions(**{name: value}), name) == value  # type: ignore[arg-type]


def test_an_empty_point_or_threshold_from_a_form_means_none() -> None:
    from colorsplash.runtime.options import options_from_mapping

    options = options_from_mapping({"point": "", "threshold": " "}, SplashOptions(point=(1, 2), threshold=0.3))
    assert options.point is None and options.threshold is None


@pytest.mark.parametrize(("name", "value"), BAD_TEXT + BAD_TYPED)
def test_python_refuses_bad_values_naming_the_option(model: Model, name: str, value: object) -> None:
    flag = f"^{name}: "  # the keyword's own name (it said the CLI's --on-empty)
    with pytest.raises(OptionError, match=flag):
        SplashOptions(**{name: value})  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=flag):
        SplashOptions().replace(**{name: value})
    with pytest.raises(OptionError, match=flag):
        colorsplash.splash(np.zeros((8, 8, 3), np.uint8), model, **{name: value})
    with pytest.raises(OptionError, match=flag):
        colorsplash.predict_alpha(np.zeros((8, 8, 3), np.uint8), model, SplashOptions(), **{name: value})


@pytest.mark.parametrize(("name", "value"), BAD_TEXT + BAD_TYPED)
def test_refusals_name_the_option_once(name: str, value: object) -> None:
    """A negative point read "point: point (-1, 5) must not be negative" (the CLI "argument --point: point ...")."""
    with pytest.raises(OptionError) as caught:
        SplashOptions(**{name: value})  # type: ignore[arg-type]
    assert not str(caught.value).startswith(f"{name}: {name} "), str(caught.value)


@pytest.mark.parametrize(("name", "value"), [p for p in BAD_TEXT if p[0] != "hard"])  # CLI switches take no value
def test_cli_refuses_bad_values_in_one_readable_line(
    tiny_onnx: Path, tmp_path: Path, name: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from colorsplash.cli import main

    flag = "--" + name.replace("_", "-")
    assert main(["splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx), f"{flag}={value}"]) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err and "Traceback" not in err
    assert "invalid" not in err  # argparse's "invalid parse_point value" names our function, not the problem


@pytest.fixture(scope="module")
def http(tiny_onnx: Path) -> Iterator[Any]:
    """A test client of the HTTP API (skipped without the server extra); server errors come back as 500s."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    app = server.create_app(tiny_onnx)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as client:
        yield client


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(("name", "value"), BAD_TEXT)
def test_http_refuses_bad_values_with_422(http: Any, name: str, value: str) -> None:
    for route in ("/api/splash", "/api/mask"):
        if route == "/api/mask" and name in ("effect", "quality"):
            continue
        photo = png_bytes(np.zeros((8, 8, 3), np.uint8))
        resp = http.post(route, params={name.replace("_", "-"): value}, content=photo)
        assert resp.status_code == 422, resp.text
        # Named as the query/form field it was sent as, not as a CLI flag.
        assert resp.json()["option"] == name and resp.json()["error"].startswith(f"{name.replace('_', '-')}: ")


def test_text_and_typed_values_mean_the_same(model: Model, blob: tuple[np.ndarray, np.ndarray]) -> None:
    typed = SplashOptions(effect="blur:8", threshold=0.4, feather=2.0, hard=True, point=(3, 4), quality=80)
    text = SplashOptions(
        effect=" Blur:8 ",
        threshold="0.4",
        feather="2",
        hard="yes",
        point="3.7,4",  # type: ignore
        quality="80",
    )
    assert text == typed and typed.point == (3, 4) and isinstance(text.quality, int)
    assert SplashOptions(point=[np.float32(3), np.int64(4)], quality=np.int64(80)).point == (3, 4)  # type: ignore
    assert SplashOptions(threshold=0.3).replace(threshold=None).threshold is None
    image, _ = blob
    base = SplashOptions(threshold=0.3)
    assert np.array_equal(
        colorsplash.predict_alpha(image, model, base, threshold=None), colorsplash.predict_alpha(image, model)
    )  # a keyword None resets the option
    with pytest.raises(TypeError, match="SplashOptions"):
        colorsplash.splash(image, model, {"effect": "blur"})  # type: ignore[arg-type]


def test_empty_images_are_a_clear_value_error(model: Model) -> None:
    for empty in (
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((0, 7, 3), np.uint8),
        np.zeros((5, 0), np.uint8),
        np.zeros((0, 0, 4), np.uint8),
    ):
        with pytest.raises(ValueError, match="empty"):
            colorsplash.splash(empty, model)
        with pytest.raises(ValueError, match="empty"):
            colorsplash.predict_alpha(empty, model)
    with pytest.raises(ValueError, match="empty"):
        colorsplash.splash(Image.new("RGB", (0, 0)), model)


def test_package_exports_errors_and_options_and_documents_the_keywords() -> None:
    import pydoc

    from colorsplash.runtime.no_subject import NoSubjectError as AlphaNoSubject
    from colorsplash.runtime.options import MASK_OPTION_NAMES, OPTION_FIELDS

    assert colorsplash.NoSubjectError is AlphaNoSubject and colorsplash.OptionError is OptionError
    assert colorsplash.SplashOptions is SplashOptions
    assert {"NoSubjectError", "OptionError", "SplashOptions"} <= set(colorsplash.__all__) & set(dir(colorsplash))
    splash_help = pydoc.render_doc(colorsplash.splash, renderer=pydoc.plaintext)
    for f in OPTION_FIELDS:
        assert f"{f.name} (" in splash_help, f.name
    assert (
        "keep (all|largest): keep every subject or only the largest (a point given chooses instead) (default: all)"
        in " ".join(splash_help.split())
    )
    assert "blur[:RADIUS]" in splash_help and "color:#RRGGBB[AA]" in splash_help
    alpha_help = pydoc.render_doc(colorsplash.predict_alpha, renderer=pydoc.plaintext)
    assert all(f"{name} (" in alpha_help for name in MASK_OPTION_NAMES) and "effect (" not in alpha_help
    code = "import sys, colorsplash; colorsplash.OptionError; colorsplash.SplashOptions; print('cv2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False"]  # the option names stay light to import


def test_wrong_model_type_and_folders_say_what_is_wrong(model: Model, tmp_path: Path) -> None:
    image = make_blob_image(20, 30)[0]
    with pytest.raises(TypeError, match=r"model must be a model from colorsplash.load_model\(\), .* got int"):
        colorsplash.splash(image, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model path must be a str or pathlib.Path .* got int"):
        colorsplash.load_model(42)  # type: ignore[arg-type]
    with pytest.raises(colorsplash.ImageReadError, match=f"{tmp_path}: is a folder, not a file"):
        colorsplash.splash(tmp_path, model)
    with pytest.raises(colorsplash.ModelLoadError, match=f"{tmp_path}: is a folder, not a file"):
        colorsplash.predict_alpha(image, tmp_path)
    with pytest.raises(colorsplash.ImageReadError, match="no such file"):
        colorsplash.splash(tmp_path / "nope.jpg", model)


def test_public_errors_are_exported_and_documented() -> None:
    import pydoc

    from colorsplash.runtime.model.onnx_model import ModelLoadError
    from colorsplash.runtime.model.variants import VariantError
    from colorsplash.runtime.pictures.picture_open import ImageReadError

    assert colorsplash.ImageReadError is ImageReadError and colorsplash.ModelLoadError is ModelLoadError
    assert colorsplash.VariantError is VariantError
    assert {"ImageReadError", "ModelLoadError", "VariantError"} <= set(colorsplash.__all__)
    assert colorsplash.__doc__ and "RGB order, not BGR" in colorsplash.__doc__
    for func in (colorsplash.splash, colorsplash.predict_alpha):
        text = pydoc.render_doc(func, renderer=pydoc.plaintext)
        assert "not BGR" in text
        for error in ("ImageReadError", "ModelLoadError", "NoSubjectError", "OptionError", "TypeError"):
            assert error in text, (func.__name__, error)
    with pytest.raises(VariantError):
        colorsplash.load_model(precision="int4")
    code = "import sys, colorsplash; colorsplash.ImageReadError; print('cv2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False"]  # catching it by name stays light


def test_matte_refuses_a_guide_of_another_aspect_ratio() -> None:
    """A probability of the photo's aspect (any size) or a square one (the model's output) is stretched over the
    photo; a transposed one, or one made for another photo, is refused instead of giving a wrong matte."""
    image = make_blob_image(60, 90)[0]
    alpha = np.zeros((60, 90), np.float32)
    alpha[20:40, 30:60] = 1.0
    for fine in (alpha, alpha[::3, ::3].copy(), np.zeros((32, 32), np.float32), np.zeros((21, 31), np.float32)):
        assert colorsplash.matte(image, fine).shape == (60, 90)
    for wrong in (alpha.T.copy(), np.zeros((30, 90), np.float32), np.zeros((45, 30), np.float32)):
        with pytest.raises(ValueError, match="aspect ratio"):
            colorsplash.matte(image, wrong)
    thin = np.zeros((1, 500, 3), np.uint8)
    assert colorsplash.matte(thin, np.zeros((1, 32), np.float32)).shape == (1, 500)  # 1 px stands for less


def test_a_missing_model_named_by_the_environment_says_to_check_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint used to be "reinstall colorsplash", which does not help when $COLORSPLASH_MODEL names the file."""
    from colorsplash.runtime.model.onnx_model import MODEL_ENV, ModelLoadError, load_model

    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "gone.onnx"))
    with pytest.raises(ModelLoadError, match=r"gone.onnx: model file not found; check \$COLORSPLASH_MODEL or unset"):
        load_model()


def test_a_model_prints_as_one_readable_line(tiny_onnx: Path) -> None:
    """``repr(model)`` (what a notebook or a debugger shows) is one line naming the file and what it finds, not the
    whole config with its training record (3,000+ characters for the bundled model)."""
    model = colorsplash.load_model(tiny_onnx)
    text = repr(model)
    assert "\n" not in text and len(text) < 300 and str(tiny_onnx) in text and "input_size=" in text
