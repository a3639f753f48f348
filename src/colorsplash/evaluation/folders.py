"""Files of a data set folder: which layout it has, its pictures by name, its ``splits.tsv``, and the warnings
about what a folder holds but does not use (see :mod:`colorsplash.evaluation.datasets` for the layouts)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorsplash.runtime.pictures.photo_io import ImageReadError, is_image_name, is_picture_file
from colorsplash.runtime.pictures.picture_open import PixelLimitError
from colorsplash.runtime.wording import listed

log = logging.getLogger(__name__)


SKIP_ADVICE = "or pass --skip-bad"  # ends a skippable DataError's message


class DataError(ValueError):
    """A data set problem; the message names the file or folder and says what to do. ``reason``: a few words
    on what is wrong with a pair (``"no mask"``, ``"unreadable"``, ``"size mismatch"`` ...), by which
    :class:`~colorsplash.evaluation.datasets.Skips` counts the pairs ``--skip-bad`` leaves out. ``skippable``:
    ``--skip-bad`` would leave the pair out; the message shown then ends with that advice, which :attr:`detail`
    (the message as given) does not carry, for the list of the pairs ``--skip-bad`` did leave out."""

    def __init__(self, message: str, reason: str = "bad pair", skippable: bool = False) -> None:
        super().__init__(_with_skip_advice(message) if skippable else message)
        self.detail = message
        self.reason = reason
        self.skippable = skippable


@dataclass
class Skips:
    """The photos :func:`~colorsplash.evaluation.datasets.iter_pairs` left out under ``skip_bad``, by
    :attr:`DataError.reason`: the one count of them (its warning, evaluate's ``summary.json`` and table footer)."""

    messages: dict[str, list[str]] = field(default_factory=dict)  # reason -> the errors' messages

    def add(self, err: DataError) -> None:
        """Keep ``err``'s message, without the advice to pass ``--skip-bad`` (it was passed: that is why it is kept)."""
        self.messages.setdefault(err.reason, []).append(err.detail)

    @property
    def total(self) -> int:
        return sum(len(m) for m in self.messages.values())

    def counts(self) -> dict[str, int]:
        """``{reason: photos}``, by reason."""
        return {reason: len(self.messages[reason]) for reason in sorted(self.messages)}

    def say(self) -> None:
        """One warning for them all, when there are any: :func:`describe_skips`' line, then each pair's message."""
        if self.total:
            lines = [m for reason in sorted(self.messages) for m in self.messages[reason]]
            log.warning("%s:\n  %s", describe_skips(self.counts()), "\n  ".join(lines))


def refuse_twice(folder: str | Path, seen: dict[Path, str], label: str) -> None:
    """The one rule for a folder of photos named twice in one run (``pets pets``, ``pets ./pets``, a link beside
    its folder): its photos would count twice. ``seen`` maps the folders named so far (resolved) to how they were
    named; ``label`` is how the message names ``folder`` (``--negatives DIR`` or the data folder itself).

    Raises:
        DataError: ``folder`` is already in ``seen``.
    """
    key = Path(folder).resolve()
    if key in seen:
        raise DataError(
            f"{label}: named twice (as {seen[key]} too), so each of its photos would count twice; name each folder once"
        )
    seen[key] = str(folder)


def named_root(root: Path) -> Path:
    """``root``, or for ``.`` and ``x/..`` the absolute folder it stands for: the set is named after it, not ``""``."""
    return Path(os.path.abspath(root)) if root.name in ("", "..") else root


def set_name(folder: str | Path) -> str:
    """The name :func:`~colorsplash.evaluation.datasets.discover` gives the data set in ``folder`` (its samples'
    ``dataset``, before any ``-unseen``/``-pets`` suffix): the folder's own name, ``oxford-pets`` for
    ``../data/oxford-pets/``."""
    return named_root(Path(folder)).name


def warn_same_name(folder: str | Path, name: str, named: dict[str, str]) -> None:
    """Warn when ``folder``'s data set ``name`` is already another folder's (``a/pets b/pets``): every per-set
    figure gives them as one set. ``named`` maps the set names so far to the folder named first."""
    if (other := named.setdefault(name, str(folder))) != str(folder):
        log.warning(
            "%s and %s are both named %r: the figures per data set give them as one set (rename a folder to see "
            "each apart)",
            other,
            folder,
            name,
        )


def _with_skip_advice(message: str) -> str:
    """``message`` ending in ``--skip-bad``'s advice: inside its last parenthesis when that already gives a way out
    ("(or remove it from the data, or pass --skip-bad)": two parentheses in a row read as two afterthoughts)."""
    last = message.rfind(" (or ")
    if message.endswith(")") and last >= 0 and "(" not in message[last + 2 : -1]:
        return f"{message[:-1]}, {SKIP_ADVICE})"
    return f"{message} ({SKIP_ADVICE})"


def unreadable_in_data(err: ImageReadError) -> str:
    """The message of a data set's photo or mask that ``err`` says cannot be read: the reader's, which already says
    how to mend the file (re-export, copy again, permissions...), and the data set's other way out, once. A picture
    over the pixel limit is said without the reader's advice to raise ``--max-pixels``, which the data readers
    (``train``, ``evaluate``) do not take."""
    if isinstance(err, PixelLimitError):
        return f"{err.what}, within which data sets are read; save it smaller (and its mask) or remove it from the data"
    return f"{err} (or remove it from the data)"


def describe_skips(counts: Mapping[str, int]) -> str:
    """One line on the photos ``--skip-bad`` left out (``{reason: count}``, :meth:`Skips.counts`): ``skipped 3
    photo(s) (--skip-bad): 2 no mask, 1 unreadable``."""
    reasons = ", ".join(f"{count} {reason}" for reason, count in counts.items())
    return f"skipped {sum(counts.values())} photo(s) (--skip-bad): {reasons}"


def images_in(folder: Path) -> list[Path]:
    """The pictures directly in ``folder``, by name (hidden files such as macOS's ``._<name>.jpg`` left out)."""
    return sorted(p for p in folder.iterdir() if is_picture_file(p))


def by_stem(folder: Path, prefix: str = "") -> dict[str, Path]:
    """``{stem without prefix: picture}`` of ``folder``; two pictures of one stem raise :class:`DataError`."""
    out: dict[str, Path] = {}
    for p in images_in(folder):
        stem = p.stem[len(prefix) :] if prefix and p.stem.startswith(prefix) else p.stem
        if stem in out:
            raise DataError(
                f"{out[stem]} and {p.name} share the name {stem!r}, so which mask is whose cannot be told; "
                "rename or remove one of them (a mask sits in the masks folder, not beside its photo)"
            )
        out[stem] = p
    return out


SPLIT_WORDS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "test": "val"}


