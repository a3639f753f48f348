"""A result's notes (:func:`colorsplash.runtime.result_notes.result_notes`: metadata left out, first frame of an
animation, 16-bit reduced to 8...) as the ``X-Colorsplash-Notes`` response header.

The value is a JSON array of strings written in ASCII only (``json.dumps``'s ``\\uXXXX`` escapes for every other
character, control characters and DEL included), so that an upload's file name inside a note (non-ASCII, or
hostile: a line break) can never break or forge a header: ``JSON.parse(value)`` or ``json.loads(value)`` gives
the notes back. It is bounded: at most :data:`MAX_NOTES` notes, each cut to :data:`MAX_NOTE_CHARS` characters
(ending in ``…``) and :data:`MAX_NOTE_BYTES` bytes once escaped, the header at most :data:`MAX_HEADER_BYTES`;
notes left out are counted in a last entry ``and N more notes``. No header when there are no notes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

NOTES_HEADER = "X-Colorsplash-Notes"
MAX_NOTES = 8
MAX_NOTE_CHARS = 300
MAX_NOTE_BYTES = 512  # escaped: 6 bytes per non-ASCII character, 12 per character beyond the BMP
MAX_HEADER_BYTES = 2048  # well under the 4-8 KB of response headers that proxies (nginx) buffer by default
_MORE_ROOM = len(json.dumps(", and 99999 more notes"))


def _encoded(text: str) -> str:
    """``text`` as a JSON string, ASCII only and without DEL (which JSON leaves as it is, and HTTP refuses)."""
    return json.dumps(text, ensure_ascii=True).replace("\x7f", "\\u007f")


def _bounded(note: str) -> str:
    """``note`` encoded, cut (``…``) to :data:`MAX_NOTE_CHARS` characters and :data:`MAX_NOTE_BYTES` escaped."""
    if len(note) > MAX_NOTE_CHARS:
        note = note[: MAX_NOTE_CHARS - 1] + "…"
    encoded = _encoded(note)
    while len(encoded) > MAX_NOTE_BYTES:
        note = note[: max(1, len(note) * MAX_NOTE_BYTES // len(encoded)) - 1] + "…"
        encoded = _encoded(note)
    return encoded


def notes_header(notes: Sequence[str]) -> str | None:
    """The ``X-Colorsplash-Notes`` value of ``notes`` (see the module), or ``None`` when there are none."""
    if not notes:
        return None
    parts: list[str] = []
    size = 2  # the brackets
    for note in notes[:MAX_NOTES]:
        encoded = _bounded(note)
        if size + len(encoded) + 1 + _MORE_ROOM > MAX_HEADER_BYTES:
            break
        parts.append(encoded)
        size += len(encoded) + 1
    if len(parts) < len(notes):
        more = len(notes) - len(parts)
        parts.append(_encoded(f"and {more} more note{'s' if more > 1 else ''}"))
    return "[" + ",".join(parts) + "]"
