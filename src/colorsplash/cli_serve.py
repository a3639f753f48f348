"""CLI verbs for serve (placeholder: being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("serve", help="serve (not yet available)")
    parser.set_defaults(func=lambda args: 1)
