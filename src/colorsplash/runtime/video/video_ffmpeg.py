"""Which ffmpeg binary the video commands run, and whether it is new enough.

The binary is the one :func:`imageio_ffmpeg.get_ffmpeg_exe` names: ``IMAGEIO_FFMPEG_EXE`` when that is set, else
the one shipped in the ``imageio-ffmpeg`` wheel (else a system one). The frame reader needs options of ffmpeg
6.1 (``-stats_enc_pre``, ``-enc_time_base filter``; :class:`colorsplash.runtime.video.video_reader.FrameReader`), which
older builds, such as a distribution's ffmpeg 5.1 or 6.0, reject with a bare "Unrecognized option" line. Each
binary's version is therefore checked once per process, before it is first used, with a message that names the
binary, the version needed and what to do. :func:`unreadable` says why ffmpeg could not open a clip.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path

INSTALL_HINT = "install the video extra: pip install 'colorsplash[video]' (or pip install imageio-ffmpeg)"

# The oldest ffmpeg whose command line the frame reader's options are in (major, minor).
MIN_FFMPEG = (6, 1)
# The oldest imageio-ffmpeg whose wheels bundle an ffmpeg that works here (0.8: 9.0.2; 0.6 and 0.7 bundle 7.0.2 on
# Linux, which crashes, signal 11, reading MPEG-TS clips (.ts, .mts from camcorders); 0.5.x bundled 4.2.2, too
# old); pyproject's video extra asks for it.
MIN_IMAGEIO_FFMPEG = "0.8"
_ENV = "IMAGEIO_FFMPEG_EXE"
_VERSION_RE = re.compile(r"^ffmpeg version n?(\d{1,2})\.(\d+)")


# Demuxers that open other files or the network as their content says (playlists, lists of files, stream
# descriptions) or run scripts: a clip from elsewhere must never reach them. An HLS playlist (.m3u8) or an
# ffconcat list named .mp4 made ffmpeg read the files it named into the output.
REFUSED_DEMUXERS = frozenset(
    {"hls", "applehttp", "concat", "dash", "imf", "sdp", "rtp", "rtsp", "sap", "avisynth", "vapoursynth"}
)
REFUSED_WORDS = "a playlist or list of other files (such as HLS .m3u8 or ffconcat), not a video"
_DEMUXER_RE = re.compile(r"^ ([DEd. ]{2,3}) (\S+)")


class VideoError(ValueError):
    """A clip could not be read or written; the message names the file and says what to do."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to run (see the module's note), checked once to be ffmpeg 6.1 or newer.

    Raises:
        VideoError: imageio-ffmpeg is missing, or the binary does not run or is older than :data:`MIN_FFMPEG`.
    """
    try:
        import imageio_ffmpeg
    except ImportError as err:
        raise VideoError(f"video needs the bundled ffmpeg; {INSTALL_HINT}") from err
    exe = str(imageio_ffmpeg.get_ffmpeg_exe())
    check_ffmpeg(exe, os.environ.get(_ENV) == exe)
    return exe


def ffmpeg_quiet() -> list[str]:
    """The start of every ffmpeg command here: the binary, no banner, no keyboard, errors only."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]


def input_args(path: str | Path) -> list[str]:
    """``-i path`` for a clip that may come from anyone: read as a local file only (``file:``, whatever its name
    says: no ``http:``, ``concat:``, ``subfile:``...), by a demuxer of one file (never one of
    :data:`REFUSED_DEMUXERS`, nor a device). A refused one makes ffmpeg fail with "not on whitelist"."""
    return [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        _allowed_demuxers(ffmpeg_exe()),
        "-i",
        f"file:{path}",
    ]


def output_arg(path: str | Path) -> str:
    """A file ffmpeg writes, named so that it is taken for a local file whatever its name: ffmpeg reads the start
    of a name up to a colon as a protocol (``take-2024-05-01T10:30:00.mp4`` failed, "Protocol not found")."""
    return f"file:{path}"


@functools.cache
def _allowed_demuxers(exe: str) -> str:
    """The comma-separated names of ``exe``'s demuxers (``ffmpeg -demuxers``, once per binary and process) less
    :data:`REFUSED_DEMUXERS` and devices (cameras, screens, ``lavfi``)."""
    proc = subprocess.run([exe, "-hide_banner", "-demuxers"], capture_output=True, text=True, errors="replace")
    names = []
    for line in proc.stdout.splitlines():
        m = _DEMUXER_RE.match(line)
        if m is None or "D" not in m.group(1) or "d" in m.group(1) or m.group(2) == "=":
            continue
        if not REFUSED_DEMUXERS.intersection(m.group(2).split(",")):
            names.append(m.group(2))
    if not names:
        raise VideoError(f"{exe}: 'ffmpeg -demuxers' listed no demuxers; {_what_to_do(os.environ.get(_ENV) == exe)}")
    return ",".join(names)


