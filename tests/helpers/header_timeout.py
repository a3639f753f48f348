"""What the header-timeout tests share (``test_server_headers.py``, ``test_server_uvicorn_fit.py``, and the
lingering close's ``test_server_linger.py``): the time limits they run with and an ASGI app answering ``ok``."""

from __future__ import annotations

from typing import Any

TIMEOUT = 0.5
DRAIN = 1.5  # the upload timeout: for the rest of a body already answered


async def hello(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering ``ok`` (the timer is in uvicorn's protocol class; these tests need no model)."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})
