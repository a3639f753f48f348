"""Row strips of a picture, worked one after another or on every core: the one loop behind the blends
(:mod:`colorsplash.runtime.effects`), the matte's full-size alpha (:mod:`colorsplash.runtime.edges.upsampling`) and the
colour estimates (:mod:`colorsplash.runtime.edges.foreground`)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2

from colorsplash.runtime.cpu import usable_cores

STRIP_ROWS = 64  # rows per strip: a few MB of float32 temporaries, which stay in cache
PARALLEL_PIXELS = 1 << 20  # below a megapixel, starting threads costs more than it saves


def in_row_strips(
    hw: tuple[int, int], work: Callable[[slice], None], parallel_pixels: int = PARALLEL_PIXELS, name: str = "strip"
) -> None:
    """``work(rows)`` on every strip of :data:`STRIP_ROWS` rows of an ``hw`` = (height, width) picture: one after
    another under ``parallel_pixels`` pixels or with a single usable thread, else in threads on every core this
    process may use (:func:`~colorsplash.runtime.cpu.usable_cores`: its affinity mask, not every CPU of the
    machine; OpenCV's and NumPy's arithmetic on these arrays releases the GIL). ``work`` writes only its own rows."""
    h, w = hw
    strips = [slice(y, min(h, y + STRIP_ROWS)) for y in range(0, h, STRIP_ROWS)]
    threads = min(cv2.getNumThreads(), usable_cores())
    if h * w < parallel_pixels or threads < 2:
        for rows in strips:
            work(rows)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
            list(pool.map(work, strips))
