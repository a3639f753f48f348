"""Where the bench scripts find the shared data sets: ``../shared/data`` beside the checkout (read its README.md),
and what they say when a photo or mask of it is bad.

One owner of the path, so a script run from any folder finds the same data; scripts that take ``--data`` default
to it. One owner of the exit on bad data (:func:`bad_data_exits`), so every script says it alike."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from colorsplash.evaluation.folders import DataError

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def bad_data_exit(err: DataError) -> SystemExit:
    """The exit for ``err``: one line naming the file and what to do, without the library's advice to pass
    ``--skip-bad`` (:attr:`DataError.detail`), which the bench scripts do not take."""
    return SystemExit(f"error: {err.detail}")


@contextmanager
def bad_data_exits() -> Iterator[None]:
    """Turn a :class:`DataError` raised inside (an unreadable mask, a photo without one) into
    :func:`bad_data_exit`'s one-line exit instead of a traceback."""
    try:
        yield
    except DataError as err:
        raise bad_data_exit(err) from err


@contextmanager
def extra_needed(extra: str, module: str) -> Iterator[None]:
    """Imports that script ``module`` (its ``__name__``) takes from an optional extra (``pip install -e
    ".[EXTRA]"``). Where one is missing (the light install) and the script is the one run, ``python bench/x.py
    --help`` still prints its usage, after a line saying what to install, and a run stops with that line instead
    of a traceback. Imported (by a test, or by another script that skips what it cannot run) the error goes on as
    it is; so does a missing colorsplash module."""
    try:
        yield
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if module != "__main__" or top in ("", "colorsplash"):
            raise
        script = Path(sys.argv[0]).name
        line = f'bench/{script} needs {top}, which is not installed here: pip install -e ".[{extra}]"'
        if not {"-h", "--help"} & set(sys.argv[1:]):
            raise SystemExit(f"error: {line}") from None
        print(line)  # then the script prints its usage: the names it would have imported are not used for that
