"""colorsplash video on clips as cameras and phones make them: colour tags (untagged HD, HDR PQ/HLG), frame
timing (variable frame rate), and the tracks besides picture and sound (subtitles). Every clip is generated here
(tiny: 96x64 or one 1280x720 colour, a few frames)."""

from __future__ import annotations

import contextlib
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.video.clip import splash_video  # noqa: E402
from colorsplash.runtime.video.video_colour import Colour, header_colour  # noqa: E402
from colorsplash.runtime.video.video_io import _header, ffmpeg_exe, probe, read_frames  # noqa: E402
from colorsplash.runtime.video.video_reader import FrameReader  # noqa: E402
from colorsplash.runtime.video.video_timing import (  # noqa: E402
    FrameTimes,
    Timeline,
    packet_times,
    placed,
    timeline_rate,
)

RED, GREEN = (200, 60, 40), (40, 160, 60)
KEEP_ALL = SplashOptions(on_empty="copy", threshold=1.0)  # no subject anywhere: every frame kept in colour


def encode(frames: list[np.ndarray], out_args: list[str], path: Path, fps: str = "10") -> Path:
    """Pipe RGB uint8 frames into the bundled ffmpeg (not our writer); ``out_args`` come after the input."""
    h, w = frames[0].shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *raw, *out_args, str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def two_colours(h: int = 64, w: int = 96) -> np.ndarray:
    frame = np.empty((h, w, 3), np.uint8)
    frame[:] = RED
    frame[:, : w // 3] = GREEN
    return frame


def colours_of(frame: np.ndarray) -> np.ndarray:
    """The red and the green of a :func:`two_colours` frame as decoded (middle of each area), int."""
    h, w = frame.shape[:2]
    return np.array([frame[h // 2, 2 * w // 3], frame[h // 2, w // 6]], int)


# ---------------------------------------------------------------- colour


def test_header_colour_reads_ffmpegs_stream_line() -> None:
    line = "Stream #0:0: Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/bt2020/smpte2084, "
    assert header_colour(line + "progressive), 320x240") == Colour("bt2020nc", "bt2020", "smpte2084")
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(tv, bt709, progressive), 1280x720").hdr is None
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(tv, bt709), 1280x720") == Colour(*["bt709"] * 3)
    assert header_colour("Stream #0:0: Video: h264 (High), yuv420p(progressive), 1280x720") == Colour()
    assert header_colour("Stream #0:0: Video: h264, yuvj420p(pc, bt470bg/unknown/unknown)").matrix == "bt470bg"


def test_untagged_hd_clip_is_read_as_players_show_it(tmp_path: Path) -> None:
    """An HD clip without colour tags (screen recorders, older cameras) is BT.709 to every player, and the splash
    is written as BT.709: read as ffmpeg's default BT.601, the kept colours came out shifted (red 200,60,40 read
    as 186,46,41)."""
    frame = two_colours(720, 1280)
    untag = "setparams=colorspace=unknown:color_primaries=unknown:color_trc=unknown:range=unknown"  # as they write
    to_709 = f"scale=out_color_matrix=bt709:out_range=tv,format=yuv420p,{untag}"
    src = encode([frame, frame], ["-vf", to_709, "-c:v", "libx264", "-crf", "5"], tmp_path / "untagged.mp4")
    info = probe(src)
    got = colours_of(next(read_frames(info)))
    assert np.abs(got - np.array([RED, GREEN])).max() <= 4, got
    assert info.colour.matrix == "bt709" and info.colour.matrix_assumed


@pytest.mark.parametrize("transfer, name", [("smpte2084", "PQ"), ("arib-std-b67", "HLG")])
def test_hdr_clip_is_converted_to_sdr_with_a_note(
    transfer: str, name: str, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone's HDR clip (10-bit BT.2020, PQ or HLG) was read as if its signal were SDR: flat, washed-out
    colours (red 200,60,40 came out 104,67,47), written tagged as SDR, without a word. Its colours are now
    tone-mapped to SDR BT.709 (those within SDR range stay close) and a warning says the output is SDR."""
    frame = two_colours()
    to_hdr = f"zscale=t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=100,format=yuv420p10le"
    tag_sdr = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=gbr"
    x264 = ["-c:v", "libx264", "-crf", "5"]
    src = encode([frame] * 3, ["-vf", f"{tag_sdr},{to_hdr}", *x264], tmp_path / f"hdr_{name}.mkv")
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    got = colours_of(next(read_frames(probe(out))))
    assert np.abs(got - np.array([RED, GREEN])).max() <= 16, got
    assert result.frames == 3 and probe(src).colour.hdr == name
    assert f"HDR ({name}, bt2020 primaries) video is converted to SDR BT.709" in caplog.text


@pytest.mark.parametrize(
    "transfer, untag",
    [("smpte2084", "color_primaries=unknown"), ("smpte2084", "colorspace=unknown"), ("bt709", "color_trc=unknown")],
)
def test_hdr_or_bt2020_clip_with_a_tag_missing_is_converted(
    transfer: str, untag: str, tmp_path: Path, tiny_onnx: Path
) -> None:
    """An HDR clip whose primaries or matrix are untagged, or a BT.2020 one without its transfer (as some editors
    and converters write them), failed with "decoding failed ...; the file may be truncated or corrupt": zscale
    cannot convert from an unknown colour space. The untagged part is taken as BT.2020's (BT.709's curve for the
    transfer) and the colours come out right."""
    frame = two_colours()
    to_2020 = f"zscale=t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=100,format=yuv420p10le,setparams={untag}"
    tag_sdr = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=gbr"
    src = encode([frame] * 3, ["-vf", f"{tag_sdr},{to_2020}", "-c:v", "libx264", "-crf", "5"], tmp_path / "in.mkv")
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    got = colours_of(next(read_frames(probe(out))))
    assert result.frames == 3 and np.abs(got - np.array([RED, GREEN])).max() <= 16, got


# ---------------------------------------------------------------- frame timing


def times(starts: list[float]) -> FrameTimes:
    """:class:`FrameTimes` of frames starting at ``starts`` (seconds)."""
    start = np.array(starts, dtype=np.float64)
    return FrameTimes(start)


def jitter(n: int, ticks: int) -> np.ndarray:
    """A fixed pseudo-random jitter of -ticks..ticks for each of ``n`` frames (the first frame: 0)."""
    values = np.random.default_rng(7).integers(-ticks, ticks + 1, n)
    values[0] = 0
    return values


def test_timeline_rate_is_a_rate_the_clip_was_recorded_at() -> None:
    """The rate a clip is written at is one it was recorded at, and keeps every frame: ffmpeg's average (29.24 fps
    for a 29.97 clip with three dropped frames, 29.09 for a jittery Android clip) lost frames and was a rate
    nothing records at, and its base-rate guess said 29.97 for an iPhone's 30 fps and 90k (the timestamp unit)
    for Android's."""
    k = np.arange(120)
    ntsc = (k + (k >= 40) * 2 + (k >= 75)) * 1001 / 30000  # tb 1/30000, three frames dropped
    assert timeline_rate(Fraction(2924, 100), times(list(ntsc))) == Fraction(30000, 1001)
    iphone = (np.where(k < 60, k * 20, 1200 + (k - 60) * 25) + jitter(120, 2)) / 600  # 30 then 24 fps, 1/600
    assert timeline_rate(Fraction(2689, 100), times(list(iphone))) == 30
    android = ((k + k // 23) * 3000 + jitter(120, 225)) / 90000  # +-2.5 ms, a frame dropped every 23
    assert timeline_rate(Fraction(2909, 100), times(list(android))) == 30
    slow60 = np.where(k < 60, k, np.where(k < 90, 60 + (k - 60) * 3, 150 + (k - 90))) / 60  # 60, then 20 fps
    assert timeline_rate(Fraction(4265, 100), times(list(slow60))) == 60
    assert timeline_rate(Fraction(15), times(list(k / 15))) == 15  # constant rates are kept, usual or not
    assert timeline_rate(Fraction(30000, 1001), times(list(k * 1001 / 30000))) == Fraction(30000, 1001)
    assert timeline_rate(Fraction(25), times(list(k / 25))) == 25  # interlaced 25 fps (50 fields) too
    assert timeline_rate(Fraction(24), FrameTimes(np.zeros(1))) == 24


def test_timeline_rate_takes_a_usual_rate_just_under_an_average_from_millisecond_times() -> None:
    """Audit (min deps): ffmpeg 7.0 (imageio-ffmpeg 0.6/0.7) writes a 30 fps Matroska clip with slower stretches
    so that ffmpeg says it averages 30.30 fps (times in ms: 33, 34); only the rates above it were tried and the clip
    was written at 48 fps, every frame held for a few slots. 30 loses no frame; a clip at its own rate keeps it."""
    k = np.arange(40)
    ms = np.round(np.where(k < 20, k, 20 + (k - 20) * 2) / 30, 3)  # 30 fps, then 15 fps, in milliseconds
    assert timeline_rate(Fraction(303, 10), times(list(ms))) == 30
    assert timeline_rate(Fraction(303, 10), times(list(k * 10 / 303))) == Fraction(303, 10)  # constant: kept


def test_frames_lost_counts_what_a_constant_rate_drops() -> None:
    assert placed(times([i / 30 for i in range(30)]), Fraction(30)).dropped == 0
    assert 13 <= placed(times([i / 30 for i in range(30)]), Fraction(15)).dropped <= 15  # ffmpeg lets frames drift
    assert placed(times([i / 30 for i in range(30)]), Fraction(60)).dropped == 0


def test_clip_with_dropped_frames_keeps_its_rate_and_every_frame(tmp_path: Path, tiny_onnx: Path) -> None:
    """A 29.97 fps clip that dropped two frames (its average: 29.0 fps) was written at 29.0 fps, where one of
    its frames was lost and the others drifted by up to two frames. It is written at 29.97 with every frame."""
    n = 60
    frames = [two_colours() for _ in range(n)]
    for i, frame in enumerate(frames):
        frame[:16, :16] = 10 + 4 * i
    drops = "setpts='(N+gte(N,20)+gte(N,40))*1001/TB/30000'"
    args = ["-vf", f"settb=1/30000,{drops}", "-fps_mode", "passthrough", "-enc_time_base", "1/30000"]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "5", "-pix_fmt", "yuv444p"]
    src = encode(frames, [*args, *x264, "-video_track_timescale", "30000"], tmp_path / "drops.mp4", "30000/1001")
    assert len(packet_times(src)) == n
    info = probe(src)
    assert info.fps == Fraction(30000, 1001), info.fps
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    shown = [round((float(f[4:12, 4:12].mean()) - 10) / 4) for f in read_frames(probe(out))]
    assert sorted(set(shown)) == list(range(n)) and len(shown) == n + 2


def test_timeline_holds_each_frame_until_the_next_one_starts() -> None:
    """The constant-rate placement goes by the frames' own times: a frame lasts until the next one starts (ffmpeg
    took its packet's duration, which an MP4 with B-frames gives in decoding order)."""
    timeline = Timeline(60.0)
    starts = [0, 1 / 60, 0.75, 0.75 + 1 / 60, None]  # a 16 ms frame, a still 0.73 s, two more; one without a time
    copies = [timeline.push(s) for s in starts] + [timeline.finish()]
    assert copies == [0, 1, 44, 1, 1, 1] and timeline.slots == 48
    assert (timeline.filled, timeline.dropped, timeline.misplaced) == (43, 0, 0)
    burst = Timeline(30.0)  # 100 frames a second for 0.2 s: two of three share a slot
    copies = [burst.push(i / 100) for i in range(20)] + [burst.finish()]
    assert (burst.dropped, burst.filled, sum(copies), burst.slots) == (12, 0, 8, 8)  # 0.19 s, 1.1 slots of drift
    late = Timeline(30.0)  # a video that starts 0.5 s after the sound: its first frame fills the start
    assert [late.push(0.5), late.push(0.5 + 1 / 30), late.finish()] == [0, 16, 1] and late.filled == 15


def test_timeline_rounds_copies_and_lets_the_last_frame_last_the_gap_before_it() -> None:
    """At 10 slots a second a frame lasting 0.26 s is shown 3 times (2.6 slots, rounded) and the last frame lasts
    as long as the gap before it (2.6 slots from 0.4 slots early: twice)."""
    timeline = Timeline(10.0)
    assert [timeline.push(0.0), timeline.push(0.26), timeline.finish()] == [0, 3, 2]
    back = Timeline(1.0)  # a frame starting before the one before: that one lasts no time (not less)
    assert [back.push(0.0), back.push(5.0), back.push(3.0)] == [0, 5, 1] and back.dropped == 0
    unknown = Timeline(1.0)  # frames without a time: one slot after the one before each
    assert [unknown.push(0.0), unknown.push(None), unknown.push(None), unknown.push(5.0)] == [0, 1, 1, 3]
    assert unknown.misplaced == 0


def test_a_frame_drifting_exactly_the_limit_is_not_misplaced() -> None:
    """Frames every half slot drift back half a slot each: the one at 1.5 slots early (:data:`DRIFT`) is still in
    place, the next (2 slots) is dropped; a first frame late in the file (the sound first) is never misplaced."""
    drift = Timeline(1.0)
    copies = [drift.push(t / 2) for t in range(6)]
    assert copies == [0, 1, 1, 1, 1, 0] and (drift.misplaced, drift.dropped) == (0, 1)
    late = Timeline(30.0)
    assert [late.push(0.5), late.push(0.5 + 1 / 30), late.finish()] == [0, 16, 1] and late.misplaced == 0


def test_timeline_rate_of_an_unknown_average_or_a_short_constant_clip_is_its_own() -> None:
    """An average of 0 (unknown) stays unknown; five frames exactly on the 29.97 grid keep 29.97, although 30 fits
    them nearly as well (the whole rate is preferred only between rates the times choose alike); a 60 fps average
    of 120 fps bursts stays 60 (the fast rates are for clips already faster than 60)."""
    k = np.arange(5)
    assert timeline_rate(Fraction(0), times(list(k / 30))) == 0
    assert timeline_rate(Fraction(30000, 1001), times(list(k * 1001 / 30000))) == Fraction(30000, 1001)
    bursts = np.array([g * 16 + i for g in range(10) for i in range(8)]) / 120  # 60 drops 20 of them, 120 none
    assert timeline_rate(Fraction(60), times(list(bursts))) == 60


def test_jittery_times_between_29_97_and_30_read_as_30() -> None:
    """Times jittering by 0.05 frames around the 29.97 grid fit it a little better than 30 (0.050 against 0.056
    frames): not clearly (half the distance), so the whole rate is taken."""
    from colorsplash.runtime.video.video_timing import _best_fit, misfit

    k = np.arange(12)
    jittery = times(list((k + np.where(k % 2, 0.05, -0.05)) * 1001 / 30000))
    assert misfit(jittery, Fraction(30000, 1001)) < misfit(jittery, Fraction(30))
    assert _best_fit(jittery, [Fraction(30000, 1001), Fraction(30)]) == 30
    exact = times(list(np.arange(120) * 1001 / 30000))  # clearly on the 29.97 grid: 29.97
    assert _best_fit(exact, [Fraction(30000, 1001), Fraction(30)]) == Fraction(30000, 1001)


def test_a_rate_that_shows_frames_late_is_not_chosen() -> None:
    """A screen recording writes frames on a 60 Hz grid, in bursts between stills. At 50 fps no frame of an
    11-frame burst is lost (ffmpeg lets frames drift up to 1.1 slots) but its last ones come two slots (40 ms)
    late: 60 is the rate."""
    starts = np.array([b * 60 + j for b in range(4) for j in range(11)]) / 60
    assert timeline_rate(Fraction(1389, 100), times(list(starts))) == 60


def test_mp4_with_b_frames_and_variable_rate_keeps_every_frame_at_its_time(tmp_path: Path) -> None:
    """A screen recording in MP4 (x264 with B-frames, frames on a 60 Hz grid only when the screen changes) lost
    most of its frames: ffmpeg's constant-rate mode held a 16 ms frame for its packet's duration, the step
    between packets in decoding order (up to 0.75 s), and dropped the frames after it to catch up (30 of 40
    here, at 10 fps). Each frame is now shown from its own time until the next one's."""
    n = 40
    frames = [two_colours() for _ in range(n)]
    for i, frame in enumerate(frames):
        frame[:16, :16] = 10 + 5 * i

    def slot(k: int) -> int:  # when frame k is shown, 1/60 s: four stills, a burst, three stills, a steady stretch
        return k * 30 if k < 4 else 87 + k if k < 20 else 107 + (k - 19) * 30 if k < 23 else 175 + k + (k - 22) // 3

    pts = "if(lt(N,4),N*30,if(lt(N,20),87+N,if(lt(N,23),107+(N-19)*30,175+N+floor((N-22)/3))))*1500"
    args = ["-vf", f"settb=1/90000,setpts='{pts}'", "-fps_mode", "passthrough", "-enc_time_base", "filter"]
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-crf", "5", "-pix_fmt", "yuv444p"]
    src = encode(frames, [*args, *x264, "-video_track_timescale", "90000"], tmp_path / "screen.mp4", "60")
    packets = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(src), "-c", "copy", "-f", "framecrc", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split(",") for line in packets.splitlines() if not line.startswith("#")]
    stored = [int(row[2]) for row in rows]
    assert stored != sorted(stored), "no B-frames: the packets are stored in the order they are shown"
    # ffmpeg 7.0's MP4 muxer (imageio-ffmpeg 0.6, 0.7) ends the edit list before the last frame, flagging its packet
    # discarded (F=0x4): players show one frame fewer, and so does the reader.
    n -= sum(int(row[-1].strip().removeprefix("F="), 16) & 4 > 0 for row in rows if "F=" in row[-1])
    assert n >= 39, packets
    info = probe(src)
    assert info.fps == 60, info.fps
    with contextlib.closing(FrameReader(info)) as reader:
        shown = [round((float(f[4:12, 4:12].mean()) - 10) / 5) for f in reader]
    assert sorted(set(shown)) == list(range(n)), shown
    assert all(abs(shown.index(k) - slot(k)) <= 1 for k in range(n)), shown
    assert (reader.report.filled, reader.report.dropped) == (len(shown) - n, 0)


def test_frame_times_that_never_come_are_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg writes each frame's time to a file in the temporary folder; where it cannot (a full disk, here
    /dev/full) the reader waited for ever for a line that never came, ffmpeg waiting on the pipe meanwhile. It
    gives up after TIME_WAIT seconds with an error that says what to check."""
    import threading

    from colorsplash.runtime.video import video_reader

    src = encode([np.full((64, 96, 3), 10 * k, np.uint8) for k in range(20)], ["-c:v", "libx264"], tmp_path / "a.mp4")
    real_popen = subprocess.Popen

    def full_disk(cmd: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        at = cmd.index("-stats_enc_pre") + 1
        return real_popen([*cmd[:at], "file:/dev/full", *cmd[at + 1 :]], **kwargs)  # type: ignore[call-overload]

    info = probe(src)
    monkeypatch.setattr(video_reader.subprocess, "Popen", full_disk)
    monkeypatch.setattr(video_reader, "TIME_WAIT", 0.5, raising=False)
    reader = FrameReader(info)
    reader._times_path.touch()  # made by ffmpeg, which then cannot write to it
    outcome: list[BaseException | int] = []

    def read_all() -> None:
        try:
            outcome.append(sum(1 for _ in reader))
        except Exception as err:  # noqa: BLE001 (handed to the test thread)
            outcome.append(err)

    worker = threading.Thread(target=read_all, daemon=True)
    worker.start()
    worker.join(timeout=20)
    waiting = worker.is_alive()
    reader.close()  # stops ffmpeg, which also ends a reader still waiting
    worker.join(timeout=5)
    assert not waiting, "the reader was still waiting for the frame times after 20 s"
    assert isinstance(outcome[0], video_reader.VideoError), outcome
    assert "temporary folder full" in str(outcome[0]) and str(src) in str(outcome[0])


def combing(frame: np.ndarray) -> float:
    """How much neighbouring lines differ against lines two apart (the same field): about 1 for a progressive
    picture, several times that for two fields of a moving picture woven together."""
    f = frame.astype(float).mean(axis=2)
    return float(np.abs(f[1:-1] - f[:-2]).mean() / (np.abs(f[2:] - f[:-2]).mean() + 1e-6))


def test_interlaced_clip_is_deinterlaced(tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An interlaced clip (camcorders, broadcast: 1080i50, 480i) was splashed as decoded, each frame two fields
    from different moments woven line by line: a moving subject came out combed. It is deinterlaced (bwdif) at
    its frame rate, with a note."""
    caplog.set_level("INFO")
    fields = []
    for i in range(12):  # 50 fields a second: a bar moving 6 pixels a field
        frame = np.full((64, 96, 3), 40, np.uint8)
        frame[:, 10 + 6 * i : 26 + 6 * i] = (220, 200, 60)
        fields.append(frame)
    weave = ["-vf", "tinterlace=interleave_top,setfield=tff", "-flags", "+ildct+ilme", "-x264opts", "tff=1"]
    src = encode(fields, [*weave, "-c:v", "libx264", "-crf", "5", "-pix_fmt", "yuv420p"], tmp_path / "i.mp4", "50")
    info = probe(src)
    assert info.field_order == "top first" and info.fps == 25
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    assert result.frames == 6 and result.fps == 25
    assert max(combing(f) for f in read_frames(probe(out))) < 1.5
    assert "interlaced video (top first) is deinterlaced" in caplog.text


def test_progressive_clip_is_not_deinterlaced(tmp_path: Path) -> None:
    src = encode([two_colours()] * 2, ["-c:v", "libx264"], tmp_path / "p.mp4")
    assert probe(src).field_order == ""


# ---------------------------------------------------------------- tracks besides picture and sound


@pytest.mark.parametrize("suffix, kept", [(".mp4", "mov_text"), (".mkv", "subrip"), (".avi", None)])
def test_subtitle_tracks_are_carried(
    suffix: str, kept: str | None, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip's subtitles were silently dropped (only audio was carried over). They are copied, converted to the
    output's text format where it cannot hold them as they are (MP4's mov_text into .mkv: SubRip), or, where the
    container holds no subtitles (.avi), left out with a warning. The sound comes along either way."""
    srt = tmp_path / "captions.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nHello cat\n", encoding="utf-8")
    sound = ["-f", "lavfi", "-t", "0.3", "-i", "sine=sample_rate=22050"]
    tracks = ["-i", str(srt), "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:a", "aac", "-c:s", "mov_text"]
    frames = [two_colours()] * 3
    src = encode(frames, [*sound, *tracks, "-c:v", "libx264", "-pix_fmt", "yuv444p"], tmp_path / "subs.mp4")
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    header = _header(out)
    assert ("Subtitle: " + kept in header) if kept else ("Subtitle:" not in header), header
    assert "Audio:" in header
    assert ("cannot be stored in .avi" in caplog.text) is (kept is None)


def test_avi_with_sound_indexes_each_frame_once(tmp_path: Path, tiny_onnx: Path) -> None:
    """An .avi with sound listed 61 frames for 60 (ffprobe's nb_frames, players' frame counts): adding the sound
    shifted the picture by the AAC priming (21 ms), and the AVI muxer rounded that into an empty frame after the
    first, putting every later frame a frame late. Each frame is now at its own place."""
    sound = ["-f", "lavfi", "-t", "2", "-i", "sine=sample_rate=48000", "-c:a", "aac", "-shortest"]
    src = encode([two_colours()] * 20, [*sound, "-c:v", "libx264"], tmp_path / "in.mp4")
    out = tmp_path / "out.avi"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    starts = packet_times(out).start
    assert "Audio:" in _header(out)
    assert np.allclose(starts, np.arange(20) / 10), starts


@pytest.mark.parametrize("suffix, track", [(".mov", True), (".mp4", True), (".mkv", False)])
def test_timecode_is_kept(suffix: str, track: bool, tmp_path: Path, tiny_onnx: Path) -> None:
    """A camera's MOV clip starts at a timecode (a tmcd data track), which editors line clips up by; it was
    dropped (only sound and subtitles were carried, and only when there were any). It is kept: a tmcd track in
    .mov/.mp4, a tag in .mkv."""
    src = encode([two_colours()] * 3, ["-c:v", "libx264", "-timecode", "01:02:03:04"], tmp_path / "tc.mov", "25")
    assert probe(src).timecode == "01:02:03:04"
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx, options=KEEP_ALL)
    header = _header(out)
    assert "01:02:03:04" in header and ("(tmcd" in header) is track, header