def read_split_file(root: Path) -> dict[str, str]:
    """``{photo name: "train" | "val"}`` from ``root/splits.tsv`` (empty without one): a name (a photo's stem or
    file name), a tab, a split word; ``#`` comments, a ``name<TAB>split`` header line and a byte-order mark (a
    spreadsheet's "UTF-8" export) are skipped, spaces round the name dropped.

    Raises:
        DataError: a split word not in :data:`SPLIT_WORDS`, naming the line.
    """
    splits: dict[str, str] = {}
    tsv = root / "splits.tsv"
    if tsv.is_file():
        for number, line in enumerate(tsv.read_text(encoding="utf-8-sig").splitlines(), 1):
            parts = line.split("\t")
            if len(parts) < 2 or not parts[0].strip() or line.startswith("#"):
                continue
            word = parts[1].strip().lower()
            if number == 1 and word == "split":
                continue
            if word not in SPLIT_WORDS:
                raise DataError(
                    f"{tsv}, line {number}: split {parts[1].strip()!r} for {parts[0]} is not one of "
                    f"{', '.join(SPLIT_WORDS)}; fix the line (photo name, a tab, then the split)"
                )
            splits[parts[0].strip()] = SPLIT_WORDS[word]
    return splits


def warn_unused_splits(root: Path, splits: dict[str, str], photos: Sequence[Path]) -> None:
    """Warn when names in ``root/splits.tsv`` match none of ``photos`` (by stem or file name): those lines are not
    used, and the photos they meant to place get the seeded split (a test photo may train); and when the file names
    only some of the photos: the others get the seeded split too, so some of them validate (a file naming the
    validation photos alone put more in validation than it named)."""
    known = {p.stem for p in photos} | {p.name for p in photos}
    unlisted = [p for p in photos if p.stem not in splits and p.name not in splits]
    if splits and unlisted:
        log.warning(
            "%s places %d of the %d photos in %s; the other %d (%s) are split as in a folder without the file "
            "(--val-fraction, --seed), so some of them validate: give each a line (train or val) to place it",
            root / "splits.tsv",
            len(photos) - len(unlisted),
            len(photos),
            root,
            len(unlisted),
            file_names(unlisted),
        )
    unused = sorted(name for name in splits if name not in known)
    if unused:
        shown = listed(unused)
        log.warning(
            "%s: %d name(s) match no photo in %s, not used: %s; a line names a photo by its stem or file name",
            root / "splits.tsv",
            len(unused),
            root,
            shown,
        )


