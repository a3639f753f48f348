"""Pieces shared by the CLI verbs: each flag used by several verbs is defined here once."""

from __future__ import annotations

import argparse
import importlib.util


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
