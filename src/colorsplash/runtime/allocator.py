"""Keep freed memory for the next photo: glibc malloc tuning for the inference process.

Every photo allocates the same few-megabyte arrays (the model's input, the working copy, the edge stage's
coefficients). With glibc's defaults, blocks of this size are mapped from the kernel on each allocation and
handed back on each free, and every page is zero-filled again on first touch: on this project's 2-core AMD EPYC
that cost the 1 MP alpha 73 -> 57 ms (edge stage 16 -> 7 ms, measured in one run with and without; see
``docs/benchmarks.md``). Raising malloc's mmap threshold to 16 MB and its trim threshold to 64 MB makes freed
blocks stay in the heap and be reused; photo-sized arrays (12 MP RGB = 36 MB) are still mapped and returned.

:func:`tune_allocator` is called once by :func:`colorsplash.runtime.model.onnx_model.load_model`, so the CLI, the
server and the Python API all get it. It changes process-wide malloc settings; set ``COLORSPLASH_TUNE_MALLOC=0``
to leave the allocator as it is. Other C libraries (macOS, Windows, musl) are left alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

from colorsplash.runtime.fork_safe import ForkSafeLock

MMAP_THRESHOLD = 16 * 1024 * 1024  # blocks at least this large are mapped from the kernel (and returned)
TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory at the heap's top kept for reuse, up to this much
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's <malloc.h>
ENV = "COLORSPLASH_TUNE_MALLOC"

_lock = ForkSafeLock()
_state: dict[str, bool] = {}


def tune_allocator() -> bool:
    """Set glibc malloc's mmap and trim thresholds (once per process, see the module docstring).

    Returns:
        whether the settings are in effect: ``False`` without glibc, when ``COLORSPLASH_TUNE_MALLOC=0``, or when
        glibc refused them.
    """
    with _lock:
        if "tuned" not in _state:
            _state["tuned"] = _apply()
        return _state["tuned"]


def _apply() -> bool:
    if os.environ.get(ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # glibc reported but its shared object not loadable (static or unusual builds)
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting either value also stops glibc's dynamic threshold adjustment.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
