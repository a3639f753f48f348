"""The matte's solve under different ``MatteSettings``, on real photos: time and alpha difference.

For pet photos of ``../shared/data`` (feral cats and Oxford pets), the model's probability is computed once; then
:func:`colorsplash.runtime.edges.alpha.compute_alpha` with the default (matte) edges runs under each settings variant of
``--variants`` in turn, photo by photo, each ``--repeats`` times (the fastest counts), so the machine's slow and fast
periods fall on all variants alike. A variant is ``default`` or comma-separated ``field=value`` changes of
``MatteSettings`` (e.g. ``tol=1e-5``, ``prior=0,direct_unknowns=6000``). Prints per photo the time of each
variant and the largest alpha difference from the first, then the totals.

Usage::

    python bench/matte_solver.py [--variants "default;tol=1e-5"] [--photos 36] [--repeats 4]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np
from shared_data import SHARED_DATA
from spread import every_nth  # bench/ is on sys.path: run as a script

from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.edges.alpha import compute_alpha
from colorsplash.runtime.edges.matting import MatteSettings
from colorsplash.runtime.edges.working import RefineSettings
from colorsplash.runtime.model.onnx_model import load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.runtime.pictures.photo_io import read_photo

DATA = SHARED_DATA


def photos(count: int) -> list[Path]:
    """Every n-th feral-cat photo (two thirds of ``count``) and Oxford pet photo (the rest), sorted by name."""
    feral = sorted((DATA / "feral-cats").rglob("*.jpg"))
    oxford = sorted((DATA / "oxford-pets" / "images").glob("*.jpg"))
    n_feral = 2 * count // 3
    return every_nth(feral, n_feral) + every_nth(oxford, count - n_feral)


def variant(base: MatteSettings, spec: str) -> MatteSettings:
    """``base`` with the ``field=value`` changes of ``spec`` (``default``: none); ValueError naming a bad field."""
    if spec == "default":
        return base
    fields = {f.name: f.type for f in dataclasses.fields(MatteSettings)}
    changes: dict[str, float | int] = {}
    for item in spec.split(","):
        name, _, value = item.partition("=")
        if name.strip() not in fields:
            raise ValueError(f"unknown MatteSettings field {name.strip()!r} in {spec!r}; fields: {', '.join(fields)}")
        changes[name.strip()] = int(value) if fields[name.strip()] in (int, "int") else float(value)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="default;tol=1e-5", help="settings to compare, separated by ';'")
    parser.add_argument("--photos", type=int, default=36)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    files = photos(args.photos)
    if not files:
        raise SystemExit(f"no photos under {DATA}: this bench needs ../shared/data")
    cv2.setNumThreads(1)  # one core per photo, as in a batch
    print(f"CPU: {cpu_info().describe()}; OpenCV on one thread")
    base = RefineSettings()
    labels = [s.strip() for s in args.variants.split(";")]
    settings = {label: dataclasses.replace(base, matte=variant(base.matte, label)) for label in labels}
    model = load_model()
    totals = dict.fromkeys(labels, 0.0)
    for path in files:
        rgb = read_photo(path).rgb
        small = base.working_copy(rgb, model.config.input_size)
        prob = model.predict_lowres(small)
        times: dict[str, list[float]] = {label: [] for label in labels}
        alphas: dict[str, np.ndarray] = {}
        compute_alpha(rgb, prob, SplashOptions(), settings[labels[0]], small)  # untimed: SciPy's first import
        for _ in range(args.repeats):
            for label, s in settings.items():
                start = time.perf_counter()
                alphas[label] = compute_alpha(rgb, prob, SplashOptions(), s, small).alpha
                times[label].append(time.perf_counter() - start)
        line = []
        for label in labels:
            best = min(times[label])
            totals[label] += best
            diff = float(np.abs(alphas[label] - alphas[labels[0]]).max())
            line.append(f"{label}: {1000 * best:6.1f} ms (max |d alpha| {diff:.3f})")
        print(f"  {path.name[:30]:30s} " + "  ".join(line))
    first = totals[labels[0]]
    print(
        f"total over {len(files)} photos: "
        + ", ".join(f"{label} {1000 * t:.0f} ms ({t / first - 1:+.1%})" for label, t in totals.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
