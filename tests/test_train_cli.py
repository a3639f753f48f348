"""What ``colorsplash train`` records, refuses and says: the data set's name, flags --resume would ignore, an
interrupted run, --init of another shape or a missing file, the model's name and subject, the epoch bar in a log."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")

from helpers.train import (  # noqa: E402
    QUICK,
    TINY_UNET,
    _read_csv,
    cats_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, cats)
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_train_dot_names_the_folder_and_evaluate_warns_on_sets_it_did_not_train_on(
    cats: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Audit item 2: ``train .`` recorded the data set "" (and split by that name), and ``evaluate --split val`` on a
    renamed copy of the folder scored training photos as validation ones without a word."""
    import shutil

    from colorsplash.evaluation.datasets import discover, split_samples

    run = tmp_path / "run"
    monkeypatch.chdir(cats)
    assert main(["-q", "train", ".", *QUICK, "-o", str(run)]) == 0
    recorded = json.loads((run / "config.json").read_text())["data"]
    assert recorded["datasets"] == ["cats"]
    _, held_out = split_samples(discover(cats), 0.25, 0)  # "." splits as the folder under its own name
    assert recorded["val_names"] == [s.name for s in held_out]
    monkeypatch.chdir(tmp_path)
    shutil.copytree(cats, tmp_path / "my_cats")
    caplog.clear()
    assert main(["evaluate", str(cats), "--model", str(run / "best.pt"), "--split", "val", "-o", "ev1"]) == 0
    assert "not trained on" not in caplog.text
    assert main(["evaluate", "my_cats", "--model", str(run / "best.pt"), "--split", "val", "-o", "ev2"]) == 0
    assert "--split val: the model was not trained on data set(s) my_cats (it records cats)" in caplog.text


def test_resume_refuses_other_flags_and_data_instead_of_ignoring_them(
    cats: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit item 6: ``--resume RUN --epochs 41 DATA`` trained as saved and said nothing of the ignored flags."""
    run = tmp_path / "run"
    assert main(["train", "--resume", str(run), "--epochs", "41", "--aug-hflip", "-o", str(run), str(cats)]) == 2
    err = capsys.readouterr().err
    assert "own saved config" in err and "would be ignored" in err
    assert f"data folder(s) {cats}" in err and "--epochs" in err and "--aug-hflip" in err and "-o/--output" in err
    assert "--init" in err  # how to train a run further
    assert main(["train", "--help"]) == 0
    assert "own saved config" in " ".join(capsys.readouterr().out.split())


def test_interrupted_run_says_what_it_kept_and_resumes_from_another_folder(
    cats: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit items 7 and 8: a run recorded its data folders as typed, so --resume worked only from the folder it
    was started in; Ctrl-C said only "interrupted", not what was kept nor how to go on."""
    import shutil

    from colorsplash.training import trainer as trainer_module

    real_epoch, calls = trainer_module.train_epoch, []

    def second_epoch_interrupted(*args: object, **kwargs: object) -> float:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)  # type: ignore[arg-type]

    start = tmp_path / "start"
    shutil.copytree(cats, start / "cats")
    monkeypatch.chdir(start)
    monkeypatch.setattr(trainer_module, "train_epoch", second_epoch_interrupted)
    args = ["-q", "train", "cats", *TINY_UNET, "--size", "64", "--epochs", "2", "--batch-size", "4", "-o", "runs/r"]
    assert main([*args, "--val-fraction", "0.25"]) == 130
    err = capsys.readouterr().err
    assert "runs/r/last.pt keeps epoch 1 of 2" in err and "continue with: colorsplash train --resume runs/r" in err
    assert json.loads(Path("runs/r/config.json").read_text())["train"]["data"] == [os.path.join(os.getcwd(), "cats")]

    payload = read_checkpoint("runs/r/last.pt")  # as a run saved before paths were stored absolute, and before
    payload["train_config"].update(data=["cats"], out_dir="runs/r")  # wide photos were padded (no pad_aspect)
    del payload["model_config"]["pad_aspect"]
    torch.save(payload, "runs/r/last.pt")
    monkeypatch.setattr(trainer_module, "train_epoch", real_epoch)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    run = start / "runs" / "r"
    assert main(["-q", "train", "--resume", str(run)]) == 0
    assert [int(r["epoch"]) for r in _read_csv(run / "metrics.csv")] == [1, 2]
    assert read_checkpoint(run / "last.pt")["model_config"]["pad_aspect"] == 0  # stretched as it began, not padded
    assert f"model {run / 'best.pt'}" in capsys.readouterr().out


