"""Data sets: discovery of the three supported layouts, mask decoding and the train/validation split.

Layouts (detected per folder):

1. ``seed``: ``DIR/input/<name>.<ext>`` with ``DIR/mask/mask_<name>.<ext>`` (greyscale JPEG masks,
   thresholded at 128 because of compression noise).
2. ``paired``: ``DIR/images/`` + ``DIR/masks/`` matched by file stem (or the photo's whole file name:
   ``car.jpg.png``); optional ``DIR/splits.tsv`` (``<stem or file name>\\t<split>``, the words of
   :data:`~colorsplash.evaluation.folders.SPLIT_WORDS`). Mask values > 127 are subject (1 and up in a mask with no
   value above 3: 0/1, even as JPEG; the opaque part of a mask with transparency; a trimap's band not scored;
   :mod:`colorsplash.evaluation.mask_read`).
3. ``oxford``: ``DIR/images/`` + ``DIR/trimaps/`` (1 pet, 2 background, 3 border = ignored), optional
   official list files (``trainval.txt``/``test.txt``, ``Name CLASS SPECIES BREED``) beside the trimaps; or the
   official download as unpacked, ``DIR/images/`` + ``DIR/annotations/trimaps/`` with the lists in
   ``annotations/``. Photos of the breeds in :data:`HELD_OUT_BREEDS` (breed = name without its ``_<number>``) are
   validation-only and reported as the set ``<set>-unseen``: "breeds never trained on".
4. ``scenes``: ``DIR/images/`` + ``DIR/masks/`` + ``DIR/objects.tsv`` (``image, mask, class``; one object per mask,
   COCO style): photos where no pet is labelled are **pet-free** (every pixel background); photos with a labelled
   ``cat``/``dog`` are ``<set>-pets`` (pet masks subject, other labelled objects background, the rest not scored,
   since COCO labels one object and more pets may be there) and always train. A seeded
   :data:`SCENES_VAL_FRACTION` of the pet-free photos is the set's own validation split.
5. negatives (``train --negatives``, :mod:`colorsplash.evaluation.negatives`): all background, split as 4.

The photos listed in the package's ``excluded.tsv`` (``set, name, reason``, found by audits: pet-free photos that
show an unlabelled pet; pet photos whose label is wrong, e.g. a pet's head marked background or a second pet left
unlabelled) are dropped by :func:`discover`, for training and validation alike.

Masks are returned as uint8 ``HxW`` with 0 = background, 1 = subject, :data:`IGNORE` = not scored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.evaluation.exclusions import excluded_names
from colorsplash.evaluation.folders import (
    DataError,
    Skips,
    by_stem,
    file_names,
    layout_hint,
    layout_of,
    named_root,
    oxford_trimaps,
    read_split_file,
    refuse_twice,
    rename_hint,
    set_name,
    unreadable_in_data,
    warn_links,
    warn_same_name,
    warn_subfolders,
    warn_unused_splits,
)
from colorsplash.evaluation.mask_read import TRIMAP, read_grey, read_labels
from colorsplash.evaluation.mask_size import fit_to_photo
from colorsplash.evaluation.metrics import IGNORE
from colorsplash.evaluation.read_notes import ReadNotes
from colorsplash.runtime.pictures.photo_io import ImageReadError, read_rgb_oriented
from colorsplash.runtime.progress import bar_settings

log = logging.getLogger(__name__)

# Whole breeds of oxford-breeds never trained on (2 cats, 4 dogs; small, large, long- and short-haired), so that
# their validation figure means "breeds the model has never seen".
HELD_OUT_BREEDS: frozenset[str] = frozenset(
    {"Birman", "Russian_Blue", "basset_hound", "japanese_chin", "leonberger", "yorkshire_terrier"}
)
PET_CLASSES: frozenset[str] = frozenset({"cat", "dog"})
SCENES_VAL_FRACTION = 0.25  # of the pet-free photos of a scenes set, fixed seed 0 (not the run's seed)
SCENES_SPLIT_SEED = 0
UNSEEN_SUFFIX, PETS_SUFFIX = "-unseen", "-pets"
NEGATIVE = "negative"  # Sample.kind of a photo given as showing no subject (train --negatives)


@dataclass(frozen=True)
class Sample:
    """One image/mask pair. ``split`` is the set's own split (``train``/``val``) or None. ``unpaired``: a photo
    without a mask, kept by :func:`discover` (``keep_unpaired``) so that the split and the count of skipped photos
    see it; ``mask`` is then the name the mask was expected under, and :func:`read_pair` refuses it."""

    image: Path
    mask: Path
    kind: str  # "seed", "paired", "oxford", "scene" or "negative" (NEGATIVE)
    dataset: str
    split: str | None = None
    # scenes only: every labelled object of the photo as (mask file, class); ``mask`` is the first of them
    objects: tuple[tuple[Path, str], ...] = ()
    unpaired: bool = False

    @property
    def name(self) -> str:
        return self.image.stem


def _pair(
    root: Path, img_dir: str, mask_dir: str, kind: str, prefix: str = "", skip_bad: bool = False, keep: bool = False
) -> list[Sample]:
    """Photos of ``root/img_dir`` with their masks in ``root/mask_dir``: ``<prefix><stem>.<ext>``, or
    ``<prefix><photo's file name>.<ext>`` (``car.jpg.png``). Masks without a photo and pictures in subfolders
    are not used, and a warning says so. Photos without a mask: see :func:`discover` (``keep``: keep_unpaired)."""
    warn_links(root, [root / img_dir, root / mask_dir])
    masks = by_stem(root / mask_dir, prefix)
    splits = read_split_file(root)
    samples, missing = [], []
    photos = sorted(by_stem(root / img_dir).values())
    warn_unused_splits(root, splits, photos)
    for img in photos:
        mask = masks.pop(img.stem, None) or masks.pop(img.name, None)
        split = splits.get(img.stem) or splits.get(img.name)
        if mask is None:
            missing.append(img)
            if skip_bad and keep:
                expected = root / mask_dir / f"{prefix}{img.stem}.<ext>"
                samples.append(Sample(img, expected, kind, root.name, split, unpaired=True))
            continue
        samples.append(Sample(img, mask, kind, root.name, split))
    if missing and not (skip_bad and keep):
        expected = root / mask_dir / f"{prefix}{missing[0].stem}.<ext>"
        msg = f"{root / img_dir}: {len(missing)} photo(s) without a mask (expected e.g. {expected}): "
        msg += file_names(missing)
        if not skip_bad:  # the warning on masks of no photo's name (below) is never said: they are named here
            odd = f"; {root / mask_dir} has {len(masks)} mask(s) named as no photo: {file_names([*masks.values()])}"
            todo = rename_hint(missing, masks) or "add the masks or remove the photos"
            raise DataError(f"{msg}{odd if masks else ''}; {todo}", skippable=True)
        log.warning("%s; skipped", msg)
    if masks:
        log.warning(
            "%s: %d mask(s) without a photo in %s, not used: %s",
            root / mask_dir,
            len(masks),
            root / img_dir,
            file_names(sorted(masks.values())),
        )
    for folder in (root / img_dir, root / mask_dir):
        warn_subfolders(folder)
    return samples


def detect_layout(root: Path) -> str:
    """Name the layout of ``root``: ``seed``, ``paired``, ``oxford`` or ``scenes``; raise :class:`DataError`
    if none (saying what the folder holds, and naming the data sets inside it when it is their parent)."""
    layout = layout_of(root)
    if layout is None:
        raise DataError(
            f"{root}: no known data layout; expected input/ + mask/ (seed), images/ + masks/ (paired) "
            f"or images/ + trimaps/ or annotations/trimaps/ (Oxford-IIIT Pet){layout_hint(root)}"
        )
    return layout


def _oxford_splits(root: Path) -> dict[str, str]:
    splits: dict[str, str] = {}
    if (root / "test.txt").is_file():  # the official split exists only when both lists are there
        for name, split in (("trainval.txt", "train"), ("test.txt", "val")):
            for line in (root / name).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    splits[line.split()[0]] = split
    return splits


def discover(
    root: str | Path, skip_bad: bool = False, keep_excluded: bool = False, keep_unpaired: bool = False
) -> list[Sample]:
    """All image/mask pairs under one data set folder, sorted by image name, without the photos ``excluded.tsv``
    lists for the set (``keep_excluded``: with them, for audits that show them).

    A photo without a mask raises :class:`DataError`; with ``skip_bad`` it is left out with a warning, or with
    ``keep_unpaired`` kept ``unpaired``, in its split, for :func:`iter_pairs` to skip and count with the bad pairs.

    A sample's ``dataset`` is the folder's name (``.`` and ``..`` by the folder they stand for), which the
    train/validation split hashes: the same folder under another name splits differently."""
    root = Path(root)
    if not root.is_dir():
        what = "is a file, not a data folder (images/ + masks/, input/ + mask/ or images/ + trimaps/)"
        raise DataError(f"{root}: {what}; name its folder" if root.exists() else f"{root}: data folder not found")
    root = named_root(root)
    layout = detect_layout(root)
    if layout == "seed":
        samples = _pair(root, "input", "mask", "seed", "mask_", skip_bad, keep_unpaired)
    elif layout == "oxford":
        trimaps = oxford_trimaps(root) or root / "trimaps"
        samples = _pair(root, "images", str(trimaps.relative_to(root)), "oxford", "", skip_bad, keep_unpaired)
        listed = _oxford_splits(trimaps.parent)  # the official lists lie beside the trimap folder
        if listed:
            samples = [dataclasses.replace(s, split=listed.get(s.name, "train")) for s in samples]
        samples = _hold_out_breeds(samples)
    elif layout == "scenes":
        samples = _scenes(root)
    else:
        samples = _pair(root, "images", "masks", "paired", "", skip_bad, keep_unpaired)
    if all(s.unpaired for s in samples):
        raise DataError(f"{root}: the {layout} layout was found but it holds no image/mask pairs")
    return samples if keep_excluded else drop_excluded(samples)


def breed(name: str) -> str:
    """Oxford-IIIT breed of a photo name: ``Russian_Blue_12`` -> ``Russian_Blue``."""
    head, _, tail = name.rpartition("_")
    return head if head and tail.isdigit() else name


def _hold_out_breeds(samples: list[Sample]) -> list[Sample]:
    return [
        dataclasses.replace(s, dataset=s.dataset + UNSEEN_SUFFIX, split="val")
        if breed(s.name) in HELD_OUT_BREEDS
        else s
        for s in samples
    ]


def _scenes(root: Path) -> list[Sample]:
    """Scenes layout (see the module docstring): one sample per photo listed in ``objects.tsv``."""
    objects: dict[str, list[tuple[Path, str]]] = {}
    for line in (root / "objects.tsv").read_text().splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0]:
            continue
        mask = root / "masks" / f"{parts[1]}.png"
        objects.setdefault(parts[0], []).append((mask, parts[2].strip()))
    warn_links(root, [root / "images", root / "masks"])
    images = by_stem(root / "images")
    samples = []
    for name in sorted(objects):
        if name not in images:
            raise DataError(f"{root / 'objects.tsv'}: lists {name} but {root / 'images'} has no such photo")
        objs = tuple(objects[name])
        if any(cls in PET_CLASSES for _, cls in objs):
            samples.append(Sample(images[name], objs[0][0], "scene", root.name + PETS_SUFFIX, "train", objs))
            continue
        samples.append(with_fixed_split(Sample(images[name], objs[0][0], "scene", root.name, None, objs)))
    return samples


def with_fixed_split(sample: Sample) -> Sample:
    """``sample`` in ``train`` or ``val`` as pet-free scenes are split (fixed seed, not the run's fraction)."""
    split = "val" if _in_val(sample, SCENES_VAL_FRACTION, SCENES_SPLIT_SEED) else "train"
    return dataclasses.replace(sample, split=split)


def is_subject_free(sample: Sample) -> bool:
    """A photo all of which is background: a scenes photo with no labelled pet (pet-free), or a negative."""
    return sample.kind == NEGATIVE or (sample.kind == "scene" and not any(c in PET_CLASSES for _, c in sample.objects))


def drop_excluded(samples: list[Sample]) -> list[Sample]:
    """``samples`` without the photos listed in ``excluded.tsv`` for their set (base name, before any suffix)."""
    excluded = excluded_names()
    kept = [s for s in samples if s.name not in excluded.get(base_set(s.dataset), set())]
    if len(kept) < len(samples):
        log.info("dropped %d audited photo(s) listed in excluded.tsv", len(samples) - len(kept))
    return kept


def base_set(dataset: str) -> str:
    """The data set folder's name of a sample's ``dataset`` (``oxford-breeds-unseen`` -> ``oxford-breeds``)."""
    for suffix in (UNSEEN_SUFFIX, PETS_SUFFIX):
        if dataset.endswith(suffix):
            return dataset[: -len(suffix)]
    return dataset


def discover_all(roots: Iterable[str | Path], skip_bad: bool = False, keep_unpaired: bool = False) -> list[Sample]:
    """:func:`discover` of each folder of ``roots``, in order; a folder named twice is refused
    (:func:`~colorsplash.evaluation.folders.refuse_twice`); two folders of the same name (``a/pets b/pets``) are
    one set in every per-set figure, which a warning says."""
    samples: list[Sample] = []
    seen: dict[Path, str] = {}
    named: dict[str, str] = {}
    for root in roots:
        refuse_twice(root, seen, str(root))
        warn_same_name(root, set_name(root), named)
        samples.extend(discover(root, skip_bad, keep_unpaired=keep_unpaired))
    return samples


def _in_val(sample: Sample, fraction: float, seed: int) -> bool:
    # A hash of (seed, set, name) makes the split independent of file order and of other sets. A name whose bytes
    # are not UTF-8 (``caf\xe9.jpg``) holds surrogates, hashed as those bytes: strict UTF-8 stopped train.
    digest = hashlib.sha1(f"{seed}:{sample.dataset}:{sample.name}".encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_samples(samples: list[Sample], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Train/validation split: a set's own split where it has one, else a seeded ``val_fraction``."""
    train: list[Sample] = []
    val: list[Sample] = []
    for s in samples:
        is_val = s.split == "val" if s.split is not None else _in_val(s, val_fraction, seed)
        (val if is_val else train).append(s)
    return train, val


def iter_pairs(
    samples: Sequence[Sample],
    skip_bad: bool = False,
    desc: str = "loading",
    show_progress: bool = True,
    skips: Skips | None = None,
    notes: ReadNotes | None = None,
) -> Iterator[tuple[Sample, np.ndarray, np.ndarray]]:
    """Yield ``(sample, image, mask)`` as :func:`load_pair` reads them, with a progress bar. What reading found
    (masks turned, or whose orientation cannot be told; masks read as trimaps) goes to ``notes``, for the caller
    to say once for its run (:meth:`ReadNotes.say`); without ``notes``, it is said at the end of this pass.

    Raises:
        DataError: on the first bad pair, unless ``skip_bad``: then they are counted in ``skips``, for the
        caller to say (:meth:`Skips.say`), or without ``skips`` one warning lists them all at the end of this pass.
    """
    skips_here = skips is None
    skips = Skips() if skips is None else skips
    said_here = notes is None
    notes = ReadNotes() if notes is None else notes
    bar = tqdm(
        samples,
        desc=desc,
        unit="img",
        disable=not show_progress,
        dynamic_ncols=True,
        leave=False,
        **bar_settings(),
    )
    for sample in bar:
        try:
            image, mask, found = read_pair(sample)
        except DataError as err:
            if not skip_bad:
                raise
            skips.add(err)
            continue
        for note, path in found:
            notes.add(note, path)
        yield sample, image, mask
    if said_here:
        notes.say()
    if skips_here:
        skips.say()


def scene_masks(sample: Sample, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A scenes photo's labelled objects as two bool ``HxW`` masks: pets (cat/dog) and everything else."""
    pets, things = np.zeros(shape, bool), np.zeros(shape, bool)
    for path, cls in sample.objects:
        raw = read_grey(path)
        if raw.shape != shape:
            raise DataError(
                f"{path}: mask is {raw.shape[1]}x{raw.shape[0]} but its photo {sample.image} is "
                f"{shape[1]}x{shape[0]}; masks must have their photo's size",
                "size mismatch",
                skippable=True,
            )
        (pets if cls in PET_CLASSES else things)[raw >= 128] = True
    return pets, things


def _scene_label(sample: Sample, shape: tuple[int, int]) -> np.ndarray:
    """Subject-free: all background. With a labelled pet: pets 1, other labelled objects 0, the rest IGNORE."""
    if is_subject_free(sample):
        return np.zeros(shape, np.uint8)
    pets, things = scene_masks(sample, shape)
    out = np.full(shape, IGNORE, np.uint8)
    out[things] = 0
    out[pets] = 1
    return out


def load_pair(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Read one pair: RGB uint8 ``HxWx3`` image and decoded mask ``HxW`` of the same size (turned or stretched to
    the upright photo: :mod:`colorsplash.evaluation.mask_size`)."""
    image, mask, _ = read_pair(sample)
    return image, mask


def read_pair(sample: Sample) -> tuple[np.ndarray, np.ndarray, list[tuple[str, Path]]]:
    """:func:`load_pair`'s image and mask, and notes for :class:`ReadNotes`: ``(TRIMAP, mask)`` for a mask read as
    a trimap, ``(note, photo)`` for :func:`~colorsplash.evaluation.mask_size.fit_to_photo`'s ``turned``/``unsure``."""
    if sample.unpaired:
        raise DataError(f"{sample.image}: no mask (expected {sample.mask})", "no mask")
    try:
        image, orientation = read_rgb_oriented(sample.image)
        if sample.kind in ("scene", NEGATIVE):
            return image, _scene_label(sample, image.shape[:2]), []
        read = read_labels(sample.mask, sample.kind)
    except ImageReadError as err:
        raise DataError(unreadable_in_data(err), "unreadable", skippable=True) from err
    mask, note = fit_to_photo(read, sample.mask, sample.image, image.shape[:2], orientation)
    found = [(TRIMAP, sample.mask)] if read.note == TRIMAP else []
    return image, mask, found + ([(note, sample.image)] if note is not None else [])
