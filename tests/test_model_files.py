"""Model files as users meet them (modelfiles audit): our own files with their config edited, files from elsewhere
given as ``--model``, and what each verb and ``load_model`` then say or do."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY
from colorsplash.runtime.model.model_file import runtime_words
from colorsplash.runtime.model.onnx_model import ModelLoadError, load_model


def edited(source: Path, out: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of the exported ``source`` at ``out`` whose stored config is ``edit(config)`` (a dict, or raw text)."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(source))
    for prop in model.metadata_props:
        if prop.key == CONFIG_METADATA_KEY:
            new = edit(json.loads(prop.value))
            prop.value = new if isinstance(new, str) else json.dumps(new)
    onnx.save(model, str(out))
    return out


def photo(folder: Path) -> Path:
    path = folder / "room.png"
    Image.fromarray(np.full((30, 40, 3), 20, np.uint8)).save(path)
    return path


def test_a_models_name_and_subject_reach_the_terminal_escaped_and_cut(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model file's name and subject went to the terminal as they were: escape sequences in them retitled the
    terminal, coloured the summary line and broke it over lines; a 10,000-character name filled the screen."""
    evil = {"name": "evil\x1b[31mRED\x1b[0m\r\nX", "subject": "c\x1b]0;pwned\x07at"}
    model = edited(tiny_onnx, tmp_path / "evil.onnx", lambda c: {**c, **evil})
    assert main(["splash", str(photo(tmp_path)), "--model", str(model), "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err, err
    assert "C\\x1b]0;pwned\\x07at model — evil\\x1b[31mRED\\x1b[0m\\r\\nX" in err, err
    long = edited(tiny_onnx, tmp_path / "long.onnx", lambda c: {**c, "name": "N" * 10_000, "subject": "S" * 10_000})
    label = load_model(long).label
    assert len(label) < 150 + len(str(long)) and "S" * 57 + "... model — " + "N" * 57 + "..." in label, label


NORM = "normalization"


@pytest.mark.parametrize(
    ("said", "words"),
    [
        (  # ORT_ENFORCE's words start with the failed condition: the place was kept whole
            "Load model from m.onnx failed:/onnxruntime_src/onnxruntime/core/graph/graph.cc:1223 "
            "onnxruntime::Graph::Graph(const onnxruntime::Model&, onnx::GraphProto*) node_arg was false. Graph ctor "
            "should have created NodeArg for initializer. Missing:w",
            "Load model from m.onnx failed: node_arg was false. Graph ctor should have created NodeArg for "
            "initializer. Missing:w",
        ),
        (  # ... and cut up to a later ") " and a capital: "model_proto.has_graph() was false. Node (n)" went
            "Load model from m.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:99 void f() "
            "model_proto.has_graph() was false. Node (n) Op (Foo) is not registered",
            "Load model from m.onnx failed: model_proto.has_graph() was false. Node (n) Op (Foo) is not registered",
        ),
        (
            "failed:/onnxruntime_src/onnxruntime/core/session/inference_session.cc:7 onnxruntime::common::Status "
            "onnxruntime::InferenceSession::Load() const Unsupported model IR version: 11",
            "failed: Unsupported model IR version: 11",
        ),
    ],
)
def test_onnx_runtime_words_lose_the_source_place_and_nothing_else(said: str, words: str) -> None:
    assert runtime_words(said) == words


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda c: {**c, NORM: {"mean": [0, 0, 0], "std": [0, 255, 255]}}, "normalization std must be above 0"),
        (lambda c: {**c, NORM: {"mean": [0, 0, 0], "std": [-255, 255, 255]}}, "normalization std must be above 0"),
        (lambda c: json.dumps(c).replace('"std": [255.0', '"std": [NaN'), "normalization must be finite numbers"),
        (lambda c: json.dumps(c).replace('"mean": [0.0', '"mean": [Infinity'), "normalization must be finite"),
        (lambda c: {**c, "color_order": "BGR"}, "color_order must be 'RGB' (colorsplash feeds RGB pixels)"),
        (lambda c: {k: v for k, v in c.items() if k != NORM}, "it lacks normalization, which every exported"),
        (lambda c: {k: v for k, v in c.items() if k not in ("arch", "input_size")}, "it lacks arch, input_size,"),
    ],
)
def test_a_config_that_would_feed_the_network_wrongly_is_refused_naming_the_file(
    edit: Callable[[dict[str, Any]], Any], said: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    """A std of 0 or NaN loaded and fed NaN to the network (NumPy's "divide by zero" warnings, a wrong splash); a
    "BGR" colour order was fed RGB; a config without its normalisation ran with the Lite one's defaults on a
    network trained on x/255, and one without arch and input size was refused as a graph of the wrong size."""
    model = edited(tiny_onnx, tmp_path / "m.onnx", edit)
    with pytest.raises(ModelLoadError) as err:
        load_model(model)
    text = str(err.value)
    assert text.startswith(f"{model}: its 'colorsplash_config' metadata is not a valid colorsplash config (")
    assert said in text and "re-export it" in text, text


def test_a_pytorch_file_from_elsewhere_is_not_sent_to_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``splash --model efficientnet-lite0.pth`` (ImageNet weights) said "a training checkpoint, not an ONNX model;
    make one with `colorsplash export ...`", and that export then said only "not a colorsplash checkpoint"."""
    torch = pytest.importorskip("torch")
    weights = tmp_path / "efficientnet-lite0.pth"
    torch.save({"stem.weight": torch.zeros(2)}, weights)
    with pytest.raises(ModelLoadError) as err:
        load_model(weights)
    assert str(err.value).startswith(f"{weights}: a PyTorch file from elsewhere"), err.value
    assert "colorsplash export" in str(err.value) and f"export {weights}" not in str(err.value)
    assert main(["export", str(weights), "-o", str(tmp_path / "m.onnx")]) == 2
    said = capsys.readouterr().err
    assert "a PyTorch file, but not a colorsplash checkpoint" in said and "name the best.pt or last.pt" in said


def test_export_says_what_a_file_that_is_no_checkpoint_is(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exported model (or a picture) named ``.pt`` given to ``export`` was "refused: it holds Python objects
    besides tensors and plain data ... could run code": it holds no pickle at all."""
    renamed = tmp_path / "model.pt"
    renamed.write_bytes(tiny_onnx.read_bytes())
    picture = photo(tmp_path).rename(tmp_path / "photo.pt")
    for given, said in (
        (renamed, "an ONNX model (what export makes), not a training checkpoint (--model runs it); name the best.pt"),
        (picture, "not a PyTorch checkpoint; name the best.pt or last.pt of a run folder"),
    ):
        assert main(["export", str(given), "-o", str(tmp_path / "out.onnx")]) == 2
        err = capsys.readouterr().err
        assert f"{given}: {said}" in err and "could run code" not in err, err
    assert not (tmp_path / "out.onnx").exists()


def test_evaluate_runs_a_checkpoint_by_its_bytes_not_its_name(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate --model best.pth`` (a colorsplash checkpoint, renamed) said "a training checkpoint, not an ONNX
    model; make one with export": evaluate takes checkpoints, but told them by the name ``.pt`` alone (and its
    summary then named no checkpoint, so ``export --metrics`` could not take it)."""
    from helpers.layouts import make_seed_set

    from colorsplash.runtime.model.variants import file_hash

    make_seed_set(tmp_path / "cats", n=2)
    renamed = tmp_path / "best.pth"
    renamed.write_bytes(tiny_checkpoint.read_bytes())
    report = tmp_path / "report"
    assert main(["evaluate", str(tmp_path / "cats"), "--model", str(renamed), "-o", str(report), "-q"]) == 0, (
        capsys.readouterr().err
    )
    summary = json.loads((report / "summary.json").read_text())
    assert summary["checkpoint_sha256"] == file_hash(renamed)


def test_an_onnx_model_from_elsewhere_is_not_told_to_be_exported(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rembg's U2-Netp given as ``--model`` was told "ONNX file has no 'colorsplash_config' metadata; export it
    with `colorsplash export CHECKPOINT -o model.onnx`": there is no checkpoint of it to export."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(tiny_onnx))
    del model.metadata_props[:]
    foreign = tmp_path / "u2netp.onnx"
    onnx.save(model, str(foreign))
    with pytest.raises(ModelLoadError) as err:
        load_model(foreign)
    assert str(err.value).startswith(f"{foreign}: an ONNX model not made by colorsplash (it has no 'colorsplash_"), err
    assert main(["splash", str(photo(tmp_path)), "--model", str(foreign)]) == 2
    said = capsys.readouterr().err
    assert "not made by colorsplash" in said and "export it" not in said, said


@pytest.mark.parametrize(
    ("train_config", "said"),
    [
        ({"val_fraction": "abc", "seed": 0}, "val_fraction must be a number from 0 to 1, got 'abc'"),
        ({"val_fraction": 5, "seed": 0}, "val_fraction must be a number from 0 to 1, got 5"),  # every photo "val"
        ({"val_fraction": 0.25, "seed": [1]}, "seed must be an integer, got [1]"),
        ([1], "train_config must be an object, got [1]"),
    ],
)
def test_evaluate_split_of_a_model_whose_training_record_is_damaged_names_the_file(
    train_config: object, said: str, tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate --split val`` of a model whose record of its split was edited said "could not convert string to
    float: 'abc'" (no file named), printed a traceback ("'list' object has no attribute 'get'"), or with a
    val_fraction of 5 scored every photo as held out; ``--split all`` needs no split and still runs."""
    from helpers.layouts import make_seed_set

    make_seed_set(tmp_path / "cats", n=2)
    model = edited(tiny_onnx, tmp_path / "m.onnx", lambda c: {**c, "training": {"train_config": train_config}})
    args = ["evaluate", str(tmp_path / "cats"), "--model", str(model), "-q"]
    assert main([*args, "--split", "val", "-o", str(tmp_path / "val")]) == 2
    err = capsys.readouterr().err
    assert f"{model}: its training record's {said}; give --val-fraction and --seed for --split val" in err, err
    assert "Traceback" not in err and not (tmp_path / "val").exists()
    assert main([*args, "-o", str(tmp_path / "all")]) == 0


def test_a_training_record_naming_its_sets_wrongly_warns_of_no_set_known(caplog: pytest.LogCaptureFixture) -> None:
    """A record whose ``datasets`` was one string ("cats") made ``--split val`` read its letters as set names: no
    warning for a set named "c", and "it records c, a, t, s" for another."""
    from colorsplash.evaluation.datasets import Sample
    from colorsplash.evaluation.evaluate import warn_unknown_sets
    from colorsplash.runtime.model.config import ModelConfig

    samples = [Sample(Path("c/input/1.jpg"), Path("c/mask/1.jpg"), "seed", "c")]
    assert warn_unknown_sets(samples, ModelConfig(training={"datasets": "cats"}), "val")
    assert "(it records none)" in caplog.text, caplog.text


def test_a_model_link_to_nothing_is_named_as_one(tmp_path: Path) -> None:
    """``--model current.onnx``, a symbolic link whose model was removed, said "model file not found; check the
    path" of a name ``ls`` shows (a photo given so was named as a link to nothing)."""
    link = tmp_path / "current.onnx"
    link.symlink_to("v2.onnx")
    with pytest.raises(ModelLoadError) as err:
        load_model(link)
    assert str(err.value) == f"{link}: is a symbolic link to v2.onnx, which does not exist; check the path"


@pytest.mark.parametrize("share", [0.02, 0.5, 0.99])
def test_a_model_file_cut_short_is_named_as_one(share: float, tiny_onnx: Path, tmp_path: Path) -> None:
    """A copy of a model that did not finish said "not a loadable ONNX model (field runs past its message);
    re-export it with colorsplash export": protobuf's words, and no export remakes the bundled model's copy."""
    whole = tiny_onnx.read_bytes()
    cut = tmp_path / "copy.onnx"
    cut.write_bytes(whole[: int(len(whole) * share)])
    with pytest.raises(ModelLoadError) as err:
        load_model(cut)
    assert str(err.value).startswith(f"{cut}: an ONNX model cut short (the file ends inside its data"), err.value
    assert "copy it again" in str(err.value) and "field runs past" not in str(err.value)


def test_a_model_path_holding_a_nul_character_is_a_model_load_error() -> None:
    """``load_model("a\\0b.onnx")`` raised Python's ValueError "embedded null byte", naming no file, where a model
    that cannot be loaded raises ModelLoadError."""
    with pytest.raises(ModelLoadError) as err:
        load_model("runs/a\0b.onnx")
    assert (
        str(err.value) == "'runs/a\\x00b.onnx': holds a NUL character (\\x00), which no file name can; check the path"
    )


def test_a_bad_model_named_by_the_environment_says_so(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``splash photo.jpg`` (no ``--model``) with ``$COLORSPLASH_MODEL`` set long ago to a checkpoint said only
    "best.pt: a training checkpoint ... give that": nothing said where that file came from."""
    monkeypatch.setenv("COLORSPLASH_MODEL", str(tiny_checkpoint))
    assert main(["splash", str(photo(tmp_path)), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{tiny_checkpoint}: a training checkpoint" in err and err.rstrip().endswith(
        "($COLORSPLASH_MODEL names this model: point it at another, or unset it)"
    ), err
    with pytest.raises(ModelLoadError) as given:  # a path given is the caller's: no word of the variable
        load_model(tiny_checkpoint)
    assert "COLORSPLASH_MODEL" not in str(given.value)


@pytest.mark.parametrize("share", [0.1, 0.9])
def test_export_of_a_checkpoint_cut_short_says_so(
    share: float, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``best.pt`` copied in part said "not a readable PyTorch checkpoint ([Errno 22] Invalid argument)" or
    PyTorch's paragraph on "an internal miniz error", not what happened nor what to do."""
    whole = tiny_checkpoint.read_bytes()
    cut = tmp_path / "best.pt"
    cut.write_bytes(whole[: int(len(whole) * share)])
    assert main(["export", str(cut), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"{cut}: a checkpoint cut short or damaged (a copy or download that did not finish?); copy it again" in err
    assert "Errno" not in err and "miniz" not in err, err


@pytest.mark.parametrize("name", ["weights.npz", "photos.zip"])
def test_export_of_a_whole_zip_that_is_no_checkpoint_is_not_said_to_be_cut_short(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NumPy's ``.npz`` or a zip of photos (a whole archive, no ``data.pkl``) given as the checkpoint was "a
    checkpoint cut short or damaged ...; copy it again": copying it again never helps."""
    pytest.importorskip("torch")  # export needs it (the light runtime's run says so first)
    given = tmp_path / name
    if name.endswith(".npz"):
        np.savez(given, weights=np.zeros(3))
    else:
        with zipfile.ZipFile(given, "w") as archive:
            archive.writestr("cat.jpg", b"not a real photo")
    assert main(["export", str(given), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"{given}: not a PyTorch checkpoint; name the best.pt" in err, err
    assert "cut short" not in err


def test_a_sibling_without_a_config_is_not_said_to_differ(
    tiny_onnx: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``cats.partial.onnx`` (a part copy) or an empty ``cats.new.onnx`` beside ``cats.onnx`` was "not a variant of
    cats.onnx (its config differs: other weights or settings)": it has no config at all."""
    model = tmp_path / "cats.onnx"
    model.write_bytes(tiny_onnx.read_bytes())
    (tmp_path / "cats.new.onnx").write_bytes(b"")
    (tmp_path / "cats.partial.onnx").write_bytes(tiny_onnx.read_bytes()[:3000])  # the config is at the end
    assert load_model(model).path == model
    for name in ("cats.new.onnx", "cats.partial.onnx"):
        assert f"{tmp_path / name}: holds no colorsplash config (an empty or part copy" in caplog.text, caplog.text
    assert "its config differs" not in caplog.text


def test_a_model_stamped_newer_than_onnx_runtime_says_to_upgrade_it(tiny_onnx: Path, tmp_path: Path) -> None:
    """A file from a newer exporter (IR version 99) said "not a loadable ONNX model (... failed:/onnxruntime_src/
    onnxruntime/core/graph/model.cc:256 onnxruntime::Model::Model(onnx::ModelProto&&, ...) Unsupported model IR
    version ...); re-export it": C++ source places on two lines, and a cure that is not one."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(tiny_onnx))
    model.ir_version = 99
    newer = tmp_path / "newer.onnx"
    onnx.save(model, str(newer))
    with pytest.raises(ModelLoadError) as err:
        load_model(newer)
    text = str(err.value)
    assert text.startswith(f"{newer}: made for a newer ONNX Runtime (") and "IR version: 99" in text, text
    assert text.endswith("upgrade it (pip install -U onnxruntime), or export the model again with this colorsplash")
    assert "onnxruntime_src" not in text and "\n" not in text and "re-export" not in text


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (lambda p: {k: v for k, v in p.items() if k != "model_config"}, "its model config is missing or not valid"),
        (lambda p: {**p, "model_config": {**p["model_config"], "arch": "unet-lite9"}}, "unknown arch 'unet-lite9'"),
        (lambda p: {**p, "state_dict": {}}, "its weights do not fit the network its config describes (Missing key"),
    ],
)
def test_export_of_a_checkpoint_with_a_damaged_record_names_the_file(
    edit: Callable[[dict[str, Any]], dict[str, Any]],
    said: str,
    tiny_checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``export`` of a checkpoint without its model config said only "'model_config'" (a KeyError); a bad config
    ("unknown arch ...") named no file; weights that do not fit printed PyTorch's page of missing keys."""
    torch = pytest.importorskip("torch")
    damaged = tmp_path / "best.pt"
    torch.save(edit(torch.load(tiny_checkpoint, weights_only=True)), damaged)
    assert main(["export", str(damaged), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"{damaged}: " in err and said in err and len(err) < 600, err
    assert not (tmp_path / "m.onnx").exists()


def test_evaluate_of_a_run_folder_names_its_checkpoint_not_an_export(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate --model runs/cats`` said "make a model with `colorsplash export runs/cats/best.pt -o model.onnx`":
    evaluate runs that checkpoint itself."""
    from helpers.layouts import make_seed_set

    make_seed_set(tmp_path / "cats", n=2)
    run = tmp_path / "runs" / "cats"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(tiny_checkpoint.read_bytes())
    assert main(["evaluate", str(tmp_path / "cats"), "--model", str(run), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{run}: is a folder, not a file; it holds training checkpoints: give one, e.g. {run / 'best.pt'}" in err
    assert "export" not in err, err
