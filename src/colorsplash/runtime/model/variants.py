"""Model variants: the same weights stored as int8 and as float, and which one runs fastest here.

A model file ``NAME.onnx`` may have sibling variants ``NAME.<anything>.onnx`` in the same folder (the package ships
``pets.onnx``, int8, and ``pets.fp32.onnx``, float32 arithmetic with float16-stored weights). Each file says what it
is in its own ``colorsplash_config`` metadata (:attr:`ModelConfig.precision`); a sibling counts as a variant only
when its config matches ``NAME.onnx``'s in everything but the precision and the export's own records (int8
calibration, embedded scores), so a stale float file left beside a retrained int8 model is ignored, never run.

``precision="auto"`` picks, on the CPU: the winner of a one-time micro-benchmark of the variants on this machine,
cached in :func:`colorsplash.runtime.cpu.cache_dir` under a key made of the CPU model, its instruction sets, the
ONNX Runtime version, the sessions' thread count and the variants' SHA-256; when no benchmark may run, the rule
ONNX Runtime's documentation gives (int8 wins with VNNI/AMX/Arm dot product, measured to win with AVX2 too; float
on older CPUs). On CUDA the float variant (int8 QDQ graphs fall back to slow paths on GPUs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorsplash.runtime.cpu import CACHE_ENV, CpuInfo, cache_dir, cpu_info
from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, ModelConfig
from colorsplash.runtime.model.protobuf import NotProtobuf, fields, mapped, string_entry

log = logging.getLogger(__name__)

PRECISION_CHOICES: tuple[str, ...] = ("auto", "int8", "fp32")
BENCHMARK_ENV = "COLORSPLASH_VARIANT_BENCHMARK"  # "0": never time the variants, use the instruction-set rule
CACHE_FILE = "variants.json"
# Records an export adds to ``training`` that differ between variants of the same weights.
EXPORT_RECORDS: tuple[str, ...] = ("int8_calibration", "evaluation", "checkpoint_sha256")
TIE_MARGIN = 0.05  # a float variant must be this much faster to beat the smaller int8 file
_BENCH_WARMUP, _BENCH_RUNS = 2, 7
_METADATA_FIELD = 14  # ModelProto.metadata_props


class VariantError(ValueError):
    """A precision was asked for that no variant of the model provides; the message lists what exists."""


@dataclass(frozen=True)
class Variant:
    """One file of a model family: its path, its config and its kind (``int8`` or ``fp32`` arithmetic)."""

    path: Path
    config: ModelConfig

    @property
    def kind(self) -> str:
        return self.config.arithmetic


# ------------------------------------------------------------------------------------------------ metadata


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file, read from its top-level protobuf fields without loading the graph
    (:mod:`colorsplash.runtime.model.protobuf` steps over it: milliseconds even for large files).

    Raises:
        ValueError: the file is not a well-formed ONNX (protobuf) file; the message names it.
    """
    meta: dict[str, str] = {}
    try:
        with mapped(path) as buf:
            for field, start, stop in fields(buf, 0, len(buf)):
                if field == _METADATA_FIELD:
                    key, value = string_entry(buf, start, stop)
                    meta[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    except NotProtobuf as err:
        raise ValueError(f"{path}: not an ONNX file ({err})") from err
    return meta


def read_config(path: str | Path) -> ModelConfig | None:
    """The colorsplash config stored in ``path``, or ``None`` when it has none or is not ONNX."""
    try:
        meta = read_metadata(path)
        return ModelConfig.from_json(meta[CONFIG_METADATA_KEY]) if CONFIG_METADATA_KEY in meta else None
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


# ------------------------------------------------------------------------------------------------ families


def _same_checkpoint(a: ModelConfig, b: ModelConfig) -> bool:
    """Whether two files may hold the same weights by the checkpoint hash their export recorded: different
    hashes never pair; a file exported before the hash was recorded (none) is judged by its other records."""
    ha, hb = (c.training.get("checkpoint_sha256") for c in (a, b))
    return not (ha and hb and ha != hb)


def identity(config: ModelConfig) -> dict[str, Any]:
    """What variants of the same weights share: the config without the precision and the export's records."""
    data = config.to_dict()
    data.pop("precision", None)
    training = data.get("training")
    if isinstance(training, dict):
        data["training"] = {k: v for k, v in training.items() if k not in EXPORT_RECORDS}
    return data


def find_variants(path: Path, config: ModelConfig) -> list[Variant]:
    """``path`` (whose config is ``config``) and its matching siblings ``STEM.*.onnx``; mismatched siblings, and
    siblings that are not files (folders, pipes, devices: never opened), are logged and left out. The first entry
    is always ``path`` itself."""
    found = [Variant(path, config)]
    want = identity(config)
    for sibling in sorted(path.parent.glob(f"{path.stem}.*.onnx")):
        if sibling == path:
            continue
        if not sibling.is_file():  # a pipe would block the read below for good; a folder holds no config
            log.warning(
                "%s: not a plain file (a folder, pipe or device); ignored as a variant of %s", sibling, path.name
            )
            continue
        other = read_config(sibling)
        if other is None:  # "its config differs" was said of an empty file, a part copy, a checkpoint
            log.warning(
                "%s: holds no colorsplash config (an empty or part copy, or not a model colorsplash exported); "
                "ignored as a variant of %s",
                sibling,
                path.name,
            )
        elif identity(other) != want or not _same_checkpoint(config, other):
            log.warning(
                "%s: not a variant of %s (its config differs: other weights or settings); ignored", sibling, path.name
            )
        elif other.precision == config.precision:
            log.warning("%s: same precision as %s; ignored", sibling, path.name)
        else:
            found.append(Variant(sibling, other))
    return found


def by_kind(variants: Sequence[Variant], kind: str, path: Path) -> Variant:
    """The variant of ``kind`` (``int8`` or ``fp32``).

    Raises:
        VariantError: none of that kind; the message names the model and the kinds it has.
    """
    for v in variants:
        if v.kind == kind:
            return v
    have = ", ".join(sorted({v.kind for v in variants}))
    how = "--int8 PHOTOS " if kind == "int8" else ""  # a float export: float32 arithmetic, any stored precision
    raise VariantError(
        f'{path}: no {kind} variant of this model (it has: {have}); use --precision auto (Python: precision="auto"), '
        f"or export one beside it from the checkpoint it was exported from: colorsplash export CHECKPOINT {how}"
        f"-o {path.with_name(f'{path.stem}.{kind}.onnx')}"
    )


def rule_choice(variants: Sequence[Variant], cpu: CpuInfo) -> Variant:
    """The choice without a benchmark: int8 where the CPU has an int8 multiply-accumulate (VNNI, AMX, Arm dot
    product; ONNX Runtime's docs) or AVX2 (measured: int8 1.4-1.8x faster, docs/benchmarks.md), else float."""
    kinds = {v.kind: v for v in variants}
    if "int8" in kinds and (cpu.fast_int8 or "avx2" in cpu.flags or "fp32" not in kinds):
        return kinds["int8"]
    return kinds.get("fp32", variants[0])


# ------------------------------------------------------------------------------------------------ benchmark

_hashes: dict[tuple[str, int, int], str] = {}


def file_hash(path: Path) -> str:
    """SHA-256 of a file (remembered per path, size and modification time for this process)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with open(path, "rb") as fp:
            for block in iter(lambda: fp.read(1 << 20), b""):
                digest.update(block)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def cache_key(variants: Sequence[Variant], cpu: CpuInfo, runtime_version: str, threads: int | None = None) -> str:
    """Key of a benchmark result: CPU model, instruction sets, cores, ONNX Runtime version, the sessions' thread
    count (``None``/0: ONNX Runtime's default; int8 and float scale differently with threads, so one count's
    winner says nothing of another's), variant hashes."""
    parts = [
        cpu.model,
        cpu.machine,
        " ".join(cpu.flags),
        str(cpu.cores),
        runtime_version,
        f"threads={threads or 0}",
        *sorted(file_hash(v.path) for v in variants),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _load_cache(path: Path) -> dict[str, Any]:
    """The cache file's object; ``{}`` when it is missing, unreadable, not JSON, nested too deep to parse
    (``RecursionError``) or not an object: such a file is measured again and rewritten, never an error."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_kind(key: str, folder: Path) -> str | None:
    """The kind cached for ``key`` in ``folder`` (``int8``/``fp32``), or ``None``: no entry, or one whose
    ``choice`` is not a string (a damaged file; measured again and overwritten)."""
    entry = _load_cache(folder / CACHE_FILE).get(key)
    choice = entry.get("choice") if isinstance(entry, dict) else None
    return choice if isinstance(choice, str) else None


def store_choice(key: str, entry: dict[str, Any], folder: Path) -> bool:
    """Add ``entry`` under ``key`` to the cache file in ``folder`` (other keys kept when they can be written back,
    else dropped); returns whether it was written. An unwritable cache is logged with what to do, never an
    error."""
    path = folder / CACHE_FILE
    data = {**_load_cache(path), key: entry}
    try:
        text = json.dumps(data, indent=1, sort_keys=True)
    except (ValueError, TypeError, RecursionError):  # odd old entries: keep only this one
        text = json.dumps({key: entry}, indent=1, sort_keys=True)
    try:
        atomic_write(path, text)
    except OSError as err:
        log.info(
            "could not keep the model variant choice in %s (%s): it will be timed again next time; set %s to a "
            "writable folder to keep it",
            path,
            err.strerror or err,
            CACHE_ENV,
        )
        return False
    return True


def time_sessions(
    sessions: dict[str, Any], size: int, warmup: int = _BENCH_WARMUP, runs: int = _BENCH_RUNS
) -> dict[str, float]:
    """Median milliseconds of one batch-1 forward pass per session, the sessions taking turns run by run (a busy
    machine slows them alike)."""
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    for k, s in sessions.items():
        for _ in range(warmup):
            s.run(None, feeds[k])
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for _ in range(runs):
        for k, s in sessions.items():
            start = time.perf_counter()
            s.run(None, feeds[k])
            times[k].append((time.perf_counter() - start) * 1000.0)
    return {k: statistics.median(v) for k, v in times.items()}


def benchmark_choice(sessions: dict[str, Any], size: int) -> tuple[str, dict[str, float]]:
    """(winning kind, median ms per kind): int8 unless the float variant is faster by more than
    :data:`TIE_MARGIN` (int8 is the smaller file and the measured winner on most CPUs)."""
    ms = time_sessions(sessions, size)
    if "int8" in ms and "fp32" in ms:
        return ("fp32" if ms["fp32"] < ms["int8"] * (1 - TIE_MARGIN) else "int8"), ms
    return min(ms, key=lambda k: ms[k]), ms


def choose_auto(
    variants: Sequence[Variant],
    make_session: Callable[[Path], Any],
    runtime_version: str,
    benchmark: bool | None = None,
    threads: int | None = None,
) -> tuple[Variant, Any | None]:
    """The variant ``precision=auto`` runs on the CPU, and its session when the benchmark made one.

    One variant: it. No benchmark (``benchmark`` false; ``None``: ``$COLORSPLASH_VARIANT_BENCHMARK`` is ``0``) or
    no cache folder (:func:`colorsplash.runtime.cpu.cache_dir` is ``None``: no home folder): :func:`rule_choice`,
    the cache neither read nor written. Else the result cached for this machine and ``threads`` (the thread count
    ``make_session`` gives its sessions), or a benchmark, cached.
    """
    if benchmark is None:
        benchmark = os.environ.get(BENCHMARK_ENV, "1") != "0"
    if len(variants) == 1:
        return variants[0], None
    cpu = cpu_info()
    folder = cache_dir() if benchmark else None
    if folder is None:  # no benchmark, or nowhere to keep its result: the rule, no cache read or written
        if benchmark:
            _note_no_cache()
        return rule_choice(variants, cpu), None
    key = cache_key(variants, cpu, runtime_version, threads)
    kinds = {v.kind: v for v in variants}
    cached = cached_kind(key, folder)
    if cached in kinds:
        return kinds[cached], None
    log.info(
        "timing the model's int8 and float variants on this CPU (once: the choice is kept per machine and thread count)"
    )
    sessions = {v.kind: make_session(v.path) for v in variants}
    kind, ms = benchmark_choice(sessions, variants[0].config.input_size)
    kept = store_choice(
        key,
        {
            "choice": kind,
            "ms": {k: round(v, 2) for k, v in ms.items()},
            "cpu": cpu.describe(),
            "onnxruntime": runtime_version,
            "threads": threads or "default",
            "files": [v.path.name for v in variants],
            "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
        folder,
    )
    where = f"; kept in {folder / CACHE_FILE}" if kept else ""  # else store_choice said why and what to do
    log.info("chose the %s variant (%s)%s", kind, _timings(ms), where)
    return kinds[kind], sessions[kind]


def _timings(ms: dict[str, float]) -> str:
    return ", ".join(f"{kind} {value:.1f} ms" for kind, value in sorted(ms.items(), key=lambda item: item[1]))


_noted_no_cache = False  # whether the missing cache folder was logged in this process


def _note_no_cache() -> None:
    """Log once per process that the variant choice falls back to the rule for want of a cache folder."""
    global _noted_no_cache
    if not _noted_no_cache:
        _noted_no_cache = True
        log.info(
            "no folder for the model variant cache (no home folder); choosing by the CPU's instruction sets "
            "(set $HOME or $%s to measure once and cache, or pass --precision)",
            CACHE_ENV,
        )
