"""One photo, one alpha, whichever way it is given: ``colorsplash mask``, :func:`colorsplash.predict_alpha` of a path
or of a binary file object, and ``POST /api/mask`` make the model's copy of a large JPEG the same way (from its DCT,
:func:`colorsplash.runtime.pipeline.decode_and_plan`), so their alphas are byte for byte the same."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image, orange_key
from PIL import Image

import colorsplash
from colorsplash.cli import main
from colorsplash.runtime import pipeline
from colorsplash.runtime.edges.alpha import alpha_to_uint8, model_presence
from colorsplash.runtime.edges.working import RefineSettings
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.pipeline import dct_working_copy

pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash.server import app as server  # noqa: E402


@pytest.fixture(scope="module")
def keyed_module() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Model, "predict_lowres", orange_key)
        yield


@pytest.fixture(scope="module")
def client(tiny_onnx: Path, keyed_module: None) -> Iterator[TestClient]:
    with TestClient(server.create_app(tiny_onnx), base_url="http://127.0.0.1:8000") as c:
        yield c


def large_jpeg(path: Path, orientation: int = 1) -> Path:
    """A 1600x1200 (stored) noisy JPEG with an orange blob, EXIF ``orientation``: larger than the working copy."""
    image = make_blob_image(1200, 1600, seed=3)[0]
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(image).save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def png_array(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"))


@pytest.mark.parametrize(("orientation", "upright"), [(1, (1200, 1600)), (6, (1600, 1200))])
@pytest.mark.parametrize("overrides", [{}, {"edges": "fast"}, {"threshold": "0.4", "keep": "largest"}])
def test_cli_api_and_server_give_one_alpha_for_a_large_jpeg(
    tmp_path: Path,
    tiny_onnx: Path,
    client: TestClient,
    capsys: pytest.CaptureFixture[str],
    orientation: int,
    upright: tuple[int, int],
    overrides: dict[str, str],
) -> None:
    """The API and the server shrank the full decode for the model while the CLI decoded that copy from the JPEG's
    DCT: the same 1600x1200 JPEG's alpha differed by a few levels along the edges between them."""
    src = large_jpeg(tmp_path / "cat.jpg", orientation)
    data = src.read_bytes()
    assert dct_working_copy(data, upright, RefineSettings(), 64) is not None  # the CLI's copy is the DCT's
    out = tmp_path / "cat.mask.png"
    options = [word for name, value in overrides.items() for word in (f"--{name}", value)]
    assert main(["-q", "mask", str(src), "-o", str(out), "--model", str(tiny_onnx), *options]) == 0
    cli = png_array(out.read_bytes())
    assert cli.shape == upright and 0 < cli.mean() < 255  # a subject, with edges
    model = colorsplash.load_model(tiny_onnx)
    from_path = alpha_to_uint8(colorsplash.predict_alpha(src, model, **overrides))
    with src.open("rb") as stream:
        from_stream = alpha_to_uint8(colorsplash.predict_alpha(stream, model, **overrides))
    resp = client.post("/api/mask", params=overrides, files={"file": ("cat.jpg", data, "image/jpeg")})
    assert resp.status_code == 200, resp.text
    for name, alpha in (("path", from_path), ("file object", from_stream), ("/api/mask", png_array(resp.content))):
        diff = np.abs(alpha.astype(int) - cli.astype(int))
        assert diff.max() == 0, f"{name}: max {diff.max()}, mean {diff.mean():.4f} levels from the CLI's mask"


def test_the_model_beside_a_large_jpegs_decode_runs_without_spinning(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API and a lone server request run the model inside ``Model.exclusive`` (spinning threads, for a model
    run with the cores to itself); beside a large JPEG's full decode, now theirs too, spinning is slower (see
    ``Model.exclusive``), so that model run is not exclusive. A photo decoded before the model run keeps it."""
    model = colorsplash.load_model(tiny_onnx)
    seen: list[bool] = []

    def recorded(model: Model, small: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        seen.append(getattr(model._local, "exclusive", False))
        return model_presence(model, small)

    monkeypatch.setattr(pipeline, "model_presence", recorded)
    png = io.BytesIO()
    Image.fromarray(make_blob_image(1200, 1600)[0]).save(png, "PNG")
    with model.exclusive():
        pipeline.decode_and_plan(large_jpeg(tmp_path / "a.jpg").read_bytes(), "a.jpg", model)  # overlapped
        pipeline.decode_and_plan(png.getvalue(), "a.png", model)  # decoded first
    assert seen == [False, True]
