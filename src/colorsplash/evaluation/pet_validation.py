"""The pet model's validation photos (issue 13's protocol), shared by ``bench/peers.py``, ``bench/presence.py`` and
the ``pets`` recipe's choice of its presence threshold.

Per data set, by its name (:func:`~colorsplash.evaluation.datasets.set_name`, the folder's name):

- ``feral-cats`` -> ``feral valid``: its own ``valid`` split (``splits.tsv``);
- ``oxford-pets`` -> ``Oxford val``: the photos training never sees,
  ``split_samples(samples, VAL_FRACTION, SPLIT_SEED)[1]`` (the split the ``pets`` stages use);
- ``oxford-breeds`` -> ``unseen breeds``: every photo of the breeds held out of training
  (:data:`~colorsplash.evaluation.datasets.HELD_OUT_BREEDS`); its other breeds' photos are not used;
- ``coco-scenes`` -> ``pet-free``: the held-out pet-free photos (audited: ``discover`` drops those showing a pet);
- any other folder: the pet photos of its validation split, under the set's own name.

Importable without PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from colorsplash.evaluation import datasets as data

VAL_FRACTION, SPLIT_SEED = 0.15, 0
FERAL, OXFORD, UNSEEN, PET_FREE = "feral valid", "Oxford val", "unseen breeds", "pet-free"
SET_NAMES = (FERAL, OXFORD, UNSEEN, PET_FREE)
# The validation set (label) of a validation photo, by the sample's ``dataset``; None: not a validation photo.
_LABELS: dict[str, str | None] = {
    "feral-cats": FERAL,
    "oxford-pets": OXFORD,
    "oxford-breeds": None,  # the breeds trained on: the protocol validates the held-out breeds alone
    "oxford-breeds" + data.UNSEEN_SUFFIX: UNSEEN,
}


def validation_sets(folders: Sequence[str | Path], limit: int | None = None) -> dict[str, list[data.Sample]]:
    """The validation photos of the data set folders ``folders`` (see the module doc), per set label in the order
    of :data:`SET_NAMES` (other sets after, ``pet-free`` last), each sorted by name and cut to ``limit``.

    Raises:
        DataError: a folder is missing or holds no known layout.
    """
    out: dict[str, list[data.Sample]] = {}
    for folder in folders:
        _, val = data.split_samples(data.discover(folder), VAL_FRACTION, SPLIT_SEED)
        for sample in val:
            label = PET_FREE if data.is_pet_free(sample) else _LABELS.get(sample.dataset, sample.dataset)
            if label is not None:
                out.setdefault(label, []).append(sample)
    order = [*SET_NAMES[:-1], *sorted(k for k in out if k not in SET_NAMES), PET_FREE]
    return {k: sorted(out[k], key=lambda s: s.name)[:limit] for k in order if k in out}
