"""HTTP API through the ASGI test client: results, options, every error status, OpenAPI, the page's files."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFilter

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from helpers import make_blob_image  # noqa: E402

from colorsplash import cli
from colorsplash.cli import serve as cli_serve
from colorsplash.runtime.model.onnx_model import Model, ModelLoadError  # noqa: E402
from colorsplash.runtime.options import OPTION_FIELDS  # noqa: E402
from colorsplash.server import app as server  # noqa: E402
from colorsplash.server import guard, limits, work, workers  # noqa: E402

MAX_UPLOAD = 300_000
MAX_PIXELS = 100_000
BASE = "http://127.0.0.1:8000"  # a Host the server answers (TestClient's default, testserver, is not)


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
    with TestClient(app, base_url=BASE) as c:
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


def test_a_lossless_webp_upload_gives_a_lossless_webp(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    """A lossless WebP upload came back lossy at ``quality`` (pixels moved); it gives the PNG upload's pixels."""
    image = blob[0]
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "WEBP", lossless=True)
    resp = client.post("/api/splash", files={"file": ("cat.webp", buf.getvalue(), "image/webp")})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/webp"
    png = client.post("/api/splash", files={"file": ("cat.png", encode(image, "PNG"), "image/png")})
    assert np.array_equal(np.asarray(decode(resp.content).convert("RGB")), np.asarray(decode(png.content)))


def test_splash_multipart_keeps_subject_colour_and_greys_background(
    client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]
) -> None:
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
    resp = client.post("/api/splash?effect=transparent", content=encode(image), headers={"content-type": "image/jpeg"})
    assert resp.status_code == 200, resp.text
    out = decode(resp.content)
    assert (resp.headers["content-type"], out.mode, out.size) == ("image/png", "RGBA", (160, 120))
    alpha = np.asarray(out)[..., 3]
    assert alpha[mask == 1].mean() > 200 and alpha[mask == 0].mean() < 60


def test_form_fields_are_options_with_cli_names(
    client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]
) -> None:
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
    image[30:70, 20:60] = (230, 90, 30)  # left subject
    image[30:70, 140:180] = (230, 90, 30)  # right subject
    resp = client.post("/api/mask?point=160,50&hard=true", content=encode(image, "PNG"))
    assert resp.status_code == 200, resp.text
    alpha = np.asarray(decode(resp.content))
    assert alpha[50, 160] == 255 and alpha[50, 40] == 0


def test_mask_is_8bit_png_of_the_photo_size(
    client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]
) -> None:
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
    assert body["limits"]["max_upload_bytes"] == MAX_UPLOAD and body["limits"]["max_pixels"] == MAX_PIXELS
    assert body["options"]["effect"] == "grey"


