"""Config fields that are also command-line flags: each option is defined once, on its dataclass field.

:func:`flag` makes a ``dataclasses.field`` whose ``metadata`` carries the flag's help, spellings, parser and
choices; :mod:`colorsplash.cli.config_args` turns such fields into ``argparse`` options and back into a config.
Fields made without :func:`flag` are not command-line options. The parsers below take the command line's
string and raise ``ValueError`` with a message fit for the user.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any


def flag(default: Any, help: str, *, flags: Sequence[str] = (), parse: Callable[[str], Any] | None = None,
         choices: Sequence[str] | None = None, metavar: str | tuple[str, ...] | None = None,
         default_text: str | None = None) -> Any:
    """A dataclass field that is also the flag ``flags`` (default ``--field-name``).

    Args:
        default: the field's default (immutable: tuples, not lists).
        help: one line for ``--help``; the default is appended (``default_text`` replaces it when the real
            default is computed elsewhere).
        parse: turns the command line's string into the value (default: the field's type).
        choices: the allowed values, listed by ``--help``.
    """
    meta = {"help": help, "flags": tuple(flags), "parse": parse, "choices": tuple(choices) if choices else None,
            "metavar": metavar, "default_text": default_text}
    return field(default=default, metadata=meta)


def _number(value: str, kind: Callable[[str], Any]) -> Any:
    try:
        v = kind(value)
    except ValueError as err:
        raise ValueError(f"expected a {'whole ' if kind is int else ''}number, got {value!r}") from err
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {value!r}")
    return v


def positive_int(value: str) -> int:
    v: int = _number(value, int)
    if v <= 0:
        raise ValueError(f"must be a positive whole number, got {value}")
    return v


def non_negative_int(value: str) -> int:
    v: int = _number(value, int)
    if v < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return v


def positive_float(value: str) -> float:
    v: float = _number(value, float)
    if v <= 0:
        raise ValueError(f"must be more than 0, got {value}")
    return v


def non_negative_float(value: str) -> float:
    v: float = _number(value, float)
    if v < 0:
        raise ValueError(f"must be 0 or more, got {value}")
    return v


def unit_float(value: str) -> float:
    v: float = _number(value, float)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value}")
    return v
