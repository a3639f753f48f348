"""CLI verbs for video (placeholder: being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("video", help="video (not yet available)")
    parser.set_defaults(func=lambda args: 1)
