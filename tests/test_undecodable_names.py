"""Names whose bytes are not UTF-8 and standard outputs that cannot encode every character (environment audit).

A file named ``caf\\xe9.png`` (Latin-1 bytes, as an old camera or a Windows share writes them) reaches Python as
``"caf\\udce9.png"``: strict UTF-8 (a CSV, a hash, matplotlib) refuses that surrogate. A locale's own encoding
(Latin-1, or UTF-8 outside Python's UTF-8 mode) refuses the model's "—" or such a name on standard output, whose
reader may also have gone (``evaluate | head -1``)."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import select
import shutil
import sys
from pathlib import Path

import pytest
from helpers.layouts import make_blob_image, save_picture

from colorsplash.cli import main
from colorsplash.evaluation.datasets import Sample, split_samples
from colorsplash.evaluation.evaluate import ImageScore, write_scores_csv
from colorsplash.runtime.model.onnx_model import default_model_path, load_model

LATIN1_NAME = b"caf\xe9"  # "café" in Latin-1: not UTF-8


def _undecodable_pair(root: Path) -> str:
    """A paired set (``images/``, ``masks/``) of one photo named :data:`LATIN1_NAME` and one plain one; returns
    the odd photo's name as Python sees it. Skips where the file system refuses such a name (macOS)."""
    for i, name in enumerate((os.fsdecode(LATIN1_NAME), "plain")):
        image, mask = make_blob_image(40, 56, seed=10 + i)
        try:
            save_picture(root / "images" / f"{name}.png", image)
        except (OSError, UnicodeError) as err:
            pytest.skip(f"this file system refuses a name that is not UTF-8: {err}")
        save_picture(root / "masks" / f"{name}.png", mask * 255)
    return os.fsdecode(LATIN1_NAME)


def test_a_name_that_is_not_utf8_is_split_and_a_utf8_name_keeps_its_split(tmp_path: Path) -> None:
    def sample(name: str) -> Sample:
        return Sample(tmp_path / f"{name}.png", tmp_path / "m.png", "paired", "set")

    odd = sample(os.fsdecode(LATIN1_NAME))
    plain = [sample(f"café {i}") for i in range(40)]
    train, val = split_samples([odd, *plain], 0.25, 7)  # raised UnicodeEncodeError, which stopped train
    assert len(train) + len(val) == 41
    before = [s.name for s in plain if _old_in_val(s.dataset, s.name, 0.25, 7)]  # the hash before names like odd's
    assert [s.name for s in val if s is not odd] == before and 0 < len(before) < 40


def _old_in_val(dataset: str, name: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f"{seed}:{dataset}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def test_evaluate_reports_a_photo_whose_name_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = _undecodable_pair(tmp_path / "pairs")
    if "matplotlib" not in sys.modules:
        try:
            import matplotlib  # noqa: F401 -- the gallery's title refused the name
        except ImportError:
            monkeypatch.setitem(sys.modules, "colorsplash.training.plots", None)
    out = tmp_path / "report"
    assert main(["-q", "evaluate", str(tmp_path / "pairs"), "-o", str(out), "--worst", "2"]) == 0, capsys.readouterr()
    rows = (out / "scores.csv").read_text(encoding="utf-8").splitlines()  # valid UTF-8: the name escaped
    assert any(row.startswith("caf\\udce9,pairs,") for row in rows), rows
    assert odd not in (out / "scores.csv").read_text(encoding="utf-8", errors="surrogateescape")
    worst = json.loads((out / "summary.json").read_text(encoding="utf-8"))["worst"]
    assert {entry["name"] for entry in worst} == {"caf\\udce9", "plain"}  # as scores.csv names it


def test_a_model_whose_path_is_not_utf8_loads_and_predicts(tmp_path: Path) -> None:
    try:
        folder = tmp_path / os.fsdecode(b"m\xe9")
        folder.mkdir()
    except (OSError, UnicodeError) as err:
        pytest.skip(f"this file system refuses a name that is not UTF-8: {err}")
    path = folder / os.fsdecode(LATIN1_NAME + b".onnx")
    shutil.copyfile(default_model_path(), path)
    model = load_model(path, threads=1, precision="file")  # "not a loadable ONNX model ... re-export it"
    image, _ = make_blob_image(40, 56)
    assert model.predict_probability(image).shape == (40, 56)


def test_serve_describes_a_model_whose_name_is_not_utf8(tmp_path: Path) -> None:
    """``/api/health`` (the page's model line) answered 422 "Error serializing to JSON: ... surrogates not allowed"
    for ``serve --model caf\\xe9.onnx``: the name is shown as the lines show it."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from colorsplash.server.app import create_app

    path = tmp_path / os.fsdecode(LATIN1_NAME + b".onnx")
    try:
        shutil.copyfile(default_model_path(), path)
    except (OSError, UnicodeError) as err:
        pytest.skip(f"this file system refuses a name that is not UTF-8: {err}")
    with TestClient(create_app(model_path=path), base_url="http://127.0.0.1:8000") as client:
        answer = client.get("/api/health")
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"]["file"] == "caf\\udce9.onnx", answer.json()


def test_the_scores_csv_names_a_photo_whose_name_is_not_utf8_in_utf8(tmp_path: Path) -> None:
    odd = os.fsdecode(LATIN1_NAME)
    score = ImageScore(odd, "set", f"set/{odd}.png", 56, 40, 0.5, 0.6, 0.7, 0.8)
    write_scores_csv([score], tmp_path / "scores.csv")  # raised UnicodeEncodeError after every photo was scored
    assert "\ncaf\\udce9,set,set/caf\\udce9.png,56,40,0.500000," in (tmp_path / "scores.csv").read_text("utf-8")


@pytest.mark.parametrize(
    ("encoding", "args", "words"),
    [
        ("latin-1", [], "Pet model \\u2014 cats and dogs"),  # a Latin-1 locale: the model's own dash
        ("utf-8", ["-o", os.fsdecode(b"report\xe9")], "wrote report\\udce9"),  # en_US.UTF-8, not UTF-8 mode
    ],
)
def test_evaluate_lines_reach_a_standard_output_that_cannot_encode_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, args: list[str], words: str
) -> None:
    make_pairs = tmp_path / "pairs"
    for i in range(2):
        image, mask = make_blob_image(40, 56, seed=10 + i)
        save_picture(make_pairs / "images" / f"p{i}.png", image)
        save_picture(make_pairs / "masks" / f"p{i}.png", mask * 255)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "colorsplash.training.plots", None)  # no gallery: the lines only
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    status = main(["-q", "evaluate", "pairs", "--worst", "0", *(args or ["-o", "report"])])
    said = raw.getvalue().decode(encoding)
    assert status == 0 and words in said, said  # was status 2 after the reports were written


@pytest.mark.skipif(not hasattr(select, "poll"), reason="POSIX poll")
def test_evaluate_lines_to_a_pipe_whose_reader_has_gone_are_one_line_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(2):
        image, mask = make_blob_image(40, 56, seed=10 + i)
        save_picture(tmp_path / "pairs" / "images" / f"p{i}.png", image)
        save_picture(tmp_path / "pairs" / "masks" / f"p{i}.png", mask * 255)
    monkeypatch.setitem(sys.modules, "colorsplash.training.plots", None)
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    with os.fdopen(write, "w", buffering=1) as stdout:  # each line written at once, as a terminal
        monkeypatch.setattr(sys, "stdout", stdout)
        status = main(["-q", "evaluate", str(tmp_path / "pairs"), "-o", str(tmp_path / "report"), "--worst", "0"])
        said = capsys.readouterr().err
    assert status == 1 and "standard output was closed by its reader" in said, said  # "[Errno 32] Broken pipe", 2
    assert (tmp_path / "report" / "summary.json").is_file()


def test_no_source_string_holds_a_lone_surrogate() -> None:
    """A docstring written ``"caf\\udce9"`` (one backslash) holds a lone surrogate: Python 3.13's compiler, which
    dedents docstrings, refused to import the module (UnicodeEncodeError), while 3.10 to 3.12 ran it."""
    found = []
    for path in sorted(Path(__file__).parents[1].glob("src/colorsplash/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
