"""Data sets: discovery of the three supported layouts, mask decoding and the train/validation split.

Layouts (detected per folder):

1. ``seed``: ``DIR/input/<name>.<ext>`` with ``DIR/mask/mask_<name>.<ext>`` (greyscale JPEG masks,
   thresholded at 128 because of compression noise).
2. ``paired``: ``DIR/images/`` + ``DIR/masks/`` matched by file stem; optional ``DIR/splits.tsv``
   (``<stem>\\t<train|valid|val|test>``). Mask values > 127 are subject.
3. ``oxford``: ``DIR/images/`` + ``DIR/trimaps/`` (1 pet, 2 background, 3 border = ignored), optional
   official list files (``trainval.txt``/``test.txt``, ``Name CLASS SPECIES BREED``).

Masks are returned as uint8 ``HxW`` with 0 = background, 1 = subject, :data:`IGNORE` = not scored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.evaluation.metrics import IGNORE
from colorsplash.runtime.photo_io import ImageReadError, is_image_name, read_grey, read_rgb

log = logging.getLogger(__name__)


class DataError(ValueError):
    """A data set problem; the message names the file or folder and says what to do."""


@dataclass(frozen=True)
class Sample:
    """One image/mask pair. ``split`` is the set's own split (``train``/``val``) or None."""

    image: Path
    mask: Path
    kind: str  # "seed", "paired" or "oxford"
    dataset: str
    split: str | None = None

    @property
    def name(self) -> str:
        return self.image.stem


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p))


def _by_stem(folder: Path, prefix: str = "") -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in _images_in(folder):
        stem = p.stem[len(prefix):] if prefix and p.stem.startswith(prefix) else p.stem
        out.setdefault(stem, p)
    return out


def _read_split_file(root: Path) -> dict[str, str]:
    splits: dict[str, str] = {}
    tsv = root / "splits.tsv"
    if tsv.is_file():
        for line in tsv.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] and not line.startswith("#"):
                splits[parts[0]] = "val" if parts[1].strip() in ("valid", "val", "test") else "train"
    return splits


def _pair(root: Path, img_dir: str, mask_dir: str, kind: str, prefix: str = "",
          skip_bad: bool = False) -> list[Sample]:
    images = _images_in(root / img_dir)
    masks = _by_stem(root / mask_dir, prefix)
    splits = _read_split_file(root)
    samples, missing = [], []
    for img in images:
        mask = masks.get(img.stem)
        if mask is None:
            missing.append(img)
            continue
        samples.append(Sample(img, mask, kind, root.name, splits.get(img.stem)))
    if missing:
        expected = root / mask_dir / f"{prefix}{missing[0].stem}.<ext>"
        msg = f"{len(missing)} image(s) without a mask, first {missing[0]} (expected {expected})"
        if not skip_bad:
            raise DataError(msg + "; add the masks, remove the images, or pass --skip-bad")
        log.warning("%s; skipped", msg)
    return samples


def detect_layout(root: Path) -> str:
    """Name the layout of ``root``: ``seed``, ``paired`` or ``oxford``; raise :class:`DataError` if none."""
    if (root / "input").is_dir() and (root / "mask").is_dir():
        return "seed"
    if (root / "images").is_dir() and (root / "trimaps").is_dir():
        return "oxford"
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return "paired"
    raise DataError(
        f"{root}: no known data layout; expected input/ + mask/ (seed), images/ + masks/ (paired) "
        "or images/ + trimaps/ (Oxford-IIIT Pet)"
    )


def _oxford_splits(root: Path) -> dict[str, str]:
    splits: dict[str, str] = {}
    if (root / "test.txt").is_file():  # the official split exists only when both lists are there
        for name, split in (("trainval.txt", "train"), ("test.txt", "val")):
            for line in (root / name).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    splits[line.split()[0]] = split
    return splits


def discover(root: str | Path, skip_bad: bool = False) -> list[Sample]:
    """All image/mask pairs under one data set folder, sorted by image name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found")
    layout = detect_layout(root)
    if layout == "seed":
        samples = _pair(root, "input", "mask", "seed", prefix="mask_", skip_bad=skip_bad)
    elif layout == "oxford":
        samples = _pair(root, "images", "trimaps", "oxford", skip_bad=skip_bad)
        listed = _oxford_splits(root)
        if listed:
            samples = [Sample(s.image, s.mask, s.kind, s.dataset, listed.get(s.name, "train")) for s in samples]
    else:
        samples = _pair(root, "images", "masks", "paired", skip_bad=skip_bad)
    if not samples:
        raise DataError(f"{root}: the {layout} layout was found but it holds no image/mask pairs")
    return samples


def discover_all(roots: Iterable[str | Path], skip_bad: bool = False) -> list[Sample]:
    samples: list[Sample] = []
    for root in roots:
        samples.extend(discover(root, skip_bad))
    return samples


def _in_val(sample: Sample, fraction: float, seed: int) -> bool:
    # A hash of (seed, set, name) makes the split independent of file order and of other sets.
    digest = hashlib.sha1(f"{seed}:{sample.dataset}:{sample.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_samples(samples: list[Sample], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Train/validation split: a set's own split where it has one, else a seeded ``val_fraction``."""
    train: list[Sample] = []
    val: list[Sample] = []
    for s in samples:
        is_val = s.split == "val" if s.split is not None else _in_val(s, val_fraction, seed)
        (val if is_val else train).append(s)
    return train, val


def decode_mask(raw: np.ndarray, kind: str) -> np.ndarray:
    """Raw mask pixels -> uint8 ``HxW``: 0 background, 1 subject, :data:`IGNORE` unscored."""
    if kind == "oxford":
        out = np.zeros(raw.shape, np.uint8)
        out[raw == 1] = 1
        out[raw == 3] = IGNORE
        return out
    return (raw >= 128).astype(np.uint8)


def iter_pairs(samples: Sequence[Sample], skip_bad: bool = False, desc: str = "loading",
               show_progress: bool = True) -> Iterator[tuple[Sample, np.ndarray, np.ndarray]]:
    """Yield ``(sample, image, mask)`` as :func:`load_pair` reads them, with a progress bar.

    Raises:
        DataError: on the first bad pair, unless ``skip_bad`` (then one warning lists them all at the end).
    """
    bad = []
    for sample in tqdm(samples, desc=desc, unit="img", disable=not show_progress, dynamic_ncols=True, leave=False):
        try:
            image, mask = load_pair(sample)
        except DataError as err:
            if not skip_bad:
                raise
            bad.append(str(err))
            continue
        yield sample, image, mask
    if bad:
        log.warning("skipped %d bad pair(s) (--skip-bad):\n  %s", len(bad), "\n  ".join(bad))


def load_pair(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Read one pair: RGB uint8 ``HxWx3`` image and decoded mask ``HxW`` of the same size."""
    try:
        image = read_rgb(sample.image)
        mask = decode_mask(read_grey(sample.mask), sample.kind)
    except ImageReadError as err:
        raise DataError(f"{err}; fix or remove the file, or pass --skip-bad") from err
    if mask.shape != image.shape[:2]:
        raise DataError(
            f"{sample.mask}: mask is {mask.shape[1]}x{mask.shape[0]} but its image {sample.image} is "
            f"{image.shape[1]}x{image.shape[0]}; masks must have their image's size (or pass --skip-bad)"
        )
    return image, mask
