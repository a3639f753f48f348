"""The lines a run's scan of its inputs gives about what it leaves out or finds in the way (:mod:`.planning`):
partial results of an interrupted run, pictures named like earlier results, videos, links to folders that
``--recursive`` does not follow."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from colorsplash.runtime.temp_names import is_temp_name
from colorsplash.runtime.wording import listed

log = logging.getLogger("colorsplash.runtime.planning")  # the planning's logger: its lines are the scan's

SPLASH_TAG = ".splash"
MASK_TAG = ".mask"
RESULTS = f"*{SPLASH_TAG}.*, *{MASK_TAG}.*"  # the names of earlier results, left out of folders and patterns


def say_partial(folder: Path, names: list[str]) -> None:
    """The line on our temporary files ``names`` (:func:`is_temp_name`; their paths under ``folder``, which a
    ``--recursive`` scan finds in its sub-folders), left by a killed run: not ours to delete (a run still writing one
    would lose its result)."""
    if names:
        said = "partial result(s) of an interrupted run, safe to delete when no run is going"
        log.info("%s: %s: %s", folder, said, listed(sorted(names)))


def say_output_partials(folders: set[Path], scanned: set[Path]) -> None:
    """:func:`say_partial` for the run's output folders that no input folder's scan looked into (``-o DIR``): a run
    killed while writing there left its partial file unnamed by every later run."""
    for folder in sorted(folders):
        if folder.resolve() in scanned:
            continue
        try:
            say_partial(folder, [e.name for e in os.scandir(folder) if is_temp_name(e.name)])
        except OSError:  # not made yet, or not ours to list: nothing to say
            continue


def say_left_out(where: str, earlier: int, videos: list[str], links: Sequence[str] = ()) -> None:
    """The lines on what a folder or pattern ``where`` held that a run leaves out: ``earlier`` pictures named like
    results, ``videos`` (their paths under a folder ``where``, names for a pattern) and ``links`` to folders, which
    ``--recursive`` does not follow (their paths under ``where``: ``photos/2019``, a link to a folder on another
    disk, lost a year of photos without a word)."""
    if earlier:  # said, not silent: a photo of the user's own may be named like a result
        log.info(
            "%s: left out %d picture(s) named like earlier results (%s); name one to include it",
            where,
            earlier,
            RESULTS,
        )
    if videos:  # a Live Photo's .MOV beside its HEIC: said once, not silent, not an error
        log.info(
            "%s: left out %d video(s), not photos (%s); `colorsplash video FILE` splashes a video",
            where,
            len(videos),
            listed(sorted(videos)),
        )
    if links:  # not followed: a link may lead out of the tree, or back into it (a loop)
        log.warning(
            "%s: left out %d link(s) to a folder, which --recursive does not follow (%s); give each as an INPUT to "
            "include its photos",
            where,
            len(links),
            listed(sorted(links)),
        )
