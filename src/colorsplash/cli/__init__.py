"""Command line entry point: ``colorsplash VERB ...`` (also ``python -m colorsplash``).

The CLI only parses arguments and calls the library. Each verb lives in a module of this package exposing
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` (the exit status).
Errors reach the user as one line, ``colorsplash VERB: error: ...`` as argparse words its own (which adds the
verb's usage above); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import io
import logging
import os
import re
import select
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from colorsplash import __version__
from colorsplash.cli import evaluate as cli_evaluate
from colorsplash.cli import export as cli_export
from colorsplash.cli import serve as cli_serve
from colorsplash.cli import splash as cli_splash
from colorsplash.cli import train as cli_train
from colorsplash.cli import video as cli_video
from colorsplash.cli.common import point_at_null
from colorsplash.cli.suggest import SuggestingParser, dashed_hint, option_hint, verb_parsers
from colorsplash.entry import interrupted
from colorsplash.runtime.files import LINK_LOOP, TOO_LONG
from colorsplash.runtime.options import OptionError
from colorsplash.runtime.wording import printable

# Errors that are the user's to fix (bad path, bad file, bad option): one line, no traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError, KeyError)


def build_parser() -> argparse.ArgumentParser:
    parser = SuggestingParser(
        prog="colorsplash", description="Colour splash: keep the subject in colour, turn the background grey."
    )
    parser.add_argument("--version", action="version", version=f"colorsplash {__version__}")
    _add_global_flags(parser, False)
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in (cli_splash, cli_video, cli_train, cli_evaluate, cli_export, cli_serve):
        module.register(sub)
    for verb_parser in sub.choices.values():  # also after the verb (`colorsplash splash -q ...`), as users type it
        _add_global_flags(verb_parser, argparse.SUPPRESS)
        verb_parser.set_defaults(verb_parser=verb_parser)  # whose usage and prefix an unknown argument gets
    return parser


def _add_global_flags(parser: argparse.ArgumentParser, default: object) -> None:
    """``--debug`` and ``-q``; a verb's copies default to SUPPRESS so that, absent, they keep the top level's."""
    parser.add_argument("--debug", action="store_true", default=default, help="show full tracebacks on errors")
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="only warnings and errors")


def _attached_point(argv: list[str]) -> list[str]:
    """``--point -5,3`` as ``--point=-5,3``: argparse takes a value starting with "-" for an option and answered
    "expected one argument"; attached, the value reaches its own check ("must not be negative")."""
    out = list(argv)
    for i in range(len(out) - 1):
        if out[i] == "--point" and re.fullmatch(r"-[\d.]+,-?[\d.]+", out[i + 1]):
            out[i : i + 2] = [f"--point={out[i + 1]}"]
            break
    return out


def configure_logging(quiet: bool, debug: bool) -> None:
    """Log to standard error from INFO (WARNING with ``quiet``), as ``logging.basicConfig`` would (nothing when the
    root logger has a handler already), but other libraries' lines only from WARNING unless ``debug``: ONNX
    Runtime's quantiser logs one INFO line per rescaled weight on the root logger (70 for a Lite0 model)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if debug else "%(message)s"))
    if not debug:
        handler.addFilter(_ours_or_warnings)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)


def _ours_or_warnings(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] == "colorsplash"


def escaping_stdout() -> None:
    """Standard output's text written as standard error's always is: a character its encoding cannot hold as an
    escape (``\\u2014``, ``\\udce9``, as :func:`~colorsplash.runtime.wording.printable` shows such a name), never
    an error. Its encoding follows the locale and refuses what it cannot encode: under a Latin-1 locale
    ``evaluate``'s table (the model's "—") and under ``en_US.UTF-8`` a path whose bytes are not UTF-8 (``train``'s
    last line, ``-o caf\\xe9``) stopped a finished run with status 2. Pictures written to standard output (``-o -``)
    go to its bytes, untouched."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors != "backslashreplace":
        sys.stdout.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); its exit status. Ctrl-C (SIGTERM, SIGHUP) at any
    moment, while the parser is built too, is one line (:func:`colorsplash.entry.interrupted`)."""
    try:
        return _run(argv)
    except KeyboardInterrupt as stop:
        return interrupted(stop)


