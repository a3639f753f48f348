"""Training configuration: hyper-parameters of a run and its augmentation, saved as the run's ``config.json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from colorsplash.runtime.config import DEFAULT_SPLIT_SEED, DEFAULT_VAL_FRACTION, known_fields

LR_SCHEDULES: tuple[str, ...] = ("onecycle", "constant")


@dataclass(frozen=True)
class AugmentConfig:
    """Joint image/mask augmentation, defaults after the seed's Keras ImageDataGenerator."""

    enabled: bool = True
    hflip: bool = True
    rotate_deg: float = 15.0
    shift: float = 0.1
    shear_deg: float = 3.0
    zoom: tuple[float, float] = (0.9, 1.25)
    brightness: tuple[float, float] = (0.5, 1.2)
    color_jitter: bool = False
    # Degradations of real photos, each a probability per image (0: off): Gaussian blur (sigma 0.5-2 px),
    # JPEG re-compression (quality 40-95) and a down-then-up resize to 40-90 % (small, upscaled photos).
    blur: float = 0.0
    jpeg: float = 0.0
    downscale: float = 0.0
    copy_paste: float = field(default=0.0, metadata={
        "help": "chance that a draw of a pet-free photo (a scenes set) gets a training pet pasted in, beside or in "
                "front of its labelled people and things (0: off)"})
    paste_area: tuple[float, float] = field(default=(0.1, 0.8), metadata={
        "help": "size of a pasted pet's box as a share of the frame, drawn log-uniformly in this range"})
    paste_occlude: float = field(default=0.2, metadata={
        "help": "chance that the scene's labelled objects are put back in front of a pasted pet"})


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run; saved as ``config.json`` in the run folder."""

    data: tuple[str, ...] = ()
    out_dir: str = "runs/colorsplash"
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dice_weight: float = 0.0
    lovasz_weight: float = 0.0  # weight of the Lovasz hinge term (a surrogate of per-image IoU)
    val_fraction: float = DEFAULT_VAL_FRACTION
    seed: int = DEFAULT_SPLIT_SEED
    max_steps: int | None = None
    patience: int = 10
    num_workers: int = 0
    skip_bad: bool = False
    bf16: bool = True
    channels_last: bool = True
    preset: str | None = None
    init_from: str | None = None  # a checkpoint whose weights start the run (fine-tuning); fresh optimiser
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    lr_schedule: str = "onecycle"  # "onecycle" (warm-up then cosine decay) or "constant" (for weight averaging)
    swa_epochs: int = 0  # average the weights of the last N epochs (stochastic weight averaging); 0: off
    presence_weight: float = field(default=0.5, metadata={
        "help": "weight of the photo-level 'is there a pet?' BCE term (models with a presence head only)"})

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not 0 <= self.swa_epochs <= self.epochs:
            raise ValueError(f"swa_epochs must be between 0 and epochs ({self.epochs}), got {self.swa_epochs}")

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
        if "data" in kwargs:
            kwargs["data"] = tuple(kwargs["data"])
        return cls(**kwargs)
