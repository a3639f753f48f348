"""The names of the files a training run writes in its folder, owned here: the trainer writes them, ``train``
refuses to replace them in a folder no run wrote, ``--resume``, the recipes and calibration read them.

Torch-free (the CLI reads these before it imports the trainer)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from colorsplash.runtime.temp_names import is_temp_of

log = logging.getLogger(__name__)

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


def partial_files(run: Path, written: Sequence[str] = WRITTEN) -> list[Path]:
    """The temporary files of ``written`` (by default :data:`WRITTEN`) in the run folder ``run`` (a checkpoint
    being written, its name ``.colorsplash-last.<token>.part.pt``): left by a run that was killed (``kill -9``, the
    OOM killer) while it wrote one, when no run holds ``run``'s lock (:mod:`colorsplash.training.run_lock`), since
    only ``train`` writes these names there."""
    try:
        names = [entry.name for entry in os.scandir(run) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    return sorted(run / name for name in names if any(is_temp_of(name, one) for one in written))


def remove_partials(run: Path, written: Sequence[str] = WRITTEN) -> None:
    """Remove :func:`partial_files` of ``run`` (whose lock the caller holds), each said in a line; one that cannot be
    removed (no permission: not ours after all) stays, as before."""
    for left in partial_files(run, written):
        try:
            left.unlink(missing_ok=True)
        except OSError:
            continue
        log.info("%s: removed a partial file left by an interrupted run", left)


def reports_written(run: Path) -> bool:
    """Whether the run folder ``run`` holds its last report (:data:`VAL_PREDICTIONS`, drawn after the last epoch):
    a run whose ``last.pt`` records its end without it was stopped while it drew it, and ``--resume`` (of the run,
    or of the recipe it is a stage of) writes it instead of saying the run finished."""
    return (run / VAL_PREDICTIONS).is_file()
