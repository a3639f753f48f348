"""HTTP API through the ASGI test client: results, options, every error status, OpenAPI, the page's files."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from conftest import make_blob_image  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash import cli
from colorsplash.cli import serve as cli_serve
from colorsplash.runtime.onnx_model import Model, ModelLoadError  # noqa: E402
from colorsplash.runtime.options import OPTION_FIELDS  # noqa: E402
from colorsplash.server import app as server  # noqa: E402

MAX_UPLOAD = 300_000
MAX_PIXELS = 100_000


def encode(image: np.ndarray, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def colour_keyed(self: Model, image: np.ndarray) -> np.ndarray:
    """Stand-in for the network: subject = strongly red pixels (the blobs), at the model's 64 px size."""
    red = (image[..., 0].astype(np.int16) - image[..., 2].astype(np.int16) > 100).astype(np.float32)
    size = self.config.input_size
    return np.clip(np.asarray(Image.fromarray(red).resize((size, size), Image.BILINEAR)), 0, 1).astype(np.float32)


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Model, "predict_lowres", colour_keyed)


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    app = server.create_app(tiny_onnx, max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def blob() -> tuple[np.ndarray, np.ndarray]:
    return make_blob_image(120, 160, seed=3)


def assert_json_error(resp: httpx.Response, status: int, *words: str) -> dict[str, str]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    for word in words:
        assert word.lower() in body["error"].lower(), body
    return body


# ------------------------------------------------------------------------------------------------- results

def test_splash_multipart_keeps_subject_colour_and_greys_background(client: TestClient, keyed: None,
                                                                     blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    resp = client.post("/api/splash", files={"file": ("cat.png", encode(image, "PNG"), "image/png")})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"  # the upload's format by default
    out = np.asarray(decode(resp.content).convert("RGB")).astype(int)
    assert out.shape == image.shape
    chroma = out.max(axis=2) - out.min(axis=2)
    assert chroma[mask == 1].mean() > 100  # subject keeps its colour
    inner_bg = np.asarray(Image.fromarray(mask * 255).filter(ImageFilter.MaxFilter(9)))
    assert np.percentile(chroma[inner_bg == 0], 98) <= 2  # background is grey (bar a soft edge)


def test_raw_body_and_query_options(client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    resp = client.post("/api/splash?effect=transparent", content=encode(image),
                       headers={"content-type": "image/jpeg"})
    assert resp.status_code == 200, resp.text
    out = decode(resp.content)
    assert (resp.headers["content-type"], out.mode, out.size) == ("image/png", "RGBA", (160, 120))
    alpha = np.asarray(out)[..., 3]
    assert alpha[mask == 1].mean() > 200 and alpha[mask == 0].mean() < 60


def test_form_fields_are_options_with_cli_names(client: TestClient, keyed: None,
                                                blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    data = {"invert": "true", "format": "webp", "on-empty": "copy", "feather": "2"}
    resp = client.post("/api/splash", files={"file": ("a.jpg", encode(image), "image/jpeg")}, data=data)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/webp"
    out = np.asarray(decode(resp.content).convert("RGB")).astype(int)
    chroma = out.max(axis=2) - out.min(axis=2)
    assert chroma[mask == 1].mean() < 20  # inverted: the subject is the grey part


def test_effects_give_different_results(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    png = encode(blob[0], "PNG")
    results = {e: client.post(f"/api/splash?effect={e}", content=png).content for e in ("grey", "sepia", "dim")}
    assert len(set(results.values())) == 3


def test_point_keeps_only_the_clicked_subject(client: TestClient, keyed: None) -> None:
    image = np.full((100, 200, 3), 60, np.uint8)
    image[30:70, 20:60] = (230, 90, 30)    # left subject
    image[30:70, 140:180] = (230, 90, 30)  # right subject
    resp = client.post("/api/mask?point=160,50&hard=true", content=encode(image, "PNG"))
    assert resp.status_code == 200, resp.text
    alpha = np.asarray(decode(resp.content))
    assert alpha[50, 160] == 255 and alpha[50, 40] == 0


def test_mask_is_8bit_png_of_the_photo_size(client: TestClient, keyed: None,
                                            blob: tuple[np.ndarray, np.ndarray]) -> None:
    image, mask = blob
    resp = client.post("/api/mask", files={"file": ("a.jpg", encode(image), "image/jpeg")})
    assert resp.status_code == 200
    out = decode(resp.content)
    assert (resp.headers["content-type"], out.format, out.mode, out.size) == ("image/png", "PNG", "L", (160, 120))
    predicted = np.asarray(out) >= 128
    iou = (predicted & (mask == 1)).sum() / (predicted | (mask == 1)).sum()
    assert iou > 0.8


def test_exif_orientation_is_applied(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    resp = client.post("/api/splash", content=encode(blob[0], exif=exif.tobytes()))
    assert resp.status_code == 200, resp.text
    out = decode(resp.content)
    assert out.size == (120, 160)  # upright: width and height swapped
    assert out.getexif().get(0x0112, 1) == 1  # and not rotated a second time by viewers


def test_health_names_the_model(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["model"]["name"] == "tiny-test" and body["model"]["input_size"] == 64
    assert body["model"]["file"] == "tiny.onnx"  # the file name only, not the server's paths
    assert body["limits"] == {"max_upload_bytes": MAX_UPLOAD, "max_pixels": MAX_PIXELS}
    assert body["options"]["effect"] == "grey"


def test_model_is_loaded_once_and_shared(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = server.load_model
    monkeypatch.setattr(server, "load_model", lambda p: calls.append(p) or real(p))
    with TestClient(server.create_app(tiny_onnx)) as c:
        png = encode(make_blob_image(40, 40)[0], "PNG")
        assert all(c.post("/api/splash", content=png).status_code == 200 for _ in range(3))
    assert calls == [tiny_onnx]


def test_model_runs_do_not_block_the_event_loop(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(self: Model, image: np.ndarray) -> np.ndarray:
        time.sleep(1.5)
        return np.full((64, 64), 0.9, np.float32)

    monkeypatch.setattr(Model, "predict_lowres", slow)
    app = server.create_app(tiny_onnx)
    png = encode(make_blob_image(40, 40)[0], "PNG")

    async def scenario() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            start = time.perf_counter()
            splash = asyncio.create_task(c.post("/api/splash", content=png))
            await asyncio.sleep(0.2)  # the splash is now inside the model
            assert (await c.get("/api/health")).status_code == 200
            health_done = time.perf_counter() - start
            assert (await splash).status_code == 200
            return health_done, time.perf_counter() - start

    health_done, splash_done = asyncio.run(scenario())
    # Health answered while the model was still busy (a blocked loop would answer it only after the splash).
    assert splash_done >= 1.5 and health_done < splash_done - 0.5


# -------------------------------------------------------------------------------------------------- errors

def test_413_by_content_length(client: TestClient) -> None:
    body = assert_json_error(client.post("/api/splash", content=b"x" * (MAX_UPLOAD + 1)), 413, "upload limit")
    assert "--max-upload-mb" in body["error"]


def test_413_chunked_upload_without_length(client: TestClient) -> None:
    chunks = (b"y" * 50_000 for _ in range(10))  # a generator body is sent chunked, with no Content-Length
    assert_json_error(client.post("/api/splash", content=chunks), 413, "upload limit")


def test_413_multipart_over_the_limit(client: TestClient) -> None:
    resp = client.post("/api/mask", files={"file": ("big.bin", b"z" * (MAX_UPLOAD + 10), "image/jpeg")})
    assert_json_error(resp, 413)


def test_413_pixel_limit(client: TestClient) -> None:
    big = encode(np.zeros((300, 400, 3), np.uint8), "PNG")  # 120,000 pixels, small file
    assert len(big) < MAX_UPLOAD
    assert_json_error(client.post("/api/splash", content=big), 413, "pixel")


@pytest.mark.parametrize("content", [b"this is not a picture", b"\xff\xd8\xff\xe0 truncated jpeg", b""])
def test_415_not_an_image(client: TestClient, content: bytes) -> None:
    assert_json_error(client.post("/api/splash", content=content, headers={"content-type": "image/jpeg"}), 415)


def test_415_multipart_without_file(client: TestClient) -> None:
    assert_json_error(client.post("/api/splash", data={"effect": "blur"},
                                  files={"note": ("", b"", "text/plain")}), 415, "file")


@pytest.mark.parametrize(("query", "option"), [
    ("effect=rainbow", "effect"), ("threshold=2", "threshold"), ("feather=-1", "feather"),
    ("keep=smallest", "keep"), ("point=a,b", "point"), ("invert=maybe", "invert"), ("colour=red", "colour"),
    ("format=gif", "format"), ("effect=transparent&format=jpeg", "format"), ("quality=0", "quality"),
])
def test_422_bad_option_is_named(client: TestClient, blob: tuple[np.ndarray, np.ndarray], query: str,
                                 option: str) -> None:
    body = assert_json_error(client.post(f"/api/splash?{query}", content=encode(blob[0])), 422)
    assert body["option"] == option and option.replace("_", "-") in body["error"]


def test_422_bad_form_option(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    resp = client.post("/api/mask", files={"file": ("a.jpg", encode(blob[0]), "image/jpeg")}, data={"keep": "x"})
    assert assert_json_error(resp, 422)["option"] == "keep"


def test_422_point_outside_the_photo(client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]) -> None:
    assert_json_error(client.post("/api/splash?point=500,500", content=encode(blob[0])), 422, "point")


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert_json_error(client.get("/api/nothing"), 404)
    assert_json_error(client.get("/api/splash"), 405)


def test_500_is_json_without_internals(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise KeyError("secret internal detail")

    monkeypatch.setattr(server, "alpha_and_subject", broken)
    with TestClient(server.create_app(tiny_onnx), raise_server_exceptions=False) as c:
        resp = c.post("/api/splash", content=encode(make_blob_image(40, 40)[0]))
    body = assert_json_error(resp, 500, "internal error")
    assert "secret" not in body["error"]


def test_missing_model_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        server.create_app(tmp_path / "nope.onnx")


# ---------------------------------------------------------------------------------------- docs, page, CLI

def test_openapi_documents_the_api_with_cli_option_names(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/splash", "/api/mask", "/api/health"} <= set(spec["paths"])
    op = spec["paths"]["/api/splash"]["post"]
    names = {p["name"] for p in op["parameters"]}
    assert names == {f.name.replace("_", "-") for f in OPTION_FIELDS} | {"format"}
    assert {"multipart/form-data", "image/*"} <= set(op["requestBody"]["content"])
    assert {"200", "413", "415", "422"} <= set(op["responses"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_page_and_its_files_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css", "docs.js"):
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200 and len(resp.text) > 500
    web = Path(server.__file__).parent / "web"
    for f in web.iterdir():
        text = f.read_text()
        # No CDN, no web fonts: nothing is loaded from another origin.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f
        assert not re.search(r"""(url\(|@import|fetch\()\s*["']?(https?:)?//""", text), f


def test_cli_serve_defaults_to_loopback(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--model", str(tiny_onnx), "--max-upload-mb", "1"]) == 0
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8000)
    assert seen["app"].state.settings.max_upload_bytes == 1024 * 1024  # type: ignore[attr-defined]


def test_cli_serve_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--model", str(tmp_path / "none.onnx")]) == 2
    err = capsys.readouterr().err
    assert "none.onnx" in err and "Traceback" not in err


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("0.0.0.0", False), ("192.168.1.5", False), ("example", False)])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert cli_serve.is_loopback(host) is loopback
