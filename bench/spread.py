"""Speed over many real photos, not one: how the 1 MP alpha and the 12 MP splash spread with the subject.

``bench/run_all.py`` times the 1 MP alpha and the 12 MP splash on one photo (the first Oxford photo), whose matte
band is short (about 3,800 unknown pixels on the solve's 400 px copy); other pets' bands hold 3,000 to 50,000, and
the matte's time follows them while the model's, the fast stage's and the floor's do not. This times, on
``--photos`` data-set photos (Oxford pets and feral cats, every n-th by name):

- the 1 MP alpha: ``colorsplash.predict_alpha`` on the photo enlarged to 1 MP, each edge stage and U2-Netp's
  pipeline in turn on each photo (best of ``--rounds``): median, slowest photo, photos at issue 17's 5x;
- the 12 MP splash (``--splash``, the first that many photos): the photo enlarged to 4000x3000 and saved as a
  JPEG, then ``PhotoJob`` (the CLI's ``splash``) against the single-threaded decode + encode floor timed in a
  plain process (``floor.PlainFloor``), in turn on each photo: median and worst ratio, photos at 1.6x.

Usage::

    python bench/spread.py [--photos 24] [--splash 8] [--rounds 2] [--edges auto,fast] [--u2netp peers/u2netp.onnx]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash

# isort: split

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor import PlainFloor  # noqa: E402
from rembg_peers import rembg_predictor  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402
from splash_speed import write_jpeg  # noqa: E402

from colorsplash.runtime.batch import PhotoJob  # noqa: E402
from colorsplash.runtime.cpu import cpu_info  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model, load_model  # noqa: E402
from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.pictures.photo_io import read_photo  # noqa: E402
from colorsplash.runtime.planning import OutputPlan, plan_files  # noqa: E402

DATA = SHARED_DATA
# Issue 17's bars on this CPU (bench/run_all.py reads them from here): the 1 MP alpha at least 5x faster than
# U2-Netp's pipeline, the 12 MP splash at most 1.6x its decode + encode floor, the batch at least 90 % of model-only.
TARGETS = {"alpha_1mp": 5.0, "splash_12mp": 1.6, "batch": 0.90}


def every_nth(files: Sequence[Path], count: int) -> list[Path]:
    """``count`` of ``files`` spread evenly over them (every n-th from the first), fewer when there are fewer."""
    return list(files[:: max(1, len(files) // max(1, count))][:count])


def spread_photos(count: int) -> list[np.ndarray]:
    """``count`` data-set photos (half Oxford pets, half feral cats, every n-th by name) resized to about 1 MP
    (1155x866 or 866x1155), RGB uint8; empty without ``../shared/data``."""
    groups = [sorted((DATA / "oxford-pets" / "images").glob("*.jpg")), sorted((DATA / "feral-cats").rglob("*.jpg"))]
    picked: list[Path] = []
    for i, files in enumerate(groups):
        want = count // 2 + (count % 2 if i == 0 else 0)
        picked += every_nth(files, want)
    out = []
    for path in picked:
        rgb = read_photo(path).rgb
        size = (1155, 866) if rgb.shape[1] >= rgb.shape[0] else (866, 1155)
        out.append(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC))
    return out


def best_of(fn: Callable[[], object], rounds: int) -> float:
    """Fastest wall seconds of ``rounds`` calls of ``fn`` after one untimed call."""
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def alpha_spread(
    model: Model, photos: Sequence[np.ndarray], edges: Sequence[str], u2netp: Path | None, rounds: int
) -> list[str]:
    """One printed line per edge stage: median and slowest ms over ``photos``, and against U2-Netp's pipeline on
    the same photos (timed in turn with ours, photo by photo) the median ratio and the photos at >= 5x; none
    without photos (no ``../shared/data``)."""
    if not photos:
        return []
    peer = rembg_predictor(u2netp, threads=0, spin=True) if u2netp else None
    ours: dict[str, list[float]] = {e: [] for e in edges}
    theirs: list[float] = []
    for photo in photos:
        for e in edges:
            options = SplashOptions(edges=e)
            ours[e].append(best_of(lambda p=photo, o=options: colorsplash.predict_alpha(p, model, o), rounds))
        if peer is not None:
            theirs.append(best_of(lambda p=photo: peer(p), rounds))
    lines = []
    for e in edges:
        t = ours[e]
        line = f"  1 MP alpha over {len(t)} data-set photos (edges={e}): median {1000 * statistics.median(t):.0f} ms"
        line += f", slowest {1000 * max(t):.0f} ms"
        if theirs:
            ratios = [p / o for p, o in zip(theirs, t, strict=True)]
            bar = TARGETS["alpha_1mp"]
            line += (
                f"; U2-Netp median {1000 * statistics.median(theirs):.0f} ms: median ratio "
                f"{statistics.median(ratios):.1f}x, {sum(r >= bar for r in ratios)} of {len(t)} photos >= {bar:.0f}x"
            )
        lines.append(line)
    return lines


def splash_spread(
    model: Model, photos: Sequence[np.ndarray], edges: Sequence[str], tmp: Path, rounds: int
) -> list[str]:
    """One printed line per edge stage: the 12 MP splash of each of ``photos`` (enlarged to 4000x3000 or
    3000x4000, saved as a JPEG) against its decode + encode floor in a plain process, in turn photo by photo; none
    without photos."""
    if not photos:
        return []
    plain = PlainFloor()
    ratios: dict[str, list[float]] = {e: [] for e in edges}
    try:
        for i, photo in enumerate(photos):
            size = (4000, 3000) if photo.shape[1] >= photo.shape[0] else (3000, 4000)
            src = write_jpeg(tmp / f"spread-{i}.jpg", photo, *size)
            task = plan_files([src], OutputPlan(out_dir=tmp / "spread-out", overwrite=True))[0]
            floor = best_of(lambda s=src: plain(s, tmp / "spread-floor.jpg"), rounds)
            for e in edges:
                job = PhotoJob(model, SplashOptions(edges=e), overwrite=True)
                ratios[e].append(best_of(lambda j=job, t=task: j(t), rounds) / floor)
    finally:
        plain.close()
    bar = TARGETS["splash_12mp"]
    return [
        f"  12 MP splash over {len(r)} data-set photos (edges={e}): median {statistics.median(r):.2f}x the floor, "
        f"worst {max(r):.2f}x; {sum(x <= bar for x in r)} of {len(r)} photos <= {bar}x"
        for e, r in ratios.items()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=24, help="photos for the 1 MP alpha")
    parser.add_argument("--splash", type=int, default=8, help="photos for the 12 MP splash (0: none)")
    parser.add_argument("--rounds", type=int, default=2, help="timed calls per photo and contestant (the best counts)")
    parser.add_argument("--edges", default="auto,fast", help="edge stages, comma-separated (auto: the photo default)")
    parser.add_argument("--u2netp", type=Path, default=None, help="rembg's u2netp.onnx (bench/README.md)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: bundled)")
    args = parser.parse_args()
    photos = spread_photos(args.photos)
    if not photos:
        raise SystemExit(f"no photos under {DATA}: this bench needs ../shared/data")
    print(f"CPU: {cpu_info().describe()}")
    edges = [e.strip() for e in args.edges.split(",") if e.strip()]
    model = load_model(args.model)
    for line in alpha_spread(model, photos, edges, args.u2netp, args.rounds):
        print(line)
    if args.splash:
        with tempfile.TemporaryDirectory(prefix="spread-") as tmp:
            for line in splash_spread(model, photos[: args.splash], edges, Path(tmp), args.rounds):
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
