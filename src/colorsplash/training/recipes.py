"""Named training recipes: single-stage presets, and staged recipes that chain them.

``colorsplash train --preset pets DATA...`` (``DATA``: the four folders ``oxford-pets``, ``oxford-breeds``,
``feral-cats`` and ``coco-scenes``) runs the recipe of the bundled model: the stages ``pets-lite1-base``,
``-finetune``, ``-384`` and ``-robust`` one after the other on ``oxford-pets`` and ``feral-cats`` alone (the sets
that made ``models/pets-lite1.pt``), each in its own folder under the run folder and each starting from the previous
stage's ``best.pt``; a blend of the last two; the presence head's stage and the guided finishing stage on all four
sets; then the presence threshold chosen on the validation pet photos (:data:`RECIPE_THRESHOLD_RECALL`).
A stage preset's ``data_sets`` names the sets it trains on (:mod:`colorsplash.training.stage_data`).
Importable without PyTorch (the CLI lists the names before torch is loaded).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training.config import TrainConfig
from colorsplash.training.stage_data import PETS_FOUR_SETS, PETS_TWO_SETS, stage_folders

_PETS_TRAIN = {"batch_size": 8, "dice_weight": 0.5, "val_fraction": 0.15, "seed": 0, "augment": {"color_jitter": True}}
_ROBUST_AUGMENT = {
    "color_jitter": True,
    "zoom": (0.6, 1.4),
    "rotate_deg": 20.0,
    "blur": 0.2,
    "jpeg": 0.3,
    "downscale": 0.2,
}


def _pets_stages(encoder: str) -> dict[str, dict[str, Any]]:
    """The four stages of the pet recipe for a Lite encoder, named ``pets-<encoder>-*`` (``lite1``: the bundled
    model's), each on the two sets that made ``models/pets-lite1.pt`` (the others did not exist then)."""
    prefix = f"pets-{encoder}"
    model = {"arch": f"unet-{encoder}", "name": f"colorsplash-pets-{encoder}", "subject": "pet"}
    return {
        # From ImageNet weights: one-cycle LR peaking at 2e-3.
        f"{prefix}-base": {
            "data_sets": PETS_TWO_SETS,
            "model": {**model, "input_size": 320},
            "train": {**_PETS_TRAIN, "epochs": 30, "lr": 2e-3, "patience": 12},
        },
        # A second, gentler cycle from the base stage's best weights (pass --init when run alone).
        f"{prefix}-finetune": {
            "data_sets": PETS_TWO_SETS,
            "model": {**model, "input_size": 320},
            "train": {**_PETS_TRAIN, "epochs": 30, "lr": 5e-4, "patience": 30},
        },
        # The same weights taught at 384 px, where small and distant cats keep more pixels (pass --init alone).
        f"{prefix}-384": {
            "data_sets": PETS_TWO_SETS,
            "model": {**model, "input_size": 384},
            "train": {**_PETS_TRAIN, "epochs": 20, "lr": 3e-4, "patience": 20},
        },
        # Wider zoom and rotation plus photo degradations, from the 384 stage's best (pass --init alone): the
        # 384 stage fits its Oxford training photos at IoU 0.99 against 0.95 on held-out ones.
        f"{prefix}-robust": {
            "data_sets": PETS_TWO_SETS,
            "model": {**model, "input_size": 384},
            "train": {
                **_PETS_TRAIN,
                "epochs": 20,
                "lr": 3e-4,
                "patience": 20,
                "weight_decay": 1e-2,
                "augment": _ROBUST_AUGMENT,
            },
        },
    }


_PETS_LITE0, _PETS_LITE1 = _pets_stages("lite0"), _pets_stages("lite1")

# Fine-tunes the bundled model (models/pets-lite1.pt, same arch and size) on pets *and* pet-free scenes: run it on
# oxford-pets, oxford-breeds, feral-cats and coco-scenes. A new presence head ("is there a pet?") starts untrained;
# pets are pasted onto half the draws of pet-free photos (copy-paste); the robust stage's augmentation.
_PETS_SCENES: dict[str, dict[str, Any]] = {
    "pets-lite1-scenes": {
        "data_sets": PETS_FOUR_SETS,
        "model": {
            "arch": "unet-lite1",
            "name": "colorsplash-pets-lite1-scenes",
            "subject": "pet",
            "input_size": 384,
            "presence_head": True,
        },
        "train": {
            **_PETS_TRAIN,
            "epochs": 8,
            "lr": 3e-4,
            "patience": 8,
            "weight_decay": 1e-2,
            "init_from": "models/pets-lite1.pt",
            "presence_weight": 0.5,
            "augment": {**_ROBUST_AUGMENT, "copy_paste": 0.5},
        },
    },
}

# The same fine-tune, gentler: the first pets-scenes run (peak 3e-4, copy-paste 0.5) learnt the pet-free photos but
# lost 0.01-0.05 IoU on feral and Oxford pets (docs/model-card.md); a third of the learning rate and fewer
# composites keep more of the starting weights' pet segmentation while the presence head and the negatives are learnt.
_PETS_SCENES_GENTLE: dict[str, dict[str, Any]] = {
    "pets-lite1-scenes-gentle": {
        "data_sets": PETS_FOUR_SETS,
        "model": {**_PETS_SCENES["pets-lite1-scenes"]["model"], "name": "colorsplash-pets-lite1-scenes-gentle"},
        "train": {
            **_PETS_SCENES["pets-lite1-scenes"]["train"],
            "epochs": 10,
            "lr": 1e-4,
            "patience": 10,
            "augment": {**_ROBUST_AUGMENT, "copy_paste": 0.3},
        },
    },
}

# The bundled pet model's network, frozen, with a presence head ("is there a pet?") on a second, frozen network:
# ImageNet EfficientNet-Lite0 reading the input at 256 px (at 192 px it gated a feral photo of small cats). The
# head (a 128-unit layer) learns pets (and pets pasted onto pet-free photos, from a tenth of the frame up) against
# the pet-free photos. The masks are exactly those of models/pets-lite1.pt, so no pet set can get worse; ImageNet
# features keep people, food and rooms apart from pets, which the pet-only segmentation encoder does not
# (docs/model-card.md compares the two heads).
# Run it on oxford-pets, oxford-breeds, feral-cats and coco-scenes.
_PETS_PRESENCE: dict[str, dict[str, Any]] = {
    "pets-lite1-presence": {
        "data_sets": PETS_FOUR_SETS,
        "model": {
            **_PETS_SCENES["pets-lite1-scenes"]["model"],
            "name": "colorsplash-pets-lite1",
            "presence_trunk": "lite0",
            "presence_trunk_size": 256,
        },
        "train": {
            **_PETS_SCENES["pets-lite1-scenes"]["train"],
            "trainable": "presence",
            "epochs": 16,
            "lr": 1e-3,
            "patience": 16,
            "augment": {**_ROBUST_AUGMENT, "copy_paste": 0.3},
        },
    },
}

# The bundled segmentation network fine-tuned on every pet set with copy-paste on *every* draw of a pet-free
# photo: the pet-free photos only serve as backgrounds for pasted pets (beside and in front of people and things),
# never as all-background targets. The presence trunk answers "is there a pet?", so the masks need not learn
# "pale upholstery is background" from bare scenes, which cost Oxford pets in the scenes runs above; they learn
# "the pet, not the owner", small pets and the 16 extra breeds. No presence head: transplant the one of
# pets-lite1-presence afterwards (its trunk never reads these weights). Run it on all four sets. Not bundled: after
# 1 and 3 of its 6 epochs it lost feral and Oxford pets as the scenes runs did (docs/model-card.md), a cat lying
# against a person and the second of two cats turning grey: every composite holds exactly one pet, pasted whole.
_PETS_PASTE: dict[str, dict[str, Any]] = {
    "pets-lite1-paste": {
        "data_sets": PETS_FOUR_SETS,
        "model": {
            **_PETS_SCENES["pets-lite1-scenes"]["model"],
            "name": "colorsplash-pets-lite1",
            "presence_head": False,
        },
        "train": {
            **_PETS_SCENES["pets-lite1-scenes"]["train"],
            "epochs": 6,
            "lr": 1e-4,
            "patience": 6,
            "presence_weight": 0.0,
            "augment": {**_ROBUST_AUGMENT, "copy_paste": 1.0},
        },
    },
}

# The paste stage with composites like the photos it lost: 1-3 pets per pet-free photo (later ones on or beside the
# scene's people and things or the pets before them, in front of them), a third cut by the frame's edge, a
# gentler peak (5e-5) so the feral and Oxford pets it already gets right are not unlearnt.
_MULTIPASTE_AUGMENT = {**_ROBUST_AUGMENT, "copy_paste": 1.0, "paste_count": 3, "paste_cut": 0.3}
_PETS_MULTIPASTE: dict[str, dict[str, Any]] = {
    "pets-lite1-multipaste": {
        "data_sets": PETS_FOUR_SETS,
        "model": _PETS_PASTE["pets-lite1-paste"]["model"],
        "train": {
            **_PETS_PASTE["pets-lite1-paste"]["train"],
            "epochs": 4,
            "lr": 5e-5,
            "patience": 4,
            "augment": _MULTIPASTE_AUGMENT,
        },
    },
}

# After the multi-pet stage, which dimmed out-of-focus cats behind a sharp one (every pasted pet was sharp): half the
# pasted pets out of focus, 2 epochs at a peak of 3e-5 (pass --init with the multipaste stage's best.pt alone).
_PETS_DEFOCUS: dict[str, dict[str, Any]] = {
    "pets-lite1-defocus": {
        "data_sets": PETS_FOUR_SETS,
        "model": _PETS_PASTE["pets-lite1-paste"]["model"],
        "train": {
            # no init_from: the recipe starts it from the multipaste stage's best.pt, or --init when run alone
            **{k: v for k, v in _PETS_MULTIPASTE["pets-lite1-multipaste"]["train"].items() if k != "init_from"},
            "epochs": 2,
            "lr": 3e-5,
            "patience": 2,
            "augment": {**_MULTIPASTE_AUGMENT, "paste_blur": 0.5},
        },
    },
}

# The multi-pet composites on a frozen encoder: the fine-tunes above that trained every weight lost feral and Oxford
# pets they had right; here the encoder's features (ImageNet, then the pets recipe), batch-norm statistics
# included, stay those of models/pets-lite1.pt and only the decoder and pixel head learn "the pet, not the owner"
# from the composites. 3 epochs at a peak of 1e-4.
_PETS_DECODER: dict[str, dict[str, Any]] = {
    "pets-lite1-decoder": {
        "data_sets": PETS_FOUR_SETS,
        "model": _PETS_PASTE["pets-lite1-paste"]["model"],
        "train": {
            **_PETS_MULTIPASTE["pets-lite1-multipaste"]["train"],
            "trainable": "decoder",
            "epochs": 3,
            "lr": 1e-4,
            "patience": 3,
        },
    },
}

# The frozen-encoder stage with the ImageNet trunk's feature map fed to the decoder (ModelConfig.trunk_guidance):
# every fine-tune so far had only the pet-trained encoder to tell the pet from its owner, a cushion or an unseen
# breed; the trunk that answers "is there a pet?" for the presence head knows people, furniture and a thousand
# classes of things. Its guidance starts at zero (the start computes models/pets-lite1.pt's masks exactly); the
# guidance, decoder and pixel head learn, the encoder and trunk stay frozen. No presence head: transplant the one
# of pets-lite1-presence afterwards (it reads the same frozen trunk). Run it on all four sets.
_PETS_GUIDED: dict[str, dict[str, Any]] = {
    "pets-lite1-guided": {
        "data_sets": PETS_FOUR_SETS,
        "model": {
            **_PETS_PRESENCE["pets-lite1-presence"]["model"],
            "presence_head": False,
            "trunk_guidance": True,
        },
        "train": {
            **_PETS_DECODER["pets-lite1-decoder"]["train"],
            "lr": 2e-4,
        },
    },
}

# The guided stage with the encoder learning too, at a tenth of the decoder's rate: with the encoder frozen, guidance
# raised unseen breeds but the decoder alone could not keep feral and Oxford pets (docs/model-card.md); a slow
# encoder may adapt its features to the trunk's semantics without unlearning them. Encoder batch-norm statistics
# move with it (the whole network is in training mode; the trunk stays frozen).
_PETS_GUIDED_ALL: dict[str, dict[str, Any]] = {
    "pets-lite1-guided-all": {
        "data_sets": PETS_FOUR_SETS,
        "model": _PETS_GUIDED["pets-lite1-guided"]["model"],
        "train": {
            **_PETS_GUIDED["pets-lite1-guided"]["train"],
            "trainable": "all",
            "encoder_lr_scale": 0.1,
            # One epoch: of a 3-epoch run (2026-12-01, docs/model-card.md) the first scored best on every set;
            # one epoch's whole cycle ends annealed instead of mid-schedule.
            "epochs": 1,
            "patience": 1,
        },
    },
}

# One stage each: what a run folder is trained with (the preset wins over command-line flags).
STAGE_PRESETS: dict[str, dict[str, Any]] = {
    **_PETS_LITE0,
    **_PETS_LITE1,
    **_PETS_SCENES,
    **_PETS_SCENES_GENTLE,
    **_PETS_PRESENCE,
    **_PETS_PASTE,
    **_PETS_MULTIPASTE,
    **_PETS_DEFOCUS,
    **_PETS_DECODER,
    **_PETS_GUIDED,
    **_PETS_GUIDED_ALL,
}

# Staged recipes: stage presets run in order (a dict keeps its stages' order), each initialised from the previous
# stage's best.pt. ``pets`` made the bundled model (on EfficientNet-Lite1); ``pets-lite0`` is the same recipe on
# the smaller Lite0 encoder, the bundled model until the fifth session (docs/model-card.md compares the two).
RECIPES: dict[str, tuple[str, ...]] = {
    "pets": tuple(_PETS_LITE1),
    "pets-lite0": tuple(_PETS_LITE0),
    "pets-scenes": tuple(_PETS_SCENES),
    "pets-scenes-gentle": tuple(_PETS_SCENES_GENTLE),
    "pets-presence": tuple(_PETS_PRESENCE),
    "pets-paste": tuple(_PETS_PASTE),
    "pets-multipaste": tuple(_PETS_MULTIPASTE),
    "pets-defocus": (*_PETS_MULTIPASTE, *_PETS_DEFOCUS),
    "pets-decoder": tuple(_PETS_DECODER),
    "pets-guided": tuple(_PETS_GUIDED),
    "pets-guided-all": tuple(_PETS_GUIDED_ALL),
}

# Recipes whose model is a blend of their last two stages' best.pt (see interpolation.blend_checkpoints): the
# weight of the last stage. For pets, 0.7 of the way to the robust stage keeps the clean accuracy of the 384 stage
# and most of the robust stage's gain on blurred and low-resolution photos (docs/model-card.md).
RECIPE_BLENDS: dict[str, float] = {"pets": 0.7, "pets-lite0": 0.7}
BLEND_FILE = "blend.pt"

# Recipes that end with a head-only stage, run from the recipe's model (the blend, or the last stage's best.pt)
# after the stages above: its best.pt is then the recipe's model. For pets, the presence head on the frozen
# network (the stage preset's own init_from is replaced by the model the recipe just made).
RECIPE_HEADS: dict[str, str] = {"pets": "pets-lite1-presence"}

# Recipes that end, after their head stage, with a stage of the segmentation network run from the recipe's model
# before the head stage (its init_from replaced, as above); that stage's best.pt given the head stage's presence
# head, trunk and threshold is then the recipe's model, RUN/final.pt. For pets, the masks guided by the frozen
# ImageNet trunk that the head reads (docs/model-card.md, "The ImageNet trunk guiding the decoder").
RECIPE_FINISH: dict[str, str] = {"pets": "pets-lite1-guided-all"}
FINAL_FILE = "final.pt"

# Recipes whose RUN/final.pt gets its presence threshold chosen last, on the float model's presence scores of the
# validation pet photos of the data given (colorsplash.evaluation.pet_validation: feral valid, Oxford val, unseen
# breeds): the highest threshold that this share of them still passes. For pets 0.995, as the bundled file's
# 0.6554 was chosen (bench/presence.py --recall 0.995; the bar is 0.98).
PETS_PRESENCE_RECALL = 0.995
RECIPE_THRESHOLD_RECALL: dict[str, float] = {"pets": PETS_PRESENCE_RECALL}

RECIPE_FILE = "recipe.json"


def preset_names() -> tuple[str, ...]:
    """Every name ``--preset`` accepts: staged recipes first, then single stages."""
    return (*RECIPES, *STAGE_PRESETS)


def apply_preset(
    name: str, mcfg: ModelConfig, tcfg: TrainConfig, recipe: str | None = None
) -> tuple[ModelConfig, TrainConfig]:
    """Overlay the single-stage preset ``name`` on the given configs (the preset wins); ``tcfg.data`` keeps the
    folders of the data sets the preset names (:func:`~colorsplash.training.stage_data.stage_folders`).

    Raises:
        ValueError: an unknown preset; a data set the preset needs is not among ``tcfg.data`` (``recipe``: the
            staged recipe the stage belongs to, named in the message).
    """
    if name not in STAGE_PRESETS:
        raise ValueError(f"unknown stage preset {name!r}; choose one of {', '.join(STAGE_PRESETS)}")
    preset = STAGE_PRESETS[name]
    data = stage_folders(name, preset.get("data_sets", ()), tcfg.data, recipe)
    mcfg = dataclasses.replace(mcfg, **preset["model"])
    tp = dict(preset["train"])
    aug = dataclasses.replace(tcfg.augment, **tp.pop("augment", {}))
    tcfg = dataclasses.replace(tcfg, preset=name, augment=aug, data=data, **tp)
    return mcfg, tcfg


def recipe_stages(recipe: str) -> tuple[str, ...]:
    """Every stage preset the staged recipe ``recipe`` trains, in order: its stages, then its head stage and its
    finishing stage where it has them."""
    extra = [table[recipe] for table in (RECIPE_HEADS, RECIPE_FINISH) if recipe in table]
    return (*RECIPES[recipe], *extra)


def stage_folder(run: str | Path, index: int, stage: str) -> Path:
    """Folder of stage ``index`` (1-based) of a staged run: ``RUN/stage<index>-<stage preset>``."""
    return Path(run) / f"stage{index}-{stage}"


def write_recipe_file(run: str | Path, recipe: str, mcfg: ModelConfig, tcfg: TrainConfig) -> None:
    """Record what a staged run was started with, so ``--resume RUN`` can finish it without flags."""
    atomic_write(
        Path(run) / RECIPE_FILE,
        json.dumps(
            {"recipe": recipe, "stages": list(RECIPES[recipe]), "model": mcfg.to_dict(), "train": tcfg.to_dict()},
            indent=2,
        ),
    )


def read_recipe_file(run: str | Path) -> dict[str, Any] | None:
    """The :func:`write_recipe_file` record of ``run``, or ``None`` when ``run`` is a single-stage run."""
    path = Path(run) / RECIPE_FILE
    if not path.is_file():
        return None
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable recipe record ({err}); start the run again with -o NEW_DIR") from err
    recipe = record.get("recipe")
    if recipe not in RECIPES:
        raise ValueError(f"{path}: unknown recipe {recipe!r}; this colorsplash knows {', '.join(RECIPES)}")
    if list(record.get("stages", [])) != list(RECIPES[recipe]):
        # A recipe renamed or re-staged since the run began: resuming would train other stages into this folder.
        raise ValueError(
            f"{path}: the run was started with the stages {record.get('stages')} of {recipe!r}, "
            f"which is now {list(RECIPES[recipe])}; finish it with the colorsplash that started it, "
            "or start again with -o NEW_DIR"
        )
    return record
