"""Training under torchrun with two CPU processes (DistributedDataParallel, gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.layouts import make_seed_set

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path: Path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this PyTorch build has no gloo backend")
    data, run = tmp_path / "cats", tmp_path / "run"
    make_seed_set(data, n=8, h=40, w=48)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "colorsplash",
        "train",
        str(data),
        "--arch",
        "unet",
        "--unet-base",
        "4",
        "--unet-depth",
        "2",
        "--size",
        "64",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--max-steps",
        "3",
        "--val-fraction",
        "0.25",
        "-o",
        str(run),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["world_size"] == 2
    assert {"best.pt", "last.pt", "metrics.csv", "curves.png", "val_predictions.png"} <= {p.name for p in run.iterdir()}
    # Rank 0 alone logs and writes: one line per epoch, one final report, no stray temp files.
    assert output.count("epoch 1: train loss") == 1 and output.count("epoch 2: train loss") == 1
    assert output.count("best validation IoU") == 1
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]
    # Global batch 4 = 2 per process: 7 training images -> 4 per rank (padded) -> 2 steps per epoch; stop at 3.
    last = torch.load(run / "last.pt", map_location="cpu", weights_only=False)
    assert last["run_state"]["step"] == 3 and last["run_state"]["epoch"] == 2


RECIPE_SCRIPT = """
import sys
from colorsplash.training import recipes
from colorsplash.cli import main
model = {"arch": "unet", "base_channels": 4, "depth": 2, "input_size": 64, "name": "tiny-pets"}
train = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "max_steps": 2}
recipes.STAGE_PRESETS["tiny-a"] = {"model": model, "train": {**train, "lr": 1e-2}}
recipes.STAGE_PRESETS["tiny-b"] = {"model": model, "train": {**train, "lr": 1e-1}}
recipes.RECIPES["tiny"] = ("tiny-a", "tiny-b")
recipes.RECIPE_BLENDS["tiny"] = 0.5
code = main(sys.argv[1:])
import torch.distributed as dist
print(f"process group open after train: {dist.is_initialized()}")
sys.exit(code)
"""


@pytest.mark.slow
def test_torchrun_staged_recipe_with_blend(tmp_path: Path) -> None:
    """Both ranks check the run folder before rank 0 writes recipe.json; rank 0 alone blends and reports."""
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this PyTorch build has no gloo backend")
    data, run, script = tmp_path / "cats", tmp_path / "run", tmp_path / "tiny_recipe.py"
    make_seed_set(data, n=8, h=40, w=48)
    script.write_text(RECIPE_SCRIPT)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(script),
        "-q",
        "train",
        "--preset",
        "tiny",
        str(data),
        "-o",
        str(run),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "already holds a run" not in output
    # Left open, gloo may abort a rank at exit (SIGABRT) after the run is done, failing a finished run.
    assert output.count("process group open after train: False") == 2, output[-3000:]
    assert {p.name for p in run.iterdir()} >= {"recipe.json", "blend.pt", "stage1-tiny-a", "stage2-tiny-b"}
    assert output.count("best validation IoU") == 1 and f"model {run / 'blend.pt'}" in output
    assert not [p.name for p in run.rglob(".*")]  # no stray temp files from two ranks writing
