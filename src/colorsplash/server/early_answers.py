"""The answers ``serve``'s HTTP protocol class (:mod:`colorsplash.server.connections`) writes itself, before any
request reaches the app: a 408 for headers that came too slowly and a 431 for headers over the size limit. Each is
the API's JSON error (``{"error": ...}`` saying what went wrong and what to do) with the security headers
(:data:`~colorsplash.server.guard.SECURITY_HEADERS`) and ``Connection: close``, as raw HTTP/1.1 bytes."""

from __future__ import annotations

import json

from colorsplash.server.guard import SECURITY_HEADERS


def raw_answer(status: bytes, message: str) -> bytes:
    """An HTTP/1.1 answer of ``status`` (``b"408 Request Timeout"``) whose body is ``{"error": message}``."""
    body = json.dumps({"error": message}).encode()
    headers = {b"content-type": b"application/json", b"content-length": b"%d" % len(body), b"connection": b"close"}
    lines = b"".join(b"%s: %s\r\n" % item for item in {**headers, **SECURITY_HEADERS}.items())
    return b"HTTP/1.1 " + status + b"\r\n" + lines + b"\r\n" + body


def request_timeout_response(timeout_s: float, received: int) -> bytes:
    """The 408 to a client whose request headers took longer than ``timeout_s`` seconds (``received`` bytes of
    them came)."""
    return raw_answer(
        b"408 Request Timeout",
        f"the request headers did not arrive within the server's header time limit of {timeout_s:g} s "
        f"({received:,} bytes came); send the request again over a faster connection, or start the server with a "
        "larger --header-timeout",
    )


def headers_too_large_response(limit: int) -> bytes:
    """The 431 to a client whose request line and headers are over ``limit`` bytes."""
    return raw_answer(
        b"431 Request Header Fields Too Large",
        f"the request's line and headers are over the server's limit of {limit // 1024} KB; send fewer or shorter "
        "headers (in a browser: clear this site's cookies)",
    )
