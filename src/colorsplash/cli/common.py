"""Pieces shared by the CLI verbs: each flag used by several verbs is defined here once; a dead standard output
silenced (:func:`point_at_null`)."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import os
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

from colorsplash.runtime.flags import arg_type, non_empty_name, number_in_range, positive_int
from colorsplash.runtime.progress import stderr_is_terminal

PRECISIONS = ("auto", "int8", "fp32")  # = runtime.model.variants.PRECISION_CHOICES
DEVICES = ("auto", "cpu", "cuda")  # = runtime.model.onnx_model.DEVICE_CHOICES


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only for a person watching: not with ``-q``, and not when standard error is a file or a
    pipe (a log would fill with the bar's redrawn frames); the verbs' summary and warning lines still go there."""
    return not getattr(args, "quiet", False) and stderr_is_terminal()


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP), handled like Ctrl-C; the CLI exits with ``exit_status`` (128 + the signal: 143, 129),
    not Ctrl-C's 130."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.exit_status = 128 + signum


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM (``kill``, ``timeout``, a service manager stopping us) and SIGHUP (the terminal or
    the ssh session closed, which killed the run outright and left hidden partial files) act like Ctrl-C: they raise
    :class:`Terminated` (a KeyboardInterrupt), so the verbs that write files stop as on Ctrl-C and leave no
    partial file (``video`` stops ffmpeg; ``splash`` and ``mask`` let running photos finish and drop the queued
    ones). A SIGHUP ignored when we started (``nohup``) stays ignored. Main thread only (Python delivers signals
    there); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(signum)

    hangup = getattr(signal, "SIGHUP", None)  # not on Windows
    watched = [signal.SIGTERM, *([hangup] if hangup is not None and signal.getsignal(hangup) != signal.SIG_IGN else [])]
    previous = {signum: signal.signal(signum, interrupt) for signum in watched}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def need_torch(verb: str) -> None:
    """Raise a one-line error when PyTorch (the ``train`` extra) is missing."""
    if importlib.util.find_spec("torch") is None:
        raise RuntimeError(f"{verb} needs PyTorch, which is not installed: pip install 'colorsplash[train]'")


# A requirement of an extra in colorsplash's metadata: 'starlette>=0.51; extra == "server"'.
_EXTRA_REQUIREMENT = re.compile(
    r'(?P<name>[A-Za-z0-9_.-]+)(?:\[[^\]]*\])?(?P<spec>[^;]*);\s*extra\s*==\s*"(?P<extra>[^"]+)"'
)


def _release(version: str) -> tuple[int, ...]:
    """The release numbers of a version, trailing zeros dropped (``0.51.0`` is ``0.51``; ``1.0rc1`` is ``1``)."""
    found = re.match(r"\d+(?:\.\d+)*", version)
    parts = [int(p) for p in found.group().split(".")] if found else []
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def outdated_extra(extra: str) -> list[str]:
    """The packages of colorsplash's ``extra`` installed older than the extra's minimum (pyproject.toml's, read
    from the installed metadata), as ``"starlette 0.38.6, at least 0.51"``. Missing packages are left to the
    imports to name; none when colorsplash's metadata is not installed (run from a checkout on ``PYTHONPATH``)."""
    try:
        requirements = importlib.metadata.requires("colorsplash") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    old = []
    for requirement in requirements:
        found = _EXTRA_REQUIREMENT.fullmatch(requirement.strip())
        low = re.search(r">=\s*([0-9][0-9.]*)", found["spec"]) if found and found["extra"] == extra else None
        if found is None or low is None:
            continue
        try:
            have = importlib.metadata.version(found["name"])
        except importlib.metadata.PackageNotFoundError:
            continue
        if _release(have) < _release(low.group(1)):
            old.append(f"{found['name']} {have}, at least {low.group(1)}")
    return old


def add_model_argument(parser: argparse.ArgumentParser, kinds: str = "ONNX model file") -> None:
    """``--model PATH``: the model to run; none given means ``$COLORSPLASH_MODEL`` or the bundled pet model."""
    parser.add_argument(
        "--model",
        default=None,
        type=arg_type(_model_name),
        metavar="PATH",
        help=f"{kinds} (default: $COLORSPLASH_MODEL or the bundled pet model)",
    )


