"""Evaluation at each image's original resolution: per-image scores, a summary and a gallery of the worst.

The network sees a ``S x S`` resize of each photo (in one step; ``splash`` and the API resize their working copy,
:meth:`~colorsplash.runtime.edges.working.RefineSettings.working_copy`: the same bits within its size, a blur apart
above it, within 0.002 IoU on the validation sets, pinned by ``tests/test_eval_input.py``); its probability map is
upsampled (bilinear) back to the photo's own ``H x W`` *before* thresholding, so scores measure what a user gets,
not what the network saw.
Oxford trimap borders (:data:`~colorsplash.evaluation.datasets.IGNORE`) are not scored.

Reusable pieces for bench scripts: :func:`evaluate_model` takes any ``predict_fn`` (RGB uint8 ``HxWx3`` ->
float32 ``HxW`` probability at that size) and returns :class:`ImageScore` rows;
:func:`colorsplash.training.predictors.load_predictor` turns a ``.onnx`` or ``.pt`` file into such a function.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorsplash.evaluation.datasets import (
    Sample,
    Skips,
    base_set,
    is_subject_free,
    iter_pairs,
    load_pair,
    split_samples,
)
from colorsplash.evaluation.folders import describe_skips, file_names
from colorsplash.evaluation.mask_read import corners_subject, warn_empty_masks, warn_inverted_masks
from colorsplash.evaluation.metrics import IGNORE, dice, iou, mean_iou_thresholds, pixel_accuracy, scores_any
from colorsplash.runtime.files import atomic_write, not_replaceable, unwritable_folder
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.model_file import is_torch_checkpoint
from colorsplash.runtime.model.preprocess import (
    upsample_probability as upsample_probability,  # inference's own  # inference's own
)
from colorsplash.runtime.model.variants import file_hash
from colorsplash.runtime.wording import printable

log = logging.getLogger(__name__)

PredictFn = Callable[[np.ndarray], np.ndarray]
CSV_FIELDS = (
    "name",
    "dataset",
    "image",
    "width",
    "height",
    "iou",
    "dice",
    "pixel_accuracy",
    "seed_miou",
    "coloured",
    "subject_free",
)
METRIC_NAMES = ("iou", "dice", "pixel_accuracy", "seed_miou")
# Keys every ``evaluate`` summary.json has (``export --metrics`` checks a file is one by them).
SUMMARY_KEYS = ("overall", "datasets", "split", "threshold")
# The SHA-256 of the checkpoint a model's weights come from: in a summary, and in an exported ONNX file's
# ``training`` record (written by export), so a summary of either can be matched to the checkpoint.
CHECKPOINT_HASH = "checkpoint_sha256"
# A photo without the subject (a negative, a pet-free scenes photo) counts as coloured when more than this share of
# its frame is (bench/peers.py's figure for pet-free photos; summary.json's "without_subject").
COLOURED_LIMIT = 0.01


@dataclass(frozen=True)
class ImageScore:
    """Scores of one image at its original ``width x height`` (threshold applied to the upsampled map)."""

    name: str
    dataset: str
    image: str
    width: int
    height: int
    iou: float
    dice: float
    pixel_accuracy: float
    seed_miou: float  # the tutorial's ("seed") mean two-class IoU over cut-offs 0.5:0.95:0.05, "mIoU .5-.95"
    coloured: float = 0.0  # share of the scored pixels at or above the threshold (what splash colours)
    subject_free: bool = False  # a photo all background: a negative or a pet-free scenes photo


def model_record(path: Path, config: ModelConfig) -> dict[str, Any]:
    """Which model a summary scores: its resolved path, the file's SHA-256 and :data:`CHECKPOINT_HASH`, the
    SHA-256 of the checkpoint its weights come from (the file itself for a checkpoint, whatever its name; for an
    ONNX file the one its export recorded, ``None`` for files exported before exports recorded it)."""
    digest = file_hash(path)
    source = digest if is_torch_checkpoint(path) else config.training.get(CHECKPOINT_HASH)  # by its bytes: a .pth
    return {"model": str(path.resolve()), "model_sha256": digest, CHECKPOINT_HASH: source}


def report_folder(model_path: Path) -> Path:
    """The default report folder of a model: ``eval/<its folder's name>-<its stem>`` (``runs/cats/best.pt`` ->
    ``eval/cats-best``), so the ``best.pt`` of different runs do not share one."""
    return Path("eval") / f"{model_path.resolve().parent.name}-{model_path.stem}"


REPORT_FILES = ("scores.csv", "summary.json", "worst.png")


def check_report_folder(out: Path, overwrite: bool = False) -> None:
    """Refuse a report folder ``out`` that is an existing file (or pipe, device), whose report files would be a
    folder, pipe or device (never replaced), that holds an earlier report (any of :data:`REPORT_FILES`) unless
    ``overwrite``, or where no file can be made (a read-only file system, no permission:
    :func:`~colorsplash.runtime.files.unwritable_folder`), before any photo is scored (writing into a file failed
    only at the end, as "cannot write OUT/worst.png: File exists", and so did a read-only folder; an earlier report
    was replaced without a word). Asked with ``os.path``, which never raises: ``Path.is_dir`` raised a bare
    "[Errno 13] Permission denied" for a link into a folder the user may not search, which the last check names.

    Raises:
        ValueError: naming ``out`` and saying what to do.
    """
    if os.path.exists(out) and not os.path.isdir(out):
        what = "a file" if os.path.isfile(out) else "a pipe, socket or device"
        raise ValueError(
            f"-o {out}: is {what}; -o names the report folder (scores.csv, summary.json and worst.png go in it): "
            "choose a folder"
        )
    for name in REPORT_FILES:  # told "pass --overwrite", then refused once every photo was scored
        if (problem := not_replaceable(out / name, "--overwrite")) is not None:
            raise ValueError(f"{out / name}: {problem}")
    earlier = [name for name in REPORT_FILES if os.path.lexists(out / name)]
    if earlier and not overwrite:
        raise ValueError(
            f"{out} holds an earlier report ({', '.join(earlier)}); pass --overwrite to replace it, or choose "
            "another report folder with -o"
        )
    if (problem := unwritable_folder(out)) is not None:
        raise ValueError(f"{out}: cannot write the report there ({problem}); choose another report folder with -o")


def score_image(prob: np.ndarray, mask: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Metrics of a float ``HxW`` probability against a uint8 ``HxW`` mask (0/1/IGNORE)."""
    return {
        "iou": iou(prob, mask, threshold),
        "dice": dice(prob, mask, threshold),
        "pixel_accuracy": pixel_accuracy(prob, mask, threshold),
        "seed_miou": mean_iou_thresholds(prob, mask),
    }


