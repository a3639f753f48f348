"""CLI verb ``colorsplash serve``: the web page and HTTP API (see :mod:`colorsplash.server.app`).

Binds to loopback by default: the server has no authentication, so exposing it on a network is an explicit
choice (``--host 0.0.0.0``), and it says so in the log. Only requests naming this server in ``Host`` (loopback
names, the bound address, ``--allowed-host``) and, from web pages, coming from its own origin (or
``--allowed-origin``) are answered.
"""

from __future__ import annotations

import argparse
import copy
import errno
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from colorsplash.cli.access_lines import AccessLines, colours_refused
from colorsplash.cli.common import add_jobs_argument, add_model_argument, add_runtime_arguments, outdated_extra
from colorsplash.runtime.flags import arg_type, non_empty_name, number_in_range, positive_float, positive_int
from colorsplash.runtime.pictures.limits import DEFAULT_MAX_PIXELS
from colorsplash.server import (
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_HOST,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_PORT,
    DEFAULT_UPLOAD_TIMEOUT_S,
    MAX_CONNECTIONS,
    MAX_PER_CLIENT,
    MAX_REQUESTS,
    SERVER_MAX_PIXELS,
    required_budget,
)

if TYPE_CHECKING:
    from colorsplash.server.settings import ServerSettings

log = logging.getLogger(__name__)
MULTIPART_LOGGER = "python_multipart"
# A TCP port; 0 (a port the system picks) is left out: the start-up line would announce port 0
tcp_port = number_in_range(int, lambda v: 1 <= v <= 65535, "from 1 to 65535")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="web page and HTTP API on this computer",
        description="Serve the colour-splash web page (/) and HTTP API (/api, documented at /docs).",
    )
    parser.add_argument(
        "--host",
        type=arg_type(non_empty_name(f"give an address: {DEFAULT_HOST} (this computer only) or 0.0.0.0 (all of them)")),
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this computer only)",
    )
    parser.add_argument(
        "--port", type=arg_type(tcp_port), default=DEFAULT_PORT, help=f"TCP port, 1 to 65535 (default {DEFAULT_PORT})"
    )
    add_model_argument(parser)
    _add_limit_arguments(parser)
    _add_timeout_arguments(parser)
    add_jobs_argument(
        parser, "photos processed at once (default, auto: the CPUs this process may use, at most 4)", auto=True
    )
    _add_access_arguments(parser)
    add_runtime_arguments(parser)
    parser.set_defaults(func=run)


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    # Limits default to None so the server's own defaults (colorsplash.server, used by its settings) apply.
    budget = required_budget(SERVER_MAX_PIXELS, DEFAULT_MAX_UPLOAD_BYTES)
    parser.add_argument(
        "--max-upload-mb",
        type=arg_type(positive_float),
        default=None,
        metavar="MB",
        help=f"largest accepted request body in megabytes (default {DEFAULT_MAX_UPLOAD_BYTES / 2**20:g})",
    )
    parser.add_argument(
        "--max-pixels",
        type=arg_type(positive_int),
        default=None,
        metavar="N",
        help=f"largest accepted photo in pixels (default {SERVER_MAX_PIXELS:,}: a 48 MP phone photo passes; lower "
        f"than splash's {DEFAULT_MAX_PIXELS:,}, so that one photo at the limit fits the default memory budget below "
        "on a computer others send photos to)",
    )
    parser.add_argument(
        "--max-memory-mb",
        type=arg_type(positive_float),
        default=None,
        metavar="MB",
        help="memory budget of the photos in flight, estimated from their pixel counts; photos "
        "over it wait (one budget's worth may) or get 503; when the waiting ones fill it, another address's photo "
        "takes the place of the newest of the address holding the most, while that one keeps at least as much "
        f"(default: enough for one photo at --max-pixels, about {budget / 1e9:.1f} GB)",
    )
    parser.add_argument(
        "--max-requests",
        type=arg_type(positive_int),
        default=None,
        metavar="N",
        help=f"requests served at once, uploads still arriving included (default {MAX_REQUESTS}); one more gets "
        f"503 busy with Retry-After; each may hold an upload in memory, so N x --max-upload-mb is the most held; "
        f"open connections are capped at twice N ({MAX_CONNECTIONS} by default)",
    )
    parser.add_argument(
        "--max-per-client",
        type=arg_type(positive_int),
        default=None,
        metavar="N",
        help=f"requests served at once from one client address (default: half of --max-requests, {MAX_PER_CLIENT} "
        "by default), so that one client cannot take every slot; one more from it gets 503 busy with Retry-After. "
        "Photos waiting for a worker or for the memory budget are served in turn by address, each one's oldest first. "
        "The address is the connection's peer: behind a reverse proxy every client is the proxy's one address, so "
        "set it to --max-requests there and let the proxy limit each client (X-Forwarded-For is not trusted)",
    )


