"""The splash options: one definition serving the Python API, the CLI (argparse) and HTTP (query/form).

Each field of :class:`SplashOptions` carries its help text and parser in ``metadata``; :func:`add_arguments`
turns them into ``--flags`` and :func:`options_from_mapping` validates string values from a web form,
raising :class:`OptionError` that names the bad option.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EFFECTS = ("grey", "blur", "dim", "sepia", "transparent")
_COLOR_RE = re.compile(r"^color:#?([0-9a-fA-F]{6})$")


class OptionError(ValueError):
    """An option value is invalid; ``name`` is the option's name (CLI spelling without dashes)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"--{name.replace('_', '-')}: {message}")
        self.name = name


def parse_effect(value: str) -> str:
    v = value.strip().lower()
    if v == "gray":
        v = "grey"
    if v in EFFECTS or _COLOR_RE.match(v):
        return v
    raise ValueError(f"unknown effect {value!r}; choose {', '.join(EFFECTS)} or color:#RRGGBB")


def parse_point(value: str) -> tuple[int, int]:
    try:
        x, y = (int(float(p)) for p in value.split(","))
    except ValueError as err:
        raise ValueError(f"expected X,Y in pixels, got {value!r}") from err
    if x < 0 or y < 0:
        raise ValueError(f"point {value!r} must not be negative")
    return x, y


def parse_unit_float(value: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return v


def parse_feather(value: str) -> float:
    v = float(value)
    if not 0.0 <= v <= 200.0:
        raise ValueError(f"must be between 0 and 200 pixels, got {value}")
    return v


def parse_quality(value: str) -> int:
    v = int(value)
    if not 1 <= v <= 100:
        raise ValueError(f"must be between 1 and 100, got {value}")
    return v


def parse_bool(value: str) -> bool:
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}, got {value!r}")
        return value
    return parse


def _opt(default: Any, parse: Callable[[str], Any], help: str, metavar: str | None = None) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help, "metavar": metavar})


@dataclass(frozen=True)
class SplashOptions:
    """How a splash is made from a photo and its predicted alpha (see :func:`colorsplash.splash`)."""

    effect: str = _opt("grey", parse_effect, "background effect: grey, blur, dim, sepia, color:#RRGGBB, "
                       "transparent (PNG cut-out)", "EFFECT")
    threshold: float | None = _opt(None, parse_unit_float, "probability cut-off; by default the soft alpha "
                                   "is used as is", "P")
    feather: float = _opt(0.0, parse_feather, "extra edge softness in pixels (Gaussian blur of the alpha)", "PX")
    hard: bool = _opt(False, parse_bool, "binary alpha (the seed's hard-edged look)")
    invert: bool = _opt(False, parse_bool, "subject grey, background in colour")
    keep: str = _opt("all", _choice("all", "largest"), "keep every subject or only the largest", "MODE")
    point: tuple[int, int] | None = _opt(None, parse_point, "keep only the subject under this pixel "
                                         "(of the orientation-corrected photo)", "X,Y")
    on_empty: str = _opt("grey", _choice("grey", "copy", "skip"), "when no subject is found: write all grey, "
                         "copy the photo, or skip the file", "MODE")
    refine: bool = _opt(True, parse_bool, "refine edges with a guided filter on the full-resolution photo")
    quality: int = _opt(95, parse_quality, "JPEG/WebP quality of written files", "Q")
    edges: str = _opt("fast", _choice("fast", "matte"), "edge stage: fast (guided filter) or matte (closed-form "
                      "matting in the band around the subject's edge and colour decontamination: soft fur, no "
                      "background colour on the edge; slower)", "MODE")

    def replace(self, **changes: Any) -> SplashOptions:
        return dataclasses.replace(self, **changes)


OPTION_FIELDS: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(SplashOptions)
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in OPTION_FIELDS)


def add_arguments(parser: argparse.ArgumentParser, names: Iterable[str] | None = None) -> None:
    """Add one ``--flag`` per option (only ``names`` when given); booleans become ``--hard``/``--no-refine``
    style switches."""
    group = parser.add_argument_group("splash options")
    wanted = set(OPTION_NAMES if names is None else names)
    for f in OPTION_FIELDS:
        if f.name not in wanted:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default,
                               help=f.metadata["help"])
            continue
        group.add_argument(flag, dest=f.name, type=f.metadata["parse"], default=f.default,
                           metavar=f.metadata["metavar"], help=f.metadata["help"])


def options_from_namespace(ns: argparse.Namespace) -> SplashOptions:
    return SplashOptions(**{name: getattr(ns, name) for name in OPTION_NAMES if hasattr(ns, name)})


def options_from_mapping(values: Mapping[str, Any]) -> SplashOptions:
    """Validate string (or typed) values, e.g. from a query string; unknown names are an error.

    Raises:
        OptionError: naming the first bad or unknown option.
    """
    parsed: dict[str, Any] = {}
    fields_by_name = {f.name: f for f in OPTION_FIELDS}
    for raw_name, value in values.items():
        name = raw_name.replace("-", "_")
        if name not in fields_by_name:
            raise OptionError(name, f"unknown option; known: {', '.join(OPTION_NAMES)}")
        if value is None or value == "" and name in ("threshold", "point"):
            continue
        try:
            parsed[name] = fields_by_name[name].metadata["parse"](value) if isinstance(value, str) else value
        except ValueError as err:
            raise OptionError(name, str(err)) from err
    return SplashOptions(**parsed)
