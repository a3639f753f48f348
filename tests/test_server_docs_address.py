"""/docs names this server as it was reached: its curl examples said http://127.0.0.1:8000 whatever --port."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash.server import app as server  # noqa: E402


def test_the_docs_examples_name_the_address_the_server_was_reached_at(tiny_onnx: Path) -> None:
    """``serve --port 8765``'s /docs page showed ``curl ... http://127.0.0.1:8000/api/splash``: another port."""
    app = server.create_app(tiny_onnx)
    with TestClient(app, base_url="http://localhost:8765") as c:
        docs = c.get("/docs")
        head = c.head("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    assert "http://localhost:8765/api/splash" in docs.text and "http://localhost:8765/api/health" in docs.text
    assert "127.0.0.1:8000" not in docs.text
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(docs.content))
