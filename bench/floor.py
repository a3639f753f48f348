"""The floor a splash is measured against: decoding a JPEG and encoding it again at the same quality, on one thread.

Only OpenCV, NumPy and Pillow are imported here (never ``colorsplash``), so that :class:`PlainFloor` can time
:func:`floor_opencv` in a plain Python process: run as a script, this module reads ``SRC<TAB>DST`` lines on stdin
and answers each with the seconds one :func:`floor_opencv` took.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

QUALITY = 95


def floor_pillow(src: Path, dst: Path) -> None:
    with Image.open(src) as img:
        img.load()
        img.save(dst, quality=QUALITY)


def floor_opencv(src: Path, dst: Path) -> None:
    """What the splash uses for JPEG pixels: OpenCV's libjpeg-turbo (Pillow only parses EXIF and ICC)."""
    bgr = cv2.imdecode(np.fromfile(src, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    dst.write_bytes(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])[1].tobytes())


class PlainFloor:
    """:func:`floor_opencv` timed in a plain Python process beside this one (this module run as a script: glibc's
    default malloc, no ``colorsplash``): the cost of opening and saving the photo in an ordinary program. In a
    benchmark's own process the same code runs 79 or 103 ms on one 12 MP file depending on the heap's state (see
    docs/benchmarks.md); the plain process gives the same figure run after run. Call it with (src, dst); it returns
    the seconds it measured."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def __call__(self, src: Path, dst: Path) -> float:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(f"{src}\t{dst}\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the plain floor process ended; run `python {__file__}` alone to see why")
        return float(answer)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def serve() -> None:
    """Time :func:`floor_opencv` for each ``SRC<TAB>DST`` line of stdin; print the seconds, one line each."""
    cv2.setNumThreads(1)
    for line in sys.stdin:
        src, dst = line.rstrip("\n").split("\t")
        start = time.perf_counter()
        floor_opencv(Path(src), Path(dst))
        print(time.perf_counter() - start, flush=True)


def main() -> None:
    """Run as a script: ``--help`` says what the module is (it waited on stdin for lines), else :func:`serve`."""
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    serve()


if __name__ == "__main__":
    main()
