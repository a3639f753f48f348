"""Fair turns at what requests wait for (a worker thread, the memory budget): :class:`FairLimiter`.

Requests that wait are served in turn by client (the peer's address), not in arrival order: one client sending
photos back to back no longer makes everyone who comes after it wait behind all of them. When units are given
back they go to the waiting client served longest ago (round robin; a client with nothing held or waiting counts
as not served yet, so a newcomer goes first), and within a client to its oldest request. A request whose amount
does not fit is passed over for one that does: a small photo runs beside a large one (the memory budget's rule).

With a ``queue_room`` (the memory budget's: one budget's worth may wait), a request that must wait and finds no
room takes it from the client holding the most (units held and waiting), whose newest waiting request is refused
(:class:`QueueFullError`, ``taken``), but only while that client still holds at least as much as the newcomer with
its request: so a client that fills the queue does not lock the others out, a place taken is never taken back at
once, and a lone client (no one to take from) is refused when the queue is full, as before.
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


class QueueFullError(Exception):
    """A request that must wait found the queue full (``taken`` False), or, waiting, gave its place to another
    client's request (``taken`` True: it was the newest of the client holding the most). ``holding``: the units
    its client held and had waiting then, this request's included."""

    def __init__(self, taken: bool, holding: int) -> None:
        super().__init__("the queue's place was taken by another client" if taken else "the queue is full")
        self.taken = taken
        self.holding = holding


@dataclass(eq=False)
class _Waiter:
    """One request waiting for ``amount`` units; ``granted`` is set once they are its, or once it is refused
    (``refused`` then says why)."""

    client: str
    amount: int
    granted: anyio.Event = field(default_factory=anyio.Event)
    refused: QueueFullError | None = None


@dataclass
class _Client:
    """A client's requests waiting (oldest first), how many grants it holds, and when it was last served
    (``-1``: not since it last had nothing held or waiting)."""

    waiting: deque[_Waiter] = field(default_factory=deque)
    held: int = 0
    units: int = 0  # held by its grants
    served: int = -1
    arrived: int = 0

    @property
    def share(self) -> int:
        """Units held and waiting."""
        return self.units + sum(w.amount for w in self.waiting)


class FairLimiter:
    """Up to ``capacity`` units held at once (worker slots; bytes of memory), each request holding the ``amount``
    it asked for; requests that do not fit wait and are granted in turn by client, at most ``queue_room`` units of
    them (``None``: no limit), shared as the module says. Made and used in one event loop (not thread-safe); the
    waits are anyio events made inside it."""

    def __init__(self, capacity: int, queue_room: int | None = None) -> None:
        self.capacity = capacity
        self.queue_room = queue_room
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
        :meth:`release`. A cancelled wait holds nothing (a grant that came meanwhile is passed on).

        Raises:
            QueueFullError: no room in the queue for it, or its place was taken while it waited (it holds nothing).
        """
        if self.fits(amount):
            self._take(self._entry(client), amount)
            return
        self._make_room(client, amount)
        waiter = _Waiter(client, amount)
        self._entry(client).waiting.append(waiter)
        self.waiting += amount
        woken = False
        try:
            await waiter.granted.wait()
            woken = True
        finally:
            if not woken:
                self._withdraw(waiter)
        if waiter.refused is not None:
            raise waiter.refused

    def release(self, client: str, amount: int) -> None:
        """Give back a grant of ``amount`` units of ``client`` and hand the free units to the waiting requests in
        turn."""
        entry = self._clients[client]
        entry.held -= 1
        entry.units -= amount
        self.used -= amount
        self._forget(client)
        self._grant_waiting()

    def _entry(self, client: str) -> _Client:
        entry = self._clients.get(client)
        if entry is None:
            entry = self._clients[client] = _Client(arrived=next(self._ticks))
        return entry

    def _take(self, entry: _Client, amount: int) -> None:
        self.used += amount
        entry.held += 1
        entry.units += amount
        entry.served = next(self._ticks)

    def _make_room(self, client: str, amount: int) -> None:
        """Room in the queue for ``amount`` more units of ``client``, taken from other clients' newest requests
        where the rule allows (see the module); nothing is taken unless that makes room.

        Raises:
            QueueFullError: no room, and none that may be taken.
        """
        if self.queue_room is None or self.waiting + amount <= self.queue_room:
            return
        mine = (self._clients[client].share if client in self._clients else 0) + amount
        shares = {name: entry.share for name, entry in self._clients.items() if name != client}
        queued = {name: list(self._clients[name].waiting) for name in shares}
        room, taken = self.queue_room - self.waiting, []
        while room < amount:
            # Of the clients that would still hold at least as much as this one, the one holding the most.
            able = [name for name in shares if queued[name] and shares[name] - queued[name][-1].amount >= mine]
            if not able:
                raise QueueFullError(taken=False, holding=mine)
            holder = max(able, key=shares.__getitem__)
            newest = queued[holder].pop()
            shares[holder] -= newest.amount
            room += newest.amount
            taken.append(newest)
        for waiter in taken:
            self._refuse(waiter)

    def _refuse(self, waiter: _Waiter) -> None:
        """Out of the queue, woken with :class:`QueueFullError` (``taken``)."""
        entry = self._clients[waiter.client]
        waiter.refused = QueueFullError(taken=True, holding=entry.share)
        entry.waiting.remove(waiter)
        self.waiting -= waiter.amount
        self._forget(waiter.client)
        waiter.granted.set()

    def _withdraw(self, waiter: _Waiter) -> None:
        """A cancelled wait: out of the queue, or, granted just as it was cancelled, its grant given back (refused:
        already out, nothing held)."""
        if waiter.refused is not None:
            return
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