def test_model_is_loaded_once_and_shared(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = server.load_model
    monkeypatch.setattr(server, "load_model", lambda p, **kw: calls.append(p) or real(p, **kw))
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
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
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
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


def _body_limit_run(headers: list[tuple[bytes, bytes]], chunks: list[bytes], max_bytes: int) -> tuple[int, list]:
    """Run :class:`limits.BodyLimitMiddleware` over an app that reads the whole body: (bytes the app read, the
    statuses sent)."""
    read, sent = [0], []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            read[0] += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    messages = iter(
        [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    )

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            sent.append(message["status"])

    middleware = limits.BodyLimitMiddleware(app, max_bytes, timeout_s=60.0)
    asyncio.run(middleware({"type": "http", "headers": headers}, receive, send))
    return read[0], sent


def test_a_body_of_exactly_the_upload_limit_passes() -> None:
    """The limit is the largest body taken, by ``Content-Length`` and by counting chunks alike; one byte more is
    refused (413 up front by its length, :class:`limits.RequestTooLargeError` while a chunked body arrives)."""
    assert _body_limit_run([(b"content-length", b"10")], [b"x" * 10], 10) == (10, [])
    assert _body_limit_run([(b"content-length", b"11")], [b"x" * 11], 10) == (0, [413])
    assert _body_limit_run([], [b"x" * 4, b"x" * 6], 10) == (10, [])
    with pytest.raises(limits.RequestTooLargeError):
        _body_limit_run([], [b"x" * 4, b"x" * 7], 10)


def test_413_pixel_limit(client: TestClient) -> None:
    big = encode(np.zeros((300, 400, 3), np.uint8), "PNG")  # 120,000 pixels, small file
    assert len(big) < MAX_UPLOAD
    assert_json_error(client.post("/api/splash", content=big), 413, "pixel")


@pytest.mark.parametrize("content", [b"this is not a picture", b"\xff\xd8\xff\xe0 truncated jpeg", b""])
def test_415_not_an_image(client: TestClient, content: bytes) -> None:
    assert_json_error(client.post("/api/splash", content=content, headers={"content-type": "image/jpeg"}), 415)


@pytest.mark.parametrize(
    ("request_kw", "kind"),
    [
        ({"json": {"photo": "abc", "edges": "fast"}}, "JSON"),
        ({"data": {"edges": "fast"}}, "URL-encoded form"),
        ({"content": b"{}", "headers": {"content-type": "Application/JSON; charset=utf-8"}}, "JSON"),
    ],
)
def test_415_form_body_says_how_to_send_a_photo(client: TestClient, request_kw: dict[str, Any], kind: str) -> None:
    for path in ("/api/splash", "/api/mask"):
        assert_json_error(client.post(path, **request_kw), 415, kind, "not a photo", "multipart/form-data")


def test_415_multipart_without_file(client: TestClient) -> None:
    assert_json_error(
        client.post("/api/splash", data={"effect": "blur"}, files={"note": ("", b"", "text/plain")}), 415, "file"
    )


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("effect=rainbow", "effect"),
        ("threshold=2", "threshold"),
        ("feather=-1", "feather"),
        ("keep=smallest", "keep"),
        ("point=a,b", "point"),
        ("invert=maybe", "invert"),
        ("colour=red", "colour"),
        ("format=gif", "format"),
        ("effect=transparent&format=jpeg", "format"),
        ("quality=0", "quality"),
    ],
)
def test_422_bad_option_is_named(
    client: TestClient, blob: tuple[np.ndarray, np.ndarray], query: str, option: str
) -> None:
    body = assert_json_error(client.post(f"/api/splash?{query}", content=encode(blob[0])), 422)
    assert body["option"] == option and option.replace("_", "-") in body["error"]


def test_422_bad_form_option(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    resp = client.post("/api/mask", files={"file": ("a.jpg", encode(blob[0]), "image/jpeg")}, data={"keep": "x"})
    assert assert_json_error(resp, 422)["option"] == "keep"


def test_422_point_outside_the_photo(client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]) -> None:
    """A point outside the photo is a bad option like any other: its JSON names it (it lacked ``option``)."""
    body = assert_json_error(client.post("/api/splash?point=500,500", content=encode(blob[0])), 422, "point")
    assert body["option"] == "point"


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert_json_error(client.get("/api/nothing"), 404)
    assert_json_error(client.get("/api/splash"), 405)


