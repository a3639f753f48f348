"""Run ``colorsplash`` as ``python -m colorsplash`` does, in a process where one folder refuses new files and one
file refuses to be opened, as permissions or a read-only mount make them for every user but root (root writes and
reads anyway, and CI runs as root).

Usage: ``python -m helpers.refusing ERRNO FOLDER FILE colorsplash-arguments...``: creating a file in ``FOLDER``
fails with ``ERRNO`` (e.g. 13 EACCES, 30 EROFS) and opening ``FILE`` with EACCES, at the layer the OS would refuse
them (``os.open`` with ``O_CREAT``, ``open``/``io.open``).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import runpy
import sys
from pathlib import Path
from typing import Any


def refuse(error: int, folder: Path, unreadable: Path) -> None:
    """Patch this process's ``os.open`` and ``open`` to refuse as described in the module docstring."""
    real_os_open, real_open = os.open, builtins.open

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and Path(os.fsdecode(path)).parent == folder:
            raise OSError(error, os.strerror(error), os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)) and Path(os.fsdecode(file)) == unreadable:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    os.open = os_open
    builtins.open = io.open = open_


if __name__ == "__main__":
    code, folder, file, *rest = sys.argv[1:]
    refuse(int(code), Path(folder).absolute(), Path(file).absolute())
    sys.argv = ["colorsplash", *rest]
    runpy.run_module("colorsplash", run_name="__main__", alter_sys=True)
