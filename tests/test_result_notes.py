"""A result's notes reach every caller: the HTTP API's ``X-Colorsplash-Notes`` header (ASCII, bounded, a hostile
file name unable to break it), its OpenAPI description and CORS exposure, and the Python API's ``.notes``. They
reached the CLI's user only: ``POST /api/splash`` left metadata out without a word (review of the API's notes)."""

from __future__ import annotations

import copy
import io
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

import colorsplash
from colorsplash.runtime.pictures.photo_io import decode_image_bytes

GIF_NOTE = "GIF with 3 frames; used the first frame only"
BASE = "http://127.0.0.1:8000"


def animated_gif() -> bytes:
    frames = [Image.fromarray(np.full((48, 64, 3), 40 * i, np.uint8)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def see_through_png() -> bytes:
    image, _ = make_blob_image(48, 64, seed=1)
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[:8] = 0
    buf = io.BytesIO()
    Image.fromarray(np.dstack([image, alpha])).save(buf, "PNG")
    return buf.getvalue()


def big_exif_png() -> bytes:
    """A PNG whose EXIF (70 KB: PNG has room) does not fit a JPEG's one segment."""
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription
    buf = io.BytesIO()
    Image.fromarray(make_blob_image(48, 64, seed=2)[0]).save(buf, "PNG", exif=exif)
    return buf.getvalue()


# --- the header's encoding ---------------------------------------------------------------------------------------


def test_the_header_is_ascii_json_that_gives_the_notes_back() -> None:
    from colorsplash.server import notes as server_notes

    notes = ["chat é 日本 🐈.png: 16-bit picture", 'say "hi" \\ \x7f \x00']
    value = server_notes.notes_header(notes)
    assert value is not None and value.isascii() and value.isprintable(), value
    assert json.loads(value) == notes
    assert server_notes.notes_header([]) is None


def test_a_line_break_in_a_note_never_reaches_the_header() -> None:
    from colorsplash.server import notes as server_notes

    value = server_notes.notes_header(["a.png\r\nX-Evil: 1\r\n\r\n<html>: note", "b\nc\u2028d\u0085"])
    assert value is not None and not {"\r", "\n", "\u2028", "\u0085"} & set(value), value
    assert json.loads(value)[0].startswith("a.png\r\nX-Evil: 1")


def test_the_header_is_bounded_and_counts_what_it_leaves_out() -> None:
    from colorsplash.server import notes as server_notes

    many = [f"n{i}.png: note {i}" for i in range(20)]
    value = server_notes.notes_header(many)
    shown = json.loads(value or "")
    assert shown[: server_notes.MAX_NOTES] == many[: server_notes.MAX_NOTES]
    assert shown[-1] == f"and {20 - server_notes.MAX_NOTES} more notes"
    long = ["日" * 5000, "x" * 5000, "é" * 400, "\U0001f408" * 300, "y" * 5000]
    value = server_notes.notes_header(long)
    assert value is not None and len(value) <= server_notes.MAX_HEADER_BYTES, len(value or "")
    cut = json.loads(value)
    assert all(len(n) <= server_notes.MAX_NOTE_CHARS and n.endswith("…") for n in cut[:-1]), cut
    more = re.fullmatch(r"and (\d+) more notes?", cut[-1])
    assert more and len(cut) - 1 + int(more.group(1)) == len(long), cut[-1]
    assert json.loads(server_notes.notes_header(["x" * 100] * 9) or "")[-1] == "and 1 more note"


# --- the HTTP API ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tiny_onnx: Path):  # type: ignore[no-untyped-def]
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from colorsplash.server import app as server

    app = server.create_app(tiny_onnx, allowed_origins=("http://page.example",))
    with TestClient(app, base_url=BASE) as c:
        yield c


def notes_of(resp) -> list[str]:  # type: ignore[no-untyped-def]
    value = resp.headers.get("x-colorsplash-notes")
    return [] if value is None else json.loads(value)


@pytest.mark.parametrize("endpoint", ["splash", "mask", "view"])
def test_each_endpoint_sends_its_results_notes_naming_the_upload(client, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    name = "chat é 日本.gif"
    resp = client.post(f"/api/{endpoint}", files={"file": (name, animated_gif(), "image/gif")})
    assert resp.status_code == 200, resp.text
    assert notes_of(resp) == [f"{name}: {GIF_NOTE}"]
    raw = resp.headers.raw if hasattr(resp.headers, "raw") else []
    assert all(value.isascii() for _, value in raw)


def test_a_splash_says_what_metadata_does_not_fit_its_format(client) -> None:  # type: ignore[no-untyped-def]
    png = big_exif_png()
    resp = client.post("/api/splash?format=jpeg", files={"file": ("a.png", png, "image/png")})
    assert resp.status_code == 200, resp.text
    (note,) = notes_of(resp)
    assert note.startswith("a.png: EXIF of ") and "does not fit a JPEG" in note, note
    resp = client.post("/api/splash?format=png", files={"file": ("a.png", png, "image/png")})
    assert resp.status_code == 200 and "x-colorsplash-notes" not in resp.headers  # a PNG keeps it: nothing to say
    resp = client.post("/api/mask", files={"file": ("a.png", png, "image/png")})
    assert resp.status_code == 200 and "x-colorsplash-notes" not in resp.headers  # a mask keeps no metadata


def test_transparency_notes_use_the_http_spelling(client) -> None:  # type: ignore[no-untyped-def]
    png = see_through_png()
    splash = client.post("/api/splash", files={"file": ("a.png", png, "image/png")})
    assert notes_of(splash) == [
        "a.png: transparent areas flattened onto white; a cut-out keeps them: effect=transparent"
    ]
    cut_out = client.post("/api/splash?effect=transparent", files={"file": ("a.png", png, "image/png")})
    assert cut_out.status_code == 200 and "x-colorsplash-notes" not in cut_out.headers
    mask = client.post("/api/mask", files={"file": ("a.png", png, "image/png")})
    assert notes_of(mask) == [
        "a.png: transparent areas seen over white; the mask does not include the picture's transparency"
    ]
    view = client.post("/api/view", files={"file": ("a.png", png, "image/png")})
    assert notes_of(view) == ["a.png: transparent areas flattened onto white"]


def test_an_allowed_page_may_read_the_notes_header(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/api/view", files={"file": ("a.gif", animated_gif(), "image/gif")}, headers={"Origin": "http://page.example"}
    )
    assert resp.status_code == 200, resp.text
    exposed = {h.strip().lower() for h in resp.headers["access-control-expose-headers"].split(",")}
    assert "x-colorsplash-notes" in exposed, exposed


def test_openapi_describes_the_notes_header_of_each_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json()["paths"]
    for endpoint in ("splash", "mask", "view"):
        headers = paths[f"/api/{endpoint}"]["post"]["responses"]["200"]["headers"]
        assert "JSON array" in headers["X-Colorsplash-Notes"]["description"], endpoint


def test_a_hostile_name_in_a_note_cannot_forge_a_header() -> None:
    """The upload's name is cleaned when read (line breaks become ``_``); a note that still held one would be
    escaped by the header's JSON, never sent raw."""
    pytest.importorskip("fastapi")
    from colorsplash.server import work

    result = work.Result(b"", "png", True, 0.9, "a.png", ("a.png\r\nSet-Cookie: x=1: note",))
    headers = work.result_headers(result)
    assert all("\r" not in v and "\n" not in v and v.isascii() for v in headers.values()), headers
    assert json.loads(headers["X-Colorsplash-Notes"]) == ["a.png\r\nSet-Cookie: x=1: note"]


# --- the Python API and the CLI's mask ----------------------------------------------------------------------------


def test_python_results_carry_their_notes(tiny_onnx: Path) -> None:
    model = colorsplash.load_model(tiny_onnx)
    out = colorsplash.splash(io.BytesIO(animated_gif()), model)
    assert isinstance(out, colorsplash.NotedArray) and out.notes == (f"the BytesIO object: {GIF_NOTE}",)
    alpha = colorsplash.predict_alpha(io.BytesIO(see_through_png()), model)
    assert alpha.notes == (  # type: ignore[attr-defined]
        "the BytesIO object: transparent areas seen over white; the mask does not include the picture's transparency",
    )
    flat = colorsplash.splash(io.BytesIO(see_through_png()), model)
    assert flat.notes == (  # type: ignore[attr-defined]
        'the BytesIO object: transparent areas flattened onto white; a cut-out keeps them: effect="transparent"',
    )
    assert colorsplash.splash(np.zeros((8, 8, 3), np.uint8), model).notes == ()  # type: ignore[attr-defined]
    assert colorsplash.splash(io.BytesIO(big_exif_png()), model).notes == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "clone",
    [
        *(lambda a, p=p: pickle.loads(pickle.dumps(a, protocol=p)) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)),
        copy.deepcopy,
        lambda a: np.copy(a, subok=True),
        lambda a: pickle.loads(pickle.dumps(a[1:, ::2])),  # a slice, not contiguous
    ],
    ids=[*(f"pickle{p}" for p in range(2, pickle.HIGHEST_PROTOCOL + 1)), "deepcopy", "np.copy", "pickled slice"],
)
def test_notes_survive_pickling_and_copies(clone: Callable[[np.ndarray], np.ndarray]) -> None:
    """A result sent to a ``multiprocessing`` pool (pickled) or copied keeps its notes; pickling lost them."""
    from colorsplash.runtime.result_notes import NotedArray, with_notes

    result = with_notes(np.arange(24, dtype=np.float32).reshape(4, 6), [f"a.gif: {GIF_NOTE}"])
    got = clone(result)
    assert isinstance(got, NotedArray) and got.notes == (f"a.gif: {GIF_NOTE}",)
    assert np.array_equal(got, clone(np.asarray(result)))  # the same values as a plain array's copy
    assert not hasattr(pickle.loads(pickle.dumps(np.asarray(result))), "notes")


def test_metadata_notes_concern_written_splashes_only() -> None:
    """Metadata left out is a splash's note only: a mask or an array keeps no metadata."""
    from colorsplash.runtime.result_notes import result_notes

    photo = decode_image_bytes(big_exif_png(), name="a.png")
    photo.metadata_notes.append("a.png: XMP metadata not copied to the result: test")
    assert result_notes(photo, "splash", "PNG") == ["a.png: XMP metadata not copied to the result: test"]
    assert result_notes(photo, "mask", "PNG") == []
    assert result_notes(photo, "splash") == []
    assert [n for n in result_notes(photo, "splash", "JPEG") if "EXIF of" in n]


def test_the_cli_mask_does_not_say_metadata_was_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A mask keeps no metadata: ``mask`` printed "XMP metadata not copied to the result" as ``splash`` does."""
    from helpers.metadata import XMP_HEADER, segment, with_segments

    from colorsplash.cli import main
    from colorsplash.runtime.model.onnx_model import bundled_model_path

    buf = io.BytesIO()
    Image.fromarray(make_blob_image(48, 64, seed=4)[0]).save(buf, "JPEG")
    src = tmp_path / "x.jpg"
    src.write_bytes(with_segments(buf.getvalue(), segment(0xE1, XMP_HEADER + b"<x:xmpmeta")))  # not well-formed
    model = str(bundled_model_path())
    assert main(["-q", "splash", str(src), "-o", str(tmp_path / "s.jpg"), "--model", model]) == 0
    assert "x.jpg: XMP metadata not copied to the result" in capsys.readouterr().err
    assert main(["-q", "mask", str(src), "-o", str(tmp_path / "m.png"), "--model", model]) == 0
    assert "XMP" not in capsys.readouterr().err


def test_single_values_of_a_result_are_numpy_scalars_as_a_plain_arrays_are() -> None:
    """``alpha.mean()``, ``alpha.max()``, ``out.sum()`` gave a 0-d NotedArray, not NumPy's scalar: unhashable
    (``{alpha.max(): ...}`` raised TypeError) and not an ``np.floating``."""
    from colorsplash.runtime.result_notes import NotedArray, with_notes

    plain = np.arange(24, dtype=np.float32).reshape(4, 6) / 23
    result = with_notes(plain.copy(), [f"a.gif: {GIF_NOTE}"])
    for value in (result.mean(), result.max(), result.sum(), np.median(result), (result > 0.5).any(), result.std()):
        assert not isinstance(value, np.ndarray) and isinstance(value, np.generic), type(value)
    assert {result.max(): 1} == {plain.max(): 1} and result.mean() == plain.mean()
    kept = (result.sum(axis=0), result + 1, result[1:], result.mean(keepdims=True))
    assert all(isinstance(a, NotedArray) and a.notes == (f"a.gif: {GIF_NOTE}",) for a in kept)


def test_a_result_given_as_out_is_returned_itself() -> None:
    """``np.add(x, 1, out=x)`` and ``np.mean(result, out=z)`` return the ``out`` array, as for a plain array: a
    0-d NotedArray given as ``out`` came back as a NumPy scalar (a copy, not the array written)."""
    from colorsplash.runtime.result_notes import with_notes

    if int(np.__version__.split(".")[0]) < 2:
        pytest.skip("NumPy 1 does not say where a plain array gives a scalar")
    result = with_notes(np.arange(6, dtype=np.float64).reshape(2, 3), [f"a.gif: {GIF_NOTE}"])
    point = result[1:, 2:].reshape(())
    assert np.add(point, 1, out=point) is point and float(point) == 6.0
    total = with_notes(np.empty((), dtype=np.float64), [])
    assert np.mean(result, out=total) is total and float(total) == 16 / 6
    assert isinstance(result.mean(), np.floating)


@pytest.mark.parametrize("fmt", ["BMP", "GIF"])
def test_a_splash_in_a_format_without_metadata_says_what_it_left_out(fmt: str) -> None:
    """``-o x.bmp`` or ``x.gif`` dropped the EXIF, XMP and ICC profile without a word (README: "EXIF/ICC kept")."""
    from helpers.metadata import XMP_HEADER, display_p3_icc, phone_xmp, segment, with_segments

    from colorsplash.runtime.result_notes import result_notes

    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    buf = io.BytesIO()
    Image.new("RGB", (8, 6), (90, 120, 150)).save(buf, "JPEG", exif=exif, icc_profile=display_p3_icc())
    xmp = segment(0xE1, XMP_HEADER + phone_xmp())  # by hand: Pillow's save takes xmp= from 11.0 only (min-deps)
    photo = decode_image_bytes(with_segments(buf.getvalue(), xmp), name="p.jpg")
    assert photo.exif and photo.icc and photo.xmp
    notes = result_notes(photo, "splash", fmt)
    word = {"BMP": "a BMP", "GIF": "a GIF"}[fmt]
    kept = "not copied (a JPEG, PNG, WebP or TIFF result keeps it)"
    assert f"p.jpg: {word} holds no EXIF or XMP metadata; {kept}" in notes
    assert f"p.jpg: {word} holds no colour profile; colours converted from the picture's profile to sRGB" in notes
    assert result_notes(photo, "splash", "PNG") == []
