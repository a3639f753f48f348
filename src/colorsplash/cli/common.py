"""Pieces shared by the CLI verbs: each flag used by several verbs is defined here once."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from colorsplash.runtime.flags import arg_type, positive_int


def need_torch(verb: str) -> None:
    """Raise a one-line error when PyTorch (the ``train`` extra) is missing."""
    if importlib.util.find_spec("torch") is None:
        raise RuntimeError(f"colorsplash {verb} needs PyTorch: pip install 'colorsplash[train]'")


def add_model_argument(parser: argparse.ArgumentParser, kinds: str = "ONNX model file") -> None:
    """``--model PATH``: the model to run; none given means ``$COLORSPLASH_MODEL`` or the bundled pet model."""
    parser.add_argument("--model", default=None, metavar="PATH",
                        help=f"{kinds} (default: $COLORSPLASH_MODEL or the bundled pet model)")


def add_output_argument(parser: argparse.ArgumentParser, what: str, required: bool = False) -> None:
    """``-o/--output``: the one spelling of "where the results go" across verbs."""
    parser.add_argument("-o", "--output", required=required, default=None, metavar="PATH", help=what)


def add_overwrite_argument(parser: Any, what: str) -> None:
    """``--overwrite``: the one switch that lets a run replace an existing file it did not create (never an
    input). ``parser`` may be a mutually exclusive group."""
    parser.add_argument("--overwrite", action="store_true", help=f"replace {what} (never an input)")


def add_max_pixels_argument(parser: argparse.ArgumentParser, default: int, guards: str) -> None:
    """``--max-pixels N``: refuse inputs larger than this; ``guards`` says what the limit protects."""
    parser.add_argument("--max-pixels", type=arg_type(positive_int), default=default, metavar="N",
                        help=f"refuse inputs with more pixels than this (default: {default:,}); {guards}")


def add_jobs_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``-j/--jobs N``: how much runs at once (one spelling across verbs)."""
    parser.add_argument("-j", "--jobs", type=arg_type(positive_int), default=None, metavar="N", help=what)
