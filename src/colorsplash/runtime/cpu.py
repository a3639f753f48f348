"""What this machine's CPU is and can do, and where per-machine choices are cached.

Used to pick a model variant (int8 or float) at load time: the CPU model name and the instruction sets that
matter to ONNX Runtime's kernels (x86: AVX2, AVX-512, VNNI, AMX; Arm: dot product, int8 matrix multiply, SVE)
key the cached micro-benchmark, and give the choice when no benchmark may run. Reads ``/proc/cpuinfo`` on Linux
and ``sysctl`` values on macOS; elsewhere the model name comes from :mod:`platform` and no flags are known.
Never touches the network.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
import platform
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "COLORSPLASH_CACHE_DIR"
# Instruction sets that change which ONNX Runtime kernels run (MLAS picks its GEMM and conv kernels by them).
RELEVANT_FLAGS: tuple[str, ...] = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "asimd",
    "asimddp",
    "i8mm",
    "bf16",
    "sve",
    "sve2",
)
# Flags that give int8 convolutions a dedicated multiply-accumulate instruction (VNNI, AMX, Arm dot product).
INT8_FAST_FLAGS: tuple[str, ...] = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")
_MAC_SYSCTL = {
    "hw.optional.arm.FEAT_DotProd": "asimddp",
    "hw.optional.arm.FEAT_I8MM": "i8mm",
    "hw.optional.arm.FEAT_BF16": "bf16",
    "hw.optional.avx2_0": "avx2",
    "hw.optional.avx512f": "avx512f",
}


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the variant choice sees it.

    Attributes:
        model: the CPU's marketing name (``AMD EPYC 7B13``), or the architecture when unknown.
        machine: ``x86_64``, ``aarch64``, ``arm64``...
        flags: the :data:`RELEVANT_FLAGS` this CPU has, sorted.
        cores: logical CPUs this process may use.
    """

    model: str
    machine: str
    flags: tuple[str, ...]
    cores: int

    @property
    def fast_int8(self) -> bool:
        """Whether the CPU has an int8 multiply-accumulate instruction (VNNI, AMX, Arm dot product)."""
        return any(f in self.flags for f in INT8_FAST_FLAGS)

    def describe(self) -> str:
        """One line: model, architecture, cores, flags (what benchmarks print above their figures)."""
        return f"{self.model} ({self.machine}, {self.cores} cores; {' '.join(self.flags) or 'no flags known'})"


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask on Linux, else every CPU)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def checked_threads(threads: object) -> int | None:
    """``load_model``'s ``threads`` (``None``, or 0 as ONNX Runtime's own setting: its default) as a count or
    ``None``. ONNX Runtime's binding refused 1.5 or "2" in pages of its signature, and -1 loaded unnoticed. More
    threads than the cores this process may use are warned about: they make the model slower, not faster (10000
    loaded at once and held the machine at a load of a thousand)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be a whole number of threads or None, got {threads!r}")
    if threads < 0:
        raise ValueError(f"threads must be at least 1 (or 0 or None: one per physical core), got {threads}")
    if (count := int(threads)) > (cores := usable_cores()):
        warnings.warn(
            f"threads={threads} is more than the {cores} core(s) this process may use: the model runs slower, not "
            f"faster; give at most {cores} (or None: one per physical core)",
            stacklevel=3,
        )
    return count or None


def _parse_cpuinfo(text: str) -> tuple[str, set[str]]:
    """(model name, flags) from ``/proc/cpuinfo`` text; x86 says ``flags``, Arm ``Features``."""
    model, flags = "", set[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model, flags


def _mac_info() -> tuple[str, set[str]]:
    def sysctl(name: str) -> str:
        try:
            done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    flags = {flag for key, flag in _MAC_SYSCTL.items() if sysctl(key) == "1"}
    return sysctl("machdep.cpu.brand_string"), flags


@functools.lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    """This machine's :class:`CpuInfo` (read once per process)."""
    model, flags = "", set[str]()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        with contextlib.suppress(OSError):
            model, flags = _parse_cpuinfo(cpuinfo.read_text(errors="replace"))
    elif sys.platform == "darwin":
        model, flags = _mac_info()
    machine = platform.machine() or "unknown"
    model = model or platform.processor() or machine
    return CpuInfo(model, machine, tuple(sorted(f for f in flags if f in RELEVANT_FLAGS)), usable_cores())


def _home() -> Path | None:
    """The user's home folder, or ``None`` when there is none to use: ``$HOME`` unset and no passwd entry for this
    uid (cron, ``env -i``, containers run as an arbitrary uid), or a relative one."""
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):  # "Could not determine home directory"
        return None
    return home if home.is_absolute() else None


def _absolute_env(name: str) -> Path | None:
    """``$name`` as a path when it is set to an absolute one; a relative value is ignored (the XDG spec's rule)."""
    value = os.environ.get(name)
    return Path(value) if value and os.path.isabs(value) else None


def cache_dir() -> Path | None:
    """Folder for per-machine caches: ``$COLORSPLASH_CACHE_DIR``, else the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on
    Windows) + ``colorsplash``; ``None`` when there is none (no such variable and no usable home folder): the
    caches are optional, callers then skip them. Not created here; never raises."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    home = _home()
    if sys.platform == "darwin":
        base = home / "Library" / "Caches" if home else None
    elif sys.platform == "win32":
        base = _absolute_env("LOCALAPPDATA") or (home / "AppData" / "Local" if home else None)
    else:
        base = _absolute_env("XDG_CACHE_HOME") or (home / ".cache" if home else None)
    return base / "colorsplash" if base else None