def _add_timeout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upload-timeout",
        type=arg_type(positive_float),
        default=None,
        metavar="SECONDS",
        help=f"longest time a request's upload may take to arrive (default {DEFAULT_UPLOAD_TIMEOUT_S:g}); a "
        "slower one gets 408 and its connection is closed, so slow clients cannot hold every request slot (the rest "
        "of an upload answered before it was read, 413 or 503, gets as long); raise it for large photos over slow "
        "links",
    )
    parser.add_argument(
        "--header-timeout",
        type=arg_type(positive_float),
        default=None,
        metavar="SECONDS",
        help=f"longest time a request's headers may take to arrive (default {DEFAULT_HEADER_TIMEOUT_S:g}), from "
        "the connection's opening or, on a kept-alive connection, from the next request's first byte; a slower "
        "connection gets 408 and is closed, so slow clients cannot hold every connection",
    )


def _add_access_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (repeatable; '*' = any name, which "
        "allows DNS rebinding); loopback names and the --host address are always allowed",
    )
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        type=arg_type(web_origin),
        metavar="URL",
        help="let web pages of this origin (e.g. https://photos.example.org) call the API "
        "(repeatable; '*' = any page on the web, and so is 'null', which pages opened from files and any site's "
        "sandboxed frames send); pages of the server itself always may",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="one line per answered request on standard output: time, client address, request line, status "
        "(default: only problems are logged, on standard error)",
    )


def web_origin(text: str) -> str:
    """``--allowed-origin``'s value: ``*``, ``null`` (pages opened from files, and any site's sandboxed frames) or
    ``http(s)://host[:port]``, as given. One that no browser sends (``photos.example.org`` without its scheme,
    ``https://x.org/app``) was taken and never matched: every page of it refused with 403, the server's start saying
    nothing.

    Raises:
        ValueError: saying the origin to give instead.
    """
    parts = urlsplit(text.strip())
    if text.strip() in ("*", "null"):
        return text
    if text.strip().lower() == "null":  # browsers send it in lowercase only: "NULL" would never match
        raise ValueError(f"{text!r}: the origin of pages opened from files (and sandboxed frames) is written null")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{text!r} is not a web page's origin; give its scheme and host, e.g. https://{text.strip()}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{text!r}: an origin is a scheme and host only (no path): {parts.scheme}://{parts.netloc}")
    return text


def open_line(host: str, port: int, allowed: tuple[str, ...]) -> str:
    """The start-up line saying where to open the page: addresses the ``Host`` check lets through (``allowed``).
    Bound to all interfaces, ``http://0.0.0.0:PORT/`` is not one (a browser that reaches it sends that ``Host``,
    refused): this computer's ``localhost``, and for other computers the first name of ``allowed`` that is not a
    loopback one (a ``--allowed-host`` name, else this computer's name)."""
    from colorsplash.server.guard import WILDCARD_ADDRESSES, normalise_host  # the server extra

    def url(name: str) -> str:
        return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"

    if normalise_host(host) not in WILDCARD_ADDRESSES:
        return f"colorsplash: open {url(host)} (API docs at /docs); Ctrl+C stops"
    others = [name for name in allowed if name != "*" and not is_loopback(name)]  # 127.0.1.1 too (Debian's name)
    elsewhere = f", from other computers {url(others[0])}" if others else ""
    return f"colorsplash: open {url('localhost')} on this computer{elsewhere} (API docs at /docs); Ctrl+C stops"


