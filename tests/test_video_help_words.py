"""``colorsplash video --help`` listed ``transparent (PNG cut-out)`` among the effects, which video refuses, and
spoke of "the photo" for ``--point``; it and the README said the audio is copied where it is re-encoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorsplash.cli import main


def test_video_help_says_transparent_is_refused_and_speaks_of_frames(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["video", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "transparent (PNG cut-out)" not in text
    assert "transparent (a photo's PNG cut-out) is refused for a clip" in text
    point = text.split("--point X,Y ")[-1].split("--on-empty")[0]
    assert "frame" in point and "photo" not in point, point


def test_splash_help_still_offers_transparent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["splash", "--help"]) == 0
    assert "transparent (PNG cut-out)" in " ".join(capsys.readouterr().out.split())


def test_the_help_and_readme_say_when_the_sound_is_re_encoded(tmp_path: Path, tiny_onnx: Path) -> None:
    """``video --help`` said "the audio and subtitle tracks are copied" and the README "Audio is copied", but a
    phone clip's AAC sound written to .webm is re-encoded as Opus (WebM holds Opus or Vorbis only): both say so."""
    pytest.importorskip("imageio_ffmpeg")
    from helpers.clips import moving_subject, write_clip

    from colorsplash.runtime.video.clip import splash_video
    from colorsplash.runtime.video.video_io import probe

    src = write_clip(tmp_path / "phone.mp4", moving_subject(n=3)[0], audio=True)
    out = splash_video(src, tmp_path / "out.webm", model=tiny_onnx).output
    assert (probe(src).audio_codec, probe(out).audio_codec) == ("aac", "opus")
    help_text = " ".join(parser_help("video").split())
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "audio re-encoded where the output cannot hold it: AAC into .webm becomes Opus" in help_text
    assert "Audio is copied, re-encoded where the output cannot hold it (AAC into `.webm` becomes Opus" in readme


def parser_help(verb: str) -> str:
    """``colorsplash VERB --help`` as printed."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([verb, "--help"]) == 0
    return out.getvalue()