def test_resume_of_a_run_whose_data_folder_moved_says_how_to_go_on(tmp_path: Path) -> None:
    """``--resume RUN`` after its data folder was moved said only "DIR: data folder not found", and --resume takes
    no data folder: it says where the run reads it from, to put it back, or to start a run from last.pt."""
    from colorsplash.training.config import TrainConfig, resumed_config

    kept, gone = tmp_path / "cats", tmp_path / "dogs"
    kept.mkdir()
    saved = TrainConfig(data=(str(kept), str(gone)), out_dir=str(tmp_path / "run"))
    with pytest.raises(ValueError) as refused:
        resumed_config(saved, tmp_path / "run")
    message = str(refused.value)
    assert f"data folder(s) {gone}: not found" in message and str(kept) not in message
    assert f"--init {tmp_path / 'run' / 'last.pt'} -o NEW_RUN" in message
    assert resumed_config(dataclasses.replace(saved, data=(str(kept),)), tmp_path / "run").data == (str(kept),)


def test_init_from_a_network_of_another_shape_is_one_clear_line(
    cats: Path, tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit item 10: --init with another --unet-base printed PyTorch's 46-line size-mismatch dump."""
    args = [
        "-q",
        "train",
        str(cats),
        "--arch",
        "unet",
        "--size",
        "64",
        "--unet-depth",
        "2",
        "--init",
        str(tiny_checkpoint),
    ]
    assert main([*args, "--unet-base", "8", "--epochs", "1", "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert str(tiny_checkpoint) in err and "--unet-base 4 (this run: 8)" in err and "--unet-depth" not in err


def test_ctrl_c_after_the_last_epoch_says_every_epoch_is_kept() -> None:
    """Ctrl-C during the last reports said "the epoch in progress is lost" of a run whose epochs had all finished."""
    import types

    from colorsplash.cli.train import _kept

    done = types.SimpleNamespace(kept_epoch=5, cfg=types.SimpleNamespace(epochs=5))
    assert "holds all 5 epochs" in _kept("runs/r", done) and "lost" not in _kept("runs/r", done)  # type: ignore[arg-type]
    one = types.SimpleNamespace(kept_epoch=1, cfg=types.SimpleNamespace(epochs=1))
    assert "last.pt holds its one epoch;" in _kept("runs/r", one)  # type: ignore[arg-type]  # "holds all 1 epochs"
    midway = types.SimpleNamespace(kept_epoch=3, cfg=types.SimpleNamespace(epochs=5))
    assert "keeps epochs 1-3 of 5 (the epoch in progress is lost)" in _kept("runs/r", midway)  # type: ignore[arg-type]


def test_a_run_names_its_model_and_subject(tmp_path: Path) -> None:
    """Audit (custom subject): every model a user trained was 'colorsplash', finding 'subject' (serve's page and
    /api/health show both); only the pet presets could name theirs."""
    data = tmp_path / "data"
    make_seed_set(data, n=4, h=48, w=64)
    run = tmp_path / "run"
    flags = ["--size", "64", "--epochs", "1", "--max-steps", "1", "--name", "cars", "--subject", "red car"]
    assert main(["-q", "train", str(data), *TINY_UNET, *flags, "-o", str(run)]) == 0
    config = read_checkpoint(run / "best.pt")["model_config"]
    assert (config["name"], config["subject"]) == ("cars", "red car")


def test_the_epoch_bar_redraws_once_a_minute_into_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Audit (custom subject): the epoch bar's loss postfix redrew it after every batch, so a log (stderr not a
    terminal, where bars redraw once a minute: runtime.progress) got one frame per optimiser step."""
    data = tmp_path / "data"
    make_seed_set(data, n=10, h=48, w=64)
    flags = ["--size", "32", "--epochs", "1", "--batch-size", "2", "--val-fraction", "0.01", "--no-augment"]
    assert main(["train", str(data), *TINY_UNET, *flags, "-o", str(tmp_path / "run")]) == 0
    frames = capsys.readouterr().err.count("loss=")
    assert frames <= 1, f"{frames} redraws of the epoch bar in under a minute"


def test_resuming_a_finished_run_says_it_has_nothing_to_train(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit (custom subject): --resume on a finished run said 'resuming runs/x after epoch 2' and 'done', as if
    it had trained on; it trains nothing, and --init is the way to train further."""
    data = tmp_path / "data"
    make_seed_set(data, n=4, h=48, w=64)
    run = tmp_path / "run"
    assert main(["-q", "train", str(data), *TINY_UNET, "--size", "32", "--epochs", "1", "-o", str(run)]) == 0
    caplog.set_level(logging.INFO)
    # Nor does it read the data again or rewrite the run's files (it did both before saying so): the data folder
    # may be gone by now.
    shutil.rmtree(data)
    written = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    assert main(["train", "--resume", str(run)]) == 0
    assert "finished already (epoch 1 of 1): nothing to train" in caplog.text and "--init" in caplog.text
    assert f"resuming {run} after" not in caplog.text
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == written


def test_a_missing_starting_checkpoint_is_refused_before_the_data_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (docs): a stage preset run outside the repository read the whole data set, then failed with
    'models/pets-lite1.pt: checkpoint not found'; --init of a missing file likewise."""
    monkeypatch.chdir(tmp_path)
    unread = str(tmp_path / "no-such-data")  # read first, this would fail on the data folder instead
    assert main(["train", unread, "--preset", "pets-lite1-presence", "-o", str(tmp_path / "run")]) == 2
    said = capsys.readouterr().err
    assert "pets-lite1.pt: checkpoint not found: --preset pets-lite1-presence starts from" in said
    assert "--init PATH" in said
    assert main(["train", unread, *TINY_UNET, "--init", "gone.pt", "-o", str(tmp_path / "run")]) == 2
    assert "--init " in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_resume_of_a_missing_folder_or_of_a_checkpoint_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--resume runs/cats/last.pt`` (the file, not its folder) said "runs/cats/last.pt/last.pt: nothing to resume
    (no last.pt in runs/cats/last.pt)", and a mistyped folder "no last.pt in" a folder that is not there."""
    (tmp_path / "last.pt").write_bytes(b"")
    assert main(["train", "--resume", str(tmp_path / "last.pt")]) == 2
    err = capsys.readouterr().err
    assert f"--resume {tmp_path / 'last.pt'}: names a file; name its run folder: --resume {tmp_path}" in err
    assert main(["train", "--resume", str(tmp_path / "gone")]) == 2
    assert f"--resume {tmp_path / 'gone'}: no such folder" in capsys.readouterr().err


def test_a_missing_data_folder_is_the_only_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train nosuch`` printed the training precision ("precision: float32 (the CPU has no native bfloat16 ...)")
    before "nosuch: data folder not found"."""
    caplog.set_level(logging.INFO)
    assert main(["train", str(tmp_path / "nosuch"), *TINY_UNET, "-o", str(tmp_path / "run")]) == 2
    assert "data folder not found" in capsys.readouterr().err and "precision" not in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == []
