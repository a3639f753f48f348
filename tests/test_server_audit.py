"""HTTP API findings of the video/serve/API audit: CORS for ``--allowed-origin``, photos over Pillow's own
decompression-bomb guard, ``/api/health``'s contents, ``HEAD /``, and error texts that name what was sent."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402
from helpers import make_blob_image  # noqa: E402
from helpers.hostile import png_claiming  # noqa: E402

from colorsplash.runtime.pipeline import decode_and_plan  # noqa: E402
from colorsplash.server import app as server  # noqa: E402

BASE = "http://127.0.0.1:8000"
MAX_PIXELS = 100_000


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    with TestClient(server.create_app(tiny_onnx, max_pixels=MAX_PIXELS), base_url=BASE) as c:
        yield c


# ------------------------------------------------------------------------ pixel limit over Pillow's own guard


@pytest.mark.parametrize("side", [400, 14000, 30000])  # over our limit; the last two over Pillow's ~179 MP guard
def test_every_photo_over_the_pixel_limit_is_413_for_the_client(client: TestClient, side: int) -> None:
    resp = client.post("/api/splash", content=png_claiming(side, side))
    assert resp.status_code == 413, resp.text
    message = resp.json()["error"]
    assert f"{side * side:,} pixels" in message and "send a smaller photo" in message


def test_photo_costing_more_than_the_limit_to_decode_is_413(client: TestClient) -> None:
    """90,000 16-bit RGBA pixels pass the plain count but cost more memory than 100,000 RGB ones: also 413."""
    resp = client.post("/api/mask", content=png_claiming(300, 300, b"\x10\x06"))
    assert resp.status_code == 413, resp.text
    assert "pixel limit" in resp.json()["error"]


def test_pillow_guard_set_low_by_the_host_does_not_refuse_photos_under_our_limit(
    client: TestClient, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow refuses pictures over twice ``Image.MAX_IMAGE_PIXELS`` at open; our header reads must not."""
    image = make_blob_image(40, 60)[0]
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert client.post("/api/splash", content=png(image)).status_code == 200
    from colorsplash.runtime.api import load_model

    planned = decode_and_plan(png(image), "a.png", load_model(tiny_onnx))  # the CLI's one-photo path
    assert planned.photo.rgb.shape == (40, 60, 3)


# ------------------------------------------------------------------------------------ CORS for --allowed-origin

PAGE = "https://photos.example.org"


@pytest.fixture(scope="module")
def cors_client(tiny_onnx: Path) -> Iterator[TestClient]:
    app = server.create_app(tiny_onnx, allowed_origins=("HTTPS://Photos.Example.org:443/",))  # as typed by a user
    with TestClient(app, base_url=BASE) as c:
        yield c


def test_allowed_origin_can_read_the_result_and_its_headers(cors_client: TestClient) -> None:
    resp = cors_client.post("/api/splash", content=png(make_blob_image(40, 40)[0]), headers={"origin": PAGE})
    assert resp.status_code == 200, resp.text
    assert resp.headers["access-control-allow-origin"] == PAGE
    assert "Origin" in resp.headers["vary"]
    exposed = {h.strip().lower() for h in resp.headers["access-control-expose-headers"].split(",")}
    result_headers = {h.lower() for h in resp.headers if h.startswith("x-colorsplash") or h == "content-disposition"}
    assert result_headers == {"x-colorsplash-subject", "x-colorsplash-subject-score", "content-disposition"}
    assert result_headers <= exposed
    error = cors_client.post("/api/splash?effect=rainbow", content=b"x", headers={"origin": PAGE})
    assert error.status_code == 422 and error.headers["access-control-allow-origin"] == PAGE  # errors readable too


