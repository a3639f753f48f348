"""A limit on the bytes of a request that are neither its body nor sent after it: its line and headers, and a
chunked body's chunk sizes and trailers. uvicorn's httptools protocol kept them all in memory until they ended (h11
stops at 16 KB itself): 600 MB of headers sent in 6 s took 600 MB of the server's memory, 200 MB of trailers after a
4-byte chunked body 200 MB, beside ``--max-memory-mb``.

:class:`HeadLimit` follows httptools' parser callbacks (``on_message_begin``, ``on_headers_complete``, ``on_body``,
``on_message_complete``) and counts each read (``data_received``) against the part of the request it fell in. A
read that crosses from one part to another is not counted: at most one read (256 KB) more is kept. The class using
it (:class:`~colorsplash.server.connections.HeaderDeadline`) answers through :meth:`HeadLimit.head_too_large`.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from colorsplash.server import MAX_HEADER_BYTES


class HeadLimit(asyncio.Protocol):
    """Mixin for uvicorn's httptools protocol class: :meth:`head_too_large` is called once a request's line and
    headers still arriving are over :attr:`max_header_bytes`, or the bytes of its body that are no body (chunk
    sizes, trailers) are over that plus the body's own bytes (a chunked upload's sizes are a small part of it)."""

    max_header_bytes: ClassVar[int] = MAX_HEADER_BYTES
    _head_open = False  # a request's line and headers are arriving (on_message_begin to on_headers_complete)
    _began = False  # a request began in the read being parsed now
    _head_bytes = 0  # bytes of its line and headers read since, the read they began in not counted
    _in_body = False  # its headers are complete and its body (with any trailers) is arriving
    _read_body = 0  # body bytes in the read being parsed now
    _body_bytes = 0  # body bytes of the request so far
    _extra_bytes = 0  # bytes of the request's body part that are no body: chunk sizes and trailers

    def data_received(self, data: bytes) -> None:
        in_body, self._began, self._read_body = self._in_body, False, 0
        super().data_received(data)
        if self._head_open and not self._began:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._head_open = False
                self.head_too_large(in_body=False)
        elif in_body and self._in_body and not self._began:
            self._extra_bytes += len(data) - self._read_body
            if self._extra_bytes > self.max_header_bytes + self._body_bytes:
                self._in_body = False
                self.head_too_large(in_body=True)

    def head_too_large(self, in_body: bool) -> None:
        """Answer a request over the limit (``in_body``: its chunk sizes and trailers) and close its connection."""
        raise NotImplementedError

    def on_message_begin(self) -> None:
        """httptools' parser: a request's first bytes arrived."""
        self._head_open, self._began, self._head_bytes, self._in_body = True, True, 0, False
        super().on_message_begin()  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        """httptools' parser: a request's line and headers have all arrived."""
        self._head_open, self._in_body, self._body_bytes, self._extra_bytes = False, True, 0, 0
        super().on_headers_complete()  # type: ignore[misc]

    def on_body(self, body: bytes) -> None:
        """httptools' parser: a piece of the request's body."""
        self._read_body += len(body)
        self._body_bytes += len(body)
        super().on_body(body)  # type: ignore[misc]

    def on_message_complete(self) -> None:
        """httptools' parser: the request has all arrived (its trailers too)."""
        self._in_body = False
        super().on_message_complete()  # type: ignore[misc]
