"""The ``colorsplash`` command's entry point (and ``python -m colorsplash``'s): the CLI, with Ctrl-C said the
same way whenever it comes, while the verbs' modules load (a quarter of a second, more on a busy machine) too: it
printed a ``KeyboardInterrupt`` traceback from inside an ``import``. Light: nothing but the standard library until
:func:`main` runs."""

from __future__ import annotations

import contextlib
import sys


def interrupted(stop: KeyboardInterrupt) -> int:
    """Say the one line of a command stopped by Ctrl-C (or SIGTERM, SIGHUP: :class:`colorsplash.cli.common
    .Terminated`) and return its exit status: 130 for Ctrl-C, 128 + the signal for the others. The one owner of
    that line, for every verb."""
    with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone (EIO)
        print("colorsplash: interrupted", file=sys.stderr)
    return int(getattr(stop, "exit_status", 130))


def main() -> int:
    """Load the CLI and run it on ``sys.argv``; its exit status."""
    try:
        from colorsplash.cli import main as cli_main
    except KeyboardInterrupt as stop:
        return interrupted(stop)
    return cli_main()
