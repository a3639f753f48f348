"""Fair turns at what requests wait for (a worker thread, the memory budget): :class:`FairLimiter`.

Requests that wait are served in turn by client (the peer's address), not in arrival order: one client sending
photos back to back no longer makes everyone who comes after it wait behind all of them. When units are given
back they go to the waiting client served longest ago (round robin; a client with nothing held or waiting counts
as not served yet, so a newcomer goes first), and within a client to its oldest request. A request whose amount
does not fit is passed over for one that does: a small photo runs beside a large one (the memory budget's rule).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from starlette.types import Scope

# The client of a request whose peer address is not known (a test transport, a Unix socket): one client.
UNKNOWN_CLIENT = "an unknown address"


def client_address(scope: Scope) -> str:
    """The client a request counts for in the per-client limit and in turns: the connection's peer address
    (behind a reverse proxy, every client is the proxy's; ``X-Forwarded-For`` is not trusted)."""
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN_CLIENT


@dataclass(eq=False)
class _Waiter:
    """One request waiting for ``amount`` units; ``granted`` is set once they are its."""

    client: str
    amount: int
    granted: anyio.Event = field(default_factory=anyio.Event)


@dataclass
class _Client:
    """A client's requests waiting (oldest first), how many grants it holds, and when it was last served
    (``-1``: not since it last had nothing held or waiting)."""

    waiting: deque[_Waiter] = field(default_factory=deque)
    held: int = 0
    served: int = -1
    arrived: int = 0


class FairLimiter:
    """Up to ``capacity`` units held at once (worker slots; bytes of memory), each request holding the ``amount``
    it asked for; requests that do not fit wait and are granted in turn by client (see the module). Made and used
    in one event loop (not thread-safe); the waits are anyio events made inside it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0  # units held by the requests granted
        self.waiting = 0  # units asked for by the requests waiting
        self._clients: dict[str, _Client] = {}  # clients holding or waiting for units
        self._ticks = itertools.count()

    def fits(self, amount: int) -> bool:
        """Whether ``amount`` more units fit now."""
        return self.used + amount <= self.capacity

    @asynccontextmanager
    async def hold(self, client: str, amount: int = 1) -> AsyncIterator[None]:
        """Hold ``amount`` units for ``client`` (an address) for the ``with`` block: at once when they fit, else
        when its turn comes (cancelling the wait gives up the turn)."""
        await self.acquire(client, amount)
        try:
            yield
        finally:
            self.release(client, amount)

    async def acquire(self, client: str, amount: int) -> None:
        """Take ``amount`` units for ``client``, waiting for its turn when they do not fit; give them back with
        :meth:`release`. A cancelled wait holds nothing (a grant that came meanwhile is passed on)."""
        entry = self._clients.get(client)
        if entry is None:
            entry = self._clients[client] = _Client(arrived=next(self._ticks))
        if self.fits(amount):
            self._take(entry, amount)
            return
        waiter = _Waiter(client, amount)
        entry.waiting.append(waiter)
        self.waiting += amount
        granted = False
        try:
            await waiter.granted.wait()
            granted = True
        finally:
            if not granted:
                self._withdraw(waiter)

    def release(self, client: str, amount: int) -> None:
        """Give back a grant of ``amount`` units of ``client`` and hand the free units to the waiting requests in
        turn."""
        self._clients[client].held -= 1
        self.used -= amount
        self._forget(client)
        self._grant_waiting()

    def _take(self, entry: _Client, amount: int) -> None:
        self.used += amount
        entry.held += 1
        entry.served = next(self._ticks)

    def _withdraw(self, waiter: _Waiter) -> None:
        """A cancelled wait: out of the queue, or, granted just as it was cancelled, its grant given back."""
        if waiter.granted.is_set():
            self.release(waiter.client, waiter.amount)
            return
        self._clients[waiter.client].waiting.remove(waiter)
        self.waiting -= waiter.amount
        self._forget(waiter.client)
        self._grant_waiting()  # a large request that gave up may have held back smaller ones behind it

    def _forget(self, client: str) -> None:
        entry = self._clients[client]
        if not entry.held and not entry.waiting:
            del self._clients[client]

    def _grant_waiting(self) -> None:
        while (waiter := self._next_that_fits()) is not None:
            entry = self._clients[waiter.client]
            entry.waiting.remove(waiter)
            self.waiting -= waiter.amount
            self._take(entry, waiter.amount)
            waiter.granted.set()

    def _next_that_fits(self) -> _Waiter | None:
        """The waiting request whose turn it is among those that fit: clients served longest ago first (then
        those that came first), each client's oldest request first."""
        for entry in sorted(self._clients.values(), key=lambda e: (e.served, e.arrived)):
            for waiter in entry.waiting:
                if self.fits(waiter.amount):
                    return waiter
        return None
