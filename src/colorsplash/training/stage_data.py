"""Which of the data folders given a stage preset trains on, and which stage a stage run alone must start from.

A stage preset may name the data sets it trains on (``"data_sets"``, by the name
:func:`~colorsplash.evaluation.datasets.discover` gives a set: its folder's name, ``oxford-pets`` for
``../shared/data/oxford-pets``): the first stages of the ``pets`` recipe made ``models/pets-lite1.pt`` on
``oxford-pets`` and ``feral-cats`` alone, its presence and guided stages use all four sets. A stage run alone
(``train --preset STAGE DATA...``) and the recipe runner both train it on those folders only.
Importable without PyTorch or OpenCV (``train --help`` lists the presets): the data set module is imported when
a folder is named.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

PETS_TWO_SETS: tuple[str, ...] = ("oxford-pets", "feral-cats")  # what made models/pets-lite1.pt (2026-11-29)
PETS_FOUR_SETS: tuple[str, ...] = ("oxford-pets", "oxford-breeds", "feral-cats", "coco-scenes")  # issue 13


def stage_folders(
    stage: str, sets: Sequence[str], folders: Sequence[str], recipe: str | None = None
) -> tuple[str, ...]:
    """The folders of ``folders`` (in the order given) whose data set is one of ``sets``; all of ``folders`` when
    ``sets`` is empty (a preset that names no data sets trains on every folder given), and for a stage run alone
    (``recipe`` ``None``) on a user's own folders, none of them one of ``sets`` (its settings, on their data).

    Raises:
        ValueError: a set of ``sets`` has no folder among ``folders`` while others do (or the stage is part of
            ``recipe``); the message names the stage (of ``recipe``), the missing sets, the sets it trains on and
            the folders given.
    """
    if not sets:
        return tuple(folders)
    from colorsplash.evaluation.datasets import set_name

    names = [set_name(f) for f in folders]
    missing = [s for s in sets if s not in names]
    if recipe is None and folders and len(missing) == len(sets):
        log.info(
            "stage %s was made on %s; none of those is given, so it trains on the folders given with its settings",
            stage,
            ", ".join(sets),
        )
        return tuple(folders)
    if missing:
        of = f" of --preset {recipe}" if recipe else ""
        given = ", ".join(folders) if folders else "none"
        raise ValueError(
            f"stage {stage}{of} trains on the data sets {', '.join(sets)}, but no folder named "
            f"{' or '.join(missing)} was given (folders given: {given}); pass each set's folder under its own name "
            "(a set is named after its folder, e.g. ../shared/data/oxford-pets)"
        )
    return tuple(f for f, name in zip(folders, names, strict=True) if name in sets)


def describe_folders(folders: Sequence[str]) -> str:
    """``oxford-pets (/data/oxford-pets), feral-cats (/data/feral-cats)``: the sets and their folders, for logs."""
    from colorsplash.evaluation.datasets import set_name

    return ", ".join(f"{set_name(f)} ({f})" for f in folders)


def log_stage_data(stage: str, given: Sequence[str], used: Sequence[str]) -> None:
    """Log the folders ``used`` of the folders ``given`` that the stage preset ``stage`` trains on, and warn of
    the folders it leaves out."""
    log.info("stage %s trains on %s", stage, describe_folders(used))
    unused = [f for f in given if f not in used]
    if unused:
        log.warning("stage %s trains on its data sets alone, not on %s", stage, ", ".join(unused))


def stage_before(name: str) -> tuple[str, str] | None:
    """``(recipe, stage)``: the staged recipe that runs the stage preset ``name`` after ``stage``, starting it from
    that stage's ``best.pt``, when ``name`` names no start of its own (``init_from``): run alone it needs ``--init``
    (from ImageNet weights it would take a fine-tune's gentle learning rate to a network that learnt nothing yet).
    ``None`` for a recipe's first stage, a stage with its own start and an unknown name."""
    from colorsplash.training.recipes import RECIPES, STAGE_PRESETS

    if "init_from" in STAGE_PRESETS.get(name, {}).get("train", {}):
        return None
    for recipe, stages in RECIPES.items():
        if name in stages[1:]:
            return recipe, stages[stages.index(name) - 1]
    return None
