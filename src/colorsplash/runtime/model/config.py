"""Typed configuration shared by every stage.

A :class:`ModelConfig` travels inside every checkpoint (``.pt``) and every exported ONNX file (as the
``colorsplash_config`` metadata entry), so loading a model never needs flags repeated: architecture,
input size and normalisation come from the file itself.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from colorsplash.runtime.flags import flag, number_in_range, positive_int

Arch = Literal["unet", "unet-lite0", "unet-lite1", "unet-lite2"]
ARCHES: tuple[str, ...] = ("unet", "unet-lite0", "unet-lite1", "unet-lite2")
TRUNKS: tuple[str, ...] = ("lite0", "lite1", "lite2")  # ImageNet EfficientNet-Lite variants for presence_trunk
CONFIG_METADATA_KEY = "colorsplash_config"
PRECISIONS: tuple[str, ...] = ("float32", "float16-weights", "int8")
# How training splits data by default; recorded in every checkpoint, so evaluation can split the same way.
DEFAULT_VAL_FRACTION = 0.15
DEFAULT_SPLIT_SEED = 0
# Fields every stored config has held since the first export: a file lacking one was not written by colorsplash, and
# its defaults would run it wrongly (the Lite normalisation on a network trained on x/255: a silently wrong splash).
STORED_ALWAYS: tuple[str, ...] = ("arch", "input_size", "normalization")
# Photos wider than 4:3 (or taller than 3:4) are padded to it before the square resize: see ModelConfig.pad_aspect.
DEFAULT_PAD_ASPECT = 4 / 3


def _ratio(value: str) -> float:
    """A number, or a width:height written ``W/H`` or ``W:H`` (``4/3``, ``16:9``: as ``--help`` shows the default)."""
    for sep in "/:":
        if sep in value:
            width, _, height = value.partition(sep)
            if float(height) == 0:
                raise ValueError(f"a height of 0 in {value!r}")
            return float(width) / float(height)
    return float(value)


pad_aspect_value = number_in_range(
    _ratio, lambda v: v == 0 or v >= 1, "0 (stretch every photo) or at least 1, e.g. 4/3"
)


_multiple_of_32 = number_in_range(int, lambda v: v >= 32 and v % 32 == 0, "a multiple of 32 (32, 64, 96, ...)")


@dataclass(frozen=True)
class Normalization:
    """Per-channel affine normalisation applied to RGB pixels in 0..255: ``(x - mean) / std``.

    The seed's plain U-Net uses ``x / 255`` (mean 0, std 255); the EfficientNet-Lite encoders were
    trained on ``(x - 127) / 128``.
    """

    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)

    def __post_init__(self) -> None:
        """A file's normalisation with a ``std`` of 0 (or NaN) loaded, and every photo reached the network as NaN:
        a silently wrong splash and NumPy's "divide by zero" warnings."""
        if not all(math.isfinite(v) for v in (*self.mean, *self.std)):
            raise ValueError(f"normalization must be finite numbers, got mean {self.mean}, std {self.std}")
        if not all(v > 0 for v in self.std):
            raise ValueError(f"normalization std must be above 0 (pixels are divided by it), got {self.std}")


