"""A clip's attached files and cover art: found in ffmpeg's header text, carried by the remux
(:func:`colorsplash.runtime.video.video_encode.mux_tracks`) where the output's container holds them, and the one warning
naming what an output is written without (:func:`dropped_note`).

Attached files (the fonts an anime episode's styled subtitles are drawn with) are Matroska's alone. Cover art is a
picture: MP4 holds it as its ``covr`` picture (the stream is copied); Matroska as an attached file, which ffmpeg
shows as a video stream marked attached pic but would write back as a second video track, so the picture is
copied out to a file first and attached from there, as it was (byte for byte).
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from colorsplash.runtime.video.video_ffmpeg import ffmpeg_quiet, input_args, output_arg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cover:
    """A cover picture of a clip: its stream number in the file and its codec (``mjpeg``, ``png``, ...)."""

    index: int
    codec: str


# What the remux carries besides sound, as named in its words.
KIND_WORDS = {
    "subtitles": "subtitle tracks",
    "attachments": "attached files (such as fonts for styled subtitles)",
    "covers": "cover art",
}
# A cover's codec -> (file extension, MIME type) for a Matroska attachment; other codecs are left out, named.
COVER_FILES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png"), "webp": ("webp", "image/webp")}
_ATTACHMENT_RE = re.compile(r"^\s*Stream #\d+:\d+.*?: Attachment: ")
_COVER_RE = re.compile(r"^\s*Stream #\d+:(\d+)\S*(?:\(\w+\))?: Video: (\w+).*\(attached pic\)")


def header_extras(lines: list[str]) -> tuple[int, tuple[Cover, ...]]:
    """From ffmpeg's header text (its lines): how many attached files the clip has, and its cover pictures."""
    attachments = sum(1 for line in lines if _ATTACHMENT_RE.match(line))
    covers = tuple(Cover(int(m.group(1)), m.group(2)) for line in lines if (m := _COVER_RE.match(line)))
    return attachments, covers


# What every muxer writes into a file's own metadata (ffmpeg's global block), not what a camera or a person did.
_MUXER_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder", "software"})
_GLOBAL_TAG_RE = re.compile(r"^    (\S[^:]*?)\s*: ")


def has_file_tags(lines: list[str]) -> bool:
    """Whether ffmpeg's header text (its lines) shows metadata of the file itself that a camera, phone or person
    wrote (recording date, title, location; the global ``Metadata:`` block, less what every muxer writes), or
    chapters: what the remux carries (``-map_metadata``), and a clip without other tracks would lose."""
    block = False
    for line in lines:
        if line.startswith("  Chapters:"):
            return True
        if line == "  Metadata:":
            block = True
        elif block and (tag := _GLOBAL_TAG_RE.match(line)) is None:
            block = False  # the block ended (Duration, Stream, ...)
        elif block and tag is not None and tag.group(1).lower() not in _MUXER_TAGS:
            return True
    return False


def wanted(subtitles: bool, attachments: int, covers: tuple[Cover, ...]) -> frozenset[str]:
    """The kinds of :data:`KIND_WORDS` a clip has."""
    has = {"subtitles": subtitles, "attachments": bool(attachments), "covers": bool(covers)}
    return frozenset(kind for kind, there in has.items() if there)


@contextlib.contextmanager
def carried(
    muxer: str, source: Path, attachments: int, covers: tuple[Cover, ...]
) -> Iterator[tuple[list[str], frozenset[str]]]:
    """The ffmpeg output arguments that carry ``source``'s (input 1's) attached files and cover art into a
    ``muxer`` file, and their kinds (those it holds); a Matroska cover is copied out to a temporary folder made
    for the time of the remux (see the module's note), and only then."""
    args: list[str] = []
    kinds = set()
    if attachments and muxer == "matroska":
        args += ["-map", "1:t"]
        kinds.add("attachments")
    if covers and muxer == "mp4":  # by their stream numbers: 1:v would take the clip's own picture too
        args += [arg for cover in covers for arg in ("-map", f"1:{cover.index}")]
        kinds.add("covers")
    if not (covers and muxer == "matroska"):
        yield args, frozenset(kinds)
        return
    with tempfile.TemporaryDirectory(prefix="colorsplash-covers-") as folder:
        attached = _attach_covers(source, covers, Path(folder), first=attachments)
        yield [*args, *attached], frozenset(kinds | ({"covers"} if attached else set()))


def _attach_covers(source: Path, covers: tuple[Cover, ...], folder: Path, first: int) -> list[str]:
    """``-attach`` arguments for ``source``'s covers, each copied out into ``folder`` (the output's attached files
    ``first`` on are theirs); ``[]`` when one cannot be (an unusual codec, ffmpeg failing: logged)."""
    args: list[str] = []
    for n, cover in enumerate(covers):
        if cover.codec not in COVER_FILES:
            log.info("%s: cover art in %s cannot be attached to .mkv", source, cover.codec)
            return []
        ext, mime = COVER_FILES[cover.codec]
        name = "cover" if n == 0 else f"cover{n + 1}"
        picture = folder / f"{name}.{ext}"
        cmd = [*ffmpeg_quiet(), *input_args(source), "-map", f"0:{cover.index}", "-c", "copy", "-frames:v", "1"]
        cmd += ["-f", "image2", "-update", "1", output_arg(picture)]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
        if proc.returncode != 0 or not picture.is_file():
            log.info("%s: its cover art could not be copied out (%s)", source, proc.stderr.strip()[-200:])
            return []
        tags = [
            f"-metadata:s:t:{first + n}",
            f"mimetype={mime}",
            f"-metadata:s:t:{first + n}",
            f"filename={name}.{ext}",
        ]
        args += ["-attach", str(picture), *tags]
    return args


def dropped_note(source: Path, out: Path, dropped: frozenset[str]) -> str:
    """The warning for a clip written without some of its tracks: ``dropped`` kinds of :data:`KIND_WORDS`
    that ``out``'s container could not hold, and the output extension that keeps them all, if there is one
    (.mkv copies any subtitles, picture ones too, attached files and cover art; .mp4 holds cover art)."""
    kinds = [word for kind, word in KIND_WORDS.items() if kind in dropped]
    named = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds)
    them = "it" if dropped == {"covers"} else "them"
    keeper = ".mkv" if out.suffix.lower() != ".mkv" else ".mp4" if dropped == {"covers"} else None
    hint = f" ({keeper} keeps {them})" if keeper else ""
    return f"{source}: its {named} cannot be stored in {out.suffix}; written without {them}{hint}"
