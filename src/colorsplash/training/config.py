"""Training configuration: hyper-parameters of a run and its augmentation, saved as the run's ``config.json``."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorsplash.runtime.flags import (
    flag,
    non_empty_name,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    unit_float,
)
from colorsplash.runtime.model.config import DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION, ModelConfig, known_fields
from colorsplash.training import run_files

LR_SCHEDULES: tuple[str, ...] = ("onecycle", "constant")
# What a run trains: "all" its weights; only the "presence" head on a frozen network (its pixel output, and so
# every segmentation score, stays exactly that of the weights it starts from); or the "decoder" and the pixel head
# on a frozen encoder (its ImageNet-and-pets features, batch-norm statistics included, stay those it starts from).
TRAINABLE: tuple[str, ...] = ("all", "presence", "decoder")
# The most of an epoch's photos (and so, on average, of a batch's) that are negatives (train --negatives): the
# pets recipe's presence and guided stages train on about 1450 photos of which about 340 are pet-free coco-scenes
# photos, 23 %: about 2 of a batch of 8.
NEGATIVE_SHARE = 0.25  # training.torch_dataset.negatives_per_epoch
# Photos from the training split that calibrate an int8 export (`export --int8`).
DEFAULT_CALIBRATION_IMAGES = 64
# What to give instead of an empty --int8 folder name (flags.non_empty_name's advice: the CLI's and export_onnx's).
INT8_DATA_ADVICE = "name a folder of photos or a data set folder to calibrate the int8 model on"

log = logging.getLogger(__name__)


def _chance(default: float, help: str, name: str) -> Any:
    """An augmentation probability: the field behind ``--aug-NAME P``, checked to lie in 0..1."""
    return flag(default, help, flags=(f"--aug-{name}",), metavar="P", parse=unit_float)


@dataclass(frozen=True)
class AugmentConfig:
    """Joint image/mask augmentation, defaults after the seed's Keras ImageDataGenerator."""

    enabled: bool = flag(
        True, "augment the training photos (random flips, affine, colour) with their masks", flags=("--augment",)
    )
    hflip: bool = flag(True, "random horizontal flips", flags=("--aug-hflip",))
    rotate_deg: float = flag(15.0, "largest random rotation in degrees", flags=("--aug-rotate",), metavar="DEG")
    shift: float = flag(0.1, "largest random shift, as a fraction of the side", flags=("--aug-shift",), metavar="F")
    shear_deg: float = flag(3.0, "largest random shear in degrees", flags=("--aug-shear",), metavar="DEG")
    zoom: tuple[float, float] = flag((0.9, 1.25), "random zoom range", flags=("--aug-zoom",), metavar=("MIN", "MAX"))
    brightness: tuple[float, float] = flag(
        (0.5, 1.2), "random brightness factor range", flags=("--aug-brightness",), metavar=("MIN", "MAX")
    )
    color_jitter: bool = flag(False, "random hue, saturation and contrast changes", flags=("--aug-color-jitter",))
    # Degradations of real photos, each a probability per image (0: off): Gaussian blur (sigma 0.5-2 px),
    # JPEG re-compression (quality 40-95) and a down-then-up resize to 40-90 % (small, upscaled photos).
    blur: float = _chance(0.0, "probability of a Gaussian blur (sigma 0.5-2 px)", "blur")
    jpeg: float = _chance(0.0, "probability of JPEG re-compression (quality 40-95)", "jpeg")
    downscale: float = _chance(0.0, "probability of a down-then-up resize to 40-90 %%", "downscale")
    copy_paste: float = _chance(
        0.0,
        "chance that a draw of a pet-free photo (a scenes set) or of a --negatives photo gets a training subject "
        "pasted in, beside or in front of its labelled people and things (0: off)",
        "copy-paste",
    )
    paste_area: tuple[float, float] = flag(
        (0.1, 0.8),
        "size of a pasted subject's box as a share of the frame, drawn log-uniformly in this range",
        flags=("--aug-paste-area",),
        metavar=("MIN", "MAX"),
    )
    paste_occlude: float = _chance(
        0.2, "chance that the scene's labelled objects are put back in front of a pasted subject", "paste-occlude"
    )
    paste_count: int = flag(
        1,
        "most subjects per composite (1 to N, each placed on or beside the scene's objects or the subjects before it)",
        flags=("--aug-paste-count",),
        metavar="N",
        parse=positive_int,
    )
    paste_cut: float = _chance(
        0.0, "chance that a pasted subject is placed partly outside the frame (cut by the photo's edge)", "paste-cut"
    )
    paste_blur: float = _chance(
        0.0, "chance that a pasted subject is out of focus (Gaussian blur of 1-3 px at the input size)", "paste-blur"
    )


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; saved as ``config.json`` in the run folder."""

    data: tuple[str, ...] = ()  # the data folders: the command's positional arguments
    negatives: tuple[str, ...] = ()  # folders of photos without the subject: the command's --negatives
    out_dir: str = flag(
        "runs/colorsplash",
        "run folder",
        flags=("-o", "--output"),
        metavar="RUN",
        default_text="runs/<preset or arch>",
        parse=non_empty_name("name the run folder, or leave -o out for runs/<preset or arch>"),
    )
    epochs: int = flag(30, "passes over the training set", parse=positive_int)
    batch_size: int = flag(8, "photos per optimiser step", parse=positive_int)
    lr: float = flag(1e-3, "peak learning rate", parse=positive_float)
    encoder_lr_scale: float = flag(
        1.0,
        "the encoder's peak learning rate as a share of --lr (fine-tuning: under 1 keeps the features the "
        "checkpoint has while the decoder learns at the full rate)",
        metavar="SHARE",
        parse=positive_float,
    )
    weight_decay: float = flag(1e-4, "AdamW weight decay", parse=non_negative_float)
    dice_weight: float = flag(0.0, "weight of the Dice loss term", flags=("--dice",), parse=non_negative_float)
    lovasz_weight: float = flag(
        0.0,
        "weight of the Lovasz hinge loss term (optimises per-image IoU)",
        flags=("--lovasz",),
        parse=non_negative_float,
    )
    val_fraction: float = flag(DEFAULT_VAL_FRACTION, "share of each data set held out for validation", parse=unit_float)
    seed: int = flag(DEFAULT_SPLIT_SEED, "seed of the split, augmentation and initialisation")
    max_steps: int | None = flag(None, "stop after this many optimiser steps", parse=positive_int)
    patience: int = flag(10, "early stopping: epochs without a better validation IoU", parse=positive_int)
    num_workers: int = flag(
        0,
        "data loader worker processes (0: load in the training process); speed only: the weights are the same",
        flags=("-j", "--jobs"),
        parse=non_negative_int,
    )
    skip_bad: bool = flag(False, "skip unreadable or mismatched image/mask pairs with a warning")
    bf16: bool | None = flag(
        None,
        "bfloat16 autocast; unset: on where the hardware computes bfloat16 natively (a CUDA "
        "GPU with bf16, a CPU with AVX512-BF16/AMX/Arm BF16), float32 elsewhere, where emulated "
        "bfloat16 is many times slower (19x on an AVX2-only CPU); the choice is logged and saved "
        "in config.json",
        default_text="auto",
    )
    channels_last: bool = flag(True, "channels-last memory layout (faster convolutions on CPU)")
    preset: str | None = None  # a named recipe; the CLI's --preset (choices come from training.recipes)
    init_from: str | None = flag(
        None,
        "start from this checkpoint's weights (fine-tuning; fresh optimiser)",
        flags=("--init",),
        metavar="CHECKPOINT",
        parse=non_empty_name("name a checkpoint to start from, or leave --init out to start from ImageNet weights"),
    )
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    lr_schedule: str = flag(
        "onecycle", "onecycle: warm-up then cosine decay; constant: for weight averaging", choices=LR_SCHEDULES
    )
    swa_epochs: int = flag(
        0,
        "average the weights of the last N epochs (saved as swa.pt; best.pt if it validates best)",
        metavar="N",
        parse=non_negative_int,
    )
    presence_weight: float = flag(
        0.5,
        "weight of the photo-level 'is there a subject?' BCE term (models with a presence head only)",
        parse=non_negative_float,
    )
    trainable: str = flag(
        "all",
        "what the run trains: all weights; only the presence head on a frozen network (its masks stay "
        "exactly those of --init); or the decoder and pixel head on a frozen encoder (and presence head)",
        choices=TRAINABLE,
    )

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.trainable not in TRAINABLE:
            raise ValueError(f"trainable must be one of {', '.join(TRAINABLE)}, got {self.trainable!r}")
        if not 0 < self.encoder_lr_scale <= 1:
            raise ValueError(f"encoder_lr_scale must be in (0, 1], got {self.encoder_lr_scale}")
        if not 0 <= self.swa_epochs <= self.epochs:
            raise ValueError(f"swa_epochs must be between 0 and epochs ({self.epochs}), got {self.swa_epochs}")
        if self.init_from == "":  # "$CKPT" with the variable unset: trained from ImageNet weights without a word
            raise ValueError(
                "init_from is an empty path; give a checkpoint file, or None to start from ImageNet weights"
            )
        for name in ("data", "negatives"):  # "" ("$DATA" unset) was the current folder, as Path("")
            if any(not os.fspath(folder) for folder in getattr(self, name)):
                raise ValueError(f"{name} holds an empty path; name each folder")
        if not self.out_dir:  # "" ("$OUT" unset) made the current folder the run folder
            raise ValueError("out_dir is an empty path; name the run folder (-o RUN)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output (JSON lists back to tuples); unknown keys are ignored."""
        kwargs = known_fields(cls, data)
        if isinstance(kwargs.get("augment"), dict):
            aug = dict(kwargs["augment"])
            for key in ("zoom", "brightness", "paste_area"):
                if key in aug:
                    aug[key] = tuple(aug[key])
            kwargs["augment"] = AugmentConfig(**aug)
        for key in ("data", "negatives"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


def _started_in(run: Path, out_dir: str) -> Path | None:
    """The folder a run was started from: the run folder ``run`` less its saved relative ``out_dir`` (``None`` when
    ``out_dir`` is absolute or does not end ``run``'s path)."""
    saved = Path(os.path.normpath(out_dir))
    if saved.is_absolute():
        return None
    real = Path(os.path.abspath(run))
    depth = len(saved.parts)
    if saved.parts and real.parts[-depth:] != saved.parts:
        return None
    return Path(*real.parts[: len(real.parts) - depth])


def resumed_config(saved: TrainConfig, run: str | Path, reads_data: bool = True) -> TrainConfig:
    """The saved config of the run in ``run``, to continue it from anywhere: ``out_dir`` becomes ``run`` as given
    now, and relative data and negatives folders and ``init_from`` (runs saved before paths were stored absolute)
    are taken from the folder the run was started in when they are there, else from the current folder. With
    ``reads_data`` a data folder that is gone is refused (a finished run's report needs none)."""
    base = _started_in(Path(run), saved.out_dir)

    def place(path: str) -> str:
        if os.path.isabs(path) or base is None or not (base / path).exists():
            return path
        return os.path.normpath(base / path)

    init = place(saved.init_from) if saved.init_from else saved.init_from
    data, negatives = tuple(map(place, saved.data)), tuple(map(place, saved.negatives))
    if reads_data:
        _refuse_moved_data(run, [*data, *negatives])
    return dataclasses.replace(saved, out_dir=str(run), data=data, negatives=negatives, init_from=init)


def _refuse_moved_data(run: str | Path, folders: list[str]) -> None:
    """A run's data folder that is gone (moved, renamed) said only "DIR: data folder not found": ``--resume`` takes
    no data folders, so the message says where the run reads it from and the two ways on."""
    gone = [folder for folder in folders if not os.path.isdir(folder)]
    if gone:
        raise ValueError(
            f"--resume {run}: the run's data folder(s) {', '.join(gone)}: not found (moved or renamed?); a run goes on "
            "with the folders it started with: put each back there, under its name (the split follows it), or start a "
            f"new run from its weights: colorsplash train DATA... --init {Path(run) / run_files.LAST} -o NEW_RUN"
        )


def refuse_one_pixel_features(mcfg: ModelConfig) -> None:
    """Refuse ``--size 32`` for an EfficientNet-Lite encoder: it shrinks the input 32 times, to one pixel, whose
    batch normalisation cannot train on a batch of one photo (``--batch-size 1``, a single training photo), where
    PyTorch stopped the run with "Expected more than 1 value per channel" after the data was read."""
    if mcfg.arch != "unet" and mcfg.input_size < 64:
        raise ValueError(
            f"--size {mcfg.input_size}: the {mcfg.arch} encoder shrinks the input 32 times, to a single pixel, too "
            "little to train on; pass --size 64 or more (or --arch unet, which takes 32)"
        )


def resumed_model_config(saved: dict[str, Any]) -> ModelConfig:
    """The model config a run saved (``last.pt``'s ``model_config``, a recipe file's ``model``, the ``best.pt`` of the
    stage a recipe's blend takes it from), to continue the run with. A run saved before ``pad_aspect`` existed
    stretched every photo to the square input: it goes on stretching them (``pad_aspect`` 0), where the field's
    default would pad wide photos from the resumed epoch on.

    Raises:
        ValueError: ``saved`` is not a model config (:meth:`ModelConfig.from_dict`).
    """
    config = ModelConfig.from_dict(saved)
    if "pad_aspect" in saved:
        return config
    log.info("the run was started before wide photos were padded to 4:3: it goes on stretching them (pad_aspect 0)")
    return dataclasses.replace(config, pad_aspect=0.0)