def evaluate_model(
    predict_fn: PredictFn,
    samples: Sequence[Sample],
    threshold: float = 0.5,
    *,
    skip_bad: bool = False,
    show_progress: bool = True,
    skips: Skips | None = None,
) -> list[ImageScore]:
    """Score ``predict_fn`` on every sample at the sample's original resolution.

    Args:
        predict_fn: RGB uint8 ``HxWx3`` -> float32 ``HxW`` subject probability in [0, 1] at that same size.
        samples: image/mask pairs from :func:`colorsplash.evaluation.datasets.discover`.
        threshold: probability at or above which a pixel counts as subject.
        skip_bad: log and skip unreadable or mismatched pairs instead of raising :class:`DataError`.
        skips: where the pairs ``skip_bad`` skipped are counted, by reason (``summary.json``'s ``skipped``).

    Returns:
        One :class:`ImageScore` per scored sample, in the order of ``samples``; a sample whose mask scores no pixel
        (all of it a trimap's unscored band) is left out, and one warning names them. Warns when most masks meant to
        show a subject (all but pet-free scenes photos) show none (a wrong mask format), or look inverted.
    """
    scores = []
    labelled = empty = inverted = 0
    unscored: list[Path] = []
    for sample, image, mask in iter_pairs(samples, skip_bad, "evaluating", show_progress, skips):
        if not scores_any(mask):
            unscored.append(sample.mask)
            continue
        free = is_subject_free(sample)
        if not free:
            labelled, empty = labelled + 1, empty + int(not (mask == 1).any())
            inverted += corners_subject(mask)
        scores.append(_score_sample(sample, predict_fn(image), mask, threshold, free))
    warn_empty_masks(
        empty, labelled, "ground-truth", "they score IoU 0 where the model colours a pixel, 1 where it colours none"
    )
    warn_inverted_masks(inverted, labelled, "ground-truth")
    if unscored:
        log.warning(
            "%d photo(s) left out of the scores: their masks leave no pixel scored (all of them the unscored band "
            "of a trimap), so there is nothing to score them on: %s; check those masks",
            len(unscored),
            file_names(unscored),
        )
    return scores


def _score_sample(sample: Sample, prob: np.ndarray, mask: np.ndarray, threshold: float, free: bool) -> ImageScore:
    """The :class:`ImageScore` of ``prob``, the prediction for ``sample``'s photo, against its ``mask``."""
    if prob.shape != mask.shape:
        raise ValueError(
            f"predict_fn returned {prob.shape} for {sample.image} of {mask.shape}; it must "
            "return the probability at the image's own size"
        )
    h, w = mask.shape
    metrics = score_image(prob, mask, threshold)
    coloured = coloured_share(prob, mask, threshold)
    return ImageScore(
        sample.name, sample.dataset, str(sample.image), w, h, **metrics, coloured=coloured, subject_free=free
    )