def file_names(paths: Sequence[Path], most: int = 10) -> str:
    """``a.jpg, b.jpg, ... and 3 more``: file names for a message (:func:`~colorsplash.runtime.wording.listed`)."""
    return listed([p.name for p in paths], most)


def rename_hint(photos: Sequence[Path], masks: Mapping[str, Path]) -> str | None:
    """What to do when the masks named as no photo (``{stem: mask}``, :func:`by_stem`'s) are, most of them, the
    ``photos``' stems with one text added before or after (``<stem>_mask.png``, ``mask_<stem>.png``, as many
    labelling tools save them): words naming that text and the rename, else ``None``."""
    stems = {p.stem: p for p in photos}
    if not stems or not masks:
        return None
    first = next(iter(masks))
    inside = sorted((s for s in stems if s != first and s in first), key=len, reverse=True)[:3]
    best: tuple[int, str, str] = (0, "", "")
    for stem in inside:
        at = first.find(stem)
        pre, post = first[:at], first[at + len(stem) :]
        count = sum(_bare(m, pre, post) in stems for m in masks)
        best = max(best, (count, pre, post))
    count, pre, post = best
    if count * 2 < len(masks):
        return None
    key = next(m for m in masks if _bare(m, pre, post) in stems)
    mask, photo = masks[key], stems[_bare(key, pre, post)]
    added = " and ".join(word for word in (f"{pre!r} before" if pre else "", f"{post!r} after" if post else "") if word)
    return (
        f"{count} of those masks are named as their photo with {added} its name, but a mask must have its photo's "
        f"name: rename each to it ({mask.name} to {photo.stem}{mask.suffix})"
    )


def _bare(mask_stem: str, pre: str, post: str) -> str:
    """``mask_stem`` without the text ``pre`` before and ``post`` after it ("" when it lacks either)."""
    inner = len(mask_stem) - len(pre) - len(post)
    if inner <= 0 or not mask_stem.startswith(pre) or not mask_stem.endswith(post):
        return ""
    return mask_stem[len(pre) : len(pre) + inner]


def nested_pictures(folder: Path) -> list[Path]:
    """The pictures (by extension) in ``folder``'s subfolders, at any depth: the readers do not read them."""
    return [p for p in folder.rglob("*") if p.parent != folder and p.is_file() and is_image_name(p)]


def warn_subfolders(folder: Path) -> None:
    """Warn when ``folder``'s subfolders hold pictures: a data set's files sit directly in it."""
    nested = nested_pictures(folder)
    if nested:
        log.warning(
            "%s: %d picture(s) in subfolders are not read (e.g. %s): a data set's files sit directly in %s/; "
            "move them up, or lay a subfolder out as a data set of its own and name it too",
            folder,
            len(nested),
            nested[0].relative_to(folder),
            folder.name,
        )


def warn_links(root: Path, folders: Sequence[Path]) -> None:
    """Warn, once for the data folder ``root``, about the pictures of ``folders`` (its layout's folders) that are
    symbolic links leaving it, or pointing to nothing.

    A link to a file outside ``root`` and outside ``folders`` (a folder may itself be a link to another disk, and
    ``root`` one given on the command line: both fine, not named) is read as it is, so a data set made of links to
    photos kept elsewhere works. But a data set from someone else can link to any picture the user may read, which
    ``evaluate``'s gallery then shows: the warning names each link and where it leads. A link to nothing is not read
    (its photo, or a photo's mask, is missing) and is named too."""
    inside = [root.resolve(), *(folder.resolve() for folder in folders)]
    outside: list[str] = []
    broken: list[str] = []
    for folder in folders:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or not is_image_name(entry) or not entry.is_symlink():
                continue
            if not entry.exists():
                broken.append(f"{entry.relative_to(root)} -> {entry.readlink()}")
            elif not any(entry.resolve().is_relative_to(base) for base in inside):
                outside.append(f"{entry.relative_to(root)} -> {entry.resolve()}")
    if outside:
        log.warning(
            "%s: %d picture(s) are symbolic links to files outside it, read as they are: %s. If the data set came "
            "from someone else, check where its links lead (find %s -type l -ls): evaluate's gallery may show those "
            "photos. Links you made can stay (a linked folder, rather than linked files, is not named)",
            root,
            len(outside),
            listed(outside),
            root,
        )
    if broken:
        log.warning("%s: %d symbolic link(s) lead to no file and are not read: %s", root, len(broken), listed(broken))


