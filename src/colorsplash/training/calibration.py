"""A checkpoint's presence threshold chosen on validation photos and written into its config: the ``pets``
recipe's last step (``RUN/final.pt``), the end of a run given negatives (``train DATA... --negatives DIR``:
``RUN/best.pt``, :func:`calibrate_run`) and ``bench/presence.py --write`` all go through :func:`store_threshold`.

The recipe scores the float32 network in PyTorch with the library's one preprocessing and the network's own
presence output (:func:`~colorsplash.training.predictors.torch_scorer`) on the validation photos of the data given
(:func:`~colorsplash.evaluation.pet_validation.validation_sets`), and keeps the highest threshold that the share
``recall`` of the pet photos still passes (:func:`~colorsplash.evaluation.presence.choose_threshold`); a run given
negatives does the same with its own subject photos and negatives, split as the run split them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist

from colorsplash.evaluation.pet_validation import SPLIT_SEED, VAL_FRACTION, validation_sets
from colorsplash.evaluation.presence import (
    CALIBRATION_KEY,
    GateReport,
    calibration_record,
    gate_scores,
    judge,
    misses_allowed,
)
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training import run_files
from colorsplash.training.checkpoint import atomic_torch_save, read_checkpoint
from colorsplash.training.config import TrainConfig
from colorsplash.training.distributed import setup_distributed
from colorsplash.training.networks import build_model
from colorsplash.training.predictors import torch_scorer
from colorsplash.training.recipes import PETS_PRESENCE_RECALL
from colorsplash.training.steps import write_json

log = logging.getLogger(__name__)
# A run given negatives chooses its threshold as the pets recipe does: the highest one this share of the validation
# subject photos passes.
NEGATIVES_PRESENCE_RECALL = PETS_PRESENCE_RECALL


class NoValidationPhotos(ValueError):
    """No validation photo of the subject to choose a presence threshold on."""


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


def calibrate_in_place(
    checkpoint: str | Path,
    folders: Sequence[str],
    recall: float,
    negatives: Sequence[str] = (),
    split: tuple[float, int] = (VAL_FRACTION, SPLIT_SEED),
    skip_bad: bool = False,
    subject: str = "pet",
    payload: dict[str, Any] | None = None,
) -> GateReport | None:
    """Choose the presence threshold of ``checkpoint`` (a network with a presence head) on the validation photos
    of the data set folders ``folders`` and negatives folders ``negatives`` (split by ``split``, ``(val_fraction,
    seed)``; :func:`~colorsplash.evaluation.pet_validation.validation_sets`) so that the share ``recall`` of the
    subject photos pass, and write it into the checkpoint's config; logs the threshold, the recall reached and the
    share of photos without the subject rejected. Returns the report, or ``None`` when the checkpoint already
    records a threshold chosen at ``recall`` (kept). ``subject``: what the subject photos show, for the messages
    (``pet``: the pets protocol's words, "pet-free photos"). ``payload``: the checkpoint as its caller read it
    already (:func:`~colorsplash.training.checkpoint.read_checkpoint`), not read again.

    Raises:
        ValueError: the checkpoint has no presence head; NoValidationPhotos: ``folders`` hold no validation photo
            of the subject.
    """
    checkpoint = Path(checkpoint)
    payload = read_checkpoint(checkpoint) if payload is None else payload
    config = ModelConfig.from_dict(payload["model_config"])
    done = config.training.get(CALIBRATION_KEY)
    if isinstance(done, dict) and done.get("recall") == recall:
        log.info("presence threshold already chosen: %.4f in %s", config.presence_threshold, checkpoint)
        return None
    if not config.presence_head:
        raise ValueError(f"{checkpoint}: no presence head, so no presence threshold to choose")
    model = build_model(config)
    model.load_state_dict(payload["state_dict"])
    sets = validation_sets(folders, negatives=negatives, split=split, skip_bad=skip_bad)
    scores = gate_scores(torch_scorer(model.float().eval(), config), sets, skip_bad)
    if not scores.pets["head"]:
        raise NoValidationPhotos(
            f"no validation {subject} photos in {', '.join(folders)} to choose {checkpoint}'s presence threshold on"
        )
    report = judge("head", scores.pets["head"], scores.free["head"], recall)
    record = calibration_record(report, recall, sets, f"{checkpoint} (float32, PyTorch)")
    store_threshold(payload, record, checkpoint)
    _log_threshold(report, recall, record, subject, checkpoint, bool(negatives))
    return report


def _log_threshold(
    report: GateReport, recall: float, record: dict[str, Any], subject: str, out: Path, negatives: bool
) -> None:
    """The one line on a chosen threshold: the recall reached and the share of photos without the subject rejected
    (``pet-free`` photos for the pet model); with none to reject, what to do (``negatives``: some were given, and
    the seeded validation quarter took none of them)."""
    free = "pet-free photos" if subject == "pet" else "validation negatives"
    more = f"none of --negatives fell in the validation quarter: give more photos without the {subject}"
    rejected = (
        f"{100 * report.pet_free_rejected:.1f} % of {record['pet_free_photos']} {free} rejected"
        if record["pet_free_photos"]
        else f"no {free} to reject ({more if negatives else 'give --negatives'})"
    )
    log.info(
        "presence threshold %.4f (recall %.3f asked): %d of %d validation %s photos pass (%.1f %%), %s; written to %s",
        report.threshold,
        recall,
        round(report.pet_recall * record["pet_photos"]),
        record["pet_photos"],
        subject,
        100 * report.pet_recall,
        rejected,
        out,
    )
    _warn_few_photos(record["pet_photos"], recall, subject)


def _warn_few_photos(photos: int, recall: float, subject: str) -> None:
    """Say when ``photos`` validation subject photos are too few for ``recall`` to leave any out: the threshold is
    then the least sure photo's score, and a subject photo scored under it is called empty."""
    if recall >= 1 or misses_allowed(photos, recall):
        return
    enough = next(n for n in range(photos + 1, 10**6) if misses_allowed(n, recall))
    log.warning(
        "the presence threshold is the lowest score of only %d validation %s photos (recall %.3f leaves none of so "
        "few out): %s photos less clearly one than all of these will be called empty; with %d or more validation "
        "photos (more photos, or a larger --val-fraction) it can leave out the odd one",
        photos,
        subject,
        recall,
        subject,
        enough,
    )


def calibrate_on_main(checkpoint: Path, folders: Sequence[str], recall: float, **kwargs: Any) -> None:
    """Rank 0 runs :func:`calibrate_in_place` (``kwargs``: its keywords); under torchrun the others wait for it."""
    d = setup_distributed()
    try:
        if d.main:
            calibrate_in_place(checkpoint, folders, recall, **kwargs)
    finally:
        if d.world > 1:
            dist.barrier()


def calibrate_run(run: str | Path, tcfg: TrainConfig) -> None:
    """The end of a run given negatives (``tcfg.negatives``): the presence threshold of ``run/best.pt`` chosen at
    :data:`NEGATIVES_PRESENCE_RECALL` on the run's validation subject photos and negatives (once: kept on resume).
    Without a presence head (``--no-presence-head``), or without a validation subject photo, a warning says the
    threshold stays the default. The run's ``config.json`` (written as the run started, with the default
    threshold) then gets the threshold of ``best.pt`` (:func:`record_in_run_config`), on ``--resume`` too."""
    best = Path(run) / run_files.BEST
    if not tcfg.negatives:
        return
    payload = read_checkpoint(best)  # once: calibrate_in_place takes it as read
    config = ModelConfig.from_dict(payload["model_config"])
    if not config.presence_head:
        log.info("no presence head (--no-presence-head): the negatives trained the masks alone; no threshold chosen")
        return
    kwargs = {"split": (tcfg.val_fraction, tcfg.seed), "skip_bad": tcfg.skip_bad, "subject": config.subject}
    try:
        calibrate_on_main(
            best, tcfg.data, NEGATIVES_PRESENCE_RECALL, negatives=tcfg.negatives, payload=payload, **kwargs
        )
    except NoValidationPhotos as err:
        log.warning("%s; the presence threshold stays 0.5: give more photos or a larger --val-fraction", err)
        return
    if setup_distributed().main:  # the payload as written: store_threshold put the threshold in
        record_in_run_config(Path(run), ModelConfig.from_dict(payload["model_config"]))


def record_in_run_config(run: Path, config: ModelConfig) -> None:
    """Write the presence threshold of ``config`` (``run/best.pt``'s) and its calibration record into
    ``run/config.json``'s model section, where the run's start had put the default (0.5); a run folder without
    ``config.json`` is left alone."""
    path = run / run_files.CONFIG
    if not path.is_file():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.setdefault("model", {})
    model["presence_threshold"] = config.presence_threshold
    model["training"] = {**model.get("training", {}), CALIBRATION_KEY: config.training.get(CALIBRATION_KEY)}
    write_json(path, data)
