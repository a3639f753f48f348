"""PNG text chunks that Pillow refuses to read, left out so that the picture still opens.

Pillow refuses a whole PNG (``ValueError``: at open, or while loading for chunks after the image data) when a
compressed text chunk (``zTXt``, or ``iTXt`` with its compression flag) holds more than
``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MiB) once decompressed, or when its text chunks together hold more than
``MAX_TEXT_MEMORY`` (64 MiB): a few kilobytes of compressed XMP or comments made a sound photo "unreadable or
truncated". :func:`readable_png` walks the chunk headers (reading only text chunks' bodies) and hands Pillow the
file without those chunks; what was left out, by keyword, is in the opened picture's ``info[UNREAD_TEXT]``. Of PNG
text a result carries only XMP (``XML:com.adobe.xmp``), which is then left out with a note
(:func:`colorsplash.runtime.photo_meta.read_xmp`); other text is never copied, so nothing else is noted.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from pathlib import Path
from typing import IO

from PIL import PngImagePlugin

__all__ = ["PNG_SIGNATURE", "UNREAD_TEXT", "readable_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UNREAD_TEXT = "colorsplash.unread_text"  # key of an opened PNG's info: {keyword: why its text was left out}
_TEXT = (b"tEXt", b"zTXt", b"iTXt")


def readable_png(source: str | Path | IO[bytes]) -> tuple[str | Path | IO[bytes], dict[str, str]]:
    """``source`` (a PNG: a path, or a seekable stream at its start) as Pillow can open it: itself when no text
    chunk is refused (the common case: nothing copied), else its bytes without those chunks; and the keywords of
    the chunks left out, each with why."""
    with open(source, "rb") if isinstance(source, (str, Path)) else contextlib.nullcontext(source) as fp:
        unread = _unreadable(fp)
        if not unread:
            fp.seek(0)
            return source, {}
        fp.seek(0)
        data = fp.read()
    kept, at = [], 0
    for start, end, _, _ in unread:
        kept.append(data[at:start])
        at = end
    kept.append(data[at:])
    return io.BytesIO(b"".join(kept)), {keyword: why for _, _, keyword, why in unread}


def _unreadable(fp: IO[bytes]) -> list[tuple[int, int, str, str]]:
    """(start, end, keyword, why) of the text chunks Pillow would refuse, in file order."""
    chunk_limit, memory_limit = PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
    found: list[tuple[int, int, str, str]] = []
    memory, start = 0, len(PNG_SIGNATURE)
    # Inflating is the cost: 10 MB of 1 KB chunks each inflating to 1 MiB took 47 s. Pillow stops at its 64 MiB;
    # past that much inflated in all, compressed text is left out unread.
    inflate_budget = memory_limit
    fp.seek(start)
    while len(head := fp.read(8)) == 8:
        length, kind = struct.unpack(">I4s", head)
        end = start + 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            break
        if kind in _TEXT:
            body = fp.read(length)
            if len(body) < length:
                break  # cut off: Pillow says so
            budget = min(chunk_limit, inflate_budget)
            keyword, size = _text_size(kind, body, budget) if budget > 0 or kind == b"tEXt" else (_keyword(body), None)
            if size is None and budget < chunk_limit:
                found.append((start, end, keyword, f"compressed PNG text over {memory_limit:,} bytes in all"))
            elif size is None:
                found.append(
                    (
                        start,
                        end,
                        keyword,
                        f"compressed, more than {chunk_limit:,} bytes once decompressed (Pillow's limit)",
                    )
                )
            elif memory + size > memory_limit:
                found.append((start, end, keyword, f"PNG text over {memory_limit:,} bytes in all"))
            else:
                memory += size
            if kind != b"tEXt":
                inflate_budget -= chunk_limit if size is None else size
        fp.seek(end, os.SEEK_SET)
        start = end
    return found


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