def oxford_trimaps(root: Path) -> Path | None:
    """The trimap folder of an Oxford-IIIT Pet layout: ``root/trimaps``, or ``root/annotations/trimaps`` as the
    official download unpacks (``images.tar.gz`` and ``annotations.tar.gz`` side by side); ``None`` if neither."""
    return next((d for d in (root / "trimaps", root / "annotations" / "trimaps") if d.is_dir()), None)


LAYOUT_FOLDERS = ("input", "mask", "images", "masks", "trimaps", "annotations")  # the folders layout_of looks for


def layout_of(root: Path) -> str | None:
    if (root / "input").is_dir() and (root / "mask").is_dir():
        return "seed"
    if (root / "images").is_dir() and (root / "masks").is_dir() and (root / "objects.tsv").is_file():
        return "scenes"
    if (root / "images").is_dir() and oxford_trimaps(root) is not None:
        return "oxford"
    if (root / "images").is_dir() and (root / "masks").is_dir():
        return "paired"
    return None


# Each layout folder and the folders one of which it needs beside it; the photo folders of each pair.
_HALVES = {"images": ("masks", "trimaps"), "input": ("mask",), "masks": ("images",), "mask": ("input",)}
_PHOTOS = ("images", "input")


def layout_hint(root: Path) -> str:
    """What a folder without a layout holds, for the error: the data set it is the photo or mask folder of (the
    name of ``images/`` given for its data set's), else the data sets in it, else its subfolders."""
    here = root if root.name else root.resolve()
    if (here.name in _HALVES or here.name == "trimaps") and layout_of(here.parent) is not None:
        return f"; it is the {here.name}/ folder of the data set {here.parent}: name that folder instead"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    sets = [p for p in folders if layout_of(p) is not None]
    if sets:
        return f"; it holds data sets: name them instead ({' '.join(str(p) for p in sets)})"
    held = ", ".join(p.name + "/" for p in folders)
    cased = [p.name for p in folders if p.name.lower() in LAYOUT_FOLDERS and p.name not in LAYOUT_FOLDERS]
    if cased:  # Images/ + Masks/: the names are lower case (a case-insensitive disk would have read them)
        renames = ", ".join(f"{name}/ to {name.lower()}/" for name in cased)
        return f"; it holds {held}: the folders' names are lower case: rename {renames}"
    names = {p.name for p in folders}
    half = next(((have, need) for have, need in _HALVES.items() if have in names and not names & set(need)), None)
    if half is not None:  # images/ alone: say what it lacks, not only what it holds
        have, need = half
        advice = f"; put each photo's mask, of the same name, in {root / need[0]}/" if have in _PHOTOS else ""
        extra = f" (photos without the subject: --negatives {root / have})" if have in _PHOTOS else ""
        return f"; it holds {held}: {have}/ without {' or '.join(n + '/' for n in need)}{advice}{extra}"
    if folders:
        return f"; it holds {held}"
    pictures = images_in(root)
    stems = {p.stem for p in pictures}
    if pictures and len(stems) < len(pictures):  # photos and their masks side by side
        pair = sorted(p.name for p in pictures if sum(q.stem == p.stem for q in pictures) > 1)[:2]
        return (
            f"; it holds photos and masks side by side ({' + '.join(pair)}): put the photos in "
            f"{root / 'images'}/ and the masks, of the same names, in {root / 'masks'}/"
        )
    if pictures:
        return (
            f"; it holds {len(pictures)} photo(s) and no masks: photos without the subject go in with --negatives "
            f"{root}; photos of it need masks: put the photos in {root / 'images'}/ and their masks, of the same "
            f"names, in {root / 'masks'}/"
        )
    return "; it holds no folders"
