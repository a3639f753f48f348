"""Mask files to labels: :func:`read_mask` reads a mask or trimap file as 0 background, 1 subject,
:data:`~colorsplash.evaluation.metrics.IGNORE` unscored (the rules of each layout:
:mod:`colorsplash.evaluation.datasets`); :func:`read_grey` gives a file's raw values, :func:`decode_mask` the labels
of raw values.

Seed and paired masks are read by their content, as README's "Training your own subject" says:

* a picture with transparency: its alpha (a cut-out);
* a label map, a palette of colours or an RGB picture of at most :data:`MAX_LABEL_COLOURS` colours, not greys
  (Pascal VOC's, a labelling tool's class colours): its darkest grey is the background (black, or the white of
  colours drawn on white; with no grey, a palette's colour 0, else the darkest colour), every other colour the
  subject, and the void/border of Pascal VOC (palette index 255, or its colour :data:`VOC_VOID_COLOUR`) not scored;
* grey values (RGB masks by their brightest channel, so a red or blue subject on black is not dark grey; a colour
  drawn on white by its distance from white): :func:`decode_mask`; trimaps among them (exactly 0, 128 or 127, 255
  with the middle grey between the others; or 1, 2, 3) by :func:`_trimap_labels`, their band not scored. An
  Oxford-IIIT Pet trimap with only two of its values (1/3: the pet fills the photo; 1/2: no border drawn) cannot
  be told from a two-level mask by itself: it is read as a trimap in a folder of such trimaps
  (:func:`oxford_folder`), else as two levels. A matting trimap saved as JPEG is rounded back to its exact values
  first, an Oxford one refused (:mod:`colorsplash.evaluation.mask_jpeg`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorsplash.evaluation.folders import file_names, images_in
from colorsplash.evaluation.mask_jpeg import jpeg_trimap_levels
from colorsplash.evaluation.metrics import IGNORE
from colorsplash.runtime.pictures.photo_io import (
    ImageReadError,
    open_image,
    open_oriented,
    own_transparency,
    to_rgb_array,
)

__all__ = [
    "SMALL_MASK_TOP",
    "TRIMAP",
    "ReadLabels",
    "corners_subject",
    "decode_mask",
    "note_trimaps",
    "oxford_folder",
    "read_grey",
    "read_labels",
    "read_mask",
    "warn_empty_masks",
    "warn_inverted_masks",
]

log = logging.getLogger(__name__)

SMALL_MASK_TOP = 3  # a mask with no value above this is 0/1 (JPEG noise makes a 0/1 mask's 1s 0..3): 1+ is subject
MAX_LABEL_COLOURS = 32  # a coloured picture with more colours is a drawn (antialiased) mask, read by brightness
MAX_EXACT_LABELS = 8  # a dark mask with at most this many values is a label map (> darkest); more: JPEG noise
VOID = 255  # a label map's void/border value (Pascal VOC): not scored
VOC_VOID_COLOUR = (224, 224, 192)  # the colour of VOC's void index in its palette, for masks saved as RGB
# Trimaps given as masks, by their exact values (background, unknown, subject): matting trimaps (alphamatting.com's
# 128, or 127, unknown) and Oxford-IIIT Pet's (1 pet, 2 background, 3 border) in a paired folder. Read as 0, IGNORE, 1.
MATTING_TRIMAPS = ((0, 128, 255), (0, 127, 255))
OXFORD_TRIMAP = (2, 3, 1)
OXFORD_FOLDER_SAMPLE = 16  # masks of a folder read, spread over its names, to tell a folder of Oxford trimaps
TRIMAP = "trimap"  # the note of :func:`read_labels` for a mask read as a trimap
# A matting trimap's unknown band lies between its 0s and 255s: they touch each other (side by side) at most this
# share as often as the band touches the fewer of them (alphamatting.com's 54 trimaps: under 0.002; a subject in two
# greys, or a white subject with a grey part beside it, touches the background itself: about 1).
TRIMAP_MAX_TOUCH = 0.1


def read_grey(path: str | Path) -> np.ndarray:
    """Read a mask or trimap's raw values as uint8 ``HxW`` (EXIF orientation applied).

    A picture with transparency is a cut-out: its alpha channel is the mask (255 opaque), whatever colour its
    transparent pixels hold (white, black or the photo itself). A palette picture whose colours are greys gives
    their grey levels (a black-and-white palette may list white first); one with other colours gives its indices
    (a label map: 0 background, 1 the first class...). 16- and 32-bit integer pictures whose values are all in
    0..255 keep them (0/1 masks, trimaps' 1/2/3); wider values are scaled to 8 bits. RGB gives its brightest
    channel, or its distance from white for a colour drawn on white (:func:`_rgb_grey`)."""
    return _grey(open_image(path))


def read_mask(path: str | Path, kind: str) -> np.ndarray:
    """Read a mask (``kind`` ``seed``/``paired``) or trimap (``oxford``) as uint8 ``HxW`` labels: 0 background,
    1 subject, :data:`IGNORE` not scored; by the rules of the module docstring."""
    return read_labels(path, kind).labels


@dataclass(frozen=True)
class ReadLabels:
    """A mask file read (:func:`read_labels`): its ``labels`` (uint8 ``HxW``: 0, 1, :data:`IGNORE`, upright by
    its own EXIF orientation), ``note`` (:data:`TRIMAP` when a seed or paired mask was read as a trimap, for
    :func:`note_trimaps`; else ``None``) and that EXIF ``orientation`` (1-8, 1: none), for
    :func:`~colorsplash.evaluation.mask_size.fit_to_photo` (without opening the file again)."""

    labels: np.ndarray
    note: str | None
    orientation: int


def read_labels(path: str | Path, kind: str) -> ReadLabels:
    """:func:`read_mask`'s labels, with what else the read found (:class:`ReadLabels`)."""
    img, orientation = open_oriented(path)
    if kind != "oxford" and own_transparency(img) is None:
        labels = _colour_labels(img)
        if labels is not None:
            return ReadLabels(labels, None, orientation)
    raw = _grey(img)
    jpeg = img.format in ("JPEG", "MPO")
    rounded = jpeg_trimap_levels(raw, kind, path) if jpeg else None  # a trimap saved as JPEG
    if kind != "oxford":
        trimap = None if rounded is None else _trimap_labels(rounded)
        trimap = _trimap_labels(raw) if trimap is None else trimap
        if trimap is None and _oxford_values(raw) and oxford_folder(Path(path).parent):  # two of 1, 2, 3
            trimap = decode_mask(raw, "oxford")
        if trimap is not None:
            return ReadLabels(trimap, TRIMAP, orientation)
    return ReadLabels(decode_mask(raw, kind), None, orientation)


def _oxford_values(raw: np.ndarray) -> set[int]:
    """The values of raw grey values (uint8 ``HxW``) when all of them are Oxford trimap values (1, 2, 3), else
    the empty set: ``{1, 2, 3}`` for a whole trimap, fewer for one whose pet fills the photo or that has no
    border."""
    levels = {int(v) for v in np.flatnonzero(np.bincount(raw.ravel(), minlength=4))}
    return levels if levels <= set(OXFORD_TRIMAP) else set()


def oxford_folder(folder: Path) -> bool:
    """Whether ``folder``'s masks are Oxford-IIIT Pet trimaps: of up to :data:`OXFORD_FOLDER_SAMPLE` of its
    pictures spread over their names, most hold only the values 1, 2, 3 and one at least all three. Then a mask
    of two of them (1/3, 1/2) is a trimap too, not a two-level mask whose higher value is the subject (which
    would read it inverted). Cached per folder while its list of files is unchanged."""
    try:
        return _oxford_folder(folder, folder.stat().st_mtime_ns)
    except OSError:
        return False  # an unlisted folder: the pair's own reading reports what is wrong


@functools.lru_cache(maxsize=64)
def _oxford_folder(folder: Path, stamp: int) -> bool:
    files = images_in(folder)
    picks = files[:: -(-len(files) // OXFORD_FOLDER_SAMPLE)] if files else []
    found = []
    for mask in picks:
        try:
            found.append(_oxford_values(read_grey(mask)))
        except ImageReadError:
            continue  # the pair's own reading reports it
    return len(found) > 0 and sum(bool(v) for v in found) * 2 > len(found) and set(OXFORD_TRIMAP) in found


def _trimap_labels(raw: np.ndarray) -> np.ndarray | None:
    """The labels (uint8 ``HxW``: 0, 1, IGNORE) of raw grey values (uint8 ``HxW``) that are a trimap, else
    ``None``. The rule: exactly the three values of :data:`OXFORD_TRIMAP` (a mask of class numbers has a 0), or
    of one of :data:`MATTING_TRIMAPS` whose 0s and 255s are kept apart by the middle grey
    (:data:`TRIMAP_MAX_TOUCH`): a subject in two greys (a grey part beside a white one, two subjects) touches the
    background with both and keeps its reading, both greys the subject. A soft (antialiased) mask holds many
    values, so it is never a trimap; a white part wholly inside a grey one has a trimap's shape and reads as one."""
    levels = tuple(int(v) for v in np.flatnonzero(np.bincount(raw.ravel(), minlength=256)))
    for values in (*MATTING_TRIMAPS, OXFORD_TRIMAP):
        if levels != tuple(sorted(values)):
            continue
        back, band, fore = (raw == value for value in values)
        apart = _touching(back, fore) <= TRIMAP_MAX_TOUCH * min(_touching(band, back), _touching(band, fore))
        if values == OXFORD_TRIMAP or apart:
            labels = np.full(raw.shape, IGNORE, np.uint8)
            labels[back], labels[fore] = 0, 1
            return labels
    return None


def note_trimaps(masks: Sequence[Path]) -> None:
    """Say in one line which ``masks`` (of a run's pairs) :func:`read_labels` read as trimaps, and how."""
    if masks:
        log.info(
            "%d mask(s) are trimaps and were read as such: 255 (or Oxford-IIIT Pet's 1) the subject, 0 (2) the "
            "background, the 128 or 127 (3) band between them not scored: %s",
            len(masks),
            file_names(masks),
        )


def _grey(img: Image.Image) -> np.ndarray:
    alpha = own_transparency(img)
    if alpha is not None:
        return np.ascontiguousarray(alpha)
    if img.mode == "P":
        return _palette_grey(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(img)
        if values.size and values.min() >= 0 and values.max() <= 255:
            return values.astype(np.uint8)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return to_rgb_array(img)[..., 0]
    if img.mode in ("RGB", "RGBA"):
        return _rgb_grey(np.asarray(img.convert("RGB"), dtype=np.uint8))
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _rgb_grey(rgb: np.ndarray) -> np.ndarray:
    """An RGB mask (uint8 ``HxWx3``) as uint8 ``HxW`` subject values: its brightest channel (a white, red or blue
    subject on black), or for a colour drawn on white (some pixels have a strong colour, most of the picture's
    edge is light) its distance from white, 255 minus its darkest channel."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]  # channel by channel: ~40x faster than max(axis=2)
    brightest, darkest = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    chroma = brightest - darkest
    edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).min(axis=1)
    if np.count_nonzero(chroma >= 128) * 1000 > chroma.size and np.median(edge) >= 128:
        return 255 - darkest
    return brightest


def _palette_grey(img: Image.Image) -> np.ndarray:
    """A palette (``P``) picture as uint8 ``HxW``: the grey levels of its colours when every colour used is a grey,
    else its indices."""
    indices = np.asarray(img, dtype=np.uint8)
    palette = _palette(img)
    used = np.unique(indices)
    if used.size and int(used[-1]) < len(palette):
        colours = palette[used]
        if np.all(colours == colours[:, :1]):
            return palette[:, 0][indices]
    return indices


def _palette(img: Image.Image) -> np.ndarray:
    """A palette picture's colours, uint8 ``Nx3`` RGB (row ``i`` is index ``i``'s colour)."""
    return np.asarray(img.getpalette("RGB") or [], dtype=np.uint8).reshape(-1, 3)


def _colour_labels(img: Image.Image) -> np.ndarray | None:
    """Labels of a label map in colours (a palette, or RGB with few colours, not all greys), else ``None``."""
    if img.mode == "P":
        indices = np.asarray(img, dtype=np.uint8).astype(np.intp)
        colours = _palette(img)
        used = np.unique(indices)
        if not used.size or int(used[-1]) >= len(colours) or np.all(colours[used] == colours[used][:, :1]):
            return None
        return _labels(indices, colours, used, used == VOID, first=True)
    if img.mode not in ("RGB", "RGBA"):
        return None
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    if np.all(rgb == rgb[..., :1]) or len(np.unique(rgb[::7, ::7].reshape(-1, 3), axis=0)) > MAX_LABEL_COLOURS:
        return None
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    found, flat = np.unique(packed, return_inverse=True)
    if len(found) > MAX_LABEL_COLOURS:
        return None
    colours = np.stack([(found >> 16) & 255, (found >> 8) & 255, found & 255], axis=1)
    used = np.arange(len(found))
    return _labels(flat.reshape(packed.shape), colours, used, np.all(colours == VOC_VOID_COLOUR, axis=1))


def _labels(
    indices: np.ndarray, colours: np.ndarray, used: np.ndarray, void: np.ndarray, first: bool = False
) -> np.ndarray:
    """uint8 labels of a colour label map: ``indices`` (``HxW``) into ``colours`` (``Nx3`` RGB), ``used`` the
    indices present (ascending), ``void`` which of them are not scored. The background is the darkest grey used
    (black, or the white of class colours drawn on white); with no grey, index 0 when ``first`` (a palette's
    label map) and it is used, else the darkest colour. Every other colour is the subject."""
    table = np.ones(len(colours), np.uint8)
    table[used[void]] = IGNORE
    rgb = colours[used].astype(np.int64)
    grey = np.all(rgb == rgb[:, :1], axis=1) & ~void
    luma = rgb @ np.array([299, 587, 114])  # blue is darker than red
    if not grey.any() and first and used[0] == 0 and not void[0]:
        table[0] = 0
    else:
        table[used[np.argmin(np.where((grey if grey.any() else ~void), luma, np.iinfo(np.int64).max))]] = 0
    return table[indices]


def decode_mask(raw: np.ndarray, kind: str) -> np.ndarray:
    """Raw grey mask values (uint8 ``HxW``) -> uint8 ``HxW``: 0 background, 1 subject, :data:`IGNORE` unscored.

    Seed and paired masks: white (>= 128) on black is the subject. A mask of two values has the higher as the
    subject (``0/1``, ``50/100``, ``150/255``). A dark mask (no value above 127) with several values: 1 and up when
    none is above :data:`SMALL_MASK_TOP` (0/1 saved as JPEG: its 1s become 0..3); above the darkest when it has at
    most :data:`MAX_EXACT_LABELS` values (a label map: class numbers on 0); else above the midway level (a dark
    JPEG). A grey label map of 0, classes below 128 and 255 (Pascal VOC as greys) whose class pixels outnumber its
    255s, and whose 255s lie between the classes and the 0s, has 255 as void (not scored). All 0 is no subject."""
    if kind == "oxford":
        out = np.zeros(raw.shape, np.uint8)
        out[raw == 1] = 1
        out[raw == 3] = IGNORE
        return out
    counts = np.bincount(raw.ravel(), minlength=256)
    void = _grey_void(counts) and _void_borders_background(raw)
    if void:
        counts[VOID] = 0
    levels = np.flatnonzero(counts)
    if len(levels) == 2:
        subject = raw >= levels[1]
    elif levels.size and levels[-1] <= SMALL_MASK_TOP:
        subject = raw >= 1
    elif len(levels) > 1 and levels[-1] < 128:
        exact = len(levels) <= MAX_EXACT_LABELS
        subject = raw > levels[0] if exact else raw >= (int(levels[0]) + int(levels[-1]) + 1) // 2
    else:
        subject = raw >= 128
    out = subject.astype(np.uint8)
    if void:
        out[raw == VOID] = IGNORE
    return out


def _grey_void(counts: np.ndarray) -> bool:
    """Whether grey values of ``counts`` (a 256-bin histogram) are a label map with 255 as its void border: only
    0, values below 128 and 255, few of them, and more class pixels than border pixels (a mask of 0, 255 and a
    thin band of another grey is a mask with a drawn edge, not a label map)."""
    classes = int(counts[1:128].sum())
    return bool(
        counts[VOID]
        and classes >= counts[VOID]
        and not counts[128:VOID].any()
        and np.count_nonzero(counts) <= MAX_LABEL_COLOURS
    )


def _void_borders_background(raw: np.ndarray) -> bool:
    """Whether 255s (uint8 ``HxW`` grey values) touch 0s more often than values 1..254 do, side by side: a label
    map's void is a band between its classes and the background; a white subject inside a drawn grey band never
    touches the background (its band does)."""
    zero = raw == 0
    return _touching(zero, raw == VOID) >= _touching(zero, (raw > 0) & (raw < VOID))


def _touching(a: np.ndarray, b: np.ndarray) -> int:
    """How many pairs of side-by-side pixels (4-neighbours) of two bool ``HxW`` masks have one in ``a``, the other
    in ``b``."""
    return int(
        np.count_nonzero(a[:, 1:] & b[:, :-1])
        + np.count_nonzero(a[:, :-1] & b[:, 1:])
        + np.count_nonzero(a[1:] & b[:-1])
        + np.count_nonzero(a[:-1] & b[1:])
    )


def corners_subject(mask: np.ndarray) -> bool:
    """Whether all four corner pixels of a decoded mask (uint8 ``HxW``, 0/1/IGNORE) are the subject: a subject
    rarely fills a photo to its corners, an inverted mask's background always does."""
    return bool(np.all(mask[[0, 0, -1, -1], [0, -1, 0, -1]] == 1))


def warn_inverted_masks(inverted: int, total: int, role: str) -> bool:
    """Warn when most of ``total`` decoded masks (``role``: "training", "ground-truth") mark all four corners as
    the subject (:func:`corners_subject`): masks drawn the other way round (subject black on white) read exactly
    so, and nothing in one mask tells. The one wording for train and evaluate; returns whether it warned."""
    if not total or inverted * 2 <= total:
        return False
    log.warning(
        "%d of %d %s masks mark all four corners of their photo as the subject: are they inverted (the subject "
        "black on white)? Masks mark the subject white, or the lighter of two levels, on black; invert such masks "
        "(e.g. ImageMagick: mogrify -negate MASK)",
        inverted,
        total,
        role,
    )
    return True


def warn_empty_masks(empty: int, total: int, role: str, effect: str) -> bool:
    """Warn when most of ``total`` masks (``role``: "training", "ground-truth") are empty, with ``effect`` (what
    that does) and the usual cause: 0/1 masks, which look black. The one wording for train and evaluate; returns
    whether it warned."""
    if empty * 2 <= total:
        return False
    log.warning(
        "%d of %d %s masks are empty (no subject pixel): %s. Seed and paired layouts read the subject as white "
        "(>= 128) on black, the lighter of two levels (1 on 0), a label map's colours on black or the opaque part "
        "of a cut-out with transparency; check that these masks are not black or one grey all over",
        empty,
        total,
        role,
        effect,
    )
    return True
