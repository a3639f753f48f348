"""Request fields of the upload endpoints: an option sent twice with different values (as a query parameter and a
form field, or twice as either) is refused, naming both, rather than one silently winning; the OpenAPI form schema
says what the server does with a field it does not list (refuses it)."""

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

from colorsplash.runtime.pictures.photo_write import MAX_SIDE  # noqa: E402
from colorsplash.server import app as server  # noqa: E402

BASE = "http://127.0.0.1:8000"
ENDPOINTS = ("splash", "mask", "view")


@pytest.fixture(scope="module")
def client(tiny_onnx: Path) -> Iterator[TestClient]:
    with TestClient(server.create_app(tiny_onnx), base_url=BASE) as c:
        yield c


@pytest.fixture(scope="module")
def photo() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40, 3), np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _post(client: TestClient, path: str, photo: bytes, *fields: tuple[str, str]) -> tuple[int, dict[str, str]]:
    files = [("file", ("a.jpg", photo, "image/jpeg")), *((k, (None, v)) for k, v in fields)]
    resp = client.post(path, files=files)  # type: ignore[arg-type]  # httpx takes (None, text) parts
    return resp.status_code, resp.json() if resp.headers["content-type"].startswith("application/json") else {}


@pytest.mark.parametrize(
    ("path", "fields", "option", "said"),
    [
        ("/api/splash?effect=blur", [("effect", "grey")], "effect", "'blur' as a query parameter and 'grey' as a form"),
        ("/api/mask?on-empty=copy", [("on_empty", "skip")], "on_empty", "'copy' as a query parameter and 'skip'"),
        ("/api/splash?feather=2&feather=4", [], "feather", "'2' as a query parameter and '4' as a query parameter"),
        (
            "/api/splash",
            [("keep", "all"), ("keep", "largest")],
            "keep",
            "'all' as a form field and 'largest' as a form",
        ),
    ],
)
def test_an_option_sent_twice_with_different_values_is_refused(
    client: TestClient, photo: bytes, path: str, fields: list[tuple[str, str]], option: str, said: str
) -> None:
    """The form field won over the query parameter (the last one sent over the others), silently: 200."""
    status, body = _post(client, path, photo, *fields)
    assert status == 422, body
    assert body["option"] == option
    assert body["error"].startswith(f"{option.replace('_', '-')}: sent twice with different values, {said}")
    assert body["error"].endswith("; send it once")


def test_an_option_sent_twice_with_the_same_value_is_taken(client: TestClient, photo: bytes) -> None:
    assert _post(client, "/api/splash?effect=blur", photo, ("effect", "blur"))[0] == 200
    assert _post(client, "/api/mask?on-empty=copy", photo, ("on_empty", "copy"))[0] == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_form_schema_lists_what_is_taken_and_refuses_the_rest(
    client: TestClient, photo: bytes, endpoint: str
) -> None:
    """The multipart schema had no ``additionalProperties``: by it a typo'd field was allowed, where the server
    refuses it with 422 naming it. Each listed field is taken; one not listed is refused."""
    op = client.get("/openapi.json").json()["paths"][f"/api/{endpoint}"]["post"]
    schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        if name != "file":
            value = prop["enum"][0] if "enum" in prop else prop.get("default", "")  # "": none (threshold, point)
            status, body = _post(client, f"/api/{endpoint}", photo, (name, str(value).lower()))
            assert body.get("option") != name.replace("-", "_"), (name, value, body)
    status, body = _post(client, f"/api/{endpoint}", photo, ("threshhold", "0.5"))
    assert (status, body["option"]) == (422, "threshhold")


@pytest.mark.parametrize("endpoint", ("splash", "mask"))
def test_the_form_schema_lists_each_spelling_the_server_takes(client: TestClient, photo: bytes, endpoint: str) -> None:
    """``on_empty`` is taken as well as ``on-empty`` (README: "``on-empty`` or ``on_empty``"), but the schema listed
    only ``on-empty`` while saying ``additionalProperties: false``: by it a request the server takes was invalid."""
    op = client.get("/openapi.json").json()["paths"][f"/api/{endpoint}"]["post"]
    listed = op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert _post(client, f"/api/{endpoint}", photo, ("on_empty", "copy"))[0] == 200
    assert "on_empty" in listed and listed["on_empty"]["enum"] == listed["on-empty"]["enum"]


