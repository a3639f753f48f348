"""The web page's files as the server serves them: every ES module the page imports, as JavaScript whatever this
computer's MIME table says, revalidated on each load; the page's own script is a module its policy allows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import starlette.responses  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from colorsplash.server import app as server  # noqa: E402

BASE = "http://127.0.0.1:8000"
WEB = Path(server.__file__).parent / "web"
IMPORT = re.compile(r"""^import\s*\{[^}]*\}\s*from\s*"\./([\w.-]+)";""", re.M)
MAX_LINES = 400  # house rule: files under ~400 lines


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
        yield c


def page_modules(client: TestClient) -> list[str]:
    """The page's script and every module it imports, directly or not, as the browser fetches them."""
    page = client.get("/").text
    entry = re.findall(r'<script type="module" src="static/([\w.-]+)"></script>', page)
    assert entry == ["app.js"], entry
    seen, todo = [], list(entry)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200, name
        todo += IMPORT.findall(resp.text)
    return seen


def test_every_module_of_the_page_is_served_as_javascript_and_revalidated(client: TestClient) -> None:
    """app.js was one 710-line classic script; it is split into modules by topic, each under the house limit.
    A module script runs only when served with a JavaScript type; ``no-cache`` keeps a browser from running cached
    modules of an older version beside newer ones."""
    names = page_modules(client)
    assert len(names) >= 6 and set(names) == {f.name for f in WEB.glob("*.js")} - {"docs.js"}, names
    for name in names:
        resp = client.get(f"/static/{name}")
        assert resp.headers["content-type"] == "text/javascript; charset=utf-8", (name, resp.headers)
        assert resp.headers["cache-control"] == "no-cache" and resp.headers.get("etag"), (name, resp.headers)
        assert len(resp.text.splitlines()) <= MAX_LINES, name
    again = client.get("/static/app.js", headers={"If-None-Match": client.get("/static/app.js").headers["etag"]})
    assert again.status_code == 304  # revalidated, not sent again
    csp = client.get("/").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src" not in csp  # same-origin modules allowed


def test_scripts_and_styles_keep_their_type_where_the_mime_table_says_text_plain(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python's MIME table comes from the system (Windows: the registry, which may map .js to text/plain): the
    page's modules would then be refused by the browser, and the page stay dead."""

    def plain(url: Any, strict: bool = True) -> tuple[str, None]:
        return "text/plain", None

    monkeypatch.setattr(starlette.responses, "guess_type", plain)
    assert client.get("/static/app.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert client.get("/static/style.css").headers["content-type"] == "text/css; charset=utf-8"
    assert client.get("/static/docs.js").headers["content-type"] == "text/javascript; charset=utf-8"
