"""What a user should know about a result: the one owner of which notes a splash, a mask or a viewable copy
gets, for every caller (the CLI prints them, the HTTP API sends them in ``X-Colorsplash-Notes``, the Python API
puts them on its result array as ``.notes``).

The notes come from reading the photo (:attr:`colorsplash.runtime.pictures.photo_io.Photo.notes`: first frame of an
animation, bit depth, colour conversions, Pillow's warnings), from the metadata a written splash leaves out
(:attr:`~colorsplash.runtime.pictures.photo_io.Photo.metadata_notes`, and what does not fit its format:
:func:`colorsplash.runtime.pictures.photo_write.metadata_notes`) and from the picture's own transparency
(:func:`colorsplash.runtime.pictures.photo_io.transparency_note`). Each names the photo (its path, or an upload's name).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np

from colorsplash.runtime.pictures.photo_io import Photo, transparency_note
from colorsplash.runtime.pictures.photo_write import metadata_notes
from colorsplash.runtime.wording import Spelling, option_name

Written = Literal["splash", "cut-out", "mask", "view"]


def result_notes(photo: Photo, written: Written, fmt: str | None = None, spelling: Spelling = "cli") -> list[str]:
    """The notes of a ``written`` result of ``photo``: ``"splash"``, ``"cut-out"`` (``effect`` transparent),
    ``"mask"`` or ``"view"`` (a JPEG of the photo with its ICC profile only, ``POST /api/view``).

    ``fmt``: the format the result is encoded in (Pillow's name, ``JPEG``); ``None`` when nothing is written (the
    Python API's arrays carry no metadata, so nothing is said about metadata left out). ``spelling``: how the
    caller writes options in the notes (``--effect transparent``, ``effect="transparent"``, ``effect=transparent``).
    """
    notes = list(photo.notes)
    if fmt is not None and written in ("splash", "cut-out"):
        notes += photo.metadata_notes
        notes += metadata_notes(fmt, photo.exif, photo.name, photo.xmp, photo.iptc, photo.icc)
    elif fmt is not None and written == "view":
        notes += metadata_notes(fmt, None, photo.name, icc=photo.icc)
    elif fmt == "JPEG" and written == "mask":
        notes.append(lossy_mask_note(photo.name, spelling))
    return notes + [note for note in [transparency_note(photo, written, spelling)] if note]


def lossy_mask_note(name: str, spelling: Spelling = "cli") -> str:
    """The note of a mask of the photo ``name`` written as JPEG: its values move along the subject's edge (by up to 8
    levels on a photo), its 0s and 255s too, so a hard mask is no longer two values; a lossless format keeps them."""
    hard = option_name("hard", spelling)
    return (
        f"{name}: a JPEG mask is lossy: its values move by a few levels along the subject's edge (a {hard} mask is "
        "no longer 0 and 255 only); name a .png, .tif or .webp file for exact values"
    )


class NotedArray(np.ndarray[Any, Any]):
    """A NumPy array that is a Python API result, with ``notes``: a tuple of strings, what the user should know
    about it (:func:`result_notes`; empty for an array or Pillow image given as input). Arrays made from it
    (slices, arithmetic, ``copy.deepcopy``, ``np.copy(..., subok=True)``) keep the notes, and so does a pickled
    copy (a result sent to a ``multiprocessing`` pool); ``np.asarray(result)`` is a plain array without them.
    Single values (``result.mean()``, ``result[0, 0]``) are NumPy scalars, as a plain array's are."""

    notes: tuple[str, ...]

    def __array_finalize__(self, obj: Any) -> None:
        self.notes = getattr(obj, "notes", ())

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool | None = None) -> Any:
        """A ufunc's or reduction's result: a NotedArray as NumPy wraps it, but a NumPy scalar where a plain
        array gives one (``result.mean()``, ``result.max()``: a 0-d NotedArray was unhashable and no
        ``np.floating``). NumPy 2 says where (``return_scalar``; not for an ``out=`` array, which is returned
        itself); NumPy 1 passes no ``return_scalar``, and every 0-d result is taken as a scalar."""
        wrapped = super().__array_wrap__(array, context)
        scalar = return_scalar is not False and isinstance(wrapped, np.ndarray) and wrapped.ndim == 0
        return wrapped[()] if scalar else wrapped

    def __reduce__(self) -> tuple[Any, ...]:
        """NumPy's pickle of the array with the notes added last to its state (NumPy's own leaves them out)."""
        rebuild, args, state = cast("tuple[Any, Any, tuple[Any, ...]]", super().__reduce__())
        return rebuild, args, (*state, self.notes)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        """The array from NumPy's state, and the notes that :meth:`__reduce__` put after it (none in a plain
        array's state)."""
        plain = 5  # NumPy's array state: (version, shape, dtype, Fortran order, data)
        super().__setstate__(state[:plain])
        self.notes = tuple(state[plain]) if len(state) > plain else ()


def with_notes(array: np.ndarray, notes: list[str]) -> NotedArray:
    """``array`` (not copied) as a :class:`NotedArray` carrying ``notes``."""
    noted = array.view(NotedArray)
    noted.notes = tuple(notes)
    return noted