LITE_NORMALIZATION = Normalization(mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0))
SEED_NORMALIZATION = Normalization()


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network and feed it.

    Attributes:
        arch: ``unet`` (the seed's plain U-Net) or ``unet-lite{0,1,2}`` (U-Net decoder on an
            ImageNet-pretrained EfficientNet-Lite encoder).
        input_size: square side in pixels the network sees (multiple of 32).
        base_channels: ``unet`` only: channels at the first level (the seed: 8), doubled per level.
        depth: ``unet`` only: number of down-sampling steps (the seed: 4).
        upsample: ``unet`` only: ``transpose`` (the seed's 2x2 transposed conv) or ``bilinear``.
        decoder_channels: ``unet-lite*`` only: decoder widths from deepest to shallowest.
        normalization: how RGB 0..255 pixels are scaled before the network.
        color_order: always ``RGB``; written down so no reader has to guess.
        name: human-readable model name shown by ``colorsplash serve`` and ``evaluate``.
        subject: what the model segments ("pet", "cat", ...), for messages.
        training: free-form record of the data, command and metrics the weights came from.
        precision: how an exported ONNX file stores its numbers: ``float32``, ``float16-weights`` (weights in
            half precision, float32 arithmetic) or ``int8`` (static post-training quantisation); checkpoints
            are always ``float32``.
        presence_head: ``unet-lite*`` only: the network also answers "is there a subject in this photo?" with one
            logit per photo from its deepest encoder features (ONNX output ``presence``, ``N x 1``).
        presence_threshold: a photo holds a subject when its subject score (``sigmoid`` of the presence logit;
            without a head, the highest pixel probability) is at least this; chosen on validation photos.
        presence_trunk: with ``presence_head``: ``None`` (the head reads the segmentation encoder's deepest
            features) or an EfficientNet-Lite variant (``lite0``...) whose ImageNet weights, frozen, read the
            network's input at ``presence_trunk_size`` and feed the head instead: generic features that know
            people, food and rooms, which a pet-only segmentation encoder has no reason to keep apart from pets.
        presence_trunk_size: side in pixels the trunk reads (the input resized in the graph; a multiple of 32).
        trunk_guidance: with ``presence_trunk``: the trunk's feature map also feeds the decoder (added to the
            encoder's deepest features and to the first decoder block's output through learnt 1x1 convs), so
            the masks can use what ImageNet knows about pets, people and things.
        pad_aspect: a photo wider than this width:height (or taller than its inverse) is padded to it with the
            normalisation's mean (0 after normalising) before the square resize, instead of being stretched further
            than the training photos were (:func:`colorsplash.runtime.model.preprocess.fit_to_input`); the probability
            of the padding is cut off again. 0: every photo stretched to the square. Training pads the same way.
            Files without the field (made before it) read as :data:`DEFAULT_PAD_ASPECT`: measured on the bundled
            model, trained stretched, padding 16:9 crops of the validation photos to 4:3 raised IoU 0.02-0.04.
    """

    arch: str = flag(
        "unet-lite0",
        "network: a plain U-Net (as in the tutorial colorsplash grew from) or a U-Net on an EfficientNet-Lite encoder",
        choices=ARCHES,
    )
    input_size: int = flag(
        256,
        "network input size in pixels (a multiple of 32; unet-lite* train at 64 or more)",
        flags=("--size",),
        parse=_multiple_of_32,
    )
    base_channels: int = flag(8, "unet: channels of the first level", flags=("--unet-base",), parse=positive_int)
    depth: int = flag(4, "unet: number of down-sampling steps", flags=("--unet-depth",), parse=positive_int)
    upsample: str = flag("transpose", "unet: decoder up-sampling", choices=("transpose", "bilinear"))
    decoder_channels: tuple[int, ...] = (96, 64, 48, 32, 16)
    normalization: Normalization = field(default_factory=lambda: LITE_NORMALIZATION)
    color_order: str = "RGB"
    name: str = flag(
        "colorsplash",
        "the model's name, which serve, evaluate and the model line of splash, mask and video show",
        flags=("--name",),
    )
    subject: str = flag(
        "subject",
        "what the model finds (e.g. 'red car'), which serve shows and every verb's no-subject line names "
        "('no red car found in ...')",
        flags=("--subject",),
    )
    training: dict[str, Any] = field(default_factory=dict)
    precision: str = "float32"
    presence_head: bool = flag(
        False,
        "unet-lite* only: also answer 'is there a subject in this photo?' with one score per photo, learnt against "
        "--negatives; a photo scoring under the threshold chosen at the end of the run counts as showing none",
        default_text="on with --negatives, else off",
    )
    presence_threshold: float = 0.5
    presence_trunk: str | None = None
    presence_trunk_size: int = 192
    trunk_guidance: bool = False
    pad_aspect: float = flag(
        DEFAULT_PAD_ASPECT,
        "photos wider than this width:height (or taller than its inverse) are padded to it, not stretched further, "
        "before the square resize, in training and when the model runs; 0: stretch every photo",
        parse=pad_aspect_value,
        default_text="4/3",
    )

    @property
    def arithmetic(self) -> str:
        """The variant kind ``--precision`` names this file by: ``int8``, or ``fp32`` (float16 weights compute in
        float32 too)."""
        return "int8" if self.precision == "int8" else "fp32"

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            raise ValueError(f"unknown arch {self.arch!r}; choose one of {', '.join(ARCHES)}")
        if self.input_size % 32 or self.input_size < 32:
            raise ValueError(f"input_size must be a positive multiple of 32, got {self.input_size}")
        if self.color_order != "RGB":  # pixels are always fed as RGB: "BGR" would be run as RGB, silently wrong
            raise ValueError(f"color_order must be 'RGB' (colorsplash feeds RGB pixels), got {self.color_order!r}")
        if self.upsample not in ("transpose", "bilinear"):
            raise ValueError(f"upsample must be 'transpose' or 'bilinear', got {self.upsample!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.presence_head and self.arch == "unet":
            raise ValueError("presence_head needs a unet-lite* arch (it reads the EfficientNet encoder's features)")
        if self.presence_trunk is not None and not (self.presence_head or self.trunk_guidance):
            raise ValueError(
                "presence_trunk feeds the presence head or the decoder: set presence_head or trunk_guidance"
            )
        if self.trunk_guidance and self.presence_trunk is None:
            raise ValueError("trunk_guidance reads the ImageNet trunk: set presence_trunk (e.g. 'lite0') too")
        if self.presence_trunk not in (None, *TRUNKS):
            raise ValueError(f"presence_trunk must be one of {', '.join(TRUNKS)}, got {self.presence_trunk!r}")
        size = self.presence_trunk_size
        if self.presence_trunk is not None and (size % 32 or not 32 <= size <= self.input_size):
            raise ValueError(
                f"presence_trunk_size must be a multiple of 32 up to input_size ({self.input_size}), "
                f"got {self.presence_trunk_size}"
            )
        if not 0.0 <= self.presence_threshold <= 1.0:
            raise ValueError(f"presence_threshold must be in [0, 1], got {self.presence_threshold}")
        if not (self.pad_aspect == 0 or self.pad_aspect >= 1):
            raise ValueError(f"pad_aspect must be 0 (stretch every photo) or at least 1, got {self.pad_aspect}")
        if self.arch == "unet" and self.depth > 5:
            raise ValueError(f"unet depth must be at most 5 (input_size/32 divisibility), got {self.depth}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are ignored so newer files still load.

        Raises:
            ValueError: ``data`` is not an object, or a field has the wrong type or value; the message names it.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a JSON object, got {type(data).__name__}")
        kwargs = known_fields(cls, data)
        check_field_types(kwargs)
        if isinstance(kwargs.get("normalization"), dict):
            norm = kwargs["normalization"]
            kwargs["normalization"] = Normalization(mean=tuple(norm["mean"]), std=tuple(norm["std"]))
        if "decoder_channels" in kwargs:
            kwargs["decoder_channels"] = tuple(kwargs["decoder_channels"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        """Parse :meth:`to_json` output.

        Raises:
            ValueError: not JSON (or nested too deep to parse), lacks a field of :data:`STORED_ALWAYS`, or not a valid
                config (see :meth:`from_dict`).
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"not JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
        except RecursionError as err:
            raise ValueError("JSON nested too deep") from err
        config = cls.from_dict(data)  # a wrong field is named first
        if missing := [k for k in STORED_ALWAYS if k not in data]:
            raise ValueError(f"it lacks {', '.join(missing)}, which every exported config holds")
        return config

    def trained_split(self) -> tuple[float, int]:
        """``(val_fraction, seed)`` the weights were trained with (from ``training``), else the defaults: splitting
        data with them gives back exactly the images training held out.

        Raises:
            ValueError: the record holds them with the wrong type or range (a file edited by hand: "could not
                convert string to float" or a traceback, or a ``val_fraction`` of 5 that made every photo "val").
        """
        trained = self.training.get("train_config", {}) if isinstance(self.training, dict) else {}
        if not isinstance(trained, dict):
            raise ValueError(f"its training record's train_config must be an object, got {_shown(trained)}")
        fraction = trained.get("val_fraction", DEFAULT_VAL_FRACTION)
        seed = trained.get("seed", DEFAULT_SPLIT_SEED)
        if not (_is_number(fraction) and 0.0 <= fraction <= 1.0):
            raise ValueError(f"its training record's val_fraction must be a number from 0 to 1, got {_shown(fraction)}")
        if not _is_int(seed):
            raise ValueError(f"its training record's seed must be an integer, got {_shown(seed)}")
        return float(fraction), int(seed)


