"""Runs stopped part-way (Ctrl-C, SIGTERM, ``kill -9``): what they leave behind and what they say."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from colorsplash.runtime.temp_names import is_temp_name

SRC = Path(__file__).resolve().parents[1] / "src"


def _run_killed(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (Python) in a fresh interpreter with this checkout's ``colorsplash`` first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    code = textwrap.dedent(script)
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_an_export_killed_leaves_only_a_folder_named_as_an_interrupted_runs(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """``export CKPT -o models/cats.onnx`` killed (``kill -9``, the OOM killer) while it converted left
    ``models/tmpk3j2h_x/model.onnx`` (``tempfile``'s name): a folder of no one's, holding a model file a user could
    take for a result. It is named as every temporary file of colorsplash (``.colorsplash-cats.<token>.part``), which
    scans name as an interrupted run's, and it is removed on Ctrl-C as before."""
    pytest.importorskip("torch")
    out = tmp_path / "models" / "cats.onnx"
    killed = _run_killed(
        f"""
        import os, signal
        from colorsplash.cli import main
        from colorsplash.training import export

        def killed(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        export._finish_file = killed
        main(["export", {str(tiny_checkpoint)!r}, "-o", {str(out)!r}])
        """,
        tmp_path,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = sorted(p.name for p in out.parent.iterdir())
    assert left and all(is_temp_name(name) and name.startswith(".colorsplash-cats.") for name in left), left


def test_a_run_stopped_in_its_last_reports_writes_them_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Ctrl-C (or a kill) after the last epoch, while the run drew ``val_predictions.png`` (a prediction over every
    validation photo), said "the run's last reports were not written: continue with: colorsplash train --resume
    RUN", and ``--resume`` said "finished already: nothing to train" and never wrote them. It writes them."""
    pytest.importorskip("torch")
    from helpers.layouts import make_seed_set
    from helpers.train import TINY_UNET

    from colorsplash.cli import main
    from colorsplash.training import plots

    make_seed_set(tmp_path / "cats", n=4, h=40, w=48)
    run = tmp_path / "run"

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "save_val_predictions", stopped)
    argv = ["-q", "train", str(tmp_path / "cats"), *TINY_UNET, "--size", "64", "--epochs", "1", "-o", str(run)]
    assert main(argv) == 130
    assert not (run / "val_predictions.png").exists() and (run / "last.pt").is_file()
    monkeypatch.undo()
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert (run / "val_predictions.png").is_file(), caplog.text
    assert "writing the last reports it was stopped before" in caplog.text and "finished already" not in caplog.text


def test_resume_removes_the_partial_checkpoint_a_killed_run_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``train`` killed (``kill -9``, the OOM killer) while it wrote ``last.pt`` left
    ``.colorsplash-last.<token>.part.pt`` in the run folder, and ``--resume``, which holds the run's lock (so no other
    ``train`` writes there), left it there for good, unnamed: a hidden file the size of a checkpoint. It removes it,
    saying so, and leaves alone the temporary files it does not write (an ``export -o RUN/model.onnx`` going on)."""
    pytest.importorskip("torch")
    from helpers.layouts import make_seed_set
    from helpers.train import TINY_UNET

    from colorsplash.cli import main

    make_seed_set(tmp_path / "cats", n=4, h=40, w=48)
    run = tmp_path / "run"
    argv = ["-q", "train", str(tmp_path / "cats"), *TINY_UNET, "--size", "64", "--epochs", "2", "-o", str(run)]
    killed = _run_killed(
        f"""
        import os, signal
        from colorsplash.cli import main
        from colorsplash.runtime import files

        real, saves = files._publish, []
        def publish(tmp, path, replace):
            if path.name == "last.pt":
                saves.append(path)
                if len(saves) == 2:  # the second epoch's last.pt is complete under its temporary name
                    os.kill(os.getpid(), signal.SIGKILL)
            real(tmp, path, replace)
        files._publish = publish
        main({argv!r})
        """,
        tmp_path,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = [p.name for p in run.iterdir() if is_temp_name(p.name)]
    assert len(left) == 1 and left[0].startswith(".colorsplash-last."), left
    exporting = run / ".colorsplash-model.0123abcd.part.onnx"
    exporting.write_bytes(b"an export's, in progress")
    caplog.set_level(logging.INFO)
    assert main(["train", "--resume", str(run)]) == 0
    assert [p.name for p in run.iterdir() if is_temp_name(p.name)] == [exporting.name], caplog.text
    assert "removed a partial file left by an interrupted run" in caplog.text


@pytest.mark.parametrize("how", ["command", "module"])
def test_ctrl_c_while_the_command_loads_is_one_line_not_a_traceback(how: str, tmp_path: Path) -> None:
    """Ctrl-C in the first moments of a command (its verbs' modules loading: a quarter of a second, more on a busy
    machine) printed a ``KeyboardInterrupt`` traceback from inside an ``import`` and exited by the signal. It says
    "interrupted" and exits 130, for the ``colorsplash`` command (``pyproject.toml``'s entry point) and for
    ``python -m colorsplash`` alike."""
    scripts = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    entry = re.search(r'^colorsplash = "([\w.]+):(\w+)"$', scripts, re.MULTILINE)
    assert entry is not None
    run = (
        f"import {entry[1]}; sys.exit({entry[1]}.{entry[2]}())"
        if how == "command"
        else "runpy.run_module('colorsplash', run_name='__main__')"
    )
    stopped = _run_killed(
        f"""
        import importlib.abc, runpy, sys

        class CtrlC(importlib.abc.MetaPathFinder):  # the key pressed as the verbs' modules load
            def find_spec(self, name, path=None, target=None):
                if name == "colorsplash.cli.video":
                    raise KeyboardInterrupt
                return None

        sys.meta_path.insert(0, CtrlC())
        sys.argv = ["colorsplash", "splash", "cat.jpg"]
        {run}
        """,
        tmp_path,
    )
    assert stopped.returncode == 130 and stopped.stderr == "colorsplash: interrupted\n", stopped.stderr


def test_ctrl_c_while_the_arguments_are_read_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Between loading and the verb's work (the parser built, the arguments read) Ctrl-C was a traceback too."""
    from colorsplash import cli

    def pressed() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", pressed)
    try:
        code = cli.main(["splash", "cat.jpg"])
    except KeyboardInterrupt:  # caught here: it would stop the whole test session
        pytest.fail("Ctrl-C went up out of main, to be printed as a traceback")
    assert code == 130
    assert capsys.readouterr().err == "colorsplash: interrupted\n"
