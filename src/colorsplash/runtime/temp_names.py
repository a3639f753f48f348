"""The names of colorsplash's temporary files and folders: the one rule that makes them (hidden, beside the file
being written, ``.colorsplash-<stem>.<token>.part<ext>``, always within the file system's name length) and the one
that recognises them, so that a scan never takes one a killed run left for an input or a result."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_PREFIX = ".colorsplash-"
TEMP_SUFFIX = ".part"
TEMP_TOKEN = "[0-9a-f]{8}"  # a temporary name's random part (token_hex(4)) as a regular expression, for its readers
NAME_MAX = 255  # bytes in one file name on ext4, APFS, NTFS


def name_fits(path: str | Path) -> bool:
    """Whether ``path``'s last component fits a file name (255 bytes as UTF-8); the temporary name always fits
    when this holds (see :func:`temp_path_for`)."""
    return len(os.fsencode(Path(path).name)) <= NAME_MAX


def temp_path_for(path: str | Path, extension: str | None = None) -> Path:
    """A fresh hidden temporary path beside ``path`` that keeps its extension (tools pick formats by it), or ends
    in ``extension`` when one is given (``""`` for a folder: :func:`temp_folder`).

    The name fits whenever ``path``'s own name fits: a long stem is shortened, never the folder changed.
    """
    path = Path(path)
    ending = path.suffix if extension is None else extension
    token = secrets.token_hex(4)  # 8 hex digits: TEMP_TOKEN
    # In the file system's encoding, not UTF-8 (a C locale without UTF-8 mode encodes names as ASCII); a cut
    # through a character leaves an escaped byte that encodes back to the same bytes.
    fixed = len(os.fsencode(TEMP_PREFIX + token + "." + TEMP_SUFFIX + ending))
    stem = os.fsdecode(os.fsencode(path.stem)[: max(0, NAME_MAX - fixed)])
    return path.with_name(f"{TEMP_PREFIX}{stem}.{token}{TEMP_SUFFIX}{ending}")


@contextmanager
def temp_folder(path: str | Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``path`` (whose folder must exist) for the intermediate files of the writer of
    ``path``, removed with all it holds when the block ends, however it ends (Ctrl-C included). It is named as the
    temporary files are (:func:`is_temp_name`: ``.colorsplash-<stem>.<token>.part``), so one that a killed run
    left (``kill -9``, a crash) is named by the next scan as an interrupted run's, not taken for a result: the
    folder ``tempfile`` named ``tmpk3j2h_x`` held a ``model.onnx``. Owner-only (0700), as ``tempfile``'s."""
    folder = temp_path_for(path, extension="")
    folder.mkdir(mode=0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of our temporary files (left behind only by a killed process)."""
    return name.startswith(TEMP_PREFIX) and TEMP_SUFFIX in name


def is_temp_of(name: str, output: str | Path) -> bool:
    """Whether ``name`` is a temporary name that :func:`temp_path_for` makes for ``output`` (a name, or a path:
    its name), the token whatever it is: in ``output``'s folder, that file's write in progress or left by a killed
    process."""
    out = Path(output)
    made = re.escape(f"{TEMP_PREFIX}{out.stem}.") + TEMP_TOKEN + re.escape(f"{TEMP_SUFFIX}{out.suffix}")
    return re.fullmatch(made, name) is not None
