"""What the fuzz harnesses share: running one input and telling a finding from an allowed outcome.

A finding is any exception other than the documented ones (a harness passes them in ``allowed``), a warning that
reaches stderr (Pillow's or NumPy's, not caught by colorsplash's own notes) and an input that takes more than
:data:`SLOW_S` seconds; each distinct one (exception type and the innermost frame in colorsplash or
Pillow) is saved once to the findings folder as ``<kind>-<n>.bin`` with its traceback in ``<kind>-<n>.txt``, and
fuzzing goes on. Hangs past libFuzzer's ``-timeout`` and memory past ``-rss_limit_mb`` stop the run, with the input
saved by libFuzzer (``-artifact_prefix``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

SLOW_S = 2.0
FINDINGS = Path(os.environ.get("FUZZ_FINDINGS", "fuzz-findings"))
_seen: set[str] = set()


def _signature(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    ours = [f for f in frames if "colorsplash" in f.filename or "/PIL/" in f.filename] or frames
    last = ours[-1] if ours else None
    where = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(err).__name__}@{where}"


def _save(kind: str, signature: str, data: bytes, text: str) -> None:
    if signature in _seen:
        return
    _seen.add(signature)
    FINDINGS.mkdir(parents=True, exist_ok=True)
    stem = f"{kind}-{hashlib.sha1(signature.encode()).hexdigest()[:10]}"
    (FINDINGS / f"{stem}.bin").write_bytes(data)
    (FINDINGS / f"{stem}.txt").write_text(f"{signature}\n{len(data)} bytes\n\n{text}")
    print(f"\n*** finding {stem}: {signature} ({len(data)} bytes)", file=sys.stderr, flush=True)


def run_one(check: Callable[[bytes], None], data: bytes, allowed: tuple[type[BaseException], ...]) -> None:
    """Run ``check(data)``; save a finding for an exception outside ``allowed`` or a slow input."""
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:  # what colorsplash's own blocks do not catch: stderr lines
        warnings.simplefilter("always")
        try:
            check(data)
        except allowed:
            pass
        except Exception as err:  # the finding: anything else
            _save("crash", _signature(err), data, traceback.format_exc())
    for item in caught:
        if not issubclass(item.category, ResourceWarning):
            where = f"{Path(item.filename).name}:{item.lineno}"
            _save("warning", f"{item.category.__name__}@{where}", data, f"{item.message}\n")
    took = time.monotonic() - start
    if took > SLOW_S and len(data) < 100_000:
        _save("slow", f"slow-{len(data) // 1000}KB-{int(took)}s", data, f"{took:.1f} s for {len(data):,} bytes\n")


def main(check: Callable[[bytes], None], allowed: tuple[type[BaseException], ...]) -> None:
    """``python HARNESS FILE...`` replays files (prints each outcome with its traceback); otherwise the arguments
    are libFuzzer's (corpus folders, ``-max_total_time=``...)."""
    files = [Path(a) for a in sys.argv[1:] if not a.startswith("-") and Path(a).is_file()]
    if files:
        for path in files:
            start = time.monotonic()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    check(path.read_bytes())
                    outcome = "ok"
                except allowed as err:
                    outcome = f"allowed {type(err).__name__}: {err}"
                except Exception:
                    outcome = "FINDING\n" + traceback.format_exc()
            shown = "".join(f"\n  WARNING {w.category.__name__}: {w.message}" for w in caught)
            print(f"{path} ({time.monotonic() - start:.2f} s): {outcome}{shown}")
        return
    import atheris

    atheris.Setup(sys.argv, lambda data: run_one(check, data, allowed))
    atheris.Fuzz()
