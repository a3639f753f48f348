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
    bf16: bool | None = field(default=None, metadata={"help": (
        "bfloat16 autocast: on, off, or unset (auto): on where the hardware computes bfloat16 natively (a CUDA "
        "GPU with bf16, a CPU with AVX512-BF16/AMX/Arm BF16), float32 elsewhere, where emulated bfloat16 is many "
        "times slower (up to 19x on an AVX2-only CPU). The choice is logged and saved in config.json")})
    channels_last: bool = True
    preset: str | None = None
    init_from: str | None = None  # a checkpoint whose weights start the run (fine-tuning); fresh optimiser
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    lr_schedule: str = "onecycle"  # "onecycle" (warm-up then cosine decay) or "constant" (for weight averaging)
    swa_epochs: int = 0  # average the weights of the last N epochs (stochastic weight averaging); 0: off

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
            for key in ("zoom", "brightness"):
                if key in aug:
                    aug[key] = tuple(aug[key])
            kwargs["augment"] = AugmentConfig(**aug)
        if "data" in kwargs:
            kwargs["data"] = tuple(kwargs["data"])
        return cls(**kwargs)
