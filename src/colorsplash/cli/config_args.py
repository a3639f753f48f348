"""Command-line flags generated from config dataclasses (fields made with :func:`colorsplash.runtime.flags.flag`).

Each option is defined once, on its field: name, type, default, help, choices. :func:`add_config_arguments`
adds the flags of one dataclass to a parser; :func:`config_from_args` lays the flags the user actually gave over
a base config, so defaults are never stated twice (a flag that was not given leaves the base's value).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

from colorsplash.runtime.flags import arg_type

C = TypeVar("C")


def _value_type(hint: Any) -> Any:
    """``int | None`` -> ``int``; other hints unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint


def _shown_default(f: dataclasses.Field[Any]) -> str:
    if f.metadata.get("default_text"):
        return str(f.metadata["default_text"])
    default = f.default
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, tuple):
        return " ".join(str(v) for v in default)
    return "none" if default is None else str(default)


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, key: str, title: str) -> None:
    """Add a flag for every :func:`~colorsplash.runtime.flags.flag` field of the dataclass ``cls``.

    Values land in the namespace as ``"<key>.<field>"`` and only when given (``argparse.SUPPRESS``).
    """
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta:
            continue
        flags = meta["flags"] or ("--" + f.name.replace("_", "-"),)
        kind = _value_type(hints[f.name])
        kwargs: dict[str, Any] = {
            "dest": f"{key}.{f.name}",
            "default": argparse.SUPPRESS,
            "help": f"{meta['help']} (default: {_shown_default(f)})",
        }
        if kind is bool:
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs)
            continue
        if typing.get_origin(kind) is tuple:
            elem = typing.get_args(kind)[0]
            kwargs["nargs"] = len(typing.get_args(kind))
            kind = elem
        parse = meta["parse"] or kind
        metavar = None if meta["choices"] else meta["metavar"] or flags[-1].lstrip("-").replace("-", "_").upper()
        group.add_argument(*flags, type=arg_type(parse), choices=meta["choices"], metavar=metavar, **kwargs)


def given_fields(ns: argparse.Namespace, key: str) -> dict[str, Any]:
    """The fields of ``key`` that the user gave on the command line, by field name."""
    prefix = key + "."
    return {
        name[len(prefix) :]: (tuple(v) if isinstance(v, list) else v)
        for name, v in vars(ns).items()
        if name.startswith(prefix)
    }


def _flag_text(f: dataclasses.Field[Any]) -> str:
    """A field's option strings as one word: ``--epochs``, ``-o/--output``."""
    return "/".join(f.metadata["flags"] or ("--" + f.name.replace("_", "-"),))


def given_flags(ns: argparse.Namespace, cls: type, key: str) -> list[str]:
    """The option strings (``--epochs``, ``-o/--output``) of the fields of ``cls`` under ``key`` that the user gave."""
    given = given_fields(ns, key)
    return [_flag_text(f) for f in dataclasses.fields(cls) if f.name in given and "help" in f.metadata]


def replaced_flags(ns: argparse.Namespace, key: str, given: Any, used: Any) -> list[str]:
    """``--epochs 30``: each flag of ``key`` the user gave whose field has another value in the config ``used``
    than in ``given`` (the config the flags made), with the value used."""
    fields = {f.name: f for f in dataclasses.fields(used)}
    replaced = []
    for name in given_fields(ns, key):
        value = getattr(used, name)
        if value != getattr(given, name):
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
            shown = ("on" if value else "off") if isinstance(value, bool) else shown
            replaced.append(f"{_flag_text(fields[name])} {shown}")
    return replaced


def config_from_args(base: C, ns: argparse.Namespace, key: str) -> C:
    """``base`` with the flags of ``key`` that were given laid over it (validated by the dataclass itself)."""
    return dataclasses.replace(base, **given_fields(ns, key))  # type: ignore[type-var]