def test_500_is_json_without_internals(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise KeyError("secret internal detail")

    monkeypatch.setattr(work, "composite", broken)
    with TestClient(server.create_app(tiny_onnx), base_url=BASE, raise_server_exceptions=False) as c:
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


def test_cli_serve_fractional_upload_limit_is_quoted_as_typed(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--max-upload-mb 0.1 is 104858 bytes (rounded), and the 413 names 0.1 MB, not 0.0999994 MB."""
    seen: dict[str, object] = {}
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--model", str(tiny_onnx), "--max-upload-mb", "0.1"]) == 0
    settings = seen["app"].state.settings  # type: ignore[attr-defined]
    assert settings.max_upload_bytes == 104858
    message = limits.too_large_response(settings.max_upload_bytes).body.decode()
    assert "upload limit of 0.1 MB" in message


def test_cli_serve_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--model", str(tmp_path / "none.onnx")]) == 2
    err = capsys.readouterr().err
    assert "none.onnx" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert cli_serve.is_loopback(host) is loopback


# ------------------------------------------------------------------------------- Host and Origin (issue 16, 8)


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the photos that reached the work (a refused request must never get there)."""
    calls: list[int] = []
    real = work.make_splash

    def counting(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(server, "make_splash", counting)
    return calls


def test_unknown_host_is_refused_dns_rebinding(tiny_onnx: Path, counted: list[int]) -> None:
    with TestClient(server.create_app(tiny_onnx), base_url="http://evil.example:8000") as c:
        body = assert_json_error(
            c.post("/api/splash", content=encode(make_blob_image(40, 40)[0])), 400, "evil.example", "--allowed-host"
        )
        assert_json_error(c.get("/"), 400)
        assert_json_error(c.get("/api/health"), 400)
    assert counted == [] and "Traceback" not in body["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "localhost."])
def test_loopback_hosts_are_answered(tiny_onnx: Path, host: str) -> None:
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
        assert c.get("/api/health", headers={"host": host}).status_code == 200


def test_bound_address_and_allowed_hosts_are_answered(tiny_onnx: Path) -> None:
    app = server.create_app(tiny_onnx, host="192.168.1.5", allowed_hosts=("photos.lan",))
    with TestClient(app, base_url=BASE) as c:
        for host in ("192.168.1.5:8000", "photos.lan:8000", "Photos.LAN"):
            assert c.get("/api/health", headers={"host": host}).status_code == 200, host
        assert c.get("/api/health", headers={"host": "10.0.0.9:8000"}).status_code == 400
    with TestClient(server.create_app(tiny_onnx, allowed_hosts=("*",)), base_url="http://any.example") as c:
        assert c.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "origin", ["http://127.0.0.1:9000", "http://localhost:8000", "https://evil.example", "null", "http://127.0.0.1"]
)
def test_cross_origin_posts_are_refused(client: TestClient, counted: list[int], origin: str) -> None:
    # text/plain needs no CORS preflight: a page anywhere could send it; the Origin header gives it away.
    resp = client.post(
        "/api/splash",
        content=encode(make_blob_image(40, 40)[0]),
        headers={"content-type": "text/plain", "origin": origin},
    )
    assert_json_error(resp, 403, "cross-origin", "--allowed-origin")
    assert counted == []


@pytest.mark.parametrize("headers", [{}, {"origin": BASE}, {"origin": "HTTP://127.0.0.1:8000/"}])
def test_same_origin_and_no_origin_are_answered(client: TestClient, headers: dict[str, str]) -> None:
    resp = client.post("/api/splash", content=encode(make_blob_image(40, 40)[0]), headers=headers)
    assert resp.status_code == 200, resp.text


def test_allowed_origins_are_answered(tiny_onnx: Path) -> None:
    png = encode(make_blob_image(40, 40)[0], "PNG")
    app = server.create_app(tiny_onnx, allowed_origins=("https://photos.example.org",))
    with TestClient(app, base_url=BASE) as c:
        assert c.post("/api/splash", content=png, headers={"origin": "https://photos.example.org"}).status_code == 200
        assert c.post("/api/splash", content=png, headers={"origin": "https://other.example"}).status_code == 403


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost", "localhost:80", True),
        ("https://x.org", "x.org", True),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://127.0.0.1:9000", "127.0.0.1:8000", False),
        ("http://localhost:8000", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),
        ("http://127.0.0.1", "127.0.0.1:8000", False),
    ],
)
def test_same_origin_rule(origin: str, host: str, same: bool) -> None:
    assert guard.same_origin(origin, host) is same


def test_wildcard_bind_allows_this_machines_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "machine_names", lambda: ["box", "192.168.7.7"])
    assert {"localhost", "127.0.0.1", "::1", "box", "192.168.7.7"} <= set(guard.allowed_host_names("0.0.0.0"))
    assert "box" not in guard.allowed_host_names("127.0.0.1")


