"""Evaluation at original resolution (placeholder: being built)."""

from __future__ import annotations

import argparse


def evaluate_cli(args: argparse.Namespace) -> int:
    raise RuntimeError("evaluate is not built yet")
