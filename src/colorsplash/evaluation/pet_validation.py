"""The pet model's validation photos (issue 13's protocol), shared by ``bench/peers.py``, ``bench/presence.py`` and
the ``pets`` recipe's choice of its presence threshold.

Per data set, by its name (:func:`~colorsplash.evaluation.datasets.set_name`, the folder's name):

- ``feral-cats`` -> ``feral valid``: its own ``valid`` split (``splits.tsv``);
- ``oxford-pets`` -> ``Oxford val``: the photos training never sees,
  ``split_samples(samples, VAL_FRACTION, SPLIT_SEED)[1]`` (the split the ``pets`` stages use);
- ``oxford-breeds`` -> ``unseen breeds``: every photo of the breeds held out of training
  (:data:`~colorsplash.evaluation.datasets.HELD_OUT_BREEDS`); its other breeds' photos are not used;
- ``coco-scenes`` -> ``pet-free``: the held-out pet-free photos (audited: ``discover`` drops those showing a pet);
- any other folder: the pet photos of its validation split, under the set's own name;
- the folders of ``train --negatives`` -> ``negatives``: their validation photos (the seeded quarter training never
  sees, :mod:`colorsplash.evaluation.negatives`), the subject-free side as ``pet-free`` is.

A user's own run (``train DATA... --negatives DIR``) chooses its threshold on these sets of its own folders, split
with the run's ``--val-fraction`` and ``--seed``. Importable without PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation.negatives import discover_negatives

VAL_FRACTION, SPLIT_SEED = 0.15, 0
FERAL, OXFORD, UNSEEN, PET_FREE = "feral valid", "Oxford val", "unseen breeds", "pet-free"
NEGATIVES = "negatives"
SET_NAMES = (FERAL, OXFORD, UNSEEN, PET_FREE)
FREE_SETS = (PET_FREE, NEGATIVES)  # the labels of the photos that show no subject
# The validation set (label) of a validation photo, by the sample's ``dataset``; None: not a validation photo.
_LABELS: dict[str, str | None] = {
    "feral-cats": FERAL,
    "oxford-pets": OXFORD,
    "oxford-breeds": None,  # the breeds trained on: the protocol validates the held-out breeds alone
    "oxford-breeds" + data.UNSEEN_SUFFIX: UNSEEN,
}


def validation_sets(
    folders: Sequence[str | Path],
    limit: int | None = None,
    negatives: Sequence[str | Path] = (),
    split: tuple[float, int] = (VAL_FRACTION, SPLIT_SEED),
    skip_bad: bool = False,
) -> dict[str, list[data.Sample]]:
    """The validation photos of the data set folders ``folders`` and of the negatives folders ``negatives`` (see
    the module doc), per set label in the order of :data:`SET_NAMES` (other sets after, then ``pet-free`` and
    ``negatives``), each sorted by name and cut to ``limit``. ``split``: the ``(val_fraction, seed)`` of a
    run's split; ``skip_bad``: photos without a mask are left out, as the run left them.

    Raises:
        DataError: a folder is missing or holds no known layout (a negatives folder: see
            :func:`~colorsplash.evaluation.negatives.discover_negatives`).
    """
    out: dict[str, list[data.Sample]] = {}
    samples = [data.split_samples(data.discover(f, skip_bad), *split)[1] for f in folders]
    for sample in (s for val in samples for s in val):
        label = PET_FREE if data.is_subject_free(sample) else _LABELS.get(sample.dataset, sample.dataset)
        if label is not None:
            out.setdefault(label, []).append(sample)
    free = [s for s in discover_negatives(negatives) if s.split == "val"]
    if free:
        out[NEGATIVES] = free
    order = [*SET_NAMES[:-1], *sorted(k for k in out if k not in (*SET_NAMES, NEGATIVES)), *FREE_SETS]
    return {k: sorted(out[k], key=lambda s: s.name)[:limit] for k in order if k in out}