def test_cli_serve_allow_lists_and_memory(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert (
        cli.main(
            [
                "serve",
                "--model",
                str(tiny_onnx),
                "--allowed-host",
                "photos.lan",
                "--allowed-host",
                "nas",
                "--allowed-origin",
                "https://a.example",
                "--max-memory-mb",
                "2000",
            ]
        )
        == 0
    )
    settings = seen["app"].state.settings  # type: ignore[attr-defined]
    assert settings.allowed_hosts == ("photos.lan", "nas") and settings.allowed_origins == ("https://a.example",)
    assert settings.memory_budget == 2000 * 2**20
    assert {"photos.lan", "nas", "localhost"} <= set(seen["app"].state.allowed_hosts)  # type: ignore[attr-defined]


def test_a_memory_budget_of_exactly_one_largest_photo_is_enough() -> None:
    """The budget check admits the smallest budget that holds a photo at the pixel limit; timeouts must be
    positive numbers (NaN is none)."""
    from colorsplash.server.settings import ServerSettings

    need = limits.required_budget(1_000_000, 1_000)
    settings = ServerSettings(max_pixels=1_000_000, max_upload_bytes=1_000, max_memory_bytes=need)
    assert settings.memory_budget == need
    with pytest.raises(ValueError, match="cannot hold one photo"):
        ServerSettings(max_pixels=1_000_000, max_upload_bytes=1_000, max_memory_bytes=need - 1)
    for name in ("upload_timeout_s", "header_timeout_s"):
        with pytest.raises(ValueError, match=f"{name} must be positive"):
            ServerSettings(**{name: float("nan")})


def test_default_workers_count_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server pinned to two CPUs of a 64-CPU machine works on two photos at once by default, not four: the
    default counted os.cpu_count() instead of cpu.usable_cores(), the thread-count owner."""
    import os

    from colorsplash.server.settings import ServerSettings, default_workers

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_workers() == 2 and ServerSettings().workers == 2


# ------------------------------------------------------------------------------ memory in flight (issue 16, 9)


def test_budget_must_hold_one_photo_at_the_pixel_limit(tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="--max-memory-mb"):
        server.create_app(tiny_onnx, max_pixels=50_000_000, max_memory_bytes=100 * 2**20)
    assert cli.main(["serve", "--model", str(tiny_onnx), "--max-memory-mb", "100"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_memory_budget_queues_then_refuses_and_frees() -> None:
    async def scenario() -> list[str]:
        budget = limits.MemoryBudget(100, max_wait_s=0.3)
        events: list[str] = []
        async with budget.reserve(80):
            async with budget.reserve(20):  # fits beside it: no wait
                events.append("small ran")
            with pytest.raises(limits.ServerBusyError, match="--max-memory-mb"):
                async with budget.reserve(50):  # waits 0.3 s, then busy
                    events.append("never")
            events.append("timed out")
        async with budget.reserve(100):  # everything was given back
            events.append("full ran")
        return events

    assert asyncio.run(scenario()) == ["small ran", "timed out", "full ran"]


def test_a_job_estimated_over_the_whole_budget_runs_alone_rather_than_never() -> None:
    """An estimate above the capacity (the settings keep it from happening) holds the whole budget when it is free,
    rather than waiting for room that never comes and being refused as busy."""

    async def scenario() -> list[int]:
        budget = limits.MemoryBudget(100, max_wait_s=30.0)
        async with budget.reserve(150):
            held = [budget.state.used]
        return [*held, budget.state.used]

    assert asyncio.run(scenario()) == [100, 0]


def test_large_photos_cannot_pile_up_and_small_ones_stay_fast(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten clients with photos at the pixel limit: one is processed at a time (memory), one waits, the others get
    503 + Retry-After; a small photo sent meanwhile is answered at once, not after the large ones."""
    running = {"now": 0, "most": 0}

    def slow_for_large(self: Model, image: np.ndarray) -> np.ndarray:
        if image.shape[0] * image.shape[1] > 50_000:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            time.sleep(1.0)
            running["now"] -= 1
        return np.full((64, 64), 0.9, np.float32)

    monkeypatch.setattr(Model, "predict_lowres", slow_for_large)
    app = server.create_app(tiny_onnx, max_pixels=MAX_PIXELS, max_upload_bytes=MAX_UPLOAD, workers=4)
    large = encode(np.full((300, 330, 3), 90, np.uint8), "PNG")  # 99,000 pixels: just under the limit
    small = encode(make_blob_image(40, 40)[0], "PNG")

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=60) as c:
            big = [asyncio.create_task(c.post("/api/splash", content=large)) for _ in range(10)]
            await asyncio.sleep(0.3)  # the first large photo is inside the model now
            start = time.perf_counter()
            quick = await c.post("/api/splash", content=small)
            quick_s = time.perf_counter() - start
            return list(await asyncio.gather(*big)), quick, quick_s

    big, quick, quick_s = asyncio.run(scenario())
    assert quick.status_code == 200 and quick_s < 0.7, quick_s
    assert running["most"] == 1
    statuses = sorted(r.status_code for r in big)
    assert statuses.count(200) >= 2 and statuses.count(503) >= 5, statuses
    for r in big:
        if r.status_code == 503:
            assert_json_error(r, 503, "busy", "retry")
            assert int(r.headers["retry-after"]) > 0


