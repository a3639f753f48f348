"""Colours of a clip: what its stream says (matrix, primaries, transfer), and how its frames become the RGB the
splash works on.

Frames are splashed as 8-bit RGB (not BGR) with BT.709 primaries and an SDR transfer, and written tagged as such
(:func:`colorsplash.runtime.video.video_encode.colour_filters`). Decoding must match that: an untagged clip is read with
the matrix players assume for its size (:func:`assumed_matrix`, the same rule the writer tags by), and an HDR
(PQ or HLG) or BT.2020 clip is converted to SDR BT.709, with a note, instead of its raw signal being shown as SDR
(flat, washed-out colours) and tagged as something it is not. The tone curve is Mobius: colours within the SDR
range stay nearly as they were, only highlights above it are compressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

# Transfer characteristics of HDR video, as ffmpeg names them: PQ (HDR10, Dolby Vision base) and HLG.
HDR_TRANSFERS = {"smpte2084": "PQ", "arib-std-b67": "HLG"}
_WIDE_PRIMARIES = ("bt2020",)
# What ffmpeg prints when a stream's matrix, primaries and transfer have the same name (else "a/b/c").
_SAME_NAME = {"bt709", "smpte170m", "smpte240m"}
_PIX_FMT_RE = re.compile(r", [a-z0-9_]+\(([^)]*)\)")


@dataclass(frozen=True)
class Colour:
    """A video stream's colour tags as ffmpeg names them (``""``: not tagged); ``matrix_assumed``: the stream
    names no matrix and ``matrix`` is the one players assume for its size (:func:`with_assumed_matrix`)."""

    matrix: str = ""
    primaries: str = ""
    transfer: str = ""
    matrix_assumed: bool = False

    @property
    def hdr(self) -> str | None:
        """``"PQ"`` or ``"HLG"`` for HDR video, else ``None``."""
        return HDR_TRANSFERS.get(self.transfer)

    @property
    def needs_conversion(self) -> bool:
        """HDR or wide-gamut (BT.2020) video: its signal is not SDR BT.709 RGB and must be converted."""
        return self.hdr is not None or self.primaries in _WIDE_PRIMARIES


def header_colour(stream_line: str) -> Colour:
    """The colour tags of one video stream line of ffmpeg's header, e.g. ``yuv420p10le(tv, bt2020nc/bt2020/
    smpte2084, progressive)`` -> ``Colour("bt2020nc", "bt2020", "smpte2084")``; unknown parts are ``""``."""
    m = _PIX_FMT_RE.search(stream_line.split("Video:", 1)[-1])
    for part in m.group(1).split(", ") if m else []:
        names = part.strip().split("/")
        if len(names) == 3:
            matrix, primaries, transfer = ("" if n in ("unknown", "reserved") else n for n in names)
            return Colour(matrix, primaries, transfer)
        if names[0] in _SAME_NAME:
            return Colour(names[0], names[0], names[0])
    return Colour()


def is_hd(width: int, height: int) -> bool:
    """Whether players take an untagged ``width x height`` clip for HD (BT.709) rather than SD (BT.601): 1280 wide
    or 720 high and up."""
    return width >= 1280 or height >= 720


def assumed_matrix(width: int, height: int) -> str:
    """The YUV matrix players assume for an untagged clip of this size (ffmpeg's name)."""
    return "bt709" if is_hd(width, height) else "bt601"


def with_assumed_matrix(colour: Colour, coded_width: int, coded_height: int) -> Colour:
    """``colour`` with the matrix players assume for a clip of that coded size (before any rotation flag) when
    the stream names none (BT.2020's own for HDR or BT.2020 video, as mpv assumes); ffmpeg itself would decode it
    as BT.601 whatever its size."""
    if colour.matrix:
        return colour
    matrix = "bt2020nc" if colour.needs_conversion else assumed_matrix(coded_width, coded_height)
    return replace(colour, matrix=matrix, matrix_assumed=True)


# ffmpeg's name of a matrix -> zscale's, where they differ (BT.601's matrix is BT.470BG's).
_ZSCALE_MATRIX = {"bt601": "bt470bg"}


def _zscale_input(colour: Colour) -> str:
    """zscale's input options for what an HDR or BT.2020 stream leaves untagged (zscale refuses to convert from
    an unknown colour space, "no path between colorspaces"): the assumed matrix, BT.2020 primaries (what HDR
    video is mastered in; also as the output's, which would stay unknown) and the BT.709 transfer (BT.2020's own
    SDR curve is the same)."""
    parts = [f"min={_ZSCALE_MATRIX.get(colour.matrix, colour.matrix)}"] if colour.matrix_assumed else []
    parts += [] if colour.primaries else ["pin=bt2020:p=bt2020"]  # output too: else the untagged input's
    parts += [] if colour.transfer else ["tin=bt709"]
    return "".join(f"{part}:" for part in parts)


def decode_filters(colour: Colour) -> str:
    """The ``-vf`` chain that turns a clip's decoded frames into SDR BT.709 RGB (the caller adds the RGB format):
    tone-mapped for HDR, primaries converted for BT.2020, the assumed matrix for a stream that names none."""
    if colour.needs_conversion:
        tonemap = "tonemap=tonemap=mobius:desat=0," if colour.hdr else ""
        linear = f"zscale={_zscale_input(colour)}t=linear:npl=100"
        return f"{linear},format=gbrpf32le,zscale=p=bt709,{tonemap}zscale=t=bt709:m=bt709:r=tv"
    if colour.matrix_assumed:
        return f"scale=in_color_matrix={colour.matrix}"
    return "null"


def colour_note(path: Path, colour: Colour) -> str | None:
    """The warning for a clip whose colours are converted on reading (:func:`decode_filters`), or ``None``."""
    if not colour.needs_conversion:
        return None
    primaries = f"{colour.primaries} primaries" if colour.primaries else "primaries untagged: taken as bt2020"
    what = f"HDR ({colour.hdr}, {primaries})" if colour.hdr else "BT.2020 wide-gamut"
    return (
        f"{path}: {what} video is converted to SDR BT.709 (tone-mapped) for the splash; the output is an SDR clip, "
        "so its brightest highlights and most saturated colours are compressed"
    )