@pytest.mark.parametrize(
    ("endpoint", "known"),
    [
        ("splash", "effect, threshold, feather, hard, invert, keep, point, on-empty, refine, quality, edges, format"),
        ("mask", "threshold, feather, hard, invert, keep, point, on-empty, refine, edges"),
    ],
)
def test_an_unknown_field_is_refused_with_the_fields_its_endpoint_takes(
    client: TestClient, photo: bytes, endpoint: str, known: str
) -> None:
    """The fields listed after an unknown one were the splash options for both: /api/splash's left out ``format``,
    and /api/mask's named ``effect`` and ``quality``, which /api/mask refuses."""
    status, body = _post(client, f"/api/{endpoint}", photo, ("nope", "1"))
    assert (status, body["option"]) == (422, "nope")
    assert body["error"] == f"nope: unknown option; known: {known}"


def test_the_format_field_says_what_is_written_by_default(client: TestClient) -> None:
    """``/docs`` gave ``format``'s default as "PNG for transparent, else the upload's format" (web audit 3): a GIF,
    BMP or TIFF gets PNG, and a WebP's cut-out a WebP. It says what the server writes, which this checks."""
    rgb = np.random.default_rng(1).integers(0, 256, (30, 40, 3), np.uint8)
    cases = [("GIF", "grey", "image/png"), ("BMP", "grey", "image/png"), ("TIFF", "grey", "image/png")]
    cases += [("WEBP", "transparent", "image/webp"), ("JPEG", "transparent", "image/png")]
    cases += [("JPEG", "grey", "image/jpeg"), ("WEBP", "grey", "image/webp"), ("PNG", "grey", "image/png")]
    for fmt, effect, written in cases:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, fmt)
        resp = client.post(f"/api/splash?effect={effect}", files={"file": ("a", buf.getvalue())})
        assert resp.headers["content-type"] == written, (fmt, effect, resp.text[:200])
    params = client.get("/openapi.json").json()["paths"]["/api/splash"]["post"]["parameters"]
    said = next(p["description"] for p in params if p["name"] == "format")
    assert "else the upload's format" not in said, said
    for words in ("JPEG, PNG and WebP", "JPEG for HEIC", "else PNG"):
        assert words in said, said


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_400_answer_is_described_for_a_body_of_two_files(client: TestClient, photo: bytes, endpoint: str) -> None:
    """Two photos in one request (``-F file=@a.jpg -F file=@b.jpg``) get 400, which ``/docs`` gave only as "`Host`
    is not a name of this server" (web audit 3): a client reading it looked for the wrong fault."""
    files = [("file", ("a.jpg", photo, "image/jpeg")), ("file", ("b.jpg", photo, "image/jpeg"))]
    resp = client.post(f"/api/{endpoint}", files=files)
    assert resp.status_code == 400 and "files" in resp.json()["error"], resp.text
    said = client.get("/openapi.json").json()["paths"][f"/api/{endpoint}"]["post"]["responses"]["400"]["description"]
    assert "Host" in said and "more than one file" in said, said


@pytest.mark.parametrize("endpoint", ("splash", "mask"))
def test_every_option_of_a_few_words_lists_them(client: TestClient, endpoint: str) -> None:
    """``edges`` (auto, fast, matte) was a free "string" in ``/docs`` and the form schema, where ``keep`` and
    ``on-empty`` listed their words (web audit 3): the OpenAPI description kept its own list of which options
    take a choice. It asks the options' own definition (``runtime.options.choices``)."""
    from colorsplash.runtime.options import OPTION_FIELDS, choices

    params = client.get("/openapi.json").json()["paths"][f"/api/{endpoint}"]["post"]["parameters"]
    listed = {p["name"]: p["schema"].get("enum") for p in params}
    for f in OPTION_FIELDS:
        name = f.name.replace("_", "-")
        if name in listed and choices(f):
            assert listed[name] == list(choices(f) or ()), (name, listed[name])
    assert listed["edges"] == ["auto", "fast", "matte"]


