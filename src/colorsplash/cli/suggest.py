"""Suggestions for mistyped verbs and options: ``colorsplash splsh`` and ``colorsplash splash --overwite`` name the
verb or option meant, as git does ("did you mean ...?"); argparse before Python 3.14 lists the choices only."""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Sequence
from typing import NoReturn

from colorsplash.runtime.wording import listed

# argparse's words for a value outside ``choices``, quoted (3.10, 3.11) or not (3.12.8 and later)
_INVALID_CHOICE = re.compile(r"argument \S+: invalid choice: '?(?P<value>.*?)'? \(choose from (?P<choices>.*)\)")
_VERB_MISSING = "the following arguments are required: VERB"


def closest(word: str, candidates: list[str], cutoff: float = 0.6) -> str | None:
    """The candidate ``word`` most likely meant (a typo: a letter left out, doubled or swapped), or None."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
    return found[0] if found else None


def verb_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each verb's parser, by verb, of the top-level ``parser`` (empty for a parser without verbs)."""
    return {v: p for a in parser._actions if isinstance(a, argparse._SubParsersAction) for v, p in a.choices.items()}


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [s for action in parser._actions for s in action.option_strings if s.startswith("--")]


def option_hint(unknown: str, verb: str, verbs: dict[str, argparse.ArgumentParser]) -> str:
    """What to say after "unrecognized arguments" for ``unknown``, the first one, given to ``verb`` (``verbs``: every
    verb's parser): ``; did you mean --overwrite?`` for ``--overwite`` (or ``--overwite=x``), ``; --effect is an
    option of splash, video, not of mask`` for another verb's option; empty when nothing fits (a stray value)."""
    if not unknown.startswith("--"):
        return ""
    name = unknown.split("=", 1)[0]
    elsewhere = [v for v, p in verbs.items() if v != verb and name in _long_options(p)]
    if elsewhere:
        return f"; {name} is an option of {listed(elsewhere)}, not of {verb}"
    negated = name.startswith("--no-")  # never the opposite: --no-overwrite is not a typo of --overwrite
    names = {s[2:]: s for s in _long_options(verbs[verb]) if s.startswith("--no-") == negated}  # without "--"
    meant = closest(name[2:], list(names), cutoff=0.75)
    return f"; did you mean {names[meant]}?" if meant else ""


class SuggestingParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors name the verb or value meant: ``invalid choice: 'splsh' (choose from
    ...); did you mean 'splash'?``, and that lists the verbs when none is given. Subparsers are of this class too
    (``add_subparsers`` makes its parsers of the parent's class)."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.fullmatch(message)
        if found and "meant" not in message:  # Python 3.14's own suggestion ("maybe you meant ...") is enough
            choices = [c.strip().strip("'") for c in found["choices"].split(",")]
            meant = closest(found["value"], choices)
            message += f"; did you mean '{meant}'?" if meant else ""
        elif message == _VERB_MISSING:
            message += f" (one of {', '.join(verb_parsers(self))}; {self.prog} --help says what each does)"
        super().error(message)


def dashed_files(argv: Sequence[str]) -> list[str]:
    """The words of ``argv`` before any ``--`` that start with ``-`` and name a file or folder that is there
    (``-dash.png``, ``--help.png``): argparse takes them for options, so the run stops with a usage error that
    says nothing of the file (``the following arguments are required: INPUT``)."""
    words = list(argv)
    words = words[: words.index("--")] if "--" in words else words
    return [w for w in words if w.startswith("-") and w != "-" and os.path.lexists(w)]


def dashed_hint(argv: Sequence[str]) -> str | None:
    """The line that follows a usage error when ``argv`` names such files (:func:`dashed_files`), or ``None``."""
    files = dashed_files(argv)
    if not files:
        return None
    return (
        f"{listed(files)}: a file whose name starts with '-' is read as an option; write it as ./{files[0]}, "
        "or put -- before the file names"
    )