def coloured_share(prob: np.ndarray, mask: np.ndarray, threshold: float = 0.5) -> float:
    """The share of ``mask``'s scored pixels (all but :data:`IGNORE`) that ``prob`` colours (at ``threshold`` or
    above): what a photo without the subject is judged by (:data:`COLOURED_LIMIT`)."""
    scored = prob[mask != IGNORE]
    return float(np.mean(scored >= threshold)) if scored.size else 0.0


def _means(rows: Sequence[ImageScore]) -> dict[str, float]:
    """The mean of each metric over ``rows``, and how many they are (``images``: a whole number in summary.json)."""
    out: dict[str, float] = {"images": len(rows)}
    for m in METRIC_NAMES:
        out[m] = float(np.mean([getattr(r, m) for r in rows])) if rows else float("nan")
    return out


def summarize(scores: Sequence[ImageScore]) -> dict[str, Any]:
    """Mean metrics per data set and overall (the mean over images, not over sets); with photos without the
    subject (negatives, pet-free scenes photos), ``without_subject``: how many, the share with more than
    :data:`COLOURED_LIMIT` of the frame coloured and the mean coloured share. Such a photo scores IoU and Dice 1
    with nothing coloured and 0 with any pixel coloured (:mod:`~colorsplash.evaluation.metrics`), and counts in its
    set's and the overall means as any photo; mixed with subject photos, ``with_subject`` gives the subject photos'
    means alone."""
    datasets = sorted({s.dataset for s in scores})
    out = {"overall": _means(scores), "datasets": {d: _means([s for s in scores if s.dataset == d]) for d in datasets}}
    free = [s.coloured for s in scores if s.subject_free]
    if free and len(free) < len(scores):
        out["with_subject"] = _means([s for s in scores if not s.subject_free])
    if free:
        over = float(np.mean([c > COLOURED_LIMIT for c in free]))
        out["without_subject"] = {"images": len(free), "coloured_share": over, "mean_coloured": float(np.mean(free))}
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as an aligned text table (one row per data set, then overall, then the subject photos alone when
    photos without the subject are mixed in), a line on those photos, and a footer line on the photos left out
    (``skipped_reasons``: ``{reason: count}``), if any."""
    rows = [*summary["datasets"].items(), ("overall", summary["overall"])]
    rows += [("with subject", summary["with_subject"])] if "with_subject" in summary else []
    width = max(12, *(len(name) for name, _ in rows))
    lines = [f"{'data set':<{width}} {'images':>7} {'IoU':>7} {'Dice':>7} {'pix acc':>8} {'mIoU .5-.95':>11}"]
    for name, m in rows:
        lines.append(
            f"{name:<{width}} {int(m['images']):>7d} {m['iou']:>7.4f} {m['dice']:>7.4f} "
            f"{m['pixel_accuracy']:>8.4f} {m['seed_miou']:>11.4f}"
        )
    free = summary.get("without_subject")
    if free:
        lines.append(
            f"photos without the subject: {free['images']}, scored IoU and Dice 1 with nothing coloured, 0 with any "
            f"pixel; {100 * free['coloured_share']:.1f} % of them over "
            f"{100 * COLOURED_LIMIT:g} % coloured (mean coloured share {100 * free['mean_coloured']:.2f} %)"
        )
    if summary.get("skipped_reasons"):
        lines.append(describe_skips(summary["skipped_reasons"]))
    return "\n".join(lines)


def write_scores_csv(scores: Sequence[ImageScore], path: Path, replace: bool = True) -> None:
    """Per-image CSV with columns :data:`CSV_FIELDS`, in UTF-8, written atomically (an existing file replaced only
    with ``replace``, as :func:`~colorsplash.runtime.files.atomic_write`). Names and paths as a line shows them
    (:func:`~colorsplash.runtime.wording.printable`): a file name whose bytes are not UTF-8 (``caf\\xe9.jpg``, its
    byte a surrogate in Python) is written ``caf\\udce9.jpg``; strict UTF-8 stopped the run after scoring."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for s in scores:
        row = dataclasses.asdict(s)
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    atomic_write(path, buf.getvalue(), replace=replace)


def _csv_value(value: object) -> object:
    """A :class:`ImageScore` field as :func:`write_scores_csv` writes it: floats to 6 places, text printable."""
    if isinstance(value, float):
        return f"{value:.6f}"
    return printable(value) if isinstance(value, str) else value


def write_summary_json(summary: dict[str, Any], path: Path, replace: bool = True) -> None:
    atomic_write(path, json.dumps(summary, indent=2, sort_keys=True, allow_nan=True) + "\n", replace=replace)