def _run(argv: Sequence[str] | None) -> int:
    if sys.stderr is None:  # started with standard error closed (2>&-): print() would fall back to stdout,
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- into a picture written there; lines go nowhere
    escaping_stdout()
    parser = build_parser()
    words = _attached_point(sys.argv[1:] if argv is None else list(argv))
    try:
        args, unknown = parser.parse_known_args(words)
        if unknown:  # argparse's top level said "colorsplash: error:" with the list of verbs: the verb's own words
            hint = option_hint(unknown[0], args.verb, verb_parsers(parser))
            args.verb_parser.error(
                f"unrecognized arguments: {' '.join(unknown)}{hint} (see colorsplash {args.verb} --help)"
            )
    except SystemExit as done:  # --help, --version, or a usage error already printed by argparse
        if done.code and (dashed := dashed_hint(words)) is not None:  # -dash.png, a photo's name, taken as an option
            print(f"colorsplash: {printable(dashed)}", file=sys.stderr)
        return done.code if isinstance(done.code, int) else 2
    configure_logging(args.quiet, args.debug)
    try:
        return int(args.func(args))
    except USER_ERRORS as err:
        if args.debug:
            traceback.print_exc()
        if isinstance(err, BrokenPipeError) and stdout_gone():  # after evaluate's reports, train's run: its lines
            print(f"colorsplash {args.verb}: {STDOUT_GONE}", file=sys.stderr)
            return 1
        print(f"colorsplash {args.verb}: error: {error_text(err)}", file=sys.stderr)
        return 2


STDOUT_GONE = "standard output was closed by its reader before all its lines were written (the work itself was done)"


def stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone (``evaluate | head -1``: the reader left before the
    table was written, which said "error: [Errno 32] Broken pipe" with status 2): the system reports an error on
    its file descriptor. If so, that descriptor is pointed at the null device, so that Python's flush at exit does
    not fail again ("Exception ignored ...")."""
    try:
        poller = select.poll()  # POSIX; Windows has none: the error line stays
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        if not any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0)):
            return False
    except (OSError, ValueError, AttributeError):  # no descriptor (a test's StringIO), no poll
        return False
    point_at_null(sys.stdout)
    return True


def error_text(err: BaseException) -> object:
    """The one line a user error is said in: an option's error in the CLI's spelling; a path whose one name is
    longer than the system allows, or that leads round a loop of symbolic links (any verb, wherever it was typed),
    in words, not as "[Errno 36] File name too long" or "Symlink loop from"; otherwise the error's own words."""
    if isinstance(err, OptionError):
        return err.spelt("cli")
    if isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG and err.filename is not None:
        return f"{os.fsdecode(err.filename)}: a name in this path is {TOO_LONG}; give a shorter name"
    if isinstance(err, OSError) and err.errno == errno.ELOOP and err.filename is not None:
        return f"{_looping_link(os.fsdecode(err.filename))}: {LINK_LOOP}"
    # Path.resolve() of a loop of links: Python up to 3.12 raises this RuntimeError (3.13 an OSError, above)
    if isinstance(err, RuntimeError) and (loop := re.fullmatch(r"Symlink loop from '(.*)'", str(err))):
        return f"{_looping_link(loop.group(1))}: {LINK_LOOP}"
    return err


def _looping_link(path: str) -> str:
    """The first name along ``path`` that leads round the loop (``-o loop/sub/out.jpg`` called ``loop/sub/out.jpg``
    itself a symbolic link), or ``path`` where none is found (the links changed meanwhile)."""
    parts = Path(path).parts
    for end in range(1, len(parts) + 1):
        here = Path(*parts[:end])
        try:
            os.stat(here)
        except OSError as err:
            if err.errno == errno.ELOOP:
                return str(here)
    return path


if __name__ == "__main__":
    sys.exit(main())
