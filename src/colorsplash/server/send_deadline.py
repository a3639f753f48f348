"""A time limit on a client that reads nothing of its answer (``colorsplash serve``), which uvicorn does not have.

uvicorn writes a result (one body of up to a 48 MP photo's PNG) into the connection's transport at once, and the
request ends: its slot and memory budget are given back, but the bytes the client has not read stay in the
transport's buffer. A client that never reads (or stops reading) kept them, and its connection, for as long as it
kept the connection open: uvicorn's keep-alive close waits for the buffer to be sent first. Such clients held any
amount of memory outside the budget, and 64 of them every connection the server keeps (``limit_concurrency``):
everyone else got uvicorn's plain 503, for good.

:class:`SendDeadline` closes a connection whose answer has not moved for :data:`SEND_TIMEOUT_S` seconds: while
the transport's buffer is over its high-water mark (asyncio's ``pause_writing``), the bytes not yet taken by the
client (that buffer, and on Linux the socket's send queue) are counted every ``send_timeout_s``; if the client
took not one of them meanwhile, the connection is aborted and one line is logged. A
slow reader that makes progress is never cut, however long its download takes (nginx's ``send_timeout`` rule).
Each pause starts its own count, so a client that reads one answer and asks the next (not pipelined) is measured
on that next answer alone. Not counted: an answer whose rest under the high-water mark (64 KB) waits behind a full
send queue; the connection is held, but not the megabytes of a result.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import ClassVar

from colorsplash.server import peer_name

try:
    import fcntl
    import termios

    _OUTQ: int | None = termios.TIOCOUTQ  # bytes in a socket's send queue (Linux's SIOCOUTQ)
except (ImportError, AttributeError):  # Windows; a system without it: the transport's buffer alone
    _OUTQ = None

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 60.0  # as nginx's send_timeout: a reader that takes nothing for a minute has gone


def sees_progress() -> bool:
    """Whether the running loop's transports show a reader's progress in their buffer: a selector loop's buffer
    empties as the client reads; Windows' proactor loop keeps the whole answer in flight until one overlapped send
    of it completes, so a slow reader (an 8 MB result at under 140 KB/s) would look stuck and be cut: no deadline
    there."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    return proactor is None or not isinstance(asyncio.get_running_loop(), proactor)


class SendDeadline(asyncio.Protocol):
    """Mixin for a uvicorn HTTP protocol class: abort the connection when none of the answer waiting in its buffer
    is sent for :attr:`send_timeout_s` seconds (see the module)."""

    send_timeout_s: ClassVar[float] = SEND_TIMEOUT_S
    # Set by uvicorn's protocol classes (h11_impl.H11Protocol, httptools_impl.HttpToolsProtocol).
    transport: asyncio.Transport
    client: tuple[str, int] | None

    _send_timer: asyncio.TimerHandle | None = None
    _unsent = 0  # the answer's bytes not yet taken by the client when the timer was armed

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None and sees_progress():
            self._arm_send_deadline()

    def resume_writing(self) -> None:
        self._disarm_send_deadline()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_send_deadline()
        super().connection_lost(exc)

    def _unsent_bytes(self) -> int:
        """The answer's bytes not yet taken by the client: in the transport's buffer, and on Linux in the socket's
        send queue too (a client reading slowly empties that first; 2-4 MB on loopback)."""
        buffered = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is None or _OUTQ is None:
            return buffered
        try:
            queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
        except (OSError, ValueError):  # closed meanwhile; a socket without the ioctl
            return buffered
        return buffered + int(queued)

    def _arm_send_deadline(self) -> None:
        self._unsent = self._unsent_bytes()
        self._send_timer = asyncio.get_running_loop().call_later(self.send_timeout_s, self._send_late)

    def _disarm_send_deadline(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _send_late(self) -> None:
        self._send_timer = None
        unsent = self._unsent_bytes()
        if unsent < self._unsent:  # the client read some of it: give it another period
            self._arm_send_deadline()
            return
        log.warning(
            "%s: the client read nothing of its answer for %g s (%s bytes unsent); closed the connection",
            *(peer_name(self.client), self.send_timeout_s, f"{unsent:,}"),
        )
        self.transport.abort()