def worst(scores: Sequence[ImageScore], count: int) -> list[ImageScore]:
    """The ``count`` lowest-IoU images (ties broken by name so the choice is reproducible)."""
    return sorted(scores, key=lambda s: (s.iou, s.dataset, s.name))[:count]


GalleryRow = tuple[str, np.ndarray, np.ndarray, np.ndarray]


def save_worst_gallery(
    predict_fn: PredictFn,
    scores: Sequence[ImageScore],
    samples: Sequence[Sample],
    save: Callable[[list[GalleryRow], Path], None],
    path: Path,
    threshold: float = 0.5,
    count: int = 8,
) -> list[ImageScore]:
    """Gallery of the ``count`` worst predictions (image | truth | prediction), drawn by ``save(rows, path)``
    (e.g. :func:`colorsplash.training.plots.save_gallery`); returns those scores.

    Predictions are recomputed for those few images so evaluation never holds every map in memory.
    """
    chosen = worst(scores, count)
    by_file = {str(s.image): s for s in samples}  # not by set and name: two data folders may share a name
    rows = []
    for score in chosen:
        image, mask = load_pair(by_file[score.image])
        prob = predict_fn(image)
        title = printable(f"{score.dataset}/{score.name}")  # matplotlib refused a name whose bytes are not UTF-8
        rows.append((f"{title}  IoU {score.iou:.3f}", image, mask, prob >= threshold))
    if rows:
        save(rows, path)
    return chosen


def warn_unknown_sets(samples: Sequence[Sample], config: ModelConfig, split: str) -> bool:
    """For a ``train``/``val`` ``split``: warn (one line) when a data set of ``samples`` is not among those the
    model records as its training data (``config.training["datasets"]``). The split hashes each set's folder name,
    so a renamed or copied folder splits differently: its "val" photos may have been trained on. Returns whether
    it warned."""
    if split == "all":
        return False
    recorded = config.training.get("datasets")  # a list of names; anything else (a file edited by hand): none
    trained = [name for name in recorded if isinstance(name, str)] if isinstance(recorded, list) else []
    unknown = sorted({s.dataset for s in samples} - set(trained))
    if not unknown:
        return False
    log.warning(
        "--split %s: the model was not trained on data set(s) %s (it records %s); the split follows each folder's "
        "name, so these %s photos are not known to be ones training %s",
        split,
        ", ".join(unknown),
        ", ".join(trained) or "none",
        split,
        "held out" if split == "val" else "used",
    )
    return True


def warn_sets_left_out(found: Sequence[Sample], chosen: Sequence[Sample], split: str) -> list[str]:
    """Warn (one line) naming each data folder of ``found`` none of whose photos is in ``chosen``, the ``split``
    part: its row was missing from the table without a word. Returns those folders' set names."""
    counts: dict[str, int] = {}
    for sample in found:
        counts[base_set(sample.dataset)] = counts.get(base_set(sample.dataset), 0) + 1
    left = sorted(set(counts) - {base_set(s.dataset) for s in chosen})
    if left:
        log.warning(
            "--split %s: no photo of %s is in the %s part (the split is drawn by each photo's name, so a set of a few "
            "photos may have none there); it is not in the scores: give it more photos, or use --split all",
            split,
            ", ".join(f"{name} ({counts[name]} photo(s))" for name in left),
            split,
        )
    return left


def empty_split(folders: Sequence[str], found: Sequence[Sample], split: str, fraction: float, seed: int) -> str:
    """The error for a ``split`` of the ``folders`` (their samples ``found``) that holds no photo: a seeded set
    may gain some with another ``--val-fraction``; a set with a split of its own (negatives' and pet-free scenes'
    fixed quarter, a list's, held-out breeds) never does, and was sent to ``--val-fraction`` all the same."""
    where = f"the {split} split of {', '.join(folders)} is empty"
    if any(s.split is None for s in found):  # split by --val-fraction and --seed
        return f"{where} (val fraction {fraction}, seed {seed}); use --split all or another --val-fraction"
    return (
        f"{where}: its photos' split is their set's own (a fixed quarter of the photos without the subject, a list's "
        "or the held-out breeds'), which --val-fraction and --seed do not move; use --split all"
    )


def select_split(samples: list[Sample], split: str, val_fraction: float, seed: int) -> list[Sample]:
    """``all`` samples, or the ``train``/``val`` part as
    :func:`colorsplash.evaluation.datasets.split_samples` makes it."""
    if split == "all":
        return samples
    if split not in ("train", "val"):
        raise ValueError(f"split must be all, val or train, got {split!r}")
    train, val = split_samples(samples, val_fraction, seed)
    return val if split == "val" else train
