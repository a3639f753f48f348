"""What reading a run's image/mask pairs found to tell the user, said once per run (:class:`ReadNotes`): photos
whose masks were turned or whose masks' orientation cannot be told
(:func:`~colorsplash.evaluation.mask_size.warn_orientations`), and masks read as trimaps
(:func:`~colorsplash.evaluation.mask_read.note_trimaps`). ``train`` reads its training and validation photos in
two passes and says them after both; ``evaluate`` after its one pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from colorsplash.evaluation.mask_read import TRIMAP, note_trimaps
from colorsplash.evaluation.mask_size import warn_orientations


@dataclass
class ReadNotes:
    """The notes of the pairs read so far: ``{note: files}``, the photo for
    :func:`~colorsplash.evaluation.mask_size.fit_to_photo`'s notes (``turned``, ``unsure``), the mask for
    :data:`~colorsplash.evaluation.mask_read.TRIMAP`. The one owner of saying them once."""

    files: dict[str, list[Path]] = field(default_factory=dict)

    def add(self, note: str, path: Path) -> None:
        self.files.setdefault(note, []).append(path)

    def say(self) -> None:
        """Log the notes gathered so far, one line for each kind, and forget them (each said once)."""
        warn_orientations(self.files)
        note_trimaps(self.files.get(TRIMAP, []))
        self.files = {}
