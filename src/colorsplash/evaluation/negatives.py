"""Negatives: folders of photos that do not show the subject (``train --negatives``, ``evaluate --negatives``).

Every photo directly in such a folder (:func:`~colorsplash.runtime.photo_io.is_picture_file`; pictures in
subfolders are not read, and a warning says so, as for the data set layouts) is a sample of kind
:data:`~colorsplash.evaluation.datasets.NEGATIVE`: every pixel background, so its presence target is 0, as for the
pet-free photos of a scenes set, and it is split train/val as they are (a seeded quarter in validation,
:func:`~colorsplash.evaluation.datasets.with_fixed_split`; when that takes them all, they train too,
:func:`train_lone_negatives`). A folder with masks (a data set layout, a masks folder,
mask-named pictures) is refused: it was meant as a data folder. Importable without PyTorch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from colorsplash.evaluation.datasets import NEGATIVE, Sample, discover_all, set_name, with_fixed_split
from colorsplash.evaluation.folders import (
    DataError,
    file_names,
    images_in,
    layout_of,
    nested_pictures,
    refuse_twice,
    warn_links,
    warn_subfolders,
)
from colorsplash.runtime.variants import file_hash

log = logging.getLogger(__name__)
MASK_FOLDERS = ("mask", "masks", "trimaps", "alpha")
_WHAT = "--negatives takes folders of photos that do not show the subject (no masks)"


def discover_negatives(folders: Iterable[str | Path]) -> list[Sample]:
    """The photos of every folder of ``folders`` as negative samples (see the module doc), folder by folder,
    sorted by name; a sample's ``dataset`` is its folder's name (:func:`~colorsplash.evaluation.datasets.set_name`).

    Raises:
        DataError: a folder is missing, is a file, holds masks or a data set, holds no photo, or is named twice
            (naming it).
    """
    samples: list[Sample] = []
    seen: dict[Path, str] = {}
    for folder in map(Path, folders):
        _check_folder(folder)
        refuse_twice(folder, seen, f"--negatives {folder}")
        warn_links(folder, [folder])
        photos = images_in(folder)
        if not photos:
            raise DataError(f"--negatives {folder}: no photos in it{_nested_hint(folder)}; {_WHAT}")
        warn_subfolders(folder)
        name = set_name(folder)
        samples.extend(with_fixed_split(Sample(p, p, NEGATIVE, name)) for p in photos)
    return samples


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise DataError(f"--negatives {folder}: folder not found")
    if not folder.is_dir():
        raise DataError(f"--negatives {folder}: is a file; {_WHAT}")
    layout = layout_of(folder)
    if layout is not None:
        raise DataError(
            f"--negatives {folder}: holds a data set ({layout} layout, with masks); {_WHAT}: name it with the data "
            f"folders if its masks show the subject, or give the folder of its photos if none of them shows it"
        )
    masks = [folder / name for name in MASK_FOLDERS if (folder / name).is_dir()]
    named = [p for p in images_in(folder) if _mask_name(p.stem)]
    if masks or named:
        found = f"a {masks[0].name}/ folder" if masks else f"mask pictures ({file_names(named, 3)})"
        raise DataError(
            f"--negatives {folder}: holds {found}; {_WHAT}: a photo that needs a mask shows the subject and belongs "
            "in a data folder (images/ + masks/)"
        )


def _mask_name(stem: str) -> bool:
    low = stem.lower()
    return low.startswith("mask_") or low.endswith(("_mask", "-mask"))


def _nested_hint(folder: Path) -> str:
    nested = sorted({p.parent for p in nested_pictures(folder)})
    if nested:
        return f" (pictures in subfolders are not read: name those folders, e.g. --negatives {nested[0]})"
    return ""


def discover_with_negatives(
    data: Sequence[str | Path], negatives: Sequence[str | Path], skip_bad: bool, out: Path, out_files: tuple[str, str]
) -> tuple[list[Sample], list[Sample]]:
    """The samples of the data folders ``data`` (photos without a mask kept, for the split's count of the bad) and
    of the ``negatives`` folders, before any photo is read; refused when a photo is in both
    (:func:`refuse_overlap`) or when the output folder ``out`` is one they are read from (``-o pets/images``):
    the files written there went in among the photos, and the next ``train`` or ``evaluate`` stopped on "photo(s)
    without a mask: worst.png" (or took them as more photos without the subject, without a word). ``out_files``:
    what ``out`` is and the files it gets, for the message (``("report", "scores.csv, worst.png")``).

    Raises:
        DataError: a data folder's, or the overlap's, problem, named.
        ValueError: ``out`` is read from; the message names it and says to choose another ``-o``.
    """
    found = discover_all(data, skip_bad=skip_bad, keep_unpaired=True)
    without = discover_negatives(negatives)
    refuse_overlap(found, without)
    read = {p.parent.resolve() for s in [*found, *without] for p in (s.image, s.mask, *(m for m, _ in s.objects))}
    if out.resolve() in read:
        kind, files = out_files
        raise ValueError(
            f"-o {out}: photos or masks are read from this folder, and the {kind}'s files ({files}) would be read "
            f"with them next time; choose another {kind} folder with -o"
        )
    return found, without


def refuse_overlap(subject: Sequence[Sample], negatives: Sequence[Sample]) -> None:
    """Refuse a photo given both as a data set's photo (``subject``) and as a negative: the same file, or a copy
    of the same bytes (hashed only where the sizes match).

    Raises:
        DataError: naming both files.
    """
    by_size: dict[int, list[Path]] = {}
    for sample in subject:
        by_size.setdefault(sample.image.stat().st_size, []).append(sample.image)
    for negative in negatives:
        for photo in by_size.get(negative.image.stat().st_size, []):
            if photo.resolve() == negative.image.resolve() or file_hash(photo) == file_hash(negative.image):
                raise DataError(
                    f"--negatives: {negative.image} is the same photo as {photo} of the data folders: a photo "
                    "cannot both show the subject and not; remove it from one of them"
                )


def train_lone_negatives(train: list[Sample], val: Sequence[Sample]) -> list[Sample]:
    """``train`` with the validation negatives of ``val`` added when none of the negatives is in ``train`` (a
    folder of a photo or two: the seeded quarter that validates may be all of them), with a warning; without one,
    the presence head would never see a photo without the subject. They stay in ``val`` too."""
    if any(s.kind == NEGATIVE for s in train):
        return train
    lone = [s for s in val if s.kind == NEGATIVE]
    if lone:
        log.warning(
            "all %d negatives fell in the validation quarter; training on them too (the threshold's share of "
            "negatives rejected then counts photos training saw): give more photos without the subject",
            len(lone),
        )
    return [*train, *lone]
