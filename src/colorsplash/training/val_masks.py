"""Validation photos whose masks score no pixel (all of them a trimap's unscored band,
:data:`~colorsplash.evaluation.metrics.IGNORE`): left out of the validation IoU, as ``evaluate`` leaves them out of
its scores (:func:`~colorsplash.evaluation.metrics.scores_any`); and a validation of photos without the subject
alone, which gets the training subject photos (:func:`with_subject`)."""

from __future__ import annotations

import logging

import numpy as np

from colorsplash.evaluation.datasets import Sample, is_subject_free
from colorsplash.evaluation.folders import DataError, file_names
from colorsplash.evaluation.metrics import scores_any

log = logging.getLogger(__name__)
Split = tuple[np.ndarray, np.ndarray, list[Sample]]  # images, masks at the network's size, their samples


def scored_validation(train: Split, val: Split, report: bool) -> Split:
    """``val``, or ``train`` when no validation mask scores a pixel (as a run without validation photos validates
    on its training photos); with ``report`` one warning says so, or names the validation photos left out.

    Raises:
        DataError: no mask of ``train`` or ``val`` scores a pixel: there is nothing to validate on.
    """
    _, masks, samples = val
    unscored = [s.mask for s, m in zip(samples, masks, strict=True) if not scores_any(m)]
    if unscored and len(unscored) == len(samples) and val[2] is not train[2]:
        if report:  # once a run, as the other notes of such masks
            log.warning(
                "no validation photo's mask leaves a pixel scored (all of them the unscored band of a trimap): %s; "
                "validating on the training set; check those masks",
                file_names(unscored),
            )
        return scored_validation(train, train, report)
    if unscored and len(unscored) == len(samples):
        raise DataError(
            f"no mask leaves a pixel scored (all of them the unscored band of a trimap), so there is nothing to "
            f"validate on: {file_names(unscored)}; check those masks"
        )
    if unscored and report:
        log.warning(
            "%d validation photo(s) left out of the validation IoU: their masks leave no pixel scored (all of them "
            "the unscored band of a trimap): %s; check those masks",
            len(unscored),
            file_names(unscored),
        )
    return val


def with_subject(train: Split, val: Split, report: bool) -> Split:
    """``val`` with the subject photos of ``train`` added when it holds photos without the subject alone (a data set
    of a few photos, none in the seeded validation share, beside negatives that validate); with ``report`` a
    warning says so. Scored on those alone, the model that colours nothing validated best and became ``best.pt``;
    the subject's share of the validation IoU is then the training photos', as a run without validation photos."""
    (ti, tm, ts), (vi, vm, vs) = train, val
    keep = [i for i, s in enumerate(ts) if not is_subject_free(s)]
    if vs is ts or not keep or not all(is_subject_free(s) for s in vs):
        return val
    if report:
        log.warning(
            "no photo of the subject fell in validation (%d photo(s) without it did): the subject is validated on "
            "its %d training photos, or best.pt would be the epoch that colours least; give more photos or a larger "
            "--val-fraction",
            len(vs),
            len(keep),
        )
    return np.concatenate([vi, ti[keep]]), np.concatenate([vm, tm[keep]]), [*vs, *(ts[i] for i in keep)]