def test_allowed_origin_preflight_is_answered(cors_client: TestClient) -> None:
    """A raw upload (``Content-Type: image/jpeg``) or a custom header needs a preflight before the POST."""
    resp = cors_client.options(
        "/api/splash",
        headers={
            "origin": PAGE,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-client",
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["access-control-allow-origin"] == PAGE
    assert "POST" in resp.headers["access-control-allow-methods"]
    assert {"content-type", "x-client"} <= set(resp.headers["access-control-allow-headers"].split(","))


def test_other_origins_stay_refused_with_cors_on(cors_client: TestClient) -> None:
    other = "https://evil.example"
    resp = cors_client.post("/api/splash", content=b"x", headers={"origin": other})
    assert resp.status_code == 403 and "access-control-allow-origin" not in resp.headers
    preflight = cors_client.options("/api/splash", headers={"origin": other, "access-control-request-method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers


def test_no_cors_headers_without_allowed_origins(client: TestClient) -> None:
    resp = client.post("/api/splash", content=png(make_blob_image(40, 40)[0]), headers={"origin": BASE})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers


# ------------------------------------------------------------------------------- health, HEAD, error texts, log


def test_health_has_what_a_client_needs_and_no_training_internals(client: TestClient) -> None:
    body = client.get("/api/health").json()
    model = body["model"]
    assert {"name", "subject", "arch", "input_size", "file", "subject_threshold"} <= set(model)
    assert 0.0 <= model["subject_threshold"] <= 1.0
    assert "training" not in model
    # the limits the start-up line states: workers and request counts were missing (an operator had to read the log)
    limits = {"max_upload_bytes", "max_pixels", "max_memory_bytes", "workers", "max_requests", "max_per_client"}
    assert limits | {"upload_timeout_s", "header_timeout_s"} == set(body["limits"]), body["limits"]
    assert all(isinstance(body["limits"][k], int) and body["limits"][k] > 0 for k in limits), body["limits"]
    text = client.get("/api/health").text
    assert "train_config" not in text and "../" not in text  # no data-set paths, no training configuration


def test_health_gives_the_word_the_servers_messages_use(tiny_onnx: Path) -> None:
    """``/api/health``'s ``subject`` is the server's own word for what the model finds (the page takes it as it
    is): it gave the config's raw text, blank for a model trained without ``--subject``, where the server's
    messages say "no subject found"."""
    from dataclasses import replace

    from colorsplash.runtime.model.onnx_model import load_model
    from colorsplash.runtime.wording import Wording

    model = load_model(tiny_onnx)
    for subject, word in (("", "subject"), ("  ", "subject"), (" red car ", "red car"), ("pet", "pet")):
        one = replace(model, config=replace(model.config, subject=subject))
        assert server.model_info(one)["subject"] == word == Wording.of(one, "http").subject


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    got = client.get("/")
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    assert client.head("/docs").status_code == 200


def test_head_of_health_answers_like_get_without_a_body(client: TestClient) -> None:
    """Uptime checkers and load balancers ask ``HEAD /api/health``: it answered 405 (``Allow: GET``)."""
    got = client.get("/api/health")
    head = client.head("/api/health")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(got.content))
    assert "head" not in client.get("/openapi.json").json()["paths"]["/api/health"]  # GET is the API's


def test_colour_errors_name_what_was_sent(client: TestClient) -> None:
    photo = png(make_blob_image(20, 20)[0])
    sent = client.post("/api/splash", data={"effect": "color:#zzzzzz"}, files={"file": ("a.png", photo)})
    assert sent.status_code == 422 and "'color:#zzzzzz'" in sent.json()["error"]
    # An unescaped '#' in a URL starts the fragment: the server gets 'color:' and says why
    cut = client.post("/api/splash?effect=color:#zzzzzz", content=photo)
    assert cut.status_code == 422 and "%23" in cut.json()["error"] and "'color:'" in cut.json()["error"]


def test_malformed_multipart_is_one_log_line_with_the_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        resp = client.post(
            "/api/splash",
            content=b"\xff\xd8\xff garbage",
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
    assert resp.status_code == 400
    ours = [r for r in caplog.records if r.name == "colorsplash.server"]
    assert len(ours) == 1 and "POST /api/splash" in ours[0].getMessage()


@pytest.mark.parametrize(
    "kind", ["two files", "no boundary", "malformed"], ids=["two-files", "no-boundary", "malformed"]
)
def test_a_multipart_body_refused_says_how_to_send_the_photo(client: TestClient, kind: str) -> None:
    """The form parser's own words ("Too many files. Maximum number of files is 1.", "Missing boundary in
    multipart.") said what was wrong but not what to send instead."""
    photo = png(make_blob_image(20, 20)[0])
    if kind == "two files":
        resp = client.post("/api/splash", files=[("file", ("a.png", photo)), ("other", ("b.png", photo))])
    else:
        boundary = "" if kind == "no boundary" else "; boundary=xyz"
        headers = {"content-type": f"multipart/form-data{boundary}"}
        resp = client.post("/api/splash", content=b"\xff\xd8\xff garbage", headers=headers)
    assert resp.status_code == 400
    message = resp.json()["error"]
    assert "multipart" in message and "the multipart/form-data field 'file'" in message and "one photo" in message


def test_cli_serve_quiets_the_form_parsers_context_free_warnings(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from colorsplash import cli
    from colorsplash.cli import serve as cli_serve

    uvicorn = pytest.importorskip("uvicorn")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    parser_log = logging.getLogger(cli_serve.MULTIPART_LOGGER)
    monkeypatch.setattr(parser_log, "level", parser_log.level)  # restored after the test
    assert cli.main(["serve", "--model", str(tiny_onnx)]) == 0
    assert not logging.getLogger("python_multipart.multipart").isEnabledFor(logging.WARNING)


def test_health_describes_the_model_in_plain_words(client: TestClient) -> None:
    """The page's header showed the internal name ("colorsplash-pets-lite1"), which tells a user nothing (web
    audit): ``description`` says what the model keeps, from its config's subject and name."""
    from colorsplash.runtime.model.config import ModelConfig

    assert client.get("/api/health").json()["model"]["description"] == "Blob model — tiny-test"
    bundled = ModelConfig(name="colorsplash-pets-lite1", subject="pet")
    assert server.model_description(bundled, "pets.onnx") == "Pet model — cats and dogs"
    # Trained with the defaults (no subject, no name): the file tells the user which model it is.
    assert server.model_description(ModelConfig(), "cars.onnx") == "Custom model — cars.onnx"
    assert server.model_description(ModelConfig(subject="red car"), "cars.onnx") == "Red car model — cars.onnx"
    assert server.model_description(ModelConfig(name="cars-v2"), "cars.onnx") == "Custom model — cars-v2"


def serve_help(capsys: pytest.CaptureFixture[str]) -> str:
    from colorsplash.cli import main

    assert main(["serve", "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_serve_help_states_the_servers_own_default_limits(capsys: pytest.CaptureFixture[str]) -> None:
    # The help's defaults are what a server started without the flags uses (--max-memory-mb said "about 1.2 GB"
    # after the budget per pixel was raised and the real default became 1.4 GB).
    from colorsplash.server.settings import ServerSettings

    text = serve_help(capsys)
    defaults = ServerSettings()
    assert f"(default {defaults.max_upload_bytes / 2**20:g})" in text
    assert f"(default {defaults.max_pixels:,}: " in text
    assert f"about {defaults.memory_budget / 1e9:.1f} GB" in text


def test_health_reads_names_only_the_formats_this_server_reads(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (review2): ``/api/health``'s ``reads`` (the page's "Choose a photo in a format this server reads: ...")
    named HEIC on a server without pillow-heif, which refuses every HEIC, and install advice for the server's
    operator, "(with colorsplash[heif])", to a visitor of the page: it names the formats this server reads."""
    from colorsplash.runtime.pictures import heif

    monkeypatch.setattr(heif, "_registered", False)  # a server without pillow-heif
    reads = client.get("/api/health").json()["reads"]
    assert reads.startswith("JPEG, PNG, GIF, BMP, TIFF") and "HEIC" not in reads and "colorsplash[" not in reads
    monkeypatch.setattr(heif, "_registered", True)  # and one with it
    reads = client.get("/api/health").json()["reads"]
    assert reads.endswith(" and HEIC") and "colorsplash[" not in reads
