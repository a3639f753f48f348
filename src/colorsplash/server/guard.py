"""Who may talk to the server: a ``Host`` allow-list (against DNS rebinding) and an ``Origin`` check (against
other web pages posting to it).

The server has no authentication and usually listens on loopback, so the browser is the attacker's way in:

* a page on another origin (another site, or another port of this computer) can send a ``POST`` without a
  CORS preflight (``text/plain``, ``multipart/form-data``, a plain HTML form). Browsers send ``Origin`` with
  every such ``POST``; a request whose ``Origin`` is not this server's own (nor one allowed with
  ``--allowed-origin``) is refused with 403 before anything is read.
* DNS rebinding: ``evil.example`` first resolves to the attacker, then to 127.0.0.1, so the attacker's page
  becomes "same origin" with this server. Its requests still carry ``Host: evil.example``; only names on the
  allow-list (loopback names, the bound address, ``--allowed-host``) are answered, others get 400.

Requests without ``Origin`` (curl, scripts, top-level navigations) are not cross-origin browser requests and pass
the ``Origin`` check; ``Host`` is checked whenever it is sent. A request sending ``Host`` or ``Origin`` twice,
or a ``Host`` whose port is no number, is refused with 400 (:func:`repeated`): the check and the app could read
different values.

Pages of an origin allowed with ``--allowed-origin`` get CORS answers (:class:`AllowedOriginCORS`): their
preflight ``OPTIONS`` is answered, and responses name that origin in ``Access-Control-Allow-Origin`` (with
``Vary: Origin``) and expose the result headers, so the page's ``fetch()`` can read the result. The CORS layer
sits inside :class:`HostOriginMiddleware`: other origins are still refused with 403 before it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from colorsplash.server import printable

log = logging.getLogger(__name__)

ANY = "*"
# The origin of a page opened from a file, and also of any web site's sandboxed frames and of requests redirected
# across sites: a page anywhere can send it, so allowing it lets every page use the server, as ``*`` does.
NULL_ORIGIN = "null"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Response headers an allowed page's script may read besides the CORS-safelisted ones (Content-Type,
# Cache-Control...): the result's file name, subject and notes headers (work.result_headers), 503's Retry-After.
EXPOSED_HEADERS = (
    "Content-Disposition",
    "X-Colorsplash-Subject",
    "X-Colorsplash-Subject-Score",
    "X-Colorsplash-Notes",
    "Retry-After",
)
CORS_METHODS = ("GET", "POST")


def normalise_host(host: str) -> str:
    """A host name or address as compared here: lower case, no trailing dot, IPv6 without brackets."""
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def split_host_header(value: str) -> tuple[str, str]:
    """``Host`` header -> (normalised host, port or ``""``); ``[::1]:8000`` -> (``::1``, ``8000``)."""
    value = value.strip()
    if value.startswith("["):  # IPv6 literal
        host, _, rest = value[1:].partition("]")
        return normalise_host(host), rest.removeprefix(":")
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return normalise_host(host), port
    return normalise_host(value), ""


def machine_names() -> list[str]:
    """This computer's host names and addresses, for a server bound to all interfaces (best effort, no network
    traffic: the UDP ``connect`` only picks the outgoing interface)."""
    names: list[str] = []
    try:
        names += [socket.gethostname(), socket.getfqdn()]
        names += [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)]
    except OSError:
        pass
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                names.append(str(s.getsockname()[0]))
        except OSError:
            continue
    return names


def allowed_host_names(bound: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The ``Host`` allow-list: loopback names, the bound address (this computer's names and addresses when
    bound to all interfaces) and ``extra`` (``*`` allows any host)."""
    names = list(LOOPBACK_HOSTS) + list(extra)
    names += machine_names() if normalise_host(bound) in WILDCARD_ADDRESSES else [bound]
    unique = dict.fromkeys(normalise_host(n) for n in names if n.strip())
    return tuple(unique)


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case without a default port or trailing slash (``null`` stays)."""
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    if not parts.scheme or not parts.netloc:
        return origin.strip().lower()
    host, port = split_host_header(parts.netloc)
    shown = f"[{host}]" if ":" in host else host
    port = "" if port == _DEFAULT_PORTS.get(parts.scheme) else port
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")


def same_origin(origin: str, host_header: str) -> bool:
    """``Origin`` names the host and port the request was sent to (``Host``); the scheme is not compared
    (one port serves one scheme), the scheme's default port equals no port."""
    parts = urlsplit(origin.strip().lower())
    if not parts.scheme or not parts.netloc:
        return False
    o_host, o_port = split_host_header(parts.netloc)
    h_host, h_port = split_host_header(host_header)
    default = _DEFAULT_PORTS.get(parts.scheme, "")
    return o_host == h_host and (o_port or default) == (h_port or default)