def ffmpeg_version(banner: str) -> tuple[int, int] | None:
    """(major, minor) from the first line of ``ffmpeg -version`` (``ffmpeg version 5.1.9-0+deb12u1``,
    ``ffmpeg version n9.0.2-17-g...``); ``None`` for a build that names no release (``N-112345-g...`` from git,
    date-named builds), which is taken to be recent."""
    m = _VERSION_RE.match(banner.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _what_to_do(from_env: bool) -> str:
    need = ".".join(map(str, MIN_FFMPEG))
    if from_env:
        return (
            f"it was chosen by {_ENV}: unset that variable to use the ffmpeg bundled with imageio-ffmpeg, "
            f"or point it at ffmpeg {need} or newer"
        )
    return (
        f"upgrade imageio-ffmpeg, whose wheels from {MIN_IMAGEIO_FFMPEG} on bundle a recent ffmpeg "
        f"(pip install -U 'imageio-ffmpeg>={MIN_IMAGEIO_FFMPEG}'), or install ffmpeg {need} or newer"
    )


@functools.cache
def check_ffmpeg(exe: str, from_env: bool) -> None:
    """Raise :class:`VideoError` unless ``exe`` runs and is ffmpeg :data:`MIN_FFMPEG` or newer (one ``-version``
    run per binary and process; ``from_env``: named by ``IMAGEIO_FFMPEG_EXE``, which the message then says)."""
    need = ".".join(map(str, MIN_FFMPEG))
    try:
        proc = subprocess.run([exe, "-version"], capture_output=True, text=True, errors="replace", check=False)
    except OSError as err:
        raise VideoError(f"{exe}: cannot run ffmpeg ({err.strerror}); {_what_to_do(from_env)}") from err
    banner = (proc.stdout.strip().splitlines() or [""])[0]
    if proc.returncode != 0:
        said = banner or (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise VideoError(f"{exe}: 'ffmpeg -version' failed ({said}); {_what_to_do(from_env)}")
    version = ffmpeg_version(banner)
    if version is not None and version < MIN_FFMPEG:
        raise VideoError(
            f"{exe}: ffmpeg {version[0]}.{version[1]} is too old for video, which needs ffmpeg {need} or newer "
            f"(its frame reader uses -stats_enc_pre and -enc_time_base filter); {_what_to_do(from_env)}"
        )


# An HLS playlist not named .m3u8 (a downloader's or browser's "video.mp4" that is the stream's playlist): ffmpeg
# only probes for playlists by name, and the HLS demuxer is refused anyway, so it said "Invalid data found".
_HLS_WORDS = (
    "an HLS playlist (a text file starting #EXTM3U that lists a stream's pieces), not a video, whatever its name"
)


def _head(path: Path) -> bytes:
    """The first 64 bytes of ``path`` (``b""`` when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(64)
    except OSError:
        return b""


def _is_hls_playlist(path: Path) -> bool:
    """Whether ``path`` starts as an HLS playlist does (``#EXTM3U``, after a byte-order mark or blank space)."""
    return _head(path).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"#EXTM3U")


def _is_mp4_start(path: Path) -> bool:
    """Whether ``path`` starts with an MP4/MOV box (``ftyp`` first, or a QuickTime ``wide``/``free``/``mdat``)."""
    return _head(path)[4:8] in (b"ftyp", b"wide", b"free", b"mdat", b"skip")


def unreadable(path: Path, text: str) -> VideoError:
    """Why ffmpeg opened no input from ``path`` (``text``: what it said), in words: a playlist or list of files
    (refused), an MP4/MOV that is not finished, or the last line ffmpeg said."""
    refused = "not on whitelist" in text  # a demuxer of REFUSED_DEMUXERS (or a protocol) was refused
    hls = not refused and _is_hls_playlist(path)  # not named .m3u8: ffmpeg found no demuxer at all
    if refused or hls:
        what, end = (_HLS_WORDS, " (save the video, not its playlist)") if hls else (REFUSED_WORDS, "")
        return VideoError(
            f"{path}: is {what}; ffmpeg would read the files or web addresses it names, so it is "
            f"refused: give the video file itself{end}"
        )
    if "moov atom not found" in text and _is_mp4_start(path):  # the index a writer adds when it finishes
        return VideoError(
            f"{path}: is an unfinished MP4/MOV: its index (moov atom) is missing, as in a file still being "
            "recorded, written or copied, or a recording that was cut off; wait until it is complete or copy "
            "it again"
        )
    last = text.strip().splitlines()[-1] if text.strip() else "no output"
    return VideoError(f"{path}: not a video file ffmpeg can read ({last.strip()})")


def last_line(text: str) -> str:
    """The last line of what ffmpeg (or imageio-ffmpeg) said, its ``===`` headings left out."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("===")]
    return lines[-1] if lines else "no details"


# ffmpeg 6+ ends a failed run with "Conversion failed!"; the reason is in a line before, as "... error code: -N (why)"
_DECODING_ERROR = re.compile(r"Decoding error: ([^\n]+)")
_ERROR_CODE = re.compile(r"error code: -?\d+ \(([^()]+)\)")


def ffmpeg_reason(text: str) -> str:
    """Why ffmpeg failed, from what it said (``text``): its decoder's "Decoding error: ..." reason, else the first
    worded reason of an "error code" line ("Invalid data found when processing input"; its threads end in any
    order, and one's code may have no words, "Error number -1145393733 occurred"), else its last line
    (:func:`last_line`)."""
    decoding = _DECODING_ERROR.search(text)
    if decoding:
        return decoding[1].strip()
    worded = [m[1] for m in _ERROR_CODE.finditer(text) if not m[1].startswith("Error number ")]
    return worded[0] if worded else last_line(text)