def test_a_field_value_too_long_for_any_option_is_refused_quoted_short(client: TestClient, photo: bytes) -> None:
    """A 90,000-character value was quoted whole in the 422: 90 KB of error, all of it the request's."""
    status, body = _post(client, "/api/splash", photo, ("effect", "a" * 90_000))
    assert status == 422 and body["option"] == "effect" and len(body["error"]) < 400, len(body["error"])
    assert "a form field whose value is 90,000 characters long ('aaaa" in body["error"]


def test_a_field_name_too_long_for_any_option_is_refused_quoted_short(client: TestClient, photo: bytes) -> None:
    resp = client.post(f"/api/mask?{'b' * 9_000}=1", content=photo)  # under httpx's URL limit
    error = resp.json()["error"]
    assert resp.status_code == 422 and len(error) < 400 and resp.json()["option"] == "b" * 40 + "..."
    assert "a query parameter whose name is 9,000 characters long" in error


def test_a_field_of_the_longest_length_taken_passes() -> None:
    """The limit is the longest name or value taken: one of exactly :data:`MAX_FIELD_CHARS` is the option's own."""
    from colorsplash.runtime.options import OptionError
    from colorsplash.server.upload import MAX_FIELD_CHARS, merged_fields

    longest = "c" * MAX_FIELD_CHARS
    assert merged_fields([(longest, longest, "form field")]) == {longest: longest}
    with pytest.raises(OptionError, match="201 characters long"):
        merged_fields([("effect", longest + "c", "form field")])


def test_format_jpg_is_jpeg() -> None:
    from colorsplash.server.work import parse_fields

    assert parse_fields({"format": " JPG "})[1] == "jpeg"
    assert parse_fields({})[1] is None


def test_a_multipart_body_is_read_whatever_the_case_of_its_content_type(client: TestClient, photo: bytes) -> None:
    """Media types are case-insensitive (RFC 9110): ``Multipart/Form-Data`` is a form, not a raw photo body."""
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="cat.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + photo + b"\r\n--XyZ--\r\n"
    )
    resp = client.post("/api/mask", content=body, headers={"Content-Type": "Multipart/Form-Data; boundary=XyZ"})
    assert resp.status_code == 200, resp.text
    assert 'filename="cat.mask.png"' in resp.headers["content-disposition"]


def test_a_file_name_sent_with_a_windows_folder_keeps_the_name_alone() -> None:
    from colorsplash.server.upload import MAX_NAME, UPLOAD_NAME, _base_name

    assert _base_name("C:\\Users\\me\\Pictures\\cat.jpg") == "cat.jpg"
    assert _base_name("photos/../dog.png") == "dog.png"
    assert _base_name("a\nb.jpg") == "a_b.jpg" and _base_name("/") == UPLOAD_NAME
    long = _base_name("x" * 300 + ".jpeg")
    assert len(long) == MAX_NAME and long.endswith("x.jpeg")


def test_a_format_too_small_for_the_photo_is_refused_before_decoding(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``format=webp`` of a panorama wider than WebP holds was refused only after decoding, the model and the
    effect (a worker and the memory budget held for seconds on a large photo): now from the header."""
    from colorsplash.server import work

    side = MAX_SIDE["WEBP"]
    fits, over = (_png(np.zeros((1, n), np.uint8)) for n in (side, side + 1))
    assert _post(client, "/api/splash", fits, ("format", "webp"))[0] == 200

    def decoded(*args: object) -> None:
        raise AssertionError("decoded a photo whose result the format cannot hold")

    monkeypatch.setattr(work, "plan_upload", decoded)
    status, body = _post(client, "/api/splash", over, ("format", "webp"))
    words = f"a {side + 1}x1 result is too large for WEBP (at most {side:,} pixels a side)"
    assert status == 422 and words in body["error"], body


def test_a_format_too_small_says_the_format_the_server_writes(client: TestClient) -> None:
    """The 422 for ``format=webp`` of a too wide photo said "write it as PNG or TIFF": the server writes no TIFF,
    and a caller of the HTTP API asks for a format with a field."""
    over = _png(np.zeros((1, MAX_SIDE["WEBP"] + 1), np.uint8))
    status, body = _post(client, "/api/splash", over, ("format", "webp"))
    assert status == 422 and body["error"].endswith("ask for format=png"), body
    assert "TIFF" not in body["error"], body


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()
