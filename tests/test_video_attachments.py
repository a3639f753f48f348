"""colorsplash video on a clip with attached files (the fonts an anime episode's styled subtitles are drawn with,
in .mkv) and cover art: kept where the output's container holds them, named in a warning where it cannot. Every
clip is generated here (96x64, 3 frames, a 4-byte "font")."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import _header, ffmpeg_exe, probe  # noqa: E402

KEEP_ALL = SplashOptions(on_empty="copy", threshold=1.0)
ASS = (
    "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize\nStyle: Default,Tiny,20\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Text\nDialogue: 0,0:00:00.00,0:00:00.20,Default,Hello cat\n"
)


def run_ffmpeg(*args: str, data: bytes | None = None) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], input=data, check=True)


def episode(folder: Path, cover: bool) -> Path:
    """An .mkv as fansubs make them: H.264, styled (ASS) subtitles, their font attached, and cover art if
    ``cover`` (a JPEG attachment, which ffmpeg reads as a video stream marked attached pic)."""
    (folder / "subs.ass").write_text(ASS, encoding="utf-8")
    (folder / "tiny.ttf").write_bytes(b"\x00\x01\x00\x00")
    frames = np.full((3, 64, 96, 3), (200, 60, 40), np.uint8).tobytes()
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "96x64", "-framerate", "10", "-i", "pipe:0"]
    font = ["-attach", str(folder / "tiny.ttf"), "-metadata:s:t:0", "mimetype=application/x-truetype-font"]
    src = folder / "episode.mkv"
    run_ffmpeg(
        *raw, "-i", str(folder / "subs.ass"), "-map", "0", "-map", "1", "-c:v", "libx264", *font, str(src), data=frames
    )
    if not cover:
        return src
    run_ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=16x16", "-frames:v", "1", str(folder / "cover.jpg"))
    art = ["-attach", str(folder / "cover.jpg"), "-metadata:s:t:1", "mimetype=image/jpeg"]
    with_cover = folder / "with-cover.mkv"
    run_ffmpeg(
        "-i", str(src), "-map", "0", "-c", "copy", *art, "-metadata:s:t:1", "filename=cover.jpg", str(with_cover)
    )
    return with_cover


def test_an_episodes_fonts_and_cover_are_kept_in_mkv(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The attached font was dropped without a word (only sound, subtitles and timecode were carried): the styled
    subtitles of the output were drawn in a player's fallback font; the cover art went too. Both are carried into
    .mkv, silently: the font as it was, the cover as an attached picture again (not as a second video track, which
    is what ffmpeg makes of a mapped cover)."""
    src = episode(tmp_path, cover=True)
    out = tmp_path / "out.mkv"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    header = _header(out)
    assert "Attachment: ttf" in header and "tiny.ttf" in header and "Subtitle: ass" in header, header
    assert "(attached pic)" in header and "cover.jpg" in header and "image/jpeg" in header, header
    assert header.count("Video:") == 2, header  # the picture and the cover
    assert "cannot be stored" not in caplog.text
    assert probe(src).attachments == 1


