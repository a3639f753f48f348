"""colorsplash video timing: exact frame rates, variable frame rates placed by their timestamps (every frame of
a fast stretch kept, one model run per recorded frame), frames of a burst left out and said."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import encode_raw, marked_frames, marker  # noqa: E402

from colorsplash.runtime.model.onnx_model import Model  # noqa: E402
from colorsplash.runtime.video.clip import FrameSplasher, Inferred, splash_video  # noqa: E402
from colorsplash.runtime.video.video_io import _exact_fps, probe, read_frames  # noqa: E402


def test_exact_fps() -> None:
    assert _exact_fps(29.97) == Fraction(30000, 1001)
    assert _exact_fps(23.98) == Fraction(24000, 1001)
    assert _exact_fps(25.0) == 25 and _exact_fps(12.5) == Fraction(25, 2) and _exact_fps(0) == 0


def test_variable_frame_rate_follows_timestamps(tmp_path: Path, tiny_onnx: Path) -> None:
    """Frames are placed by their timestamps: a clip whose second half runs at half the rate (as phones record in
    low light) comes out at the constant rate with each frame held for its own duration, not squeezed together
    (which would put the picture ahead of the sound)."""
    src = tmp_path / "vfr.mkv"
    n = 30  # frames 0-14 every 0.1 s, then 15-29 every 0.2 s: 4.5 s in all
    vfr = ["-vf", "settb=1/10,setpts='if(lt(N,15),N,15+(N-15)*2)'", "-fps_mode", "vfr"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv444p"]
    encode_raw(marked_frames(n), "10", vfr + x264, src)
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx)
    shown = [marker(f) for f in read_frames(probe(out))]
    assert not result.damaged and len(shown) in (43, 44, 45)  # 4.5 s at 10 fps (the last frame's end is a guess)
    shown_at = [i if i < 15 else 15 + (i - 15) * 2 for i in shown]  # when each shown frame was recorded, 0.1 s
    # Within one frame of its own time (ffmpeg rounds to the nearest slot); the end, whose last frame's length
    # the file does not say, is left out.
    assert all(abs(at - k) <= 1 for k, at in enumerate(shown_at[:-3])), shown
    assert sorted(set(shown)) == list(range(n))  # every frame is shown


def test_variable_rate_clip_keeps_every_frame_of_its_fast_stretch(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clip at 30 fps that drops to 15 fps (a phone in low light) averages 20 fps: written at the average, a
    third of the fast stretch's frames were dropped and motion juddered. It is written at its base rate (30):
    every frame is kept at its own time, and the slow stretch's repeats are not splashed again."""
    src = tmp_path / "vfr.mkv"
    n = 40  # frames 0-19 every 1/30 s, then 20-39 every 2/30 s
    frames = marked_frames(n)
    for i, frame in enumerate(frames):
        frame[:16, :16] = 20 + 5 * i  # steps of 5 levels: a step of 3 can vanish in the encoder's skip blocks

    def index(frame: np.ndarray) -> int:
        return round((float(frame[4:12, 4:12].mean()) - 20) / 5)

    vfr = ["-vf", "settb=1/30,setpts='if(lt(N,20),N,20+(N-20)*2)'", "-fps_mode", "vfr"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv444p"]
    encode_raw(frames, "30", vfr + x264, src)
    assert probe(src).fps == 30
    seen: list[int] = []
    real_infer = FrameSplasher.infer

    def counting_infer(self: FrameSplasher, frame: np.ndarray, model: Model | None = None) -> Inferred:
        seen.append(index(frame))
        return real_infer(self, frame, model)

    monkeypatch.setattr(FrameSplasher, "infer", counting_infer)
    splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    shown = [index(f) for f in read_frames(probe(tmp_path / "out.mp4"))]
    assert sorted(set(shown)) == list(range(n))  # every frame is shown
    shown_at = [i if i < 20 else 20 + (i - 20) * 2 for i in shown]  # when each shown frame was recorded, 1/30 s
    assert all(abs(at - k) <= 1 for k, at in enumerate(shown_at[:-3])), shown
    assert seen == list(range(n))  # one model run per recorded frame, none for the repeats


def test_frames_left_out_of_a_burst_are_said(tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Frames a millisecond apart (a burst no recording rate keeps) are left out of the constant-rate output, as a
    player shows them; the user is told how many, not told (README) that every frame is kept."""
    src = tmp_path / "burst.mkv"
    n = 24  # frames every 0.1 s, except 10-13, which come 1 ms after frame 9
    burst = "settb=1/1000,setpts='if(between(N,10,13),0.9+(N-9)/1000,if(gt(N,13),N-4,N)/10)/TB'"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv444p"]
    encode_raw(marked_frames(n), "10", ["-vf", burst, "-fps_mode", "vfr", "-enc_time_base", "filter", *x264], src)
    result = splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert result.decode.dropped > 0
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(f"{result.decode.dropped} of its frames came less than a frame interval" in m for m in lines), lines


def test_the_progress_bar_counts_the_frames_that_will_be_written(tmp_path: Path) -> None:
    """The bar's total was the file's duration times the rate: a clip whose sound runs on past its 10 frames (1 s
    of video, 2 s of sound) ended its bar at 10/20, 50 %. It is now the frames the clip's timestamps place on the
    timeline, as the reader does: a variable-rate clip's gap counts the repeats that fill it (10 frames, 13
    written)."""
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]
    long_sound = ["-f", "lavfi", "-t", "2", "-i", "sine=frequency=440:sample_rate=22050", "-c:a", "aac"]
    talking = encode_raw(marked_frames(10), "10", long_sound + x264, tmp_path / "sound-runs-on.mp4")
    gaps = ["-vf", "settb=1/10,setpts='N+if(gt(N,5),3,0)'", "-fps_mode", "vfr"]  # 0.3 s without a frame
    paused = encode_raw(marked_frames(10), "10", gaps + x264, tmp_path / "paused.mkv")
    for clip, frames in ((talking, 10), (paused, 13)):
        info = probe(clip)
        assert (sum(1 for _ in read_frames(info)), info.estimated_frames) == (frames, frames), clip.name
