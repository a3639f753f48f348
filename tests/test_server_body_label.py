"""A photo sent as the raw body is read by its content, whatever its Content-Type says: ``curl --data-binary
@cat.jpg URL`` labels the body a URL-encoded form unless told otherwise."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash.server import app as server  # noqa: E402

BASE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    app = server.create_app(tiny_onnx, max_upload_bytes=300_000, max_pixels=100_000)
    with TestClient(app, base_url=BASE) as c:
        yield c


def photo(fmt: str) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("path", ["/api/splash", "/api/mask"])
def test_a_photo_labelled_a_url_encoded_form_is_read(client: TestClient, fmt: str, path: str) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded"}  # curl --data-binary's default
    resp = client.post(path, content=photo(fmt), headers=headers)
    assert resp.status_code == 200, resp.text
    assert Image.open(io.BytesIO(resp.content)).size == (60, 40)


def test_a_real_form_is_still_refused_naming_the_header(client: TestClient) -> None:
    resp = client.post("/api/splash", data={"edges": "fast"})
    assert resp.status_code == 415
    assert "URL-encoded form" in resp.json()["error"] and "Content-Type" in resp.json()["error"]


def test_an_empty_file_field_is_named_as_an_empty_file(client: TestClient) -> None:
    """``curl -F file=@empty.jpg`` was told "the request holds no photo: send it ... as the multipart field 'file'",
    which it had done."""
    resp = client.post("/api/splash", files={"file": ("empty.jpg", b"", "image/jpeg")})
    assert resp.status_code == 415
    error = resp.json()["error"]
    assert error.startswith("empty.jpg: file is empty (0 bytes)") and "multipart field" not in error, error
