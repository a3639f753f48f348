"""CLI verb ``colorsplash serve``: the web page and HTTP API (see :mod:`colorsplash.server.app`).

Binds to loopback by default: the server has no authentication, so exposing it on a network is an explicit
choice (``--host 0.0.0.0``), and it says so in the log.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from typing import Any

from colorsplash.cli.common import add_runtime_arguments

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve", help="web page and HTTP API on this computer",
        description="Serve the colour-splash web page (/) and HTTP API (/api, documented at /docs).")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--model", metavar="PATH", default=None,
                        help="ONNX model file (default: $COLORSPLASH_MODEL or the bundled model)")
    # Limits default to None so the server's own defaults (one place: colorsplash.server) apply.
    parser.add_argument("--max-upload-mb", type=_positive_float, default=None, metavar="MB",
                        help="largest accepted request body in megabytes (default 25)")
    parser.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N",
                        help="largest accepted photo in pixels (default 50,000,000)")
    parser.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="N",
                        help="photos processed at once (default: CPU count, at most 4)")
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def _positive_float(value: str) -> float:
    v = float(value)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return v


def _positive_int(value: str) -> int:
    v = int(value)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return v


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from colorsplash.server.app import create_app
    except ImportError as err:
        raise RuntimeError(f"colorsplash serve needs the server extra ({err.name} is missing): "
                           "pip install 'colorsplash[server]'") from err
    limits: dict[str, int] = {}
    if args.max_upload_mb is not None:
        limits["max_upload_bytes"] = int(args.max_upload_mb * 1024 * 1024)
    if args.max_pixels is not None:
        limits["max_pixels"] = args.max_pixels
    if args.jobs is not None:
        limits["workers"] = args.jobs
    app = create_app(model_path=args.model, precision=args.precision, device=args.device, **limits)
    if not is_loopback(args.host):
        log.warning("listening on %s: anyone who can reach this address can use the server (no authentication)",
                    args.host)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    log.info("colorsplash: open http://%s:%d/ (API docs at /docs); Ctrl+C stops", shown, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
