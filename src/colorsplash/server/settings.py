"""The limits and allow-lists of one server (one definition for ``create_app`` and ``colorsplash serve``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from colorsplash.runtime.cpu import usable_cores
from colorsplash.server import (
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_HOST,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_UPLOAD_TIMEOUT_S,
    MAX_REQUESTS,
    SERVER_MAX_PIXELS,
    connection_limit,
    per_client_default,
)
from colorsplash.server.limits import DEFAULT_MAX_WAIT_S, required_budget


def default_workers() -> int:
    """Photos processed at once by default: the CPUs this process may use (its affinity mask), at most 4."""
    return max(1, min(4, usable_cores()))


@dataclass(frozen=True)
class ServerSettings:
    """Limits of one server.

    Attributes:
        max_upload_bytes: largest request body.
        max_pixels: largest photo, in pixels (read from its header before decoding).
        workers: photos processed at once, at most (CPU).
        max_memory_bytes: memory budget of the photos in flight, estimated from their pixel counts; ``None``:
            just enough for one photo at ``max_pixels`` (see :attr:`memory_budget`).
        max_wait_s: longest wait for the memory budget before a 503.
        max_requests: requests served at once (uploads arriving included); more get 503 with ``Retry-After``.
        max_per_client: requests served at once from one client address (the peer's: behind a reverse proxy, all
            clients are the proxy's one address); more from it get 503 with ``Retry-After``. ``None``: half of
            ``max_requests`` (see :attr:`per_client_limit`).
        upload_timeout_s: longest time a request's body may take to arrive, in seconds; a slower one gets 408
            and its connection is closed (a slow client cannot hold one of the ``max_requests`` slots longer).
        header_timeout_s: longest time a request's line and headers may take to arrive, in seconds, from the
            connection's opening or (kept alive) the next request's first byte; a slower connection is closed
            (``serve`` passes it to uvicorn: :func:`colorsplash.server.connections.uvicorn_options`).
        host: the address the server is bound to (on the ``Host`` allow-list).
        allowed_hosts: more ``Host`` names to answer (``*``: any); loopback names are always allowed.
        allowed_origins: web origins (``https://example.org``) whose pages may call the API (``*``: any).
    """

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = SERVER_MAX_PIXELS
    workers: int = field(default_factory=default_workers)
    max_memory_bytes: int | None = None
    max_wait_s: float = DEFAULT_MAX_WAIT_S
    max_requests: int = MAX_REQUESTS
    max_per_client: int | None = None
    upload_timeout_s: float = DEFAULT_UPLOAD_TIMEOUT_S
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    host: str = DEFAULT_HOST
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "workers", "max_requests", "max_per_client"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"server setting {name} must be positive, got {getattr(self, name)}")
        for name in ("upload_timeout_s", "header_timeout_s"):
            if not getattr(self, name) > 0:  # NaN too
                raise ValueError(f"server setting {name} must be positive, got {getattr(self, name)}")
        need = required_budget(self.max_pixels, self.max_upload_bytes)
        if self.max_memory_bytes is not None and self.max_memory_bytes < need:
            raise ValueError(
                f"a memory budget of {self.max_memory_bytes / 2**20:,.0f} MB cannot hold one photo at "
                f"the pixel limit ({self.max_pixels:,} pixels need about {need / 2**20:,.0f} MB); "
                "raise --max-memory-mb or lower --max-pixels"
            )

    @property
    def max_connections(self) -> int:
        """Open connections the HTTP server keeps (uvicorn's ``limit_concurrency``): :func:`connection_limit` of
        :attr:`max_requests`, so that requests meet the app's JSON busy answer before uvicorn's plain one."""
        return connection_limit(self.max_requests)

    @property
    def per_client_limit(self) -> int:
        """Requests served at once from one address: ``max_per_client``, by default :func:`per_client_default`."""
        return self.max_per_client or per_client_default(self.max_requests)

    @property
    def memory_budget(self) -> int:
        """The memory budget in bytes: ``max_memory_bytes``, or enough for one photo at ``max_pixels``."""
        return self.max_memory_bytes or required_budget(self.max_pixels, self.max_upload_bytes)
