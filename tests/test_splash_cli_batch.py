"""``colorsplash splash`` and ``colorsplash mask`` on many files: finding and planning inputs, resuming
(--skip-existing), one line per bad file while the batch goes on, and the memory budget."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import pytest
from helpers.hostile import write_corpus
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.batch import MemoryBudget, Outcome, PhotoJob, Task, run_batch
from colorsplash.runtime.model.onnx_model import Model, load_model
from colorsplash.runtime.pictures.photo_io import cost_limit
from colorsplash.runtime.planning import OutputPlan, expand_inputs, plan_tasks


def test_skip_existing_resumes_and_results_are_not_inputs(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.png", 1)
    assert run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))[0] == 0
    before = (tmp_path / "a.splash.png").stat().st_mtime_ns
    code = main(["splash", str(tmp_path), "--skip-existing", "--model", str(tiny_onnx)])
    err = capsys.readouterr().err
    assert code == 0 and "done 1, skipped 1, failed 0" in err  # a.splash.png itself is not taken as an input
    assert (tmp_path / "a.splash.png").stat().st_mtime_ns == before and (tmp_path / "b.splash.png").is_file()


def test_bad_corpus_one_line_each_and_batch_goes_on(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = write_corpus(tmp_path / "c")
    blob_file(tmp_path / "c" / "good.png", 0)
    out = tmp_path / "out"
    code, err = run(capsys, "splash", str(tmp_path / "c"), "-o", str(out), "--model", str(tiny_onnx))
    assert code == 1 and "Traceback" not in err
    lines = err.splitlines()
    for name, kind in expected.items():
        stem, ext = name.rsplit(".", 1)
        written = list(out.glob(f"{stem}.splash.*"))
        if kind == "error":
            assert sum(name in line for line in lines) == 1, name
            assert not written, name
        else:
            assert len(written) == 1, name
    assert any("anim.gif" in line and "first frame" in line for line in lines)
    assert (out / "good.splash.png").is_file()
    assert "failed 6" in err


def test_memory_budget_keeps_two_costly_pictures_apart() -> None:
    """Issue 16 item 9: pictures whose decode costs add up to more than the budget never decode at once; one above
    the whole budget still runs, alone. (The waits are on the budget itself: a broken one lets a job in at once.)"""
    import threading

    from colorsplash.runtime.batch import MemoryBudget

    budget = MemoryBudget(100)

    def start(cost: int) -> threading.Event:
        admitted = threading.Event()
        threading.Thread(target=lambda: (budget.acquire(cost), admitted.set()), daemon=True).start()
        return admitted

    budget.acquire(60)
    second = start(60)
    assert not second.wait(0.3)  # 60 + 60 > 100: waits while the first is held
    budget.acquire(30)  # fits beside it
    assert budget.used == 90
    budget.release(30)
    assert not second.wait(0.1)  # still 60 + 60
    budget.release(60)
    assert second.wait(10) and budget.used == 60  # admitted once the first is gone
    big = start(150)
    assert not big.wait(0.3)  # above the whole budget: waits for nothing else to be held
    budget.release(60)
    assert big.wait(10) and budget.used == 150  # then runs, alone
    budget.release(150)
    assert budget.used == 0


def test_a_folder_rerun_says_it_left_out_earlier_results(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Earlier results are not splashed again, but not silently: a photo of the user's may be named that way."""
    import logging

    blob_file(tmp_path / "a.jpg", 0)
    blob_file(tmp_path / "mine.splash.jpg", 1)  # the user's own photo, named like a result
    (tmp_path / ".colorsplash-b.splash.0123abcd.part.jpg").write_bytes(b"half")  # a killed run's: said, kept
    with caplog.at_level(logging.INFO):
        assert main(["splash", str(tmp_path), "--model", str(tiny_onnx)]) == 0
    partial = [r.getMessage() for r in caplog.records if "interrupted run" in r.getMessage()]
    assert len(partial) == 1 and ".colorsplash-b.splash.0123abcd.part.jpg" in partial[0]
    assert (tmp_path / ".colorsplash-b.splash.0123abcd.part.jpg").read_bytes() == b"half"
    said = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert said == [
        f"{tmp_path}: left out 1 picture(s) named like earlier results (*.splash.*, *.mask.*); name one to include it"
    ]
    assert not (tmp_path / "mine.splash.splash.jpg").exists()
    assert main(["-q", "splash", str(tmp_path / "mine.splash.jpg"), "--model", str(tiny_onnx)]) == 0  # named: done
    assert (tmp_path / "mine.splash.splash.jpg").is_file()


