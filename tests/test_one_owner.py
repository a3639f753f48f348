"""One owner per policy: where two paths of the product apply one policy, they give the same answer (photo decoding
for training and evaluation as for ``splash``, file writing in the benchmark scripts as in the product)."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import struct
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from colorsplash.evaluation.datasets import Sample, read_pair
from colorsplash.runtime.pictures.photo_io import read_photo, read_rgb


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))


def _lut8_cmyk_to_grey() -> bytes:
    """An ICC ``lut8Type`` from CMYK to Lab that makes every colour a neutral grey, darker with more ink."""
    ramp = bytes(range(256))
    identity = b"".join(struct.pack(">i", v) for v in (65536, 0, 0, 0, 65536, 0, 0, 0, 65536))
    corners = [(c, m, y, k) for c in (0, 1) for m in (0, 1) for y in (0, 1) for k in (0, 1)]
    clut = bytes(v for c, m, y, k in corners for v in (255 - 40 * (c + m + y) - 100 * k, 128, 128))
    return b"mft1\0\0\0\0" + bytes([4, 3, 2, 0]) + identity + ramp * 4 + clut + ramp * 3


def cmyk_profile() -> bytes:
    """A small valid ICC v2 output profile for CMYK (LittleCMS reads it), built here: no CMYK profile ships with
    Pillow or the test machines."""
    desc = b"desc\0\0\0\0" + struct.pack(">I", 5) + b"test\0" + b"\0" * 79
    white = _xyz(0.9642, 1.0, 0.8249)
    tags = [(b"desc", desc), (b"wtpt", white), (b"cprt", b"text\0\0\0\0none\0"), (b"A2B0", _lut8_cmyk_to_grey())]
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        body += b"\0" * (-(start + len(body)) % 4)
        table += sig + struct.pack(">II", start + len(body), len(data))
        body += data
    header = struct.pack(">I", start + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"prtrCMYKLab " + b"\0" * 12
    header += b"acsp" + b"\0" * 28 + white[8:] + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + body


def test_training_and_evaluation_read_a_cmyk_photo_in_splash_colours(tmp_path: Path) -> None:
    """A CMYK JPEG with its own colour profile: ``splash`` converts it through the profile; ``train``,
    ``evaluate`` and the int8 calibration (``read_rgb``) used Pillow's rough conversion, so the network was
    trained and scored on other colours than it is run on (here red against grey)."""
    photo = tmp_path / "images" / "cat.jpg"
    photo.parent.mkdir()
    Image.new("CMYK", (40, 30), (0, 200, 200, 0)).save(photo, icc_profile=cmyk_profile())
    Image.new("L", (40, 30), 1).save(tmp_path / "mask.png")
    splashed = read_photo(photo).rgb
    assert np.ptp(splashed[0, 0]) <= 2  # the profile's grey: the conversion ran
    assert np.array_equal(read_rgb(photo), splashed)
    image, _, _ = read_pair(Sample(photo, tmp_path / "mask.png", "paired", "set", "val"))
    assert np.array_equal(image, splashed)


def _bench_module(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``bench/NAME.py`` imported as a module, with ``bench/`` on the path as when it is run as a script."""
    bench = Path(__file__).resolve().parents[1] / "bench"
    monkeypatch.syspath_prepend(str(bench))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", bench / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_bench_peers_writes_its_json_as_the_product_writes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bench/peers.py --json`` wrote through its own temporary file (``tempfile.mkstemp``): the result was
    readable by its owner alone (0600, whatever the umask), and a failed write left a ``tmp*.tmp`` file beside it.
    It writes through :func:`colorsplash.runtime.files.atomic_write`, as every file of the product."""
    peers = _bench_module("peers", monkeypatch)
    umask = os.umask(0o022)
    try:
        peers.write_json_atomic(tmp_path / "out" / "peers.json", {"models": [1, 2]})
        with pytest.raises(TypeError):
            peers.write_json_atomic(tmp_path / "out" / "bad.json", {"models": {1, 2}})  # a set: not JSON
    finally:
        os.umask(umask)
    written = tmp_path / "out" / "peers.json"
    assert json.loads(written.read_text()) == {"models": [1, 2]}
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert sorted(p.name for p in written.parent.iterdir()) == ["peers.json"]


def test_export_refuses_an_output_that_is_its_checkpoint_by_another_name(tmp_path: Path) -> None:
    """``-o`` a hard link to the input: ``video`` (and ``splash``) refused it as the input file; ``export
    --overwrite`` took it for another file and went on to replace it. Both ask one question
    (:func:`colorsplash.runtime.files.same_file`)."""
    pytest.importorskip("torch")
    from colorsplash.training.export_checks import check_output

    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"not read here")
    os.link(checkpoint, tmp_path / "model.onnx")
    with pytest.raises(ValueError, match="refusing to overwrite the input checkpoint"):
        check_output(checkpoint, tmp_path / "model.onnx", overwrite=True)


def test_train_refuses_a_run_folder_whose_link_it_did_not_make(tmp_path: Path) -> None:
    """A symbolic link to nothing under a run file's name (``metrics.csv``): ``evaluate`` refuses it in its report
    folder (``--overwrite`` replaces it) and ``splash`` as an output; ``train`` saw no file there (``exists``
    follows the link) and replaced the link with its own file."""
    pytest.importorskip("torch")
    from colorsplash.cli.train import _refuse_existing_run

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").symlink_to(tmp_path / "figures" / "metrics.csv")
    with pytest.raises(ValueError, match="metrics.csv"):
        _refuse_existing_run(str(run))


def test_a_folder_of_photos_gives_every_picture_a_result_is_written_as(tmp_path: Path) -> None:
    """``splash photo.jfif`` read the JPEG and ``photo_write`` knows ``.jfif`` and ``.jpe`` as JPEG (Windows'
    browsers save JPEGs so), but ``splash FOLDER`` left them out without a word, and ``train``/``evaluate`` did not
    see them: the folders' list of picture extensions was a list of its own."""
    from colorsplash.runtime.pictures.photo_io import IMAGE_EXTENSIONS
    from colorsplash.runtime.pictures.photo_write import FORMAT_EXTENSIONS
    from colorsplash.runtime.planning import expand_inputs

    assert {ext for exts in FORMAT_EXTENSIONS.values() for ext in exts} <= set(IMAGE_EXTENSIONS)
    for name in ("web.jfif", "old.jpe", "cat.jpg"):
        Image.new("RGB", (8, 6)).save(tmp_path / name, "JPEG")
    found, errors = expand_inputs([str(tmp_path)])
    assert sorted(path.name for path, _ in found) == ["cat.jpg", "old.jpe", "web.jfif"] and not errors


