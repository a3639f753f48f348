"""PNG text chunks and colour profiles that Pillow refuses to read, left out so that the picture still opens.

Pillow refuses a whole PNG (``ValueError``: at open, or while loading for chunks after the image data) when a
compressed text chunk (``zTXt``, or ``iTXt`` with its compression flag) or the colour profile (``iCCP``, always
compressed) holds more than ``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MiB) once decompressed, or when its text chunks
together hold more than ``MAX_TEXT_MEMORY`` (64 MiB): a few kilobytes of compressed XMP, comments or profile made a
sound photo "unreadable or truncated". :func:`readable_png` walks the chunk headers (reading only text chunks' and
profiles' bodies) and hands Pillow the file without those chunks; what was left out is in the opened picture's
``info``: ``info[UNREAD_TEXT]`` by keyword, ``info[UNREAD_PROFILE]`` why the profile was. Of PNG text a result
carries only XMP (``XML:com.adobe.xmp``), which is then left out with a note
(:func:`colorsplash.runtime.pictures.photo_meta.read_xmp`); other text is never copied, so nothing else is noted. A
picture read without its profile is noted by :func:`colorsplash.runtime.pictures.colour_profile.picture_icc`.

Inflating is the cost (10 MB of 1 KB chunks each inflating to 1 MiB took 47 s), so no chunk is inflated past
Pillow's 1 MiB, nothing past 64 MiB inflated in all (compressed text and profiles past that are left out unread),
and no profile after one over the limit (Pillow stops at that one). Text chunks Pillow refuses the picture for
whatever their size are left out too: a damaged one (checksum) and a ``zTXt`` compressed by a method PNG does not
define. A PNG of more than :data:`MAX_CHUNKS` chunks under :data:`SMALL_CHUNK` bytes is refused (``ValueError``)
before Pillow parses them.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from PIL import PngImagePlugin

__all__ = ["MAX_CHUNKS", "PNG_SIGNATURE", "SMALL_CHUNK", "UNREAD_PROFILE", "UNREAD_TEXT", "Unread", "readable_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UNREAD_TEXT = "colorsplash.unread_text"  # key of an opened PNG's info: {keyword: why its text was left out}
UNREAD_PROFILE = "colorsplash.unread_profile"  # key of an opened PNG's info: why its ICC profile was left out
# A 25 MB upload of empty chunks (2 million) held a server worker for 21 s, walked here and parsed by Pillow at each
# of its three opens. Only chunks under SMALL_CHUNK bytes count against MAX_CHUNKS: writers put image data in chunks
# of 8-64 KB (libpng and OpenCV 8 KB, Pillow 64 KB), and a sound PNG of over 800 MB (a noisy 16-bit photo past
# 100 MP) holds more than 100,000 of libpng's; larger chunks cost no more per byte to walk than pixels to decode.
MAX_CHUNKS = 100_000
SMALL_CHUNK = 4096
_TEXT = (b"tEXt", b"zTXt", b"iTXt")
_PROFILE = b"iCCP"


@dataclass
class Unread:
    """What :func:`readable_png` left out of a PNG: ``text``, ``{keyword: why}`` of its text chunks; ``profile``,
    why its colour profile (``iCCP``) was, ``None`` when it was not; ``spans``, the (start, end) byte ranges of the
    chunks left out, in file order."""

    text: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)


def readable_png(source: str | Path | IO[bytes]) -> tuple[str | Path | IO[bytes], Unread]:
    """``source`` (a PNG: a path, or a seekable stream at its start) as Pillow can open it: itself when no text
    chunk or profile is refused (the common case: nothing copied), else its bytes without those chunks; and what
    was left out, with why."""
    with open(source, "rb") if isinstance(source, (str, Path)) else contextlib.nullcontext(source) as fp:
        unread = _Walk().run(fp)
        fp.seek(0)
        if not unread.spans:
            return source, unread
        data = fp.read()
    kept, at = [], 0
    for start, end in unread.spans:
        kept.append(data[at:start])
        at = end
    kept.append(data[at:])
    return io.BytesIO(b"".join(kept)), unread


class _Walk:
    """One walk over a PNG's chunks: which text chunks and profiles Pillow would refuse (see the module doc)."""

    def __init__(self) -> None:
        self.chunk_limit, self.memory_limit = PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
        self.memory = 0  # text as Pillow counts it against MAX_TEXT_MEMORY
        self.inflate_budget = self.memory_limit  # what may still be inflated, text and profiles together
        self.unread = Unread()

    def run(self, fp: IO[bytes]) -> Unread:
        """Raises: ValueError: more than :data:`MAX_CHUNKS` chunks under :data:`SMALL_CHUNK` bytes."""
        start = len(PNG_SIGNATURE)
        fp.seek(start)
        small = 0
        while len(head := fp.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            small += length < SMALL_CHUNK
            if small > MAX_CHUNKS:
                raise ValueError(
                    f"more than {MAX_CHUNKS:,} PNG chunks of under {SMALL_CHUNK:,} bytes, far more than picture "
                    "writers make"
                )
            end = start + 12 + length  # length, type, data, CRC
            if kind == b"IEND":
                break
            if kind in _TEXT or kind == _PROFILE:
                body = fp.read(length + 4)
                if len(body) < length + 4:
                    break  # cut off: Pillow says so
                body, crc = body[:length], body[length:]
                if kind in _TEXT and zlib.crc32(kind + body) != int.from_bytes(crc, "big"):
                    why: str | None = self._drop(body, "damaged (its checksum does not match)")
                elif kind == b"zTXt" and body.partition(b"\0")[2][:1] not in (b"", b"\0"):
                    why = self._drop(body, "compressed by a method PNG does not define")
                else:
                    why = self._text(kind, body) if kind in _TEXT else self._profile(body)
                if why is not None:
                    self.unread.spans.append((start, end))
            fp.seek(end, os.SEEK_SET)
            start = end
        return self.unread

    def _drop(self, body: bytes, why: str) -> str:
        """A text chunk that Pillow refuses the picture for, whatever its size: left out, recorded under its keyword."""
        self.unread.text[_keyword(body)] = why
        return why

    def _text(self, kind: bytes, body: bytes) -> str | None:
        """Why a text chunk is left out (recorded under its keyword), ``None`` when Pillow reads it."""
        budget = min(self.chunk_limit, self.inflate_budget)
        keyword, size = _text_size(kind, body, budget) if budget > 0 or kind == b"tEXt" else (_keyword(body), None)
        if kind != b"tEXt":
            self.inflate_budget -= self.chunk_limit if size is None else size
        if size is None:
            why = self._over(budget, "text")
        elif self.memory + size > self.memory_limit:
            why = f"PNG text over {self.memory_limit:,} bytes in all"
        else:
            self.memory += size
            return None
        self.unread.text[keyword] = why
        return why

    def _profile(self, body: bytes) -> str | None:
        """Why an ``iCCP`` chunk is left out (the first such reason is recorded), ``None`` when Pillow reads it.
        Bodies Pillow refuses or skips for other reasons (no compression method 0, bad zlib data) are its own."""
        if self.unread.profile is None:
            rest = body.partition(b"\0")[2]
            if rest[:1] != b"\0":
                return None
            budget = min(self.chunk_limit, self.inflate_budget)
            size = _decompressed_size(rest[1:], budget) if budget > 0 else None
            self.inflate_budget -= self.chunk_limit if size is None else size
            if size is not None:
                return None
            self.unread.profile = self._over(budget, "metadata")
        return self.unread.profile

    def _over(self, budget: int, what: str) -> str:
        if budget < self.chunk_limit:
            return f"compressed PNG {what} over {self.memory_limit:,} bytes in all"
        return f"compressed, more than {self.chunk_limit:,} bytes once decompressed (the picture reader's limit)"


def _text_size(kind: bytes, body: bytes, limit: int) -> tuple[str, int | None]:
    """A text chunk's keyword and the size of its text as Pillow counts it (at most: bytes, not characters);
    ``None`` when compressed and over ``limit`` once decompressed. Chunks Pillow skips (malformed) count 0."""
    name, rest = _keyword(body), body.partition(b"\0")[2]
    if kind == b"tEXt":
        return name, len(rest)
    if kind == b"zTXt":
        return name, _decompressed_size(rest[1:], limit) if rest[:1] == b"\0" else 0
    fields = rest[2:].split(b"\0", 2)  # iTXt: compression flag and method, language, translated keyword, text
    if len(rest) < 2 or len(fields) < 3:
        return name, 0
    if rest[0]:  # compressed: with zlib (method 0), else skipped
        return name, _decompressed_size(fields[2], limit) if rest[1] == 0 else 0
    return name, len(fields[2])


def _keyword(body: bytes) -> str:
    """A text chunk's keyword (Latin-1, before its first NUL)."""
    return body.partition(b"\0")[0].decode("latin-1")


def _decompressed_size(data: bytes, limit: int) -> int | None:
    """The size of ``data`` (zlib) once decompressed, ``None`` when over ``limit`` (at most ``limit`` bytes are
    made, as Pillow's check does); 0 for data that does not decompress (Pillow reads it as empty)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, limit)
    except zlib.error:
        return 0
    return None if inflater.unconsumed_tail else len(text)