def limits_line(settings: ServerSettings) -> str:
    """The start-up line stating the limits the server runs with (``-j auto`` and the default budget resolved), so
    that an operator sees them without asking ``/api/health``."""
    upload = f"{settings.max_upload_bytes / 2**20:,.1f}".removesuffix(".0")  # 2 MB, 1.2 MB (not 1.17738)
    return (
        f"limits: {settings.workers} photo{'s' if settings.workers > 1 else ''} worked on at once (-j), uploads up "
        f"to {upload} MB, photos up to {settings.max_pixels:,} pixels, a memory budget "
        f"of {settings.memory_budget / 2**20:,.0f} MB, {settings.max_requests} "
        f"request{'s' if settings.max_requests > 1 else ''} at once "
        f"({settings.per_client_limit} from one address); each has its flag (serve --help)"
    )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_can_listen(host: str, port: int) -> None:
    """Bind ``host:port`` once and let it go, so that what the server could not listen on is said in one line
    with what to do, before the start-up lines announce the address (uvicorn's own bind error came after them).
    As asyncio's server does, every address the host resolves to is tried, and one the system lacks (``::1`` with
    IPv6 off) is passed over while another binds.

    Raises:
        RuntimeError: the port is in use, needs more rights, or the host is not an address of this computer.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise RuntimeError(f"--host {host}: not an address or name this computer knows ({err.strerror})") from err
    missing: OSError | None = None
    bound = False
    for family, kind, proto, _, address in infos:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError as err:  # a family this system lacks
            missing = missing or err
            continue
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a closed port's TIME_WAIT
            try:
                sock.bind(address)
            except OSError as err:
                if err.errno != errno.EADDRNOTAVAIL:
                    raise RuntimeError(f"cannot listen on {host} port {port}: {_listen_hint(err)}") from err
                missing = missing or err
                continue
        bound = True
    if not bound and missing is not None:
        raise RuntimeError(f"cannot listen on {host} port {port}: {_listen_hint(missing)}")


def _listen_hint(err: OSError) -> str:
    """Why a bind failed and what to do, for :func:`check_can_listen`."""
    if err.errno == errno.EADDRINUSE:
        return "the port is in use (another server, or a colorsplash serve still running); choose another --port"
    if err.errno == errno.EACCES:
        return "permission denied (ports below 1024 need administrator rights); choose a --port from 1024"
    if err.errno == errno.EADDRNOTAVAIL:
        return "not an address of this computer; --host 0.0.0.0 listens on all of them"
    return f"{err.strerror or err}"


def settings_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ServerSettings`` fields the command line sets (others keep the server's defaults)."""
    changes: dict[str, Any] = {
        "host": args.host,
        "allowed_hosts": tuple(args.allowed_host),
        "allowed_origins": tuple(args.allowed_origin),
    }
    if args.max_upload_mb is not None:
        # round, not truncate: the 413 message divides back and should quote the limit as typed (0.1, not 0.0999994)
        changes["max_upload_bytes"] = round(args.max_upload_mb * 2**20)
    if args.max_pixels is not None:
        changes["max_pixels"] = args.max_pixels
    if args.max_memory_mb is not None:
        changes["max_memory_bytes"] = round(args.max_memory_mb * 2**20)
    if args.max_requests is not None:
        changes["max_requests"] = args.max_requests
    if args.max_per_client is not None:
        changes["max_per_client"] = args.max_per_client
    if args.upload_timeout is not None:
        changes["upload_timeout_s"] = args.upload_timeout
    if args.header_timeout is not None:
        changes["header_timeout_s"] = args.header_timeout
    if args.jobs is not None:
        changes["workers"] = args.jobs
    return changes


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from colorsplash.server.app import create_app
        from colorsplash.server.connections import uvicorn_options
        from colorsplash.server.guard import every_page_warning
    except ImportError as err:
        raise RuntimeError(
            f"serve needs the server extra ({err.name} is missing): pip install 'colorsplash[server]'"
        ) from err
    if old := outdated_extra("server"):
        raise RuntimeError(
            f"serve needs newer packages of the server extra ({'; '.join(old)}): pip install 'colorsplash[server]'"
        )
    check_can_listen(args.host, args.port)
    app = create_app(model_path=args.model, precision=args.precision, device=args.device, **settings_changes(args))
    check_can_listen(args.host, args.port)  # again: the model's load (seconds) left time for another to take it
    options = uvicorn_options(app.state.settings)  # the protocol class with the header timeout, the connection cap
    if not args.debug:  # the form parser's own warnings name no request; server/errors.py logs one line instead
        logging.getLogger(MULTIPART_LOGGER).setLevel(logging.ERROR)
    if not is_loopback(args.host):
        log.warning(
            "listening on %s: anyone who can reach this address can use the server (no authentication)", args.host
        )
    if wide := every_page_warning(app.state.settings.allowed_origins):
        log.warning("%s", wide)
    log.info("%s", app.state.model.label)
    log.info("%s", limits_line(app.state.settings))
    log.info("answering requests for %s (add names with --allowed-host)", ", ".join(app.state.allowed_hosts))
    log.info("%s", open_line(args.host, args.port, app.state.allowed_hosts))
    uvicorn.run(app, host=args.host, port=args.port, **options, **uvicorn_logging(args.access_log))
    return 0


# uvicorn's access line without its level word, with the time: a log kept in a file is read by time.
ACCESS_FORMAT = '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s'


# What Ctrl+C (or SIGTERM) says while requests are in flight: the server answers them before it ends.
STOPPING = "colorsplash: stopping once the requests in flight are answered; Ctrl+C again stops at once (they fail)"


class StoppingLine(logging.Filter):
    """Passes uvicorn's one line that says it waits for the connections still at work when it was told to stop,
    in :data:`STOPPING`'s words; no other line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Waiting for connections to close"):
            return False
        record.msg, record.args = STOPPING, ()
        return True


def uvicorn_logging(access_log: bool) -> dict[str, Any]:
    """``uvicorn.run``'s logging arguments: its own lines from warnings up (the start-up lines are ours), the line
    that it waits for the requests in flight when told to stop (:class:`StoppingLine`: Ctrl+C waited for them, for
    seconds or minutes, without a word), and with ``access_log`` one line per answered request
    (:data:`ACCESS_FORMAT`) on standard output, its default place. (``log_level="warning"`` silenced the access
    lines too, whatever ``access_log`` said.)"""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["default"]["level"] = "WARNING"
    config["filters"] = {"stopping": {"()": StoppingLine}}
    config["formatters"]["plain"] = {"format": "%(message)s"}
    stream = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}
    config["handlers"]["stopping"] = {**stream, "filters": ["stopping"]}
    config["loggers"]["uvicorn"]["handlers"].append("stopping")
    config["formatters"]["access"].update(fmt=ACCESS_FORMAT, datefmt="%Y-%m-%d %H:%M:%S %z")
    config["handlers"]["access"]["class"] = f"{AccessLines.__module__}.{AccessLines.__name__}"  # its reader may go
    if colours_refused():  # else uvicorn's own choice: colours on a terminal
        for formatter in config["formatters"].values():
            formatter["use_colors"] = False
    return {"log_config": config, "log_level": None, "access_log": access_log}