class HostOriginMiddleware:
    """Answer 400 to a ``Host`` not on ``allowed_hosts`` and 403 to an ``Origin`` that is neither this server's
    own nor in ``allowed_origins`` (``*`` in either allows any), before the app reads anything."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = frozenset(normalise_host(h) for h in allowed_hosts)
        self.origins = frozenset(normalise_origin(o) for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; the app has no websocket routes
            await self.app(scope, receive, send)
            return
        sent: dict[str, list[str]] = {"host": [], "origin": []}
        for name, value in scope["headers"]:
            sent.get(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        hosts, origins = sent["host"], sent["origin"]
        refusal = repeated(hosts, origins) or self.refusal(hosts[0] if hosts else None, origins[0] if origins else None)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        log.warning("refused %s %s: %s", scope.get("method", ""), printable(scope.get("path", "")), message)
        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)

    def refusal(self, host: str | None, origin: str | None) -> tuple[int, str] | None:
        """``None`` when the request may pass, else (status, message)."""
        port = split_host_header(host)[1] if host is not None else ""
        if port and not (port.isascii() and port.isdigit()):  # "²" is a digit to str.isdigit, no port number
            return 400, f"Host {host!r} is not a host name with a port number; send the server's own name and port"
        if host is not None and ANY not in self.hosts and split_host_header(host)[0] not in self.hosts:
            return 400, (
                f"Host {host!r} is not a name of this server; if it is, start the server with "
                f"--allowed-host {split_host_header(host)[0]}"
            )
        if origin is None or ANY in self.origins or normalise_origin(origin) in self.origins:
            return None
        if host is not None and same_origin(origin, host):
            return None
        if normalise_origin(origin) == NULL_ORIGIN:  # not advised as the others: it opens the server to every page
            return 403, (
                "cross-origin request from a page without an origin of its own ('null': a page opened from a file, "
                "or a sandboxed frame of any web site) refused; --allowed-origin null would let every web page use "
                "this server: serve that page from a web server and allow its origin with --allowed-origin"
            )
        return 403, (
            f"cross-origin request from {origin!r} refused; to let pages of that origin use this "
            f"server, start it with --allowed-origin {origin}"
        )


def repeated(hosts: list[str], origins: list[str]) -> tuple[int, str] | None:
    """400 for a request sending ``Host`` or ``Origin`` more than once (``hosts``, ``origins``: their values in
    order), else ``None``: the check would judge one value and the app (Starlette's ``Headers.get``: the first) use
    another, e.g. in ``/docs``' examples and redirects. RFC 9112 (3.2) requires 400 for more than one ``Host``;
    browsers send each once."""
    for name, values in (("Host", hosts), ("Origin", origins)):
        if len(values) > 1:
            shown = ", ".join(repr(v) for v in values[:4]) + (", ..." if len(values) > 4 else "")
            return 400, f"the request sends {name} {len(values)} times ({shown}); send it once"
    return None


def every_page_warning(allowed_origins: Iterable[str]) -> str | None:
    """The start-up warning for allowed origins that let any web page use the server and read its results (``*``,
    and ``null``, which any site's sandboxed frames send), or ``None``."""
    wide = [o.strip() for o in allowed_origins if o.strip() == ANY or normalise_origin(o) == NULL_ORIGIN]
    if not wide:
        return None
    shown = " and ".join(f"--allowed-origin {'null' if o != ANY else repr(ANY)}" for o in dict.fromkeys(wide))
    null = " (any web site's sandboxed frames send the origin null, as pages opened from files do)"
    return f"{shown}: every web page can send photos to this server and read the results" + (
        null if any(o != ANY for o in wide) else ""
    )


class AllowedOriginCORS(CORSMiddleware):
    """Starlette's CORS, with origins compared as :class:`HostOriginMiddleware` compares them
    (:func:`normalise_origin`: ``HTTPS://Example.org:443/`` is ``https://example.org``)."""

    def is_allowed_origin(self, origin: str) -> bool:
        return self.allow_all_origins or normalise_origin(origin) in self.allow_origins


def cors_options(allowed_origins: Iterable[str]) -> dict[str, Any] | None:
    """:class:`AllowedOriginCORS`'s arguments for pages of ``allowed_origins`` (``*``: any); ``None`` when none is
    allowed (same-origin pages need no CORS). Preflights may ask for any request header (a raw upload's
    ``Content-Type: image/jpeg``); a page on a public origin may call a server on this computer (Chrome's
    Private Network Access)."""
    origins = [ANY if o.strip() == ANY else normalise_origin(o) for o in allowed_origins]
    if not origins:
        return None
    return {
        "allow_origins": origins,
        "allow_methods": CORS_METHODS,
        "allow_headers": [ANY],
        "allow_private_network": True,
        "expose_headers": EXPOSED_HEADERS,
    }


# On every answer: no type sniffing, no referrer sent on, no framing; answers other than the pages (which set their
# own policy) may load and run nothing when opened on their own.
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'; sandbox",
}


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` that an answer does not set itself (results, JSON errors, static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in have]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
