"""``bench/compare.py`` and ``bench/targets.py`` on ``bench/peers.py --json`` results: a file holding several models
needs one named, and the message names the script's own option for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers.bench import bench_script


@pytest.fixture
def two_models(tmp_path: Path) -> Path:
    """A ``peers.py --json`` result with our model and U2-Netp, two photos of one set."""
    scores = {"feral valid": {"a": 0.9, "b": 0.8}}
    models = [{"name": n, "per_image_iou": scores} for n in ("ours (pets)", "rembg U2-Netp")]
    path = tmp_path / "peers.json"
    path.write_text(json.dumps({"models": models}))
    return path


def _exit_message(module: ModuleType, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    return str(exit_info.value.code)


def test_targets_names_its_own_option(two_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message = _exit_message(bench_script("targets", monkeypatch), [str(two_models)], monkeypatch)
    assert "pick one model of ours (pets), rembg U2-Netp (--model: part of its name)" in message
    assert "--before-model" not in message


def test_compare_names_the_option_of_the_file_in_doubt(two_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compare = bench_script("compare", monkeypatch)
    message = _exit_message(compare, [str(two_models), str(two_models), "--before-model", "ours"], monkeypatch)
    assert "(--after-model: part of its name)" in message and "--before-model" not in message


def test_targets_reads_the_model_it_is_given(
    two_models: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = bench_script("targets", monkeypatch)
    monkeypatch.setattr(sys, "argv", ["targets.py", str(two_models), "--model", "ours"])
    assert targets.main() == 0
    assert "| feral valid | 2 | 0.850 [" in capsys.readouterr().out


def test_a_short_api_soak_prints_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``soak.py api --items N`` with N under a window (25 calls) printed no figures at all, and a run of 30 left
    its last 5 calls out."""
    import colorsplash

    soak = bench_script("soak", monkeypatch)
    monkeypatch.setattr(colorsplash, "load_model", lambda: None)
    monkeypatch.setattr(colorsplash, "splash", lambda *a, **k: None)
    monkeypatch.setattr(colorsplash, "predict_alpha", lambda *a, **k: None)
    monkeypatch.setattr(soak, "photos", lambda: [tmp_path / "a.jpg"])
    monkeypatch.setattr(soak, "made_inputs", lambda folder, base: {})
    monkeypatch.setattr(soak, "api_input", lambda r, path, made: ("plain", path, {}))
    soak.run_api(30, seed=0)
    calls = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("calls")]
    assert calls == ["25", "30"]


def test_a_row_named_in_full_is_picked_beside_its_edge_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``peers.py --ours-edges fast`` writes ``ours (pets)`` and ``ours (pets), edges=fast``: the plain row's name is
    part of the other's, so no ``--model`` could pick it ("pick one model of ..." whatever was given)."""
    rows = {"ours (pets)": {"a": 0.9, "b": 0.8}, "ours (pets), edges=fast": {"a": 0.5, "b": 0.5}}
    path = tmp_path / "peers.json"
    models = [{"name": n, "per_image_iou": {"feral valid": s}} for n, s in rows.items()]
    path.write_text(json.dumps({"models": models}))
    targets = bench_script("targets", monkeypatch)
    monkeypatch.setattr(sys, "argv", ["targets.py", str(path), "--model", "ours (pets)"])
    assert targets.main() == 0
    assert "| feral valid | 2 | 0.850 [" in capsys.readouterr().out
