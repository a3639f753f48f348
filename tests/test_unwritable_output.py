"""An output folder where no file can be made (a read-only mount, no permission) is refused when the run is
planned, naming the folder and what to do: ``mask`` and ``splash`` ran the model on every photo and then failed each
one ("cannot write X: Read-only file system", no advice), ``evaluate`` scored every photo first. The refusal is made
for every user, root included, by denying the folder where the system would (``os.access``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.layouts import make_paired_set
from helpers.splash_cli import blob_file

from colorsplash.cli import main
from colorsplash.runtime import files
from colorsplash.runtime.model.onnx_model import Model


def deny_writes_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.access`` says no file can be made in ``folder``, as permissions would for a user other than root."""
    real = os.access

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if Path(path) == folder and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def count_model_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []

    def predict(self: Model, image: np.ndarray) -> np.ndarray:
        runs.append(1)
        return np.zeros((8, 8), np.float32)

    monkeypatch.setattr(Model, "predict_lowres", predict)
    return runs


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_the_folder_or_the_one_it_would_be_made_in_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert files.unwritable_folder(tmp_path / "new" / "deeper") is None
    deny_writes_in(tmp_path.resolve(), monkeypatch)
    assert files.unwritable_folder(tmp_path / "new" / "deeper") == f"no permission to write in {tmp_path.resolve()}"
    (tmp_path / "file").write_text("in the way")
    # a file where a folder would be made: named (it was left to the write, which said "File exists")
    assert (
        files.unwritable_folder(tmp_path / "file" / "sub") == f"{tmp_path.resolve() / 'file'} is a file, not a folder"
    )
    (tmp_path / "to-file").symlink_to("file")
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "one").symlink_to("two")
    (tmp_path / "two").symlink_to("one")
    here = tmp_path.resolve()
    said = {name: files.unwritable_folder(tmp_path / name / "sub") for name in ("to-file", "dangling", "one")}
    assert said == {  # each said as what it is, not as "a file"
        "to-file": f"{here / 'to-file'} is a symbolic link to a file, not a folder",
        "dangling": f"{here / 'dangling'} is a symbolic link to nowhere, which does not exist",
        "one": f"{here / 'one'} is {files.LINK_LOOP}",  # the one wording of a loop
    }


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
@pytest.mark.parametrize("out", ["taken/x.jpg", "taken/sub/"])
def test_a_file_where_the_output_folder_would_be_is_named_before_the_model_runs(
    out: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o taken/x.jpg`` with ``taken`` a file ran the model, then said "cannot write taken/x.jpg: File exists".
    ``-o`` is where nothing can be made: the run is refused once (exit status 2)."""
    blob_file(tmp_path / "a.png", 0)
    (tmp_path / "taken").write_text("a file of the user's")
    runs = count_model_runs(monkeypatch)
    code = main(["-q", "splash", str(tmp_path / "a.png"), "-o", str(tmp_path / out), "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 2 and not runs, err
    assert f"({tmp_path.resolve() / 'taken'} is a file, not a folder); choose another place with -o" in err, err
    assert (tmp_path / "taken").read_text() == "a file of the user's"


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
@pytest.mark.parametrize("verb", ["mask", "splash"])
def test_a_folder_that_cannot_be_written_is_refused_once_before_the_model_runs(
    verb: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three photos into a read-only ``-o`` gave three lines saying the same of the same folder and "failed 3":
    the run is refused once, as other refusals made before any photo (exit status 2)."""
    for i in range(3):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    out.mkdir()
    deny_writes_in(out.resolve(), monkeypatch)
    runs = count_model_runs(monkeypatch)
    assert main(["-q", verb, str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and not runs, err
    assert f"-o {out}: cannot write the results there (no permission to write in {out.resolve()}); " in err
    assert "choose another place with -o" in err and list(out.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_one_output_file_in_a_folder_that_cannot_be_written_is_refused(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "in" / "p0.png", 0)
    out = tmp_path / "out"
    out.mkdir()
    deny_writes_in(out.resolve(), monkeypatch)
    assert (
        main(["-q", "mask", str(tmp_path / "in" / "p0.png"), "-o", str(out / "m.png"), "--model", str(tiny_onnx)]) == 2
    )
    err = capsys.readouterr().err
    assert f"-o {out / 'm.png'}: cannot write it (no permission to write in {out.resolve()})" in err, err


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_outputs_beside_photos_in_a_read_only_folder_stay_one_line_each(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``-o`` each result goes beside its photo: folders that may differ, so each photo says its own."""
    for i in range(2):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    deny_writes_in((tmp_path / "in").resolve(), monkeypatch)
    assert main(["-q", "mask", str(tmp_path / "in"), "--model", str(tiny_onnx)]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "cannot write its output" in line]
    assert len(lines) == 2


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_skip_existing_still_skips_what_a_read_only_folder_already_holds(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "in" / "p0.png", 0)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p0.png").write_bytes(b"an earlier mask")
    deny_writes_in(out.resolve(), monkeypatch)
    args = ["mask", str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx), "--skip-existing"]
    assert main(args) == 0
    assert "done 0, skipped 1, failed 0" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_evaluate_refuses_a_report_folder_that_cannot_be_written_before_scoring(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_paired_set(tmp_path / "pairs", n=2)
    deny_writes_in(tmp_path.resolve(), monkeypatch)
    runs = count_model_runs(monkeypatch)
    report = tmp_path / "report"
    assert main(["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"{report}: cannot write the report there (no permission to write in {tmp_path.resolve()})" in err
    assert "choose another report folder with -o" in err and not runs and not report.exists()


def _not_let_into(locked: Path, real: Any) -> Any:
    """``os.stat`` or ``os.lstat`` answering as the system does a user who may not search ``locked``."""

    def look(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if Path(path) != locked and locked in Path(path).parents:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[no-any-return]

    return look


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
def test_a_folder_that_cannot_be_looked_into_is_named_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-o locked/sub/out`` where ``locked`` may not be searched (mode 700, another owner): looking at ``sub``
    fails with EACCES. The check raised that PermissionError out of the planning, ending the whole run in a bare
    "[Errno 13] Permission denied"; it names ``locked``, where no file can be made."""
    locked = (tmp_path / "locked").resolve()
    (locked / "sub").mkdir(parents=True)
    for name in ("stat", "lstat"):
        monkeypatch.setattr(os, name, _not_let_into(locked, getattr(os, name)))
    deny_writes_in(locked, monkeypatch)
    assert files.unwritable_folder(locked / "sub" / "out") == f"no permission to write in {locked}"


def _not_let_through(locked: Path, link: Path, real: Any, follows: bool) -> Any:
    """``os.stat`` (``follows``) or ``os.lstat`` answering as the system does a user who may not search ``locked``,
    where ``link`` is a symbolic link to a folder in it: only the link itself can be looked at."""

    def look(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        where = Path(path)
        through = link in where.parents or (where == link and follows and kwargs.get("follow_symlinks", True))
        if (where != locked and locked in where.parents) or through:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)  # type: ignore[no-any-return]

    return look


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
@pytest.mark.parametrize("below", ["", "report"])
def test_evaluate_names_a_report_folder_linked_into_one_that_cannot_be_searched(
    below: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o link`` (or ``-o link/report``), ``link`` a symbolic link to ``locked/sub`` where ``locked`` may not be
    searched (mode 000, another user's): ``-o link`` ended on the raw "[Errno 13] Permission denied: 'link'" from
    the report folder's check, and ``-o link/report`` scored every photo before failing on writing the report. Both
    are refused before scoring, naming ``locked`` and saying to choose another folder."""
    make_paired_set(tmp_path / "pairs", n=2)
    locked = (tmp_path / "locked").resolve()
    (locked / "sub").mkdir(parents=True)
    link = tmp_path.resolve() / "link"
    link.symlink_to(locked / "sub")
    monkeypatch.setattr(os, "stat", _not_let_through(locked, link, os.stat, True))
    monkeypatch.setattr(os, "lstat", _not_let_through(locked, link, os.lstat, False))
    deny_writes_in(locked, monkeypatch)
    runs = count_model_runs(monkeypatch)
    report = link / below if below else link
    assert main(["evaluate", str(tmp_path / "pairs"), "--model", str(tiny_onnx), "-o", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"{report}: cannot write the report there (no permission to write in {locked})" in err, err
    assert "choose another report folder with -o" in err and "Errno" not in err and not runs


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
@pytest.mark.parametrize("verb", ["mask", "splash"])
def test_an_output_folder_under_one_that_cannot_be_searched_is_named_not_raised(
    verb: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o locked/sub/out`` where ``locked`` may not be searched: the check of ``-o`` (folder or picture file?)
    asked ``Path.is_dir``, which raises there, and the run ended on "[Errno 13] Permission denied: '.../out'"
    before the planner's own check could name ``locked``."""
    blob_file(tmp_path / "in" / "p0.png", 0)
    locked = (tmp_path / "locked").resolve()
    (locked / "sub").mkdir(parents=True)
    for name in ("stat", "lstat"):
        monkeypatch.setattr(os, name, _not_let_into(locked, getattr(os, name)))
    deny_writes_in(locked, monkeypatch)
    runs = count_model_runs(monkeypatch)
    out = locked / "sub" / "out"
    assert main(["-q", verb, str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert f"(no permission to write in {locked}); choose another place with -o" in err, err
    assert "Errno" not in err and not runs


@pytest.mark.skipif(os.name != "posix", reason="the check is POSIX only")
@pytest.mark.parametrize("verb", ["export", "train"])
def test_export_and_train_name_a_file_where_their_output_folder_would_be(
    verb: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export CKPT -o taken/x.onnx`` with ``taken`` a file converted the model, then said the system's
    "[Errno 17] File exists: 'taken'"; ``train -o taken/run`` said "cannot write in this run folder (Not a
    directory)". Both name the file in the way, as splash, mask and evaluate do (files.unwritable_folder)."""
    pytest.importorskip("torch")
    (tmp_path / "taken").write_text("in the way")
    make_paired_set(tmp_path / "set", n=2)
    out = tmp_path / "taken" / ("x.onnx" if verb == "export" else "run")
    source = str(tiny_onnx.with_suffix(".pt")) if verb == "export" else str(tmp_path / "set")
    assert main(["-q", verb, source, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Errno" not in err, err
    assert f"{tmp_path.resolve() / 'taken'} is a file, not a folder" in err and "-o" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set", "taken"]