@pytest.mark.parametrize("name", ["scores.csv", "summary.json", "worst.png"])
def test_evaluate_never_replaces_a_report_file_made_while_it_scored(
    name: str, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--overwrite``, ``splash`` and ``export`` check the output again as they publish it (a file
    another run made meanwhile is not replaced); ``evaluate`` checked its report folder before scoring only, and
    replaced a report file that appeared while it scored."""
    from helpers.layouts import make_paired_set

    from colorsplash.cli import main
    from colorsplash.evaluation import evaluate as ev

    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    scored = ev.evaluate_model

    def meanwhile(*args: object, **kwargs: object) -> object:
        out.mkdir(exist_ok=True)
        (out / name).write_text("another run's\n")
        return scored(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ev, "evaluate_model", meanwhile)
    if name == "worst.png":
        pytest.importorskip("matplotlib")
    assert main(["-q", "evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out)]) == 2
    assert (out / name).read_text() == "another run's\n"


def test_evaluate_without_a_gallery_leaves_one_made_while_it_scored(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--worst 0`` (or no matplotlib) removes an earlier report's ``worst.png``, which ``--overwrite`` let it
    replace; without ``--overwrite`` the folder held none as it began, so a ``worst.png`` there is another run's,
    made while this one scored: it removed that file too."""
    from helpers.layouts import make_paired_set

    from colorsplash.cli import main
    from colorsplash.evaluation import evaluate as ev

    make_paired_set(tmp_path / "pairs", n=2)
    out = tmp_path / "report"
    scored = ev.evaluate_model

    def meanwhile(*args: object, **kwargs: object) -> object:
        out.mkdir(exist_ok=True)
        (out / "worst.png").write_text("another run's\n")
        return scored(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ev, "evaluate_model", meanwhile)
    argv = ["-q", "evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(out), "--worst", "0"]
    assert main(argv) == 0
    assert (out / "worst.png").read_text() == "another run's\n" and (out / "summary.json").is_file()
