"""Headers that Pillow's readers would spend seconds of Python on before any pixel is decoded, refused by
:mod:`.picture_open` as damaged pictures before a reader runs: a JPEG's stray bytes and segments
(:func:`.jpeg_markers.refuse_header_junk`), a TIFF's entry of millions of fractions, BigTIFF directory of
millions of entries, or directories of over a million entries in all (:func:`.page_count.heavy_tiff_entry`)."""

from __future__ import annotations

from typing import IO

from colorsplash.runtime.pictures.jpeg_markers import refuse_header_junk
from colorsplash.runtime.pictures.page_count import heavy_tiff_entry
from colorsplash.runtime.pictures.tiff_refusal import is_tiff


def refuse_costly_header(fp: IO[bytes], prefix: bytes) -> None:
    """Raise ValueError (a damaged JPEG or TIFF, saying what) for such a header in the seekable stream ``fp``, whose
    first bytes are ``prefix``; other content passes. ``fp``'s position is left anywhere."""
    refuse_header_junk(fp, prefix)
    if is_tiff(prefix):
        heavy = heavy_tiff_entry(fp)
        if heavy is not None:
            raise ValueError(f"damaged TIFF: {heavy}, which no photo holds")
