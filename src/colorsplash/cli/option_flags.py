"""The splash options as command-line flags: one ``--flag`` per :class:`~colorsplash.runtime.options.SplashOptions`
field (the one definition; the HTTP API reads the same fields with
:func:`~colorsplash.runtime.options.options_from_mapping`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

from colorsplash.runtime.flags import arg_type
from colorsplash.runtime.options import OPTION_FIELDS, OPTION_NAMES, SplashOptions, choices, option_help


class _Switch(argparse.Action):
    """``--hard`` / ``--no-hard``: a boolean option with its negation (the same on every Python version)."""

    def __init__(self, option_strings: list[str], dest: str, default: bool = False, help: str | None = None) -> None:
        strings = [s for o in option_strings for s in (o, "--no-" + o[2:])]
        super().__init__(strings, dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, not (option_string or "").startswith("--no-"))


def add_arguments(
    parser: argparse.ArgumentParser,
    names: Iterable[str] | None = None,
    mask: bool = False,
    helps: Mapping[str, str] | None = None,
) -> None:
    """Add one ``--flag`` per option (only ``names`` when given), help with choices and defaults; booleans become
    ``--hard``/``--no-hard`` switches. ``mask``: the help words the options for the ``mask`` verb; ``helps``:
    a verb's own help for some options (by name; the default is still added), e.g. what quality means for video."""
    group = parser.add_argument_group("mask options" if mask else "splash options")
    wanted = set(OPTION_NAMES if names is None else names)
    for f in OPTION_FIELDS:
        if f.name not in wanted:
            continue
        flag = "--" + f.name.replace("_", "-")
        text = option_help(f, mask, (helps or {}).get(f.name)).replace("%", "%%")  # argparse formats help with %
        if f.type in ("bool", bool):
            group.add_argument(flag, dest=f.name, action=_Switch, default=f.default, help=text)
            continue
        values = choices(f)
        metavar = "{" + ",".join(values) + "}" if values else f.metadata["metavar"]
        group.add_argument(
            flag, dest=f.name, type=arg_type(f.metadata["parse"]), default=f.default, metavar=metavar, help=text
        )


def options_from_namespace(ns: argparse.Namespace) -> SplashOptions:
    return SplashOptions(**{name: getattr(ns, name) for name in OPTION_NAMES if hasattr(ns, name)})
