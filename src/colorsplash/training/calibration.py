"""A checkpoint's presence threshold chosen on validation photos and written into its config: the ``pets``
recipe's last step (``RUN/final.pt``) and ``bench/presence.py --write`` both go through :func:`store_threshold`.

The recipe scores the float32 network in PyTorch with the library's one preprocessing and the network's own
presence output (:func:`~colorsplash.training.predictors.torch_scorer`) on the validation photos of the data given
(:func:`~colorsplash.evaluation.pet_validation.validation_sets`), and keeps the highest threshold that the share
``recall`` of the pet photos still passes (:func:`~colorsplash.evaluation.presence.choose_threshold`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colorsplash.evaluation.pet_validation import validation_sets
from colorsplash.evaluation.presence import CALIBRATION_KEY, GateReport, calibration_record, gate_scores, judge
from colorsplash.runtime.config import ModelConfig
from colorsplash.training.checkpoint import atomic_torch_save, read_checkpoint
from colorsplash.training.networks import build_model
from colorsplash.training.predictors import torch_scorer

log = logging.getLogger(__name__)


def store_threshold(payload: dict[str, Any], record: dict[str, Any], out: str | Path) -> None:
    """Write the checkpoint ``payload`` to ``out`` (atomically) with ``record["threshold"]`` as its config's
    ``presence_threshold`` and ``record`` (:func:`~colorsplash.evaluation.presence.calibration_record`) as its
    training record's ``presence_calibration``."""
    config = payload["model_config"]
    payload["model_config"] = {
        **config,
        "presence_threshold": float(record["threshold"]),
        "training": {**config.get("training", {}), CALIBRATION_KEY: record},
    }
    atomic_torch_save(payload, out)


def calibrate_in_place(checkpoint: str | Path, folders: Sequence[str], recall: float) -> GateReport | None:
    """Choose the presence threshold of ``checkpoint`` (a network with a presence head) on the validation photos
    of the data set folders ``folders`` so that the share ``recall`` of the pet photos pass, and write it into the
    checkpoint's config; logs the threshold, the recall reached and the pet-free photos rejected. Returns the
    report, or ``None`` when the checkpoint already records a threshold chosen at ``recall`` (kept).

    Raises:
        ValueError: the checkpoint has no presence head; ``folders`` hold no validation pet photo.
    """
    checkpoint = Path(checkpoint)
    payload = read_checkpoint(checkpoint)
    config = ModelConfig.from_dict(payload["model_config"])
    done = config.training.get(CALIBRATION_KEY)
    if isinstance(done, dict) and done.get("recall") == recall:
        log.info("presence threshold already chosen: %.4f in %s", config.presence_threshold, checkpoint)
        return None
    if not config.presence_head:
        raise ValueError(f"{checkpoint}: no presence head, so no presence threshold to choose")
    model = build_model(config)
    model.load_state_dict(payload["state_dict"])
    sets = validation_sets(folders)
    scores = gate_scores(torch_scorer(model.float().eval(), config), sets)
    if not scores.pets["head"]:
        raise ValueError(
            f"no validation pet photos in {', '.join(folders)} to choose {checkpoint}'s presence threshold on"
        )
    report = judge("head", scores.pets["head"], scores.free["head"], recall)
    record = calibration_record(report, recall, sets, f"{checkpoint} (float32, PyTorch)")
    store_threshold(payload, record, checkpoint)
    passed = round(report.pet_recall * record["pet_photos"])
    log.info(
        "presence threshold %.4f (recall %.3f asked): %d of %d validation pet photos pass (%.1f %%), %.1f %% of %d "
        "pet-free photos rejected; written to %s",
        report.threshold,
        recall,
        passed,
        record["pet_photos"],
        100 * report.pet_recall,
        100 * report.pet_free_rejected,
        record["pet_free_photos"],
        checkpoint,
    )
    return report