def test_photo_over_the_pixel_limit_is_refused_without_waiting_for_the_budget(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(self: Model, image: np.ndarray) -> np.ndarray:
        time.sleep(1.5)
        return np.full((64, 64), 0.9, np.float32)

    monkeypatch.setattr(Model, "predict_lowres", slow)
    app = server.create_app(tiny_onnx, max_pixels=MAX_PIXELS, max_upload_bytes=MAX_UPLOAD)
    large = encode(np.full((300, 330, 3), 90, np.uint8), "PNG")  # takes the whole budget for 1.5 s
    over = encode(np.zeros((400, 400, 3), np.uint8), "PNG")  # 160,000 pixels: over the limit

    async def scenario() -> tuple[httpx.Response, float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=60) as c:
            busy = asyncio.create_task(c.post("/api/splash", content=large))
            await asyncio.sleep(0.3)
            start = time.perf_counter()
            resp = await c.post("/api/splash", content=over)
            elapsed = time.perf_counter() - start
            assert (await busy).status_code == 200
            return resp, elapsed

    resp, elapsed = asyncio.run(scenario())
    assert_json_error(resp, 413, "pixel limit")
    assert elapsed < 0.8, elapsed


# ------------------------------------------------------------------------------ aborted uploads (issue 16, 11)


def _aborted_upload_scope(path: str = "/api/splash") -> dict[str, object]:
    boundary = b"xyz"
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5555),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-length", b"200000"),
            (b"content-type", b"multipart/form-data; boundary=" + boundary),
        ],
    }