@pytest.mark.parametrize("verb", ["mask", "splash"])
def test_skip_existing_with_every_output_there_loads_no_model(
    verb: str, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every output already there: the run loaded the model (seconds of start-up) to skip every photo, and a
    model file no photo needed could still refuse the run. It says so and loads none; one missing output loads it."""
    for i in range(2):
        blob_file(tmp_path / "in" / f"p{i}.png", i)
    out = tmp_path / "out"
    assert main(["-q", verb, str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx)]) == 0
    capsys.readouterr()
    loads: list[object] = []

    def refused(*args: object, **kwargs: object) -> Model:
        loads.append(args)
        raise ValueError("the model was loaded")

    monkeypatch.setattr("colorsplash.runtime.model.onnx_model.load_model", refused)
    args = [verb, str(tmp_path / "in"), "-o", str(out), "--model", str(tiny_onnx), "--skip-existing"]
    assert main(args) == 0 and not loads
    err = capsys.readouterr().err
    assert "every output is there already (--skip-existing); the model was not loaded" in err
    assert "2 file(s): done 0, skipped 2, failed 0" in err
    next(out.iterdir()).unlink()
    assert main(args) == 2 and len(loads) == 1  # one photo to make: the model is loaded (here, refused)


def test_skip_existing_skips_an_output_another_run_made_meanwhile(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs resuming one folder at once: the one that loses the race failed dozens of files (audit)."""
    from colorsplash.runtime import batch

    blob_file(tmp_path / "a.jpg", 0)
    real = batch.write_image

    def raced(path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"the other run's result")  # lands between planning and this write
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "write_image", raced)
    code = main(["splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "--skip-existing"])
    err = capsys.readouterr().err
    assert code == 0 and "made meanwhile by another run" in err and "skipped 1" in err
    assert (tmp_path / "a.splash.jpg").read_bytes() == b"the other run's result"


def test_an_output_another_run_made_since_planning_fails_before_the_model_runs(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one folder at once without --skip-existing: the one that lost the race ran the model on every
    photo, then failed each at its write (the other run's files are kept either way)."""
    from colorsplash.runtime import batch

    for i in range(2):
        blob_file(tmp_path / f"p{i}.jpg", i)
    real, ran = batch.plan_tasks, []

    def raced(*args: Any, **kwargs: Any) -> Any:
        tasks, errors = real(*args, **kwargs)
        for task in tasks:  # the other run writes them just after this one planned
            Path(task.output).write_bytes(b"the other run's result")
        return tasks, errors

    monkeypatch.setattr(batch, "plan_tasks", raced)
    monkeypatch.setattr(batch, "model_presence", lambda *a: ran.append(1))
    code = main(["splash", str(tmp_path), "--model", str(tiny_onnx), "-j", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "2 file(s): done 0, skipped 0, failed 2" in err and not ran
    assert err.count("already exists and was not made by this run; not replaced") == 2
    # One line in the run's words, as the write's own refusal is: it read "p0.jpg: [Errno 17] cannot write ..."
    said = f"{tmp_path / 'p0.jpg'}: cannot write {tmp_path / 'p0.splash.jpg'}: it already exists and was not made"
    assert f"{said} by this run; not replaced" in err.splitlines() and "[Errno" not in err
    assert (tmp_path / "p0.splash.jpg").read_bytes() == b"the other run's result"


def test_running_out_of_memory_is_one_line_with_advice(tmp_path: Path) -> None:
    from concurrent.futures import Future

    from colorsplash.runtime import batch_report
    from colorsplash.runtime.planning import Task

    failed: Future[batch_report.Outcome] = Future()
    failed.set_exception(MemoryError())
    outcome = batch_report.outcome_of(failed, Task(tmp_path / "big.png", tmp_path / "big.splash.png"), debug=False)
    assert outcome.status == "failed"
    assert outcome.messages == [
        f"{tmp_path / 'big.png'}: not enough memory for this picture; run it alone (-j 1) or lower --max-pixels"
    ]


def test_skip_existing_still_fails_an_output_folder_blocked_by_a_file(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mkdir reports a file in the output folder's place as FileExistsError too: that is a failure, not a skip."""
    blob_file(tmp_path / "in" / "sub" / "a.jpg", 0)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").write_bytes(b"a file where the folder goes")
    code, err = run(
        capsys,
        "splash",
        str(tmp_path / "in"),
        "-r",
        "-o",
        str(tmp_path / "out"),
        "--model",
        str(tiny_onnx),
        "--skip-existing",
    )
    assert code == 1 and "failed 1" in err and "made meanwhile" not in err


def test_folder_scans_leave_out_earlier_masks_and_the_output_folder(tmp_path: Path) -> None:
    for name in ("cat.png", "cat.mask.png", "cat.splash.png", "out/cat.png", "out/deeper/dog.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    found, errors = expand_inputs([str(tmp_path)], recursive=True, exclude=tmp_path / "out")
    assert [f.relative_to(tmp_path).as_posix() for f, _ in found] == ["cat.png"] and errors == []


def test_a_file_named_twice_is_planned_once_and_an_empty_pattern_is_an_error(tmp_path: Path) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    found, errors = expand_inputs([str(tmp_path), str(tmp_path / "*.png"), str(tmp_path / "a.png")])
    assert [f.name for f, _ in found] == ["a.png"] and errors == []
    found, errors = expand_inputs([str(tmp_path / "*.jpg")])
    assert found == [] and errors == [f"{tmp_path / '*.jpg'}: no picture matches this pattern"]


def test_a_pattern_says_what_it_left_out_as_a_folder_does(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A pattern left out earlier results and clips without a word, and one that matched only results said "no
    picture matches this pattern", though pictures did: a photo of the user's may be named like a result."""
    import logging

    for name in ("a.jpg", "a.splash.jpg", "mine.mask.jpg"):
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    (tmp_path / "IMG_1.MOV").write_bytes(b"clip")
    with caplog.at_level(logging.INFO):
        found, errors = expand_inputs([str(tmp_path / "*")])
    assert [f.name for f, _ in found] == ["a.jpg"] and errors == []
    where = tmp_path / "*"
    assert caplog.messages == [
        f"{where}: left out 2 picture(s) named like earlier results (*.splash.*, *.mask.*); name one to include it",
        f"{where}: left out 1 video(s), not photos (IMG_1.MOV); `colorsplash video FILE` splashes a video",
    ]
    found, errors = expand_inputs([str(tmp_path / "*.splash.jpg")])
    assert found == [] and errors == [
        f"{tmp_path / '*.splash.jpg'}: matches only earlier results (*.splash.*, *.mask.*), which are left out; "
        "name one to include it"
    ]


def test_names_of_a_file_already_in_the_run_are_said_in_one_line(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder of symbolic links to one photo gave one result and said nothing (soak): the rule stays (each file
    is done once), and the names left out are said, each with the name it is done under."""
    blob_file(tmp_path / "a.jpg", 0)
    for name in ("b.jpg", "c.jpg"):
        (tmp_path / name).symlink_to(tmp_path / "a.jpg")
    with caplog.at_level("INFO"):
        assert main(["splash", str(tmp_path), str(tmp_path / "a.jpg"), "--model", str(tiny_onnx)]) == 0
    said = [r.getMessage() for r in caplog.records if "already in this run" in r.getMessage()]
    a, b, c = (tmp_path / n for n in ("a.jpg", "b.jpg", "c.jpg"))
    assert said == [
        f"left out 3 name(s) of a file already in this run (each file is done once): {b} (= {a}), {c} (= {a}), "
        f"{a} (named twice)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if ".splash." in p.name) == ["a.splash.jpg"]


class NoModel:
    """A model that must not be run."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the model was used ({name})")


def test_skip_existing_skips_before_reading_the_photo(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "a.splash.png").write_bytes(b"mine")
    job = PhotoJob(cast(Model, NoModel()), skip_existing=True)
    outcome = job(Task(tmp_path / "a.png", tmp_path / "a.splash.png", "PNG", "PNG"))
    assert outcome.status == "skipped" and outcome.messages == []
    assert (tmp_path / "a.splash.png").read_bytes() == b"mine"


def test_a_photo_whose_format_changed_since_planning_fails(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    job = PhotoJob(cast(Model, NoModel()))
    with pytest.raises(ValueError, match="a.png: its content changed while this ran"):
        job(Task(tmp_path / "a.png", tmp_path / "a.splash.jpg", "JPEG", "JPEG"))
    assert not (tmp_path / "a.splash.jpg").exists()


def test_a_photo_removed_since_planning_is_one_line_not_errno_text(tmp_path: Path) -> None:
    """A photo deleted (or replaced by a folder) while the batch ran said "[Errno 2] No such file or directory:
    'a.png'", Python's text, not naming what happened in the run's words."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    tasks, errors = plan_tasks(expand_inputs([str(tmp_path / "a.png")])[0], OutputPlan())
    assert len(tasks) == 1 and errors == []
    (tmp_path / "a.png").unlink()
    said: list[str] = []
    summary = run_batch(tasks, PhotoJob(cast(Model, NoModel())), 1, False, report=said.append)
    assert summary.failed == 1 and said == [f"{tmp_path / 'a.png'}: no such file"]
    (tmp_path / "a.png").mkdir()
    said.clear()
    run_batch(tasks, PhotoJob(cast(Model, NoModel())), 1, False, report=said.append)
    assert said == [f"{tmp_path / 'a.png'}: is a folder, not a file"]
    assert not (tmp_path / "a.splash.png").exists()


def test_partial_results_left_in_the_output_folder_are_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run killed while writing into -o DIR left its hidden partial file there, and no later run named it: only
    an input folder's scan did. Each folder's are named once (-o . of the photos' own folder too)."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".colorsplash-a.splash.0123abcd.part.png").write_bytes(b"cut")
    (tmp_path / ".colorsplash-b.splash.4567cdef.part.png").write_bytes(b"cut")
    for inputs, out, names in (
        ([tmp_path / "a.png"], tmp_path / "out", [".colorsplash-a.splash.0123abcd.part.png"]),
        ([tmp_path], tmp_path, [".colorsplash-b.splash.4567cdef.part.png"]),
    ):
        caplog.clear()
        with caplog.at_level("INFO"):
            tasks, errors = plan_tasks(expand_inputs([str(i) for i in inputs])[0], OutputPlan(out))
        said = [r.getMessage() for r in caplog.records if "partial result(s)" in r.getMessage()]
        assert len(tasks) == 1 and errors == [] and len(said) == 1 and said[0].startswith(f"{out}: "), said
        assert said[0].endswith(": " + ", ".join(names))
    assert (tmp_path / "out" / ".colorsplash-a.splash.0123abcd.part.png").read_bytes() == b"cut"


def test_the_memory_budget_is_all_given_back_after_a_batch(tmp_path: Path, tiny_onnx: Path) -> None:
    """Photos hold their decode cost in the budget from decoding to writing; a cost never given back (a photo
    done, or one that failed to decode) would make later photos wait for good."""
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / name)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:-2000])  # the header reads, the pixels do not
    tasks, errors = plan_tasks(expand_inputs([str(tmp_path)])[0], OutputPlan())
    assert len(tasks) == 4 and errors == []
    budget = MemoryBudget(10**9)
    job = PhotoJob(load_model(tiny_onnx), budget=budget)
    summary = run_batch(tasks, job, jobs=2, progress=False, report=lambda text: None)
    assert (summary.done, summary.failed) == (3, 1) and budget.used == 0


@pytest.mark.parametrize(
    "error, line",
    [
        (KeyError("x"), "unexpected KeyError: 'x' (--debug shows the traceback)"),
        (cv2.error("Insufficient memory to allocate"), "not enough memory for this picture; run it alone"),
    ],
)
def test_a_files_unexpected_error_is_one_line_naming_it(tmp_path: Path, error: Exception, line: str) -> None:
    def work(task: Task) -> Outcome:
        raise error

    said: list[str] = []
    summary = run_batch([Task(tmp_path / "a.png", tmp_path / "a.splash.png")], work, 1, False, report=said.append)
    assert summary.failed == 1 and len(said) == 1
    assert said[0].startswith(f"{tmp_path / 'a.png'}: {line}")


def test_a_batch_budgets_for_one_picture_at_its_pixel_limit() -> None:
    """Two pictures at the limit must never decode at once: the default budget is what one of them costs."""
    budget = PhotoJob(cast(Model, NoModel()), max_pixels=10**6).budget
    assert budget is not None and budget.limit == cost_limit(10**6)


def test_a_link_to_a_folder_that_recursive_does_not_follow_is_said(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """``photos/2019``, a link to a folder elsewhere, under ``-r``: its photos were left out without a word."""
    elsewhere, photos = tmp_path / "disk" / "2019", tmp_path / "photos"
    elsewhere.mkdir(parents=True)
    (photos / "2020").mkdir(parents=True)
    blob_file(elsewhere / "a.jpg", 0)
    blob_file(photos / "2020" / "b.jpg", 1)
    (photos / "2019").symlink_to(elsewhere, target_is_directory=True)
    (photos / "latest").symlink_to(photos / "2020", target_is_directory=True)  # within the tree: nothing left out
    assert main(["mask", str(photos), "-r", "-o", str(tmp_path / "out"), "--model", str(tiny_onnx)]) == 0
    assert "1 file(s): done 1" in capsys.readouterr().err
    said = [r.getMessage() for r in caplog.records if "link(s) to a folder" in r.getMessage()]
    assert said == [
        f"{photos}: left out 1 link(s) to a folder, which --recursive does not follow (2019); give each as an INPUT "
        "to include its photos"
    ]