# ``--model ""`` (``--model "$MODEL"`` with the variable unset) was read as the current folder: ": is a folder"
_model_name = non_empty_name("name a model file, or leave --model out for $COLORSPLASH_MODEL or the bundled model")


def add_negatives_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--negatives DIR...``: folders of photos that do not show the subject; ``what`` says what the verb does
    with them."""
    parser.add_argument(
        "--negatives",
        nargs="+",
        type=arg_type(non_empty_name("name a folder of photos without the subject, or leave --negatives out")),
        metavar="DIR",
        default=[],
        help=f"{what}. Name them after the data folders",
    )


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """The data set folders, ``DATA...``: an empty name (``"$DATA"`` unset) refused, never the current folder."""
    parser.add_argument(
        "data",
        nargs="*",
        type=arg_type(non_empty_name("name a data set folder")),
        metavar="DATA",
        help="data set folders",
    )


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """``--precision`` and ``--device``: which variant of the model runs, and where (see
    :func:`colorsplash.runtime.model.onnx_model.load_model`). Choices are spelt here, not imported, so ``--help`` stays
    fast; tests check they match the runtime's."""
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="model variant: auto (the fastest on this CPU, measured once and cached), int8 or "
        "fp32 (float arithmetic; also what auto picks on a GPU)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="auto (CUDA when onnxruntime-gpu finds a GPU, else the CPU), cpu or cuda (the GPU build of ONNX "
        "Runtime: README, 'Speed on your machine')",
    )


def add_output_argument(
    parser: argparse.ArgumentParser, what: str, required: bool = False, metavar: str = "PATH", advice: str = ""
) -> None:
    """``-o/--output``: the one spelling of "where the results go" across verbs; ``advice``: what an empty name
    (``-o "$OUT"`` unset) is told to do. The text as typed, not a ``Path``, which drops the ``/`` of a folder named
    so (``-o shots.jpg/``)."""
    advice = advice or "name where the results go" + ("" if required else ", or leave -o out")
    parser.add_argument(
        "-o",
        "--output",
        type=arg_type(non_empty_name(advice)),
        required=required,
        default=None,
        metavar=metavar,
        help=what,
    )


def add_overwrite_argument(parser: Any, what: str) -> None:
    """``--overwrite``: the one switch that lets a run replace an existing file it did not create (never an
    input, nor what :func:`colorsplash.runtime.files.not_replaceable` names). ``parser`` may be a mutually
    exclusive group."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace {what} (never an input, nor a pipe or device such as /dev/null, or a link to one)",
    )


def add_max_pixels_argument(parser: argparse.ArgumentParser, default: int, guards: str) -> None:
    """``--max-pixels N``: refuse inputs larger than this; ``guards`` says what the limit protects."""
    parser.add_argument(
        "--max-pixels",
        type=arg_type(positive_int),
        default=default,
        metavar="N",
        help=f"refuse inputs with more pixels than this (default: {default:,}); {guards}",
    )


def add_jobs_argument(parser: argparse.ArgumentParser, what: str, auto: bool = False) -> None:
    """``-j/--jobs N``: how much runs at once (one spelling across verbs); with ``auto``, ``auto`` is accepted too
    and means ``None`` (the runtime decides)."""
    parse = arg_type(jobs_or_auto if auto else positive_int)
    parser.add_argument("-j", "--jobs", type=parse, default=None, metavar="N|auto" if auto else "N", help=what)


def jobs_or_auto(value: str) -> int | None:
    """``auto`` -> ``None``; otherwise a positive whole number (a refusal names ``auto`` too: ``-j many`` said only
    "expected a positive whole number")."""
    return None if value.strip().lower() == "auto" else _positive_jobs(value)


_positive_jobs = number_in_range(int, lambda v: v > 0, "a positive whole number or auto")


def point_at_null(stream: Any) -> None:
    """Point ``stream``'s file descriptor (standard output, whose reader has gone) at the null device, so that the
    bytes it still holds, flushed later (at exit: "Exception ignored ... BrokenPipeError"), fail no more. Nothing
    for a stream without a descriptor."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)
