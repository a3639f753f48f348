"""The names of the files a training run writes in its folder, owned here: the trainer writes them, ``train``
refuses to replace them in a folder no run wrote, ``--resume``, the recipes and calibration read them.

Torch-free (the CLI reads these before it imports the trainer)."""

from __future__ import annotations

CONFIG = "config.json"  # the run's model and training settings, written as it starts
METRICS = "metrics.csv"  # one row per epoch
BEST = "best.pt"  # the checkpoint of the highest validation IoU (what export and --init take)
LAST = "last.pt"  # the resumable checkpoint of the last finished epoch
SWA = "swa.pt"  # the weight average of the last epochs (--swa-epochs)
CURVES = "curves.png"
OVERVIEW = "overview.png"  # training photos as augmented, with their masks
VAL_PREDICTIONS = "val_predictions.png"
LOCK = ".train.lock"  # held while a process trains here (training/run_lock.py); not in WRITTEN: not a result

WRITTEN = (CONFIG, METRICS, BEST, LAST, SWA, CURVES, OVERVIEW, VAL_PREDICTIONS)
"""Every file a run may write in its folder (a recipe's stage folders and its recipe file aside)."""
