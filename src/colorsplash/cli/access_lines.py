"""``serve --access-log``'s lines, written on standard output, whose reader may go (``serve --access-log | head``,
a log collector that stopped): said once, and the server goes on without them; and whether uvicorn may colour
its lines at all (:func:`colours_refused`)."""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

from colorsplash.cli.common import point_at_null

log = logging.getLogger("colorsplash.cli.serve")

CANNOT_WRITE = (
    "access log: cannot write to standard output (%s: its reader closed it, or its disk is full); the server goes "
    "on without access lines: to keep them, start it again with standard output in a file (>> access.log)"
)


class AccessLines(logging.StreamHandler):
    """A :class:`logging.StreamHandler` (``stream``: standard output by default) for uvicorn's access lines that,
    once its stream cannot be written (a closed pipe: ``BrokenPipeError``; any ``OSError``), says so in one
    warning on standard error and drops every later line. logging's own handling printed a 60-line
    "--- Logging error ---" traceback on standard error for every request after."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(sys.stdout if stream is None else stream)
        self.gone = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.gone:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        err = sys.exc_info()[1]
        if not isinstance(err, OSError):
            super().handleError(record)
            return
        self.gone = True
        point_at_null(self.stream)
        log.warning(CANNOT_WRITE, err.strerror or err)


def colours_refused() -> bool:
    """Whether the environment refuses coloured text: ``NO_COLOR`` set and not empty (no-color.org), or
    ``TERM=dumb`` (Emacs' shell, some CI logs). uvicorn coloured the access lines' request and status on any
    terminal (``^[[32m200 OK^[[0m``), whatever these said."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"