def known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that name fields of the dataclass ``cls`` (files from newer versions still load)."""
    known = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in known}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_triple(v: object) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 3 and all(_is_number(x) for x in v)


# What each field of a stored config must be (JSON types), as (test, words for the message).
_FIELD_TYPES: dict[str, tuple[Any, str]] = {
    **dict.fromkeys(("input_size", "base_channels", "depth", "presence_trunk_size"), (_is_int, "an integer")),
    **dict.fromkeys(
        ("arch", "upsample", "color_order", "name", "subject", "precision"), (lambda v: isinstance(v, str), "a string")
    ),
    **dict.fromkeys(("presence_head", "trunk_guidance"), (lambda v: isinstance(v, bool), "true or false")),
    **dict.fromkeys(("presence_threshold", "pad_aspect"), (_is_number, "a number")),
    "presence_trunk": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "training": (lambda v: isinstance(v, dict), "an object"),
    "decoder_channels": (
        lambda v: isinstance(v, (list, tuple)) and all(_is_int(x) for x in v),
        "a list of integers",
    ),
    "normalization": (
        lambda v: (
            isinstance(v, Normalization)
            or (isinstance(v, dict) and _is_triple(v.get("mean")) and _is_triple(v.get("std")))
        ),
        'an object {"mean": [3 numbers], "std": [3 numbers]}',
    ),
}


def check_field_types(data: dict[str, Any]) -> None:
    """Check the JSON types of a stored config's fields (values are checked by :class:`ModelConfig` itself).

    Raises:
        ValueError: the first field of the wrong type, named with what it must be and (shortened) what it is.
    """
    for name, value in data.items():
        test, words = _FIELD_TYPES.get(name, (lambda v: True, ""))
        if not test(value):
            raise ValueError(f"{name} must be {words}, got {_shown(value)}")


def _shown(value: object) -> str:
    """A stored value as an error message quotes it: its ``repr``, cut to 60 characters."""
    shown = repr(value)
    return shown[:60] + "..." if len(shown) > 60 else shown


def default_model_config(arch: str, input_size: int = 256) -> ModelConfig:
    """The right normalisation for ``arch``: ``x/255`` for the seed U-Net, ``(x-127)/128`` for Lite."""
    norm = SEED_NORMALIZATION if arch == "unet" else LITE_NORMALIZATION
    return ModelConfig(arch=arch, input_size=input_size, normalization=norm)
