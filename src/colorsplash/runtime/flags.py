"""Config fields that are also command-line flags: each option is defined once, on its dataclass field.

:func:`flag` makes a ``dataclasses.field`` whose ``metadata`` carries the flag's help, spellings, parser and
choices; :mod:`colorsplash.cli.config_args` turns such fields into ``argparse`` options and back into a config.
Fields made without :func:`flag` are not command-line options. The parsers below take the command line's
string and raise ``ValueError`` with a message fit for the user.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any


def flag(
    default: Any,
    help: str,
    *,
    flags: Sequence[str] = (),
    parse: Callable[[str], Any] | None = None,
    choices: Sequence[str] | None = None,
    metavar: str | tuple[str, ...] | None = None,
    default_text: str | None = None,
) -> Any:
    """A dataclass field that is also the flag ``flags`` (default ``--field-name``).

    Args:
        default: the field's default (immutable: tuples, not lists).
        help: one line for ``--help``; the default is appended (``default_text`` replaces it when the real
            default is computed elsewhere).
        parse: turns the command line's string into the value (default: the field's type).
        choices: the allowed values, listed by ``--help``.
    """
    meta = {
        "help": help,
        "flags": tuple(flags),
        "parse": parse,
        "choices": tuple(choices) if choices else None,
        "metavar": metavar,
        "default_text": default_text,
    }
    return field(default=default, metadata=meta)


def _number(value: str, kind: Callable[[str], Any], expected: str) -> Any:
    try:
        v = kind(value)
    except ValueError as err:
        raise ValueError(f"expected {expected}, got {value!r}") from err
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {value!r}")
    return v


def number_in_range(kind: Callable[[str], Any], ok: Callable[[Any], bool], rule: str) -> Callable[[str], Any]:
    """A parser of ``kind`` (``int`` or ``float``) accepting the finite values where ``ok(value)``; otherwise
    ``ValueError("must be <rule>, got <value>")``."""
    expected = rule if rule.startswith("a ") else f"a {'whole ' if kind is int else ''}number {rule}"

    def parse(value: str) -> Any:
        v = _number(value, kind, expected)
        if not ok(v):
            raise ValueError(f"must be {rule}, got {value}")
        return v

    return parse


positive_int: Callable[[str], int] = number_in_range(int, lambda v: v > 0, "a positive whole number")
non_negative_int: Callable[[str], int] = number_in_range(int, lambda v: v >= 0, "0 or more")
positive_float: Callable[[str], float] = number_in_range(float, lambda v: v > 0, "more than 0")
non_negative_float: Callable[[str], float] = number_in_range(float, lambda v: v >= 0, "0 or more")
unit_float: Callable[[str], float] = number_in_range(float, lambda v: 0.0 <= v <= 1.0, "between 0 and 1")


def arg_type(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse's ``type=``: its ``ValueError`` becomes argparse's readable
    ``argument --x: MESSAGE`` (not ``invalid parse value``)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def non_empty_name(advice: str) -> Callable[[str], str]:
    """A parser of a file or folder option's value that refuses an empty one (``--init "$CKPT"`` with the variable
    unset): read as none given, it trained from ImageNet weights, started a new run or embedded no scores without a
    word (and ``--model ""`` as the current folder): ``ValueError("got an empty name; <advice>")``. The one rule of
    every such option."""

    def parse(text: str) -> str:
        if not text:
            raise ValueError(f"got an empty name; {advice}")
        return text

    return parse
