"""colorsplash video: round trips keep size, frame rate, frame count and audio; smoothing steadies the alpha;
bad inputs give one clear line. Every clip is generated here (tiny: 96x64, 20 frames)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.onnx_model import Model, load_model  # noqa: E402
from colorsplash.runtime.options import SplashOptions  # noqa: E402
from colorsplash.runtime.temporal import NO_SMOOTHING, SmoothingConfig, TemporalSmoother  # noqa: E402
from colorsplash.runtime.video import FrameSplasher, Inferred, splash_video  # noqa: E402
from colorsplash.runtime.video_io import (  # noqa: E402
    VideoError,
    _exact_fps,
    _header,
    ffmpeg_exe,
    probe,
    read_frames,
)

H, W, N = 64, 96, 20


# ---------------------------------------------------------------- clip generation


def encode_raw(frames: list[np.ndarray], fps: str, out_args: list[str], path: Path) -> Path:
    """Pipe RGB uint8 frames into ffmpeg directly (not our writer) as raw video at ``fps``; ``out_args`` are the
    options after the input (extra inputs, filters, codecs)."""
    h, w = frames[0].shape[:2]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *raw, *out_args, str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return path


def write_clip(path: Path, frames: list[np.ndarray], fps: str = "10", audio: bool = False) -> Path:
    """Encode RGB uint8 frames with ffmpeg directly (not our writer), optionally with a 440 Hz sine track."""
    args: list[str] = []
    if audio:
        seconds = len(frames) / float(Fraction(fps))
        args += ["-f", "lavfi", "-t", f"{seconds:.3f}", "-i", "sine=frequency=440:sample_rate=22050", "-c:a", "aac"]
    if path.suffix == ".avi":
        args += ["-c:v", "mpeg4", "-q:v", "2"]
    else:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv444p"]
    return encode_raw(frames, fps, args, path)


def background(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """A fixed, smooth, textured greenish background (RGB uint8)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(20, 110, (h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
    big = np.kron(small, np.ones((8, 8, 1), np.uint8))[:h, :w]
    big[..., 1] = np.clip(big[..., 1].astype(int) + 40, 0, 255)
    return big


def blob_mask(cx: float, cy: float, h: int = H, w: int = W, r: float = 14) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r).astype(np.uint8)


def moving_subject(n: int = N, step: float = 2.0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """An orange disc moving right over a fixed background; returns frames and their true masks."""
    bg = background()
    frames, masks = [], []
    for i in range(n):
        mask = blob_mask(24 + step * i, H / 2)
        frame = bg.copy()
        frame[mask == 1] = (230, 120, 30)
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def pan_over_photo(n: int = N, h: int = H, w: int = W) -> list[np.ndarray]:
    """A window sliding across skimage's chelsea cat photo (a real photo, some motion in every frame)."""
    data = pytest.importorskip("skimage.data")
    photo = data.chelsea()[60 : 60 + h * 2 : 2, 80 : 80 + (w + 3 * n) * 2 : 2]  # half size, then pan 3 px per frame
    return [np.ascontiguousarray(photo[:, 3 * i : 3 * i + w]) for i in range(n)]


@pytest.fixture()
def orange_is_subject(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the model a perfect orange-disc detector (probability from the pixels' colour)."""

    def fake(self: Model, image: np.ndarray) -> np.ndarray:
        s = self.config.input_size
        import cv2

        small = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
        return np.clip((small[..., 0] - small[..., 2] - 60) / 80, 0, 1).astype(np.float32)

    monkeypatch.setattr(Model, "predict_lowres", fake)


def frame_count(path: Path) -> int:
    return sum(1 for _ in read_frames(probe(path)))


# ---------------------------------------------------------------- round trips


def test_round_trip_keeps_size_fps_and_frame_count(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "moving.mp4", moving_subject()[0], fps="12")
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx)
    info = probe(out)
    assert (info.width, info.height, info.fps) == (W, H, Fraction(12))
    assert frame_count(out) == N == result.frames
    assert not info.has_audio and not result.audio
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moving.mp4", "out.mp4"]  # no temp files left


def test_audio_track_is_kept(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "with audio.mp4", moving_subject()[0], audio=True)
    out = tmp_path / "out.mkv"
    assert main(["-q", "video", str(src), "-o", str(out), "--model", str(tiny_onnx)]) == 0
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac"  # copied, not re-encoded
    assert frame_count(out) == N
    assert abs(info.duration - N / 10) < 0.15


def test_audio_reencoded_when_container_cannot_hold_it(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=10)[0], audio=True)
    out = tmp_path / "out.webm"  # WebM accepts only Opus/Vorbis audio: AAC must be re-encoded
    splash_video(src, out, model=tiny_onnx)
    info = probe(out)
    assert info.audio_codec == "opus" and frame_count(out) == 10


def test_pan_over_real_photo_odd_size_and_ntsc_rate(tmp_path: Path, tiny_onnx: Path) -> None:
    frames = [f[:63, :95] for f in pan_over_photo()]  # odd sizes need 4:4:4 in H.264
    src = write_clip(tmp_path / "pan.mkv", [np.ascontiguousarray(f) for f in frames], fps="30000/1001")
    out = tmp_path / "pan out.mp4"
    splash_video(src, out, model=tiny_onnx, options=SplashOptions(effect="sepia"))
    info = probe(out)
    assert (info.width, info.height, info.fps) == (95, 63, Fraction(30000, 1001))
    assert frame_count(out) == N


def test_anamorphic_clip_keeps_its_pixel_aspect_ratio(tmp_path: Path, tiny_onnx: Path) -> None:
    """A clip of 4:3 pixels (DV, DVD, HDV, some phones) is written with 4:3 pixels: shown 16:9, not squeezed."""
    x264 = ["-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10"]
    src = encode_raw(moving_subject(n=3)[0], "10", x264, tmp_path / "anamorphic.mp4")
    assert probe(src).sar == Fraction(4, 3)
    for suffix in (".mp4", ".webm"):
        out = tmp_path / f"out{suffix}"
        splash_video(src, out, model=tiny_onnx)
        assert probe(out).sar == Fraction(4, 3), suffix
    assert probe(write_clip(tmp_path / "square.mp4", moving_subject(n=2)[0])).sar == 1


@pytest.mark.parametrize("size, tag, matrix", [((H, W), "smpte170m", "bt601"), ((720, 1280), "bt709", "bt709")])
def test_colour_matrix_is_tagged_as_converted(
    size: tuple[int, int], tag: str, matrix: str, tmp_path: Path, tiny_onnx: Path
) -> None:
    """The stream's colour tags name the matrix its frames were converted with (BT.601 below HD, BT.709 from
    720p up, TV range), so a player decoding by the tags shows the input's colours."""
    h, w = size
    bars = np.zeros((h, w, 3), np.uint8)
    for i, colour in enumerate([(230, 200, 20), (20, 200, 220), (40, 190, 40), (200, 30, 200), (220, 30, 30)]):
        bars[:, i * w // 5 : (i + 1) * w // 5] = colour
    # The input names its matrix: an untagged one is read by the matrix players assume for its size (BT.709 for
    # HD), which ffmpeg's default RGB -> YUV (BT.601) is not.
    tagged = f"scale=out_color_matrix={matrix}:out_range=tv,format=yuv444p,setparams=colorspace={tag}:range=tv"
    src = encode_raw([bars, bars], "10", ["-vf", tagged, "-c:v", "libx264", "-crf", "10"], tmp_path / "bars.mkv")
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx, options=SplashOptions(on_empty="copy", threshold=1.0))
    assert f"yuv420p(tv, {tag}, progressive)" in _header(out)
    scale = ["-vf", f"scale=in_color_matrix={matrix}:in_range=tv", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(out), "-frames:v", "1", *scale], capture_output=True, check=True
    ).stdout
    got = np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(int)
    inner = np.concatenate([np.arange(i * w // 5 + 4, (i + 1) * w // 5 - 4) for i in range(5)])
    assert np.abs(got[4:-4, inner] - bars[4:-4, inner].astype(int)).mean() < 2.5


@pytest.mark.parametrize("suffix, warned", [(".mp4", True), (".webm", False)])
def test_odd_size_h264_is_warned_about(
    suffix: str, warned: bool, tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An odd size is kept; H.264 can keep it only as 4:4:4, which many players cannot play: a warning says so
    and names the way out (.webm, whose VP9 4:2:0 keeps odd sizes)."""
    frames = [np.ascontiguousarray(f[:63, :95]) for f in moving_subject(n=3)[0]]
    src = write_clip(tmp_path / "odd.mkv", frames)
    out = tmp_path / f"out{suffix}"
    splash_video(src, out, model=tiny_onnx)
    assert (probe(out).width, probe(out).height) == (95, 63)
    assert ("95x63 has an odd side" in caplog.text and ".webm" in caplog.text) is warned


def test_output_is_a_splash(tmp_path: Path, tiny_onnx: Path, orange_is_subject: None) -> None:
    frames, masks = moving_subject()
    src = write_clip(tmp_path / "in.mp4", frames)
    out = tmp_path / "out.mp4"
    splash_video(src, out, model=tiny_onnx)
    for i, frame in enumerate(read_frames(probe(out))):
        f = frame.astype(int)
        spread = f.max(axis=2) - f.min(axis=2)  # 0 for grey pixels
        inner = blob_mask(24 + 2.0 * i, H / 2, r=10) == 1
        outer = blob_mask(24 + 2.0 * i, H / 2, r=19) == 0
        assert spread[inner].mean() > 120, f"frame {i}: subject lost its colour"
        assert spread[outer].mean() < 12, f"frame {i}: background not grey"
    assert i == N - 1 and masks


def test_no_subject_in_any_frame_is_said_once(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A clip without a subject anywhere gets the photo verb's no-subject line (one owner: apply_on_empty), once
    for the clip, not silence; the clip is still written (exit 0)."""
    src = write_clip(tmp_path / "empty.mp4", [background()] * 5)

    def nothing(self: Model, image: np.ndarray) -> tuple[np.ndarray, float]:
        s = self.config.input_size
        return np.zeros((s, s), np.float32), 0.0

    monkeypatch.setattr(Model, "predict_scored", nothing)
    assert main(["-q", "video", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)]) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(lines) == 1
    assert lines[0].startswith(f"no blob found in any frame of {src} (subject score 0.00)")
    # "keeps the clip": the photo's words said "keeps the photo" of a video.
    hint = "--point X,Y colours the blob there, --on-empty copy keeps the clip"
    assert lines[0].endswith(f"; background effect everywhere ({hint})")
    assert splash_video(src, tmp_path / "api.mp4", model=tiny_onnx).empty_frames == 5


def test_progress_bar_shows_frames(tmp_path: Path, tiny_onnx: Path, terminal: pytest.CaptureFixture[str]) -> None:
    src = write_clip(tmp_path / "in.avi", moving_subject()[0])
    assert main(["video", str(src), "-o", str(tmp_path / "out.avi"), "--model", str(tiny_onnx)]) == 0
    err = terminal.readouterr().err
    assert f"{N}/{N}" in err and "frame/s" in err


# ---------------------------------------------------------------- temporal smoothing


def flicker_fixture(monkeypatch: pytest.MonkeyPatch, seed: int = 0) -> None:
    """A model whose blob probability is noisy and drops out now and then (what users see as flicker)."""
    rng = np.random.default_rng(seed)

    def fake(self: Model, image: np.ndarray) -> np.ndarray:
        s = self.config.input_size
        blob = blob_mask(s / 2, s / 2, s, s, r=s / 4).astype(np.float32)
        p = blob * 0.9 + 0.05 + rng.normal(0, 0.15, (s, s)).astype(np.float32)
        if rng.random() < 0.2:
            p *= 0.3  # the subject is lost for a frame
        return np.clip(p, 0, 1).astype(np.float32)

    monkeypatch.setattr(Model, "predict_lowres", fake)


def mean_change(alphas: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(alphas, alphas[1:], strict=False)]))


def test_smoothing_reduces_frame_to_frame_change(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flicker_fixture(monkeypatch)
    still = [background()] * 30
    model = load_model(tiny_onnx)
    raw = [FrameSplasher(model, smoothing=NO_SMOOTHING).alpha(f) for f in still]
    smoother = FrameSplasher(model)
    smoothed = [smoother.alpha(f) for f in still]
    assert mean_change(smoothed) < 0.4 * mean_change(raw)
    # ... without washing the subject out: the disc centre stays kept, the corners stay grey.
    assert min(a[H // 2, W // 2] for a in smoothed[5:]) > 0.5
    assert max(a[2, 2] for a in smoothed[5:]) < 0.5


def test_no_smooth_flag_flickers_more(tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_clip(tmp_path / "still.mp4", [background()] * N)
    changes = {}
    for flag in ([], ["--no-smooth"]):
        flicker_fixture(monkeypatch, seed=1)
        out = tmp_path / f"out{len(flag)}.mp4"
        assert main(["-q", "video", str(src), "-o", str(out), "--model", str(tiny_onnx), *flag]) == 0
        frames = [f.astype(np.float32) for f in read_frames(probe(out))]
        changes[bool(flag)] = mean_change(frames)
    assert changes[False] < 0.6 * changes[True]


def test_smoothing_follows_a_moving_subject(tiny_onnx: Path, orange_is_subject: None) -> None:
    frames, masks = moving_subject(n=16, step=4.0)
    model = load_model(tiny_onnx)

    def mean_iou(smoothing: SmoothingConfig) -> float:
        splasher = FrameSplasher(model, smoothing=smoothing)
        ious = []
        for frame, mask in zip(frames, masks, strict=True):
            pred = splasher.alpha(frame) > 0.5
            ious.append((pred & (mask == 1)).sum() / (pred | (mask == 1)).sum())
        return float(np.mean(ious))

    compensated = mean_iou(SmoothingConfig())
    assert compensated > 0.85
    assert compensated > mean_iou(SmoothingConfig(motion=False, mismatch=10.0)) + 0.03  # plain EMA lags


def test_pipelined_frames_equal_one_after_another(
    tiny_onnx: Path, orange_is_subject: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``splash_all`` (what ``splash_video`` runs) gives, in order, the frames one ``splash`` after another gives,
    smoothing included, while the model runs two frames at once on a 2-core CPU (each infer waits for another)."""
    import threading

    from colorsplash.runtime import batch as batch_mod

    frames = moving_subject(n=6, step=4.0)[0]
    model = load_model(tiny_onnx)
    one_by_one = FrameSplasher(model)
    expected = [one_by_one.splash(f) for f in frames]
    monkeypatch.setattr(batch_mod, "usable_cores", lambda: 2)
    barrier = threading.Barrier(2, timeout=10)
    real = FrameSplasher.infer

    def paired(self: FrameSplasher, frame: np.ndarray, model: Model | None = None) -> Inferred:
        barrier.wait()  # raises BrokenBarrierError unless another frame's infer runs meanwhile
        return real(self, frame, model)

    monkeypatch.setattr(FrameSplasher, "infer", paired)
    got = list(FrameSplasher(model).splash_all(iter(frames)))
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)


def test_scene_cut_resets_history() -> None:
    smoother = TemporalSmoother()
    dark, bright = np.full((H, W, 3), 30, np.uint8), np.full((H, W, 3), 220, np.uint8)
    dark[10:30, 10:30] = 90
    ones, zeros = np.ones((32, 32), np.float32), np.zeros((32, 32), np.float32)
    for _ in range(5):
        smoother.update(dark, ones)
    after_cut = smoother.update(bright, zeros)
    assert smoother.cuts == 1 and after_cut.max() == 0.0
    assert smoother.update(bright, ones).mean() < 0.5  # history kept again within the new scene


def like_tones_cut() -> tuple[np.ndarray, np.ndarray]:
    """A real photo and the same photo upside down: a cut between two shots whose grey histograms are identical
    (distance 0), which only the match of the motion-compensated past can tell."""
    shot = pan_over_photo(n=1)[0]
    return shot, np.ascontiguousarray(shot[::-1])


def test_cut_between_shots_of_like_tones_resets_history() -> None:
    """The histogram test misses such a cut (street to dog, 0.27 < 0.3, in a clip of real photos); the history
    then leaked the last shot's subject into the new one (up to 0.5 of probability) and kept its score."""
    first, second = like_tones_cut()
    smoother = TemporalSmoother()
    ones, zeros = np.ones((32, 32), np.float32), np.zeros((32, 32), np.float32)
    for _ in range(5):
        smoother.update(first, ones)
        smoother.score(0.9)
    after_cut = smoother.update(second, zeros)
    assert smoother.cuts == 1 and after_cut.max() == 0.0
    assert smoother.score(0.1) == pytest.approx(0.1)
    assert smoother.update(second, ones).mean() < 0.5  # history kept again within the new shot
    # Within one shot the past still matches: a pan over the photo and a subject moving 4 px per frame are no cuts.
    for frames in (pan_over_photo(), moving_subject(step=4.0)[0]):
        within = TemporalSmoother()
        for frame in frames:
            within.update(frame, ones)
        assert within.cuts == 0


def test_subject_after_a_cut_of_like_tones_is_coloured_at_once(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shot without a subject (score 0.05) cut to a shot with one (0.9): the new shot's first frame keeps its
    colour, as unsmoothed; the old shot's score held it grey for two frames (0.7 * 0.05 + 0.3 * 0.9 < 0.5)."""
    first, second = like_tones_cut()
    s = 32
    blob = blob_mask(s / 2, s / 2, s, s, r=s / 4).astype(np.float32)
    outputs = iter([(np.zeros((s, s), np.float32), 0.05)] * 4 + [(blob, 0.9)] * 2)
    monkeypatch.setattr(Model, "predict_scored", lambda self, image: next(outputs))
    monkeypatch.setattr(Model, "has_presence", property(lambda self: True))
    monkeypatch.setattr(Model, "presence_threshold", property(lambda self: 0.5))
    splasher = FrameSplasher(load_model(tiny_onnx))
    maxima = [float(splasher.alpha(f).max()) for f in [first] * 4 + [second] * 2]
    assert maxima[:4] == [0.0] * 4 and min(maxima[4:]) > 0.5
    assert splasher.smoother.cuts == 1


def test_subject_score_follows_the_smoothing() -> None:
    """The photo-level score is blended like the map: a doubtful frame in a clip that shows a subject stays
    found, and after a scene cut the new score counts alone."""
    smoother = TemporalSmoother()
    dark, bright = np.full((H, W, 3), 30, np.uint8), np.full((H, W, 3), 220, np.uint8)
    prob = np.ones((32, 32), np.float32)
    seen = []
    for i in range(8):
        smoother.update(dark, prob)
        seen.append(smoother.score(0.9 if i % 2 == 0 else 0.3))
    assert seen[0] == 0.9 and min(seen[1:]) > 0.5
    smoother.update(bright, prob)
    assert smoother.score(0.1) == pytest.approx(0.1)
    assert TemporalSmoother(NO_SMOOTHING).score(0.3) == 0.3


def test_a_doubtful_frame_does_not_flash_grey(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a presence output whose score dips under the threshold every other frame, the smoothed clip keeps
    its subject on every frame; unsmoothed, the doubtful frames come out all grey."""
    scores = iter([0.9, 0.3] * 20)

    def scored(self: Model, image: np.ndarray) -> tuple[np.ndarray, float]:
        s = self.config.input_size
        return blob_mask(s / 2, s / 2, s, s, r=s / 4).astype(np.float32), next(scores)

    monkeypatch.setattr(Model, "predict_scored", scored)
    monkeypatch.setattr(Model, "has_presence", property(lambda self: True))
    monkeypatch.setattr(Model, "presence_threshold", property(lambda self: 0.5))
    model = load_model(tiny_onnx)
    raw = [FrameSplasher(model, smoothing=NO_SMOOTHING).alpha(f).max() for f in [background()] * 6]
    assert raw[1::2] == [0.0, 0.0, 0.0] and min(raw[0::2]) > 0.5
    splasher = FrameSplasher(model)
    assert min(splasher.alpha(f).max() for f in [background()] * 6) > 0.5


def test_exact_fps() -> None:
    assert _exact_fps(29.97) == Fraction(30000, 1001)
    assert _exact_fps(23.98) == Fraction(24000, 1001)
    assert _exact_fps(25.0) == 25 and _exact_fps(12.5) == Fraction(25, 2) and _exact_fps(0) == 0


# ---------------------------------------------------------------- bad input and safety


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["-q", "video", *args])
    return code, capsys.readouterr().err.strip().splitlines()


def unknown_codec_clip(tmp_path: Path) -> Path:
    """An AVI whose video FourCC is replaced by one no decoder knows."""
    good = write_clip(tmp_path / "good.avi", moving_subject(n=3)[0])
    data = good.read_bytes()
    assert data.count(b"FMP4") >= 1
    bad = tmp_path / "unknown.avi"
    bad.write_bytes(data.replace(b"FMP4", b"ZZZZ"))
    return bad


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("text", "not a video file"),
        ("codec", "codec 'ZZZZ' is not supported"),
        ("zero", "no frames"),
        ("audio_only", "no video stream"),
        ("picture", "still picture"),
        ("missing", "no such file"),
        ("folder", "is a folder, not a file"),  # was "no such file" for a folder that is there
        ("empty", "copy or export the clip again"),
        ("pipe", "is a pipe, socket or device, not a file"),  # was "no such file" for a named pipe that is there
    ],
)
def test_bad_input_one_line(
    kind: str, expected: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / f"{kind}.mp4"
    if kind == "text":
        src.write_text("this is not a video\n")
    elif kind == "codec":
        src = unknown_codec_clip(tmp_path)
    elif kind == "zero":
        src = tmp_path / "zero.y4m"
        src.write_bytes(b"YUV4MPEG2 W96 H64 F12:1 Ip A1:1 C420jpeg\n")  # a valid header, no frames
    elif kind == "audio_only":
        subprocess.run(
            [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine", "-t", "0.5", str(src)], check=True
        )
    elif kind == "folder":
        src.mkdir()
    elif kind == "empty":
        src.write_bytes(b"")
    elif kind == "pipe":
        os.mkfifo(src)
    elif kind == "picture":
        src = tmp_path / "photo.png"
        from PIL import Image

        Image.fromarray(background()).save(src)
    out = tmp_path / "out dir"
    out.mkdir()
    code, lines = run_cli([str(src), "-o", str(out / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0
    assert len(lines) == 1 and lines[0].startswith("colorsplash video: error: ") and str(src) in lines[0]
    assert expected in lines[0]
    assert list(out.iterdir()) == []  # nothing written, no temp file left


def test_unwritable_output(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli(
        [str(src), "-o", str(tmp_path / "no such folder" / "out.mp4"), "--model", str(tiny_onnx)], capsys
    )
    assert code != 0 and len(lines) == 1 and "does not exist" in lines[0]


def test_read_only_output_folder(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder the user may not write to (real permissions: not as root, who writes anyway; the next test
    checks the same as root)."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if _can_write(locked):
        pytest.skip("running as root: permissions do not stop writes (see test_output_folder_refusing_writes)")
    code, lines = run_cli([str(src), "-o", str(locked / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and len(lines) == 1 and "cannot write to folder" in lines[0]


@pytest.mark.parametrize("error", [errno.EACCES, errno.EROFS])
def test_output_folder_refusing_writes(
    error: int, tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same for every user, root included (CI): the folder refuses to create a file (EACCES: permissions,
    EROFS: a read-only mount) where the partial file is made; one line, the folder named, nothing left there."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    locked = tmp_path / "locked"
    locked.mkdir()
    real_open = os.open

    def refusing(path: str | os.PathLike[str], flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == locked and flags & os.O_CREAT:
            raise OSError(error, os.strerror(error), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    code, lines = run_cli([str(src), "-o", str(locked / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and len(lines) == 1, lines
    assert f"cannot write to folder {locked}" in lines[0] and os.strerror(error) in lines[0], lines
    assert list(locked.iterdir()) == []


def _can_write(folder: Path) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--effect", "transparent"], "transparent"),
        (["--on-empty", "skip"], "skip"),
    ],
)
def test_options_video_cannot_honour(
    args: list[str], expected: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli([str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), *args], capsys)
    assert code != 0 and len(lines) == 1 and expected in lines[0]


def test_the_result_line_names_the_model(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``video --model FILE`` did not say which model ran; it does, as splash, mask and serve do (Model.label)."""
    import logging

    src = write_clip(tmp_path / "in.mp4", [background()] * 2)
    caplog.set_level(logging.INFO)
    assert main(["video", str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)]) == 0
    done = [r.getMessage() for r in caplog.records if "frames/s" in r.getMessage()]
    assert len(done) == 1 and done[0].endswith(f"; model: Blob model — tiny-test ({tiny_onnx})")


def test_point_outside_the_frames_is_an_error(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--point outside the frames is refused up front, as for photos, also where no frame has a subject (the
    point was never looked at then)."""
    src = write_clip(tmp_path / "in.mp4", [background()] * 3)
    monkeypatch.setattr(Model, "predict_scored", lambda self, image: (np.zeros((8, 8), np.float32), 0.0), raising=True)
    args = [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--point", "5000,5000"]
    code, lines = run_cli(args, capsys)
    assert code == 2 and len(lines) == 1
    assert f"--point: 5000,5000 is outside the {W}x{H} frames of {src}" in lines[0]
    assert not (tmp_path / "o.mp4").exists()


def test_quality_help_speaks_of_video(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["video", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "CRF" in out and "JPEG/WebP" not in out
    assert "skip is refused for a clip" in out and "skip the file" not in out  # on-empty in video's words


def test_refuses_to_overwrite_input_and_bad_extension(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    before = src.read_bytes()
    code, lines = run_cli([str(src), "-o", str(tmp_path / "." / "in.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and "output is the input" in lines[0]
    assert src.read_bytes() == before
    code, lines = run_cli([str(src), "-o", str(tmp_path / "out.gif"), "--model", str(tiny_onnx)], capsys)
    assert code != 0 and "unsupported output extension" in lines[0]


def test_interrupt_leaves_no_partial_output(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_clip(tmp_path / "in.mp4", moving_subject()[0], audio=True)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    calls = {"n": 0}
    real = FrameSplasher.finish_alpha  # the frames' ordered step, on the main thread

    def finish_then_interrupt(self: FrameSplasher, frame: np.ndarray, inferred: Inferred) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real(self, frame, inferred)

    monkeypatch.setattr(FrameSplasher, "finish_alpha", finish_then_interrupt)
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx), "--overwrite"], capsys)
    assert code == 130 and calls["n"] == 8
    assert out.read_bytes() == b"previous result"  # the old file is untouched, not half-replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_truncated_clip_is_a_clear_error_or_shorter(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = write_clip(tmp_path / "in.avi", moving_subject()[0])
    cut = tmp_path / "cut.avi"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    out = tmp_path / "out.avi"
    try:
        result = splash_video(cut, out, model=tiny_onnx)
    except VideoError as err:
        assert str(cut) in str(err)
        assert not out.exists()
    else:  # ffmpeg decodes what is there: every readable frame is kept, and the loss is reported
        assert 0 < result.frames < N and frame_count(out) == result.frames
        assert result.damaged and "the video ends after" in caplog.text


def test_rotated_phone_clip_comes_out_upright(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "landscape.mp4", moving_subject(n=5)[0])
    rotated = tmp_path / "phone.mp4"  # same pixels, a 90 degree display-rotation flag as phones write
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-display_rotation", "90", "-i", str(src), "-c", "copy", str(rotated)],
        check=True,
    )
    out = tmp_path / "out.mp4"
    splash_video(rotated, out, model=tiny_onnx)
    info = probe(out)
    assert (info.width, info.height) == (H, W)  # portrait, as players show the input
    assert frame_count(out) == 5


def test_missing_ffmpeg_wheel_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import now raises ImportError
    with pytest.raises(VideoError, match=r"pip install 'colorsplash\[video\]'"):
        ffmpeg_exe()


# ---------------------------------------------------------------- damaged input, interrupted runs, pixel limit


def marked_frames(n: int) -> list[np.ndarray]:
    """Frames whose top-left 16x16 grey patch encodes the frame index (level 30 + 3 i), over a moving subject."""
    frames = moving_subject(n=n, step=1.0)[0]
    for i, frame in enumerate(frames):
        frame[:16, :16] = 30 + 3 * i
    return frames


def marker(frame: np.ndarray) -> int:
    """The index a :func:`marked_frames` frame shows (grey patches stay grey through any splash effect)."""
    return round((float(frame[4:12, 4:12].mean()) - 30) / 3)


def damaged_clip(tmp_path: Path, n: int = 60) -> Path:
    """A 10 fps MP4 with sound whose middle (40-55 % of the bytes, inside the media data) is overwritten with
    noise: the decoder loses whole frames there, as with a bad sector or a broken download."""
    src = tmp_path / "clean.mp4"
    frames = marked_frames(n)
    seconds = n / 10
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{W}x{H}",
        "-framerate",
        "10",
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-t",
        f"{seconds}",
        "-i",
        "sine=frequency=440:sample_rate=22050",
        "-c:a",
        "aac",
        "-c:v",
        "libx264",
        "-threads",
        "1",
        "-preset",
        "ultrafast",
        "-crf",
        "10",
        "-g",
        "10",
        "-pix_fmt",
        "yuv444p",
        str(src),
    ]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    data = bytearray(src.read_bytes())
    a, b = int(len(data) * 0.40), int(len(data) * 0.55)
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    bad = tmp_path / "damaged.mp4"
    bad.write_bytes(bytes(data))
    return bad


def test_damaged_middle_keeps_timeline_and_reports(
    tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16 item 5: frames lost in a damaged stretch are filled with the previous frame, so every later frame
    (and the copied sound) stays at its time; the damage is reported, and the CLI exits 1."""
    src = damaged_clip(tmp_path)
    out = tmp_path / "out.mp4"
    result = splash_video(src, out, model=tiny_onnx)
    assert result.damaged and result.decode.errors > 0 and result.decode.filled > 0
    assert result.frames == 60 and frame_count(out) == 60  # the input's timeline: 6 s at 10 fps
    shown = [marker(f) for f in read_frames(probe(out))]
    assert shown[:20] == list(range(20)) and shown[-20:] == list(range(40, 60)), "frames out of time"
    assert any(m < k for k, m in enumerate(shown))  # the lost ones repeat the previous frame
    info = probe(out)
    assert info.has_audio and abs(info.duration - 6.0) < 0.15
    assert "damaged video" in caplog.text and "replaced by the previous frame" in caplog.text

    code = main(["-q", "video", str(src), "-o", str(tmp_path / "cli.mp4"), "--model", str(tiny_onnx)])
    assert code == 1 and (tmp_path / "cli.mp4").is_file()


def test_damaged_input_strict_writes_nothing(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = damaged_clip(tmp_path)
    code, lines = run_cli([str(src), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx), "--strict"], capsys)
    assert code == 2 and len(lines) == 1 and "damaged video" in lines[0] and "nothing written" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.mp4", "damaged.mp4"]


def test_clean_clip_is_not_reported_damaged(tmp_path: Path, tiny_onnx: Path) -> None:
    src = write_clip(tmp_path / "in.mp4", marked_frames(30), audio=True)
    result = splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert not result.damaged and result.decode.errors == 0 and result.decode.filled == 0
    assert [marker(f) for f in read_frames(probe(tmp_path / "out.mp4"))] == list(range(30))


SLOW_RUN = """
import sys, time
from colorsplash.cli import main
from colorsplash.runtime.video import FrameSplasher
real = FrameSplasher.finish_alpha
def slow(self, frame, inferred):
    time.sleep(0.1)
    return real(self, frame, inferred)
FrameSplasher.finish_alpha = slow
sys.exit(main(sys.argv[1:]))
"""


def start_slow_run(src: Path, out: Path, model: Path, tmpdir: Path | None = None) -> subprocess.Popen[bytes]:
    """The CLI in a child process, 0.1 s per frame (``tmpdir``: its ``TMPDIR``); returns once it has created its
    partial file."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, "-q", "video", str(src), "-o", str(out), "--model", str(model), "--overwrite"],
        env=env,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not [p for p in out.parent.iterdir() if p.name.startswith(".")] and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.02)
    time.sleep(0.3)  # a few frames into the clip
    return proc


def test_sigterm_leaves_no_partial_file(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 6: SIGTERM is handled like Ctrl-C: the partial file removed, the old output kept; the exit
    status is SIGTERM's conventional 143 (128 + 15), not Ctrl-C's 130."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0], audio=True)
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "out.mp4").write_bytes(b"previous result")
    proc = start_slow_run(src, outdir / "out.mp4", tiny_onnx)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "interrupted" in err.decode()
    assert [p.name for p in outdir.iterdir()] == ["out.mp4"]
    assert (outdir / "out.mp4").read_bytes() == b"previous result"


def test_next_run_removes_partials_of_killed_runs_only(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 6: kill -9 leaves a partial file; the next run into that folder removes it, and nothing else:
    not a user's look-alike files, not another command's temporary picture, not a live run's partial."""
    fcntl = pytest.importorskip("fcntl")
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0])
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = start_slow_run(src, outdir / "a.mp4", tiny_onnx)
    proc.kill()
    proc.communicate(timeout=60)
    left = [p for p in outdir.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and left[0].name.endswith(".part.mp4")  # what the killed run left
    settle(left[0])  # its orphaned encoder finishes writing it a moment after the kill
    keep = [
        outdir / "holiday.part.mp4",
        outdir / ".holiday.mp4",
        outdir / ".colorsplash-b.0123abcd.part.png",
        outdir / ".colorsplash-notes.part.mp4",
    ]
    live = outdir / ".colorsplash-c.89abcdef.part.mp4"
    for path in [*keep, live, *left]:
        path.touch()
        os.utime(path, (time.time() - 60, time.time() - 60))  # all from before the next run
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a run still writing it
    try:
        splash_video(src, outdir / "b.mp4", model=tiny_onnx)
    finally:
        os.close(fd)
    names = sorted(p.name for p in outdir.iterdir())
    assert names == sorted(["b.mp4", live.name, *(p.name for p in keep)])


def test_killed_run_leaves_nothing_in_the_temporary_folder(tmp_path: Path, tiny_onnx: Path) -> None:
    """A run killed with kill -9 (or by the OOM killer) cannot clean up: the decoder's frame-times folder in the
    temporary folder was left behind, one per killed run, for ever. It is removed once the first frame is read."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=40)[0])
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = start_slow_run(src, tmp_path / "out.mp4", tiny_onnx, tmpdir=temp)
    proc.kill()
    proc.communicate(timeout=60)
    assert list(temp.iterdir()) == []


def settle(path: Path, quiet: float = 0.5, limit: float = 20.0) -> None:
    """Wait until ``path`` has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    last = path.stat().st_mtime_ns, path.stat().st_size
    calm_since = time.monotonic()
    while time.monotonic() - calm_since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        now = path.stat().st_mtime_ns, path.stat().st_size
        if now != last:
            last, calm_since = now, time.monotonic()


def test_pixel_limit(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 16 item 9: frames over the pixel limit are refused from the header, before any frame is decoded."""
    huge = tmp_path / "huge.y4m"  # an 8000x8000 clip's header: refused by default (it would cost ~1.5 GB)
    huge.write_bytes(b"YUV4MPEG2 W8000 H8000 F12:1 Ip A1:1 C420jpeg\n")
    code, lines = run_cli([str(huge), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1 and "8000x8000" in lines[0] and "--max-pixels" in lines[0]
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    code, lines = run_cli(
        [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--max-pixels", str(W * H - 1)], capsys
    )
    assert code == 2 and len(lines) == 1 and "pixel limit 6,143" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.y4m", "in.mp4"]
    code, _ = run_cli(
        [str(src), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_onnx), "--max-pixels", str(W * H)], capsys
    )
    assert code == 0


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_sound_longer_than_video_is_not_damage(
    suffix: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean clip whose sound runs on after the pictures (1 s of video in a 3 s file) is complete: its video
    stream's own length is checked, not the file's (the longest stream's); --strict accepts it, exit 0."""
    src = tmp_path / f"short{suffix}"
    audio = ["-f", "lavfi", "-t", "3", "-i", "sine=sample_rate=22050", "-c:v", "libx264", "-c:a", "aac"]
    encode_raw(moving_subject(n=10)[0], "10", audio, src)
    result = splash_video(src, tmp_path / f"out{suffix}", model=tiny_onnx)
    assert not result.damaged and result.frames == 10
    assert result.decode.expected_seconds == pytest.approx(1.0, abs=0.05)
    code, lines = run_cli([str(src), "-o", str(tmp_path / "strict.mp4"), "--model", str(tiny_onnx), "--strict"], capsys)
    assert code == 0 and lines == []


def test_cut_off_video_is_reported(tmp_path: Path, tiny_onnx: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16 item 5: a download cut off half way (its header, at the front, still announces 3 s) is reported
    as ending early, not passed off as complete."""
    src = tmp_path / "whole.mp4"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-movflags", "+faststart"]
    encode_raw(moving_subject(n=30)[0], "10", x264, src)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    result = splash_video(cut, tmp_path / "out.mp4", model=tiny_onnx)
    assert result.damaged and result.decode.cut_short and result.frames < 25
    assert "the video ends after" in caplog.text and "of the 3.0 s the file's header gives it" in caplog.text


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


def test_standard_input_and_output_are_refused_in_words(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-`` means standard input/output for photos; a clip cannot be streamed (it is seeked): said as such, not
    as "-: no such file" or "unsupported output extension '(none)'"."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=2)[0])
    for args, words in (
        (["-", "-o", str(tmp_path / "out.mp4")], "cannot be read from standard input"),
        ([str(src), "-o", "-"], "cannot be written to standard output"),
    ):
        code, lines = run_cli([*args, "--model", str(tiny_onnx)], capsys)
        assert code == 2 and len(lines) == 1 and words in lines[0], lines


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


def test_a_web_address_is_named_as_typed_and_refused_once(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``video https://…`` said "https:/…" (one slash lost to ``Path``) followed by two instructions; the address
    is named as typed, never fetched, and the line says one thing to do."""
    url = "https://example.com/clip.mp4"
    code, lines = run_cli([url, "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"colorsplash video: error: {url}: is a web address")
    assert "give a video file" not in lines[0] and list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file the run did not create is never replaced unless asked (issue 16 item 2, for video too)."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the user's own file")
    code, lines = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx)], capsys)
    assert code == 2 and "--overwrite" in lines[-1] and out.read_bytes() == b"the user's own file"
    code, _ = run_cli([str(src), "-o", str(out), "--model", str(tiny_onnx), "--overwrite"], capsys)
    assert code == 0 and out.read_bytes() != b"the user's own file"
    folder = tmp_path / "clips"
    folder.mkdir()
    for extra in ([], ["--overwrite"]):  # a folder is never "replaced": say to name a clip inside it
        code, lines = run_cli([str(src), "-o", str(folder), "--model", str(tiny_onnx), *extra], capsys)
        assert code == 2 and "is a folder" in lines[-1] and str(folder / "in.splash.mp4") in lines[-1]
    assert folder.is_dir() and not list(folder.iterdir())


def test_an_output_made_while_the_clip_is_written_is_not_replaced(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --overwrite, a file that appears at the output while the clip is encoded is the user's, not ours:
    the clip was renamed over it with os.replace (the check ran only at the start); now the one publishing step
    of runtime.files refuses it, names the file and says what to do, and leaves no partial file."""
    from colorsplash.runtime import video as video_module

    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    out = tmp_path / "out.mp4"
    verify = video_module.verify_video

    def verify_then_someone_writes(path: Path, output: Path) -> None:
        verify(path, output)
        out.write_bytes(b"the user's own file")

    monkeypatch.setattr(video_module, "verify_video", verify_then_someone_writes)
    with pytest.raises(VideoError, match="--overwrite") as caught:
        splash_video(src, out, model=tiny_onnx)
    assert str(out) in str(caught.value)
    assert out.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]  # no partial file left
    out.unlink()
    splash_video(src, out, model=tiny_onnx, overwrite=True)  # asked for: the clip replaces it
    assert out.read_bytes() != b"the user's own file" and probe(out).width == W


def test_a_clip_gets_the_usual_file_permissions(tmp_path: Path, tiny_onnx: Path) -> None:
    """The partial file is made private (0600); the finished clip must get what a plain new file would."""
    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])
    umask = os.umask(0o022)
    try:
        splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    finally:
        os.umask(umask)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644


def test_a_clip_that_does_not_read_back_is_not_published(
    tmp_path: Path, tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import colorsplash.runtime.video as video_module

    src = write_clip(tmp_path / "in.mp4", moving_subject(n=3)[0])

    def broken_encoder(reader: object, splasher: object, tmp: Path, output: Path, progress: bool) -> int:
        tmp.write_bytes(b"not a video")
        return 3

    monkeypatch.setattr(video_module, "_encode", broken_encoder)
    with pytest.raises(VideoError, match="out.mp4"):
        splash_video(src, tmp_path / "out.mp4", model=tiny_onnx)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_video_takes_the_fast_edge_stage_unless_asked_and_reports_its_speed(tmp_path: Path) -> None:
    from colorsplash.runtime.video import VideoResult, video_options

    assert video_options(None).edges == "fast" and video_options(SplashOptions(edges="matte")).edges == "matte"
    result = VideoResult(tmp_path, tmp_path, 30, 8, 8, Fraction(10), False, 2.0, 0)
    assert result.frames_per_second == 15.0


def test_a_display_matrix_rotation_turns_the_pixel_aspect_ratio_too() -> None:
    """Phones flag rotation in a display matrix, which imageio's ``rotate`` tag misses: a 90-degree clip with 4:3
    pixels came out with 4:3 pixels on its turned frames, squeezed (recheck audit); ffmpeg turns them to 3:4."""
    from fractions import Fraction

    from colorsplash.runtime import video_io

    header = (
        "  Stream #0:0[0x1](und): Video: h264 (avc1 / 0x31637661), yuvj420p(pc), 360x270 [SAR 4:3 DAR 16:9], 25 fps\n"
        "      Display Matrix: rotation of -90.00 degrees\n"
    )
    assert video_io._header_rotation(header) == 270
    assert video_io._header_sar(header, video_io._header_rotation(header)) == Fraction(3, 4)
    assert video_io._header_rotation("  Stream #0:0: Video: h264, 360x270 [SAR 4:3 DAR 16:9]\n") == 0