def test_aborted_upload_is_one_info_line(tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = server.create_app(tiny_onnx)
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    messages = [{"type": "http.request", "more_body": True, "body": head + b"x" * 5000}, {"type": "http.disconnect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            await app(_aborted_upload_scope(), receive, send)  # must not raise: the server would log a traceback

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 1 and "/api/splash" in lines[0], lines
    # a cancelled preview is the web page's normal use: INFO, not a warning an operator must act on (serve -q)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_aborted_upload_on_a_live_server_is_one_info_line(tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(server.create_app(tiny_onnx), log_config=None, log_level="info"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    with caplog.at_level(logging.INFO):
        thread.start()
        deadline = time.monotonic() + 30
        while not srv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        port = sock.getsockname()[1]
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(
                    b"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                    b"Content-Type: multipart/form-data; boundary=xyz\r\n\r\n--xyz\r\nContent-Disposition: "
                    b'form-data; name="file"; filename="a.jpg"\r\n\r\n' + b"x" * 3000
                )
                time.sleep(0.2)
        deadline = time.monotonic() + 10
        while sum("disconnected" in r.getMessage() for r in caplog.records) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # and nothing more comes
        srv.should_exit = True
        thread.join(timeout=10)
    sock.close()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 3, lines
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]  # INFO: normal use


# ----------------------------------------------------------------------- no subject, names, docs (16, 18, 19)


def test_subject_headers_found(client: TestClient, keyed: None, blob: tuple[np.ndarray, np.ndarray]) -> None:
    resp = client.post("/api/splash", files={"file": ("cat.PNG", encode(blob[0], "PNG"), "image/png")})
    assert resp.headers["x-colorsplash-subject"] == "found"
    assert float(resp.headers["x-colorsplash-subject-score"]) > 0.5
    assert 'filename="cat.splash.PNG"' in resp.headers["content-disposition"]  # named as the CLI names it


def test_the_score_header_has_four_places_rounded_down() -> None:
    """The header gives the score to four places (two read 0.4999 as "0.49"), rounded down as the gate reads it;
    a viewable copy (no model ran) has no subject headers."""
    found = work.Result(b"", "png", False, 0.49996, "x.png")
    headers = work.result_headers(found)
    assert headers["X-Colorsplash-Subject"] == "none" and headers["X-Colorsplash-Subject-Score"] == "0.4999"
    assert "X-Colorsplash-Subject" not in work.result_headers(work.Result(b"", "jpeg", None, None, "x.view.jpg"))


def test_the_no_subject_refusal_gives_the_score_as_a_result_does() -> None:
    """``on_empty=skip``'s 422 carries the same headers as a result (four places, rounded down), and no score
    header when the score is not known."""
    from colorsplash.runtime.no_subject import NoSubjectError
    from colorsplash.server import errors

    resp = asyncio.run(errors._no_subject(None, NoSubjectError("no cat found in x.jpg", 0.49996)))  # type: ignore[arg-type]
    assert resp.status_code == 422 and resp.headers["X-Colorsplash-Subject"] == "none"
    assert resp.headers["X-Colorsplash-Subject-Score"] == "0.4999"
    unknown = asyncio.run(errors._no_subject(None, NoSubjectError("no cat found in x.jpg")))  # type: ignore[arg-type]
    assert "X-Colorsplash-Subject-Score" not in unknown.headers


@pytest.mark.parametrize(
    ("endpoint", "on_empty", "value"),
    [
        ("splash", "grey", None),
        ("mask", "grey", 0),
        ("mask", "copy", 255),
        ("mask", "grey&invert=true", 255),  # the background's mask: all of the photo is background
    ],
)
def test_subject_headers_none(client: TestClient, keyed: None, endpoint: str, on_empty: str, value: int | None) -> None:
    dark = encode(np.full((60, 80, 3), 40, np.uint8), "PNG")  # nothing red: no subject
    resp = client.post(f"/api/{endpoint}?on-empty={on_empty}", content=dark)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-colorsplash-subject"] == "none"
    assert float(resp.headers["x-colorsplash-subject-score"]) < 0.5
    if value is not None:
        assert set(np.unique(np.asarray(decode(resp.content)))) == {value}


def test_no_subject_with_skip_is_422_with_the_header(client: TestClient, keyed: None) -> None:
    resp = client.post("/api/splash?on-empty=skip", content=encode(np.full((60, 80, 3), 40, np.uint8), "PNG"))
    assert_json_error(resp, 422, "no blob found")  # the model's subject word
    assert resp.headers["x-colorsplash-subject"] == "none"
    # The score the message gives, in the header a 200's has (the 422 had none)
    score = float(resp.headers["x-colorsplash-subject-score"])
    assert f"(subject score {score:.2f}, under the model's 0.50)" in resp.json()["error"]


def test_download_names_follow_the_cli(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    jpeg = encode(blob[0])
    resp = client.post("/api/splash?format=png", files={"file": ("C:\\photos\\my cat.jpeg", jpeg, "image/jpeg")})
    assert 'filename="my cat.splash.png"' in resp.headers["content-disposition"]
    resp = client.post("/api/splash", files={"file": ("kätzchen.jpeg", jpeg, "image/jpeg")})
    assert "filename*=UTF-8''k%C3%A4tzchen.splash.jpeg" in resp.headers["content-disposition"]
    assert 'filename="upload.splash.jpg"' in client.post("/api/splash", content=jpeg).headers["content-disposition"]


@pytest.mark.parametrize("field", ["effect", "quality", "format"])
def test_mask_refuses_splash_only_options(client: TestClient, blob: tuple[np.ndarray, np.ndarray], field: str) -> None:
    resp = client.post(f"/api/mask?{field}=png", content=encode(blob[0]))
    assert assert_json_error(resp, 422, "/api/mask")["option"] == field


def test_openapi_is_exact_per_endpoint_without_placeholders(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    mask = {p["name"]: p for p in spec["paths"]["/api/mask"]["post"]["parameters"]}
    splash = {p["name"]: p for p in spec["paths"]["/api/splash"]["post"]["parameters"]}
    assert not {"effect", "quality", "format"} & set(mask)
    assert {"effect", "quality", "format"} <= set(splash)
    assert "background" in mask["invert"]["description"]  # the mask's own wording, not "subject grey"
    assert splash["keep"]["schema"]["enum"] == ["all", "largest"]
    assert mask["on-empty"]["schema"]["enum"] == ["grey", "copy", "skip"]
    for name, param in (splash | mask).items():
        assert not re.search(r"\([A-Z][A-Z,_]*\)", param["description"]), (name, param["description"])
    form = spec["paths"]["/api/mask"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "effect" not in form["properties"]
    headers = spec["paths"]["/api/splash"]["post"]["responses"]["200"]["headers"]
    assert {"X-Colorsplash-Subject", "X-Colorsplash-Subject-Score"} <= set(headers)
    assert {"400", "403", "503"} <= set(spec["paths"]["/api/splash"]["post"]["responses"])


def test_listed_choices_are_accepted(client: TestClient, blob: tuple[np.ndarray, np.ndarray]) -> None:
    spec = client.get("/openapi.json").json()
    for param in spec["paths"]["/api/splash"]["post"]["parameters"]:
        for choice in param["schema"].get("enum", []):
            resp = client.post(f"/api/splash?{param['name']}={choice}", content=encode(blob[0]))
            refused = resp.status_code == 422 and resp.json().get("option") == param["name"].replace("-", "_")
            assert not refused, (param["name"], choice, resp.text)


def test_requests_side_by_side_get_single_threaded_sessions(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request worked on alone runs the loaded model (all its threads); while another one runs, it gets the
    one-thread session of the same file (one core per request); one worker never makes that second session."""
    from colorsplash.runtime import batch as batch_mod
    from colorsplash.runtime.model.onnx_model import load_model

    monkeypatch.setattr(batch_mod, "usable_cores", lambda: 2)
    model = load_model(tiny_onnx, precision="file")
    share = workers.ModelShare(model)
    assert share.single is not model and share.single.threads == 1 and share.single.path == model.path
    with share.take() as first:
        assert first is model and model._session_for_run() is not model.session  # alone: the spinning twin
        with share.take() as second:  # another request in flight meanwhile
            assert second is share.single and second._session_for_run() is second.session
    with share.take() as again:
        assert again is model  # alone again
    single_worker = workers.ModelShare(model, side_by_side=False)
    assert single_worker.single is model
    with single_worker.take(), single_worker.take() as other:
        assert other is model


def test_the_servers_splash_is_the_librarys(tiny_onnx: Path, keyed: None) -> None:
    """The server blended the plain photo while the CLI and the API decontaminate matte edges: one library,
    one picture (a PNG upload gives a PNG result, compared exactly)."""
    import colorsplash

    image = cv2.resize(make_blob_image(60, 80, seed=3)[0], (320, 240), interpolation=cv2.INTER_CUBIC)
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
        resp = c.post("/api/splash", content=encode(image, "PNG"))
    assert resp.status_code == 200
    expected = colorsplash.splash(image, colorsplash.load_model(tiny_onnx))
    assert np.abs(np.asarray(decode(resp.content).convert("RGB")).astype(int) - expected).max() <= 1


def test_cli_serve_takes_jobs_auto_as_splash_does(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``-j auto`` is the photo verbs' spelling of the default; ``serve -j auto`` was refused ("not a whole
    number") though it means the same there (journey audit)."""
    from colorsplash.server.settings import default_workers

    seen: dict[str, object] = {}
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--model", str(tiny_onnx), "-j", "auto"]) == 0
    assert seen["app"].state.settings.workers == default_workers()  # type: ignore[attr-defined]
    assert cli.main(["serve", "--model", str(tiny_onnx), "-j", "3"]) == 0
    assert seen["app"].state.settings.workers == 3  # type: ignore[attr-defined]


def test_cli_serve_says_which_model_it_serves(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Which model answers was only in ``/api/health`` and the page header (journey audit): the start lines name
    it in plain words, with its file."""
    import logging

    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    caplog.set_level(logging.INFO)
    assert cli.main(["serve", "--model", str(tiny_onnx)]) == 0
    # In the words splash, mask and video use too (Model.label).
    assert f"model: Blob model — tiny-test ({tiny_onnx})" in [r.getMessage() for r in caplog.records]


def test_cli_serve_states_its_limits_at_start(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The start lines said where and which model, but not the limits (``-j auto``'s count, the default memory
    budget): an operator had to ask ``/api/health``, which does not give all of them."""
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    caplog.set_level(logging.INFO)
    argv = ["serve", "--model", str(tiny_onnx), "-j", "3", "--max-upload-mb", "2", "--max-pixels", "1000000"]
    assert cli.main([*argv, "--max-requests", "8"]) == 0
    assert (
        "limits: 3 photos worked on at once (-j), uploads up to 2 MB, photos up to 1,000,000 pixels, a memory "
        "budget of 29 MB, 8 requests at once (4 from one address); each has its flag (serve --help)"
    ) in [r.getMessage() for r in caplog.records]
    caplog.clear()  # one request, an upload limit of many decimals: "1 requests", "1.17738 MB"
    assert cli.main([*argv[:-4], "--max-upload-mb", "1.17738", "--max-requests", "1", "--max-per-client", "1"]) == 0
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("limits: ")]
    assert len(said) == 1 and "uploads up to 1.2 MB," in said[0] and " 1 request at once " in said[0], said


@pytest.mark.parametrize("bound", ["0.0.0.0", "127.0.0.1"])
def test_the_start_up_line_names_addresses_the_host_check_lets_through(
    bound: str, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Bound to all interfaces, ``serve`` said "open http://0.0.0.0:8766/": a browser that reaches it sends
    ``Host: 0.0.0.0:8766``, which the server refuses. Every address the line names must be answered."""
    seen: dict[str, Any] = {}
    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setattr(guard, "machine_names", lambda: ["box", "192.168.7.7"])
    with caplog.at_level(logging.INFO):
        assert cli.main(["serve", "--model", str(tiny_onnx), "--host", bound, "--port", "8766"]) == 0
    line = next(r.getMessage() for r in caplog.records if "colorsplash: open " in r.getMessage())
    urls = re.findall(r"http://[^/\s]+/", line)
    assert urls and "0.0.0.0" not in line
    if bound == "0.0.0.0":
        assert urls == ["http://localhost:8766/", "http://box:8766/"]
    with TestClient(seen["app"]) as client:
        for url in urls:
            host = url.removeprefix("http://").rstrip("/")
            assert client.get("/api/health", headers={"host": host}).status_code == 200, url


def test_an_ipv6_address_is_shown_in_brackets() -> None:
    assert cli_serve.open_line("::1", 8766, ("localhost",)).startswith("colorsplash: open http://[::1]:8766/ ")
    line = cli_serve.open_line("::", 8766, ("localhost", "::1", "fe80::1"))
    assert "http://localhost:8766/ on this computer, from other computers http://[fe80::1]:8766/" in line
    # A computer named localhost: its other loopback address (127.0.1.1 on Debian) is not offered to others.
    line = cli_serve.open_line("0.0.0.0", 8766, ("localhost", "127.0.0.1", "::1", "127.0.1.1", "192.168.7.7"))
    assert "from other computers http://192.168.7.7:8766/" in line
