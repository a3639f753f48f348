"""A missing model file that the caller named (``--model``, ``load_model(path)``) was told "check the path or pass
--model": the path had been passed, and in Python there is no ``--model``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from colorsplash import ModelLoadError, load_model
from colorsplash.cli import main


def test_load_model_of_a_missing_file_does_not_suggest_a_flag(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as err:
        load_model(tmp_path / "gone.onnx")
    assert str(err.value).endswith("gone.onnx: model file not found; check the path"), err.value


def test_model_flag_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "a.png"
    Image.new("RGB", (8, 8)).save(photo)
    assert main(["splash", str(photo), "--model", str(tmp_path / "gone.onnx")]) == 2
    err = capsys.readouterr().err
    assert "gone.onnx: model file not found; check the path" in err and "pass --model" not in err, err


def test_a_folder_given_as_the_model_says_what_to_give_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``splash --model runs/cats`` (the training run's folder) said only "is a folder, not a file; check the path"."""
    from colorsplash.runtime.model.model_file import RUN_BEST
    from colorsplash.training.run_files import BEST, LAST

    assert RUN_BEST == BEST  # the runtime's copy of the name (it imports nothing of training)
    photo, run, models = tmp_path / "a.png", tmp_path / "run", tmp_path / "models"
    Image.new("RGB", (8, 8)).save(photo)
    for folder, names in ((run, [LAST, BEST, "curves.png"]), (models, ["cats.onnx", "notes.txt"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(b"x")
    assert main(["splash", str(photo), "--model", str(run)]) == 2
    said = f"{run}: is a folder, not a file; it holds training checkpoints: make a model with `colorsplash export"
    assert f"{said} {run / BEST} -o model.onnx`" in capsys.readouterr().err
    with pytest.raises(ModelLoadError, match="give a model file in it: .*cats.onnx$"):
        load_model(models)
    (models / "cats.onnx").unlink()
    with pytest.raises(ModelLoadError, match="is a folder, not a file; check the path$"):
        load_model(models)


@pytest.mark.parametrize("verb", [["splash", "a.png"], ["mask", "a.png"], ["evaluate", "data"], ["serve"]])
def test_an_empty_model_flag_is_named_as_empty(
    verb: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--model ""`` (an unset shell variable, ``--model "$MODEL"``) said ": is a folder, not a file": the empty
    name was read as the current folder. It says the option got an empty name and what to give."""
    assert main([*verb, "--model", ""]) == 2
    err = capsys.readouterr().err
    assert "argument --model: got an empty name; name a model file, or leave --model out" in err, err
    assert "folder" not in err


def test_load_model_of_an_empty_path_says_it_is_empty() -> None:
    with pytest.raises(ModelLoadError, match=r"^the model path is empty; name an exported \.onnx file") as err:
        load_model("")
    assert "folder" not in str(err.value)


def test_an_empty_checkpoint_is_named_as_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (leftfix): ``export "" -o x.onnx`` (``export "$CKPT"`` with the variable unset) said ".: is a folder,
    not a checkpoint": the empty name was read as the current folder, as ``--model ""`` was."""
    assert main(["export", "", "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "argument CHECKPOINT: got an empty name; name a .pt checkpoint" in err, err
    assert "folder, not" not in err and not list(tmp_path.iterdir())


def test_read_checkpoint_of_an_empty_path_says_it_is_empty() -> None:
    pytest.importorskip("torch")
    from colorsplash.training.checkpoint import read_checkpoint

    with pytest.raises(FileNotFoundError, match=r"^the checkpoint path is empty; name a checkpoint file") as err:
        read_checkpoint("")
    assert "folder, not" not in str(err.value)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["train", "{data}", "--init", "", "--arch", "unet", "--size", "64", "-o", "{out}"], "--init"),
        (["train", "--resume", ""], "--resume"),
        (["export", "{ckpt}", "-o", "{out}.onnx", "--metrics", ""], "--metrics"),
    ],
)
def test_every_file_option_refuses_an_empty_name(
    argv: list[str], option: str, tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only ``--model ""`` was refused: ``train --init ""`` (``--init "$CKPT"`` with the variable unset) trained
    from ImageNet weights without a word, ``train --resume ""`` started a new run, ``export --metrics ""`` embedded
    no scores. Each file option refuses an empty name, as ``--model`` does (``flags.non_empty_name``)."""
    from helpers.layouts import make_seed_set

    make_seed_set(tmp_path / "data")
    paths = {"data": str(tmp_path / "data"), "out": str(tmp_path / "out"), "ckpt": str(tiny_checkpoint)}
    assert main([arg.format(**paths) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: got an empty name; " in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_the_python_api_refuses_an_empty_init_checkpoint() -> None:
    """``TrainConfig(init_from="")`` (the CLI's ``--init ""`` is refused) trained from ImageNet weights silently."""
    from colorsplash.training.config import TrainConfig

    with pytest.raises(ValueError, match=r"^init_from is an empty path; give a checkpoint file, or None"):
        TrainConfig(init_from="")
    assert TrainConfig(init_from=None).init_from is None


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["train", "{data}", "--negatives", "", "--arch", "unet", "--size", "64", "-o", "{out}"], "--negatives"),
        (["train", "", "--arch", "unet", "--size", "64", "-o", "{out}"], "DATA"),
        (["evaluate", "{data}", "--negatives", ""], "--negatives"),
        (["evaluate", ""], "DATA"),
    ],
)
def test_data_and_negatives_folders_refuse_an_empty_name(
    argv: list[str],
    option: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review (review2): ``train DATA --negatives ""`` (``--negatives "$NEG"`` with the variable unset) took the
    current folder, trained its photos as "no subject" photos; ``train ""`` and ``evaluate ""`` read the current
    folder as the data set. Refused as every file option's empty name (``flags.non_empty_name``)."""
    from helpers.layouts import make_seed_set

    make_seed_set(tmp_path / "data")
    here = tmp_path / "here"
    here.mkdir()
    Image.new("RGB", (40, 30)).save(here / "holiday.jpg")  # the current folder's photo, never to be trained on
    monkeypatch.chdir(here)
    paths = {"data": str(tmp_path / "data"), "out": str(tmp_path / "out")}
    assert main([arg.format(**paths) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: got an empty name; " in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "here"]


def test_the_python_api_refuses_empty_data_and_negatives_folders() -> None:
    """``TrainConfig(data=("",))``, ``TrainConfig(negatives=("",))``: the current folder, as the CLI's were."""
    from colorsplash.training.config import TrainConfig

    with pytest.raises(ValueError, match=r"^data holds an empty path; "):
        TrainConfig(data=("",))
    with pytest.raises(ValueError, match=r"^negatives holds an empty path; "):
        TrainConfig(data=("d",), negatives=("",))


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_an_empty_input_name_is_refused_not_the_current_folder(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (review2): ``colorsplash splash ""`` (``splash "$PHOTO"`` with the variable unset) splashed every photo
    of the current folder, writing a file beside each; ``mask ""`` the same. Refused as every file option's empty
    name; ``.`` still names the current folder."""
    Image.new("RGB", (40, 30)).save(tmp_path / "holiday.jpg")
    monkeypatch.chdir(tmp_path)
    assert main([verb, ""]) == 2
    err = capsys.readouterr().err
    assert "argument INPUT: got an empty name; " in err and "(. for the current one)" in err, err
    assert [p.name for p in tmp_path.iterdir()] == ["holiday.jpg"]


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["splash", "{photo}", "-o", ""], "-o/--output"),
        (["mask", "{photo}", "-o", ""], "-o/--output"),
        (["video", "", "-o", "{out}.mp4"], "INPUT"),
        (["video", "{photo}", "-o", ""], "-o/--output"),
    ],
)
def test_splash_mask_and_video_refuse_an_empty_file_name(
    argv: list[str],
    option: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Review (review2): ``splash PHOTO -o ""`` (``-o "$OUT"`` unset) wrote into the current folder, as ``-o .``;
    ``video "" -o OUT`` said ": is a folder, not a file". Each refuses the empty name, as every file option."""
    shots, here = tmp_path / "shots", tmp_path / "here"
    shots.mkdir()
    here.mkdir()
    Image.new("RGB", (40, 30)).save(shots / "holiday.jpg")
    monkeypatch.chdir(here)
    paths = {"photo": str(shots / "holiday.jpg"), "out": str(tmp_path / "out")}
    assert main([arg.format(**paths) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: got an empty name; " in err, err
    assert not list(here.iterdir()) and [p.name for p in shots.iterdir()] == ["holiday.jpg"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["evaluate", "{data}", "-o", ""], "argument -o/--output: got an empty name; "),
        (["train", "{data}", "--arch", "unet", "--size", "64", "-o", ""], "argument -o/--output: got an empty name; "),
    ],
)
def test_evaluate_and_train_refuse_an_empty_output_folder(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (review2): ``evaluate DATA -o ""`` (``-o "$OUT"`` unset) wrote its report to the default folder as if
    -o were not given, and ``train DATA -o ""`` made the current folder its run folder (``TrainConfig(out_dir="")``
    too): each refuses the empty name, before any work."""
    from helpers.layouts import make_seed_set

    make_seed_set(tmp_path / "data")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main([arg.format(data=str(tmp_path / "data")) for arg in argv]) == 2
    assert said in capsys.readouterr().err
    assert not list(here.iterdir())


@pytest.mark.parametrize("verb", [["splash", "a.png"], ["evaluate", "data"]])
def test_a_picture_given_as_the_model_is_named_as_a_picture(
    verb: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--model photo.jpg`` (the photo and the model swapped, a tab-completion slip) said "not a loadable ONNX
    model (wire type 7); re-export it with colorsplash export": protobuf's words, and advice for a model. It says the
    file is a JPEG picture, not a model."""
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (8, 8)).save("a.png")
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "masks").mkdir()
    Image.new("RGB", (8, 8)).save("photo.jpg")
    assert main([*verb, "--model", "photo.jpg"]) == 2
    err = capsys.readouterr().err
    assert "photo.jpg: a JPEG picture, not a model" in err and "wire type" not in err and "re-export" not in err, err