@pytest.mark.parametrize(
    "suffix, said",
    [
        (
            ".mp4",
            "its attached files (such as fonts for styled subtitles) cannot be stored in .mp4; written without them"
            " (.mkv keeps them)",
        ),
        (
            ".mov",
            "its attached files (such as fonts for styled subtitles) and cover art cannot be stored in .mov; written"
            " without them (.mkv keeps them)",
        ),
        (
            ".avi",
            "its subtitle tracks, attached files (such as fonts for styled subtitles) and cover art cannot be "
            "stored in .avi; written without them (.mkv keeps them)",
        ),
    ],
)
def test_what_a_container_cannot_hold_is_named(
    suffix: str, said: str, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Attached files go where the container holds them (.mkv) and cover art too (.mkv, and .mp4 as its covr
    picture); where it cannot, they are named in the warning for dropped tracks."""
    src = episode(tmp_path, cover=True)
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    header = _header(out)
    assert f"{src}: {said}" in caplog.text
    assert [cover.index for cover in probe(src).covers] == [3]
    assert ("(attached pic)" in header) is (suffix == ".mp4"), header
    assert "Attachment:" not in header, header
    assert header.count("Video:") == 1 + (suffix == ".mp4"), header  # never the cover as a second picture track


def test_a_temporary_folder_is_made_only_for_a_cover_copied_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``carried`` makes its temporary folder only to copy a cover out for .mkv, not for every remux: a plain clip
    (no cover, no attachments), attachments alone, or an .mp4's cover (copied as a stream) need none."""
    import tempfile

    from colorsplash.runtime.video import video_extras
    from colorsplash.runtime.video.video_extras import Cover, carried

    made: list[str] = []
    real = tempfile.TemporaryDirectory

    def counting(*args: object, **kwargs: object) -> tempfile.TemporaryDirectory[str]:
        folder = real(dir=tmp_path)
        made.append(folder.name)
        return folder

    monkeypatch.setattr(video_extras.tempfile, "TemporaryDirectory", counting)
    clip, cover = tmp_path / "clip.mkv", (Cover(3, "mjpeg"),)
    for muxer, attachments, covers, expected in (
        ("matroska", 0, (), []),
        ("mp4", 0, (), []),
        ("matroska", 2, (), ["-map", "1:t"]),
        ("mp4", 0, cover, ["-map", "1:3"]),
    ):
        with carried(muxer, clip, attachments, covers) as (args, _):
            assert args == expected
    assert made == []
    with carried("matroska", clip, 0, cover):  # no such clip: the cover cannot be copied out, but it was tried
        pass
    assert len(made) == 1


def test_a_way_of_carrying_the_tracks_that_failed_is_named_as_the_one_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The remux tries ways of carrying the clip's tracks in turn (audio copied, else re-encoded); the line on one
    that failed named its own arguments as the way about to be tried: "failed (...); trying another way (-map 1:a
    -c:a copy)", when the audio was about to be re-encoded."""
    import logging
    from fractions import Fraction

    from colorsplash.runtime.video import video_encode
    from colorsplash.runtime.video.video_io import VideoInfo

    video_encode.input_args("warm")  # ffmpeg's list of demuxers, read once (a real run), before runs are faked
    commands: list[list[str]] = []

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        commands.append(cmd)
        said = "Could not write header (incorrect codec parameters ?)"
        return subprocess.CompletedProcess(cmd, 1 if len(commands) == 1 else 0, "", said)

    monkeypatch.setattr(video_encode.subprocess, "run", run)
    info = VideoInfo(tmp_path / "in.mp4", 32, 24, Fraction(15), "h264", "aac", 1.0)
    with caplog.at_level(logging.DEBUG, logger=video_encode.log.name):
        video_encode.mux_tracks(tmp_path / "v.mp4", info, tmp_path / "out.webm", video_encode.CONTAINERS[".webm"])
    assert [cmd[cmd.index("-c:a") + 1] for cmd in commands] == ["copy", "libopus"]
    assert caplog.messages == [
        "tracks into .webm failed with -map 1:a -c:a copy (Could not write header (incorrect codec parameters ?)); "
        "trying another way",
        "the sound (aac) re-encoded as Opus: .webm does not hold it",
    ]
    # by default (INFO) the routine retry is not shown, the re-encoding is (it printed the muxer's failure)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.INFO]


def test_a_clip_with_two_video_streams_is_splashed_from_the_first(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip with a second, larger video stream marked default (a dashcam's rear camera) had its frames decoded
    from that one (ffmpeg's own pick) and its rate and colours read from the first: 128x96 frames at the first
    stream's 10 fps, most of them dropped, and the output longer than the clip. Every decode reads the first, and a
    warning says the other is left out."""
    src = tmp_path / "dashcam.mp4"
    front = ["-f", "lavfi", "-i", "testsrc=s=96x64:r=10:d=1"]
    rear = ["-f", "lavfi", "-i", "testsrc=s=128x96:r=30:d=1"]
    pick = ["-map", "0:v", "-map", "1:v", "-disposition:v:0", "0", "-disposition:v:1", "default"]
    run_ffmpeg(*front, *rear, *pick, "-c:v", "libx264", "-preset", "ultrafast", str(src))
    result = splash_video(src, tmp_path / "out.mp4", model=tiny_onnx, options=KEEP_ALL)
    assert (result.width, result.height, result.frames, result.fps) == (96, 64, 10, 10)
    assert result.decode.dropped == 0 and probe(result.output).duration == pytest.approx(1.0, abs=0.05)
    assert "has 2 video streams; only the first (96x64) is splashed and written, the other is left out" in caplog.text


def test_a_sound_re_encoded_to_its_own_codec_is_not_said_to_be_unheld(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An AAC sound whose copy into .mp4 failed for another reason (a malformed stream) and was then re-encoded was
    said to be "the sound (aac) re-encoded as AAC: .mp4 does not hold it", which .mp4 does; the line names ffmpeg's
    reason instead."""
    import logging
    from fractions import Fraction

    from colorsplash.runtime.video import video_encode
    from colorsplash.runtime.video.video_io import VideoInfo

    video_encode.input_args("warm")  # ffmpeg's list of demuxers, read once (a real run), before runs are faked
    said = "Malformed AAC bitstream detected"

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1 if cmd[cmd.index("-c:a") + 1] == "copy" else 0, "", said)

    monkeypatch.setattr(video_encode.subprocess, "run", run)
    info = VideoInfo(tmp_path / "in.ts", 32, 24, Fraction(15), "h264", "aac", 1.0)
    with caplog.at_level(logging.INFO, logger=video_encode.log.name):
        video_encode.mux_tracks(tmp_path / "v.mp4", info, tmp_path / "out.mp4", video_encode.CONTAINERS[".mp4"])
    assert caplog.messages == [f"the sound (aac) could not be copied into .mp4 as it is ({said}); re-encoded as AAC"]
