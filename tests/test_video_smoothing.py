"""colorsplash video: temporal smoothing steadies a flickering alpha, follows a moving subject, resets at scene
cuts (like tones included) and blends the subject score; pipelined frames equal one after another."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")

from helpers.clips import (  # noqa: E402
    H,
    N,
    W,
    background,
    blob_mask,
    moving_subject,
    orange_is_subject_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, orange_is_subject)
    pan_over_photo,
    write_clip,
)

from colorsplash.cli import main  # noqa: E402
from colorsplash.runtime.model.onnx_model import Model, load_model  # noqa: E402
from colorsplash.runtime.video.clip import FrameSplasher, Inferred  # noqa: E402
from colorsplash.runtime.video.temporal import NO_SMOOTHING, SmoothingConfig, TemporalSmoother  # noqa: E402
from colorsplash.runtime.video.video_io import probe, read_frames  # noqa: E402


def flicker_fixture(monkeypatch: pytest.MonkeyPatch, seed: int = 0) -> None:
    """A model whose blob probability is noisy and drops out every fifth call (what users see as flicker).

    Each call draws its noise from its own generator, seeded by (seed, call number), and the drop-outs follow the
    call count: the video's model threads may run two frames at once, and with one generator shared between them
    the draws, and so the number of frames that lose the subject, depended on how the threads interleaved (a clean
    clone's CI once drew almost none for the unsmoothed run, and the test failed)."""
    calls = itertools.count()  # next() on a count is atomic under the GIL: every call gets its own number

    def fake(self: Model, image: np.ndarray) -> np.ndarray:
        i = next(calls)
        rng = np.random.default_rng((seed, i))
        s = self.config.input_size
        blob = blob_mask(s / 2, s / 2, s, s, r=s / 4).astype(np.float32)
        p = blob * 0.9 + 0.05 + rng.normal(0, 0.15, (s, s)).astype(np.float32)
        if i % 5 == 2:
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


def test_a_frame_sure_of_its_subject_lifts_the_score_at_once() -> None:
    """A score reaching ``sure_score`` (0.9 included) is taken as it is, not averaged up over frames; a lower one
    is averaged; the lifted score then falls only as the average does."""
    smoother = TemporalSmoother()
    still = np.full((H, W, 3), 90, np.uint8)
    prob = np.zeros((32, 32), np.float32)
    seen = []
    for value in (0.1, 0.9, 0.2, 0.85):
        smoother.update(still, prob)
        seen.append(smoother.score(value))
    assert seen == pytest.approx([0.1, 0.9, 0.7 * 0.9 + 0.3 * 0.2, 0.7 * (0.7 * 0.9 + 0.3 * 0.2) + 0.3 * 0.85])


def test_config_refuses_a_history_that_never_lets_go() -> None:
    with pytest.raises(ValueError, match="history must be in"):
        SmoothingConfig(history=1.0)  # the first frame's map forever
    assert SmoothingConfig(cut_threshold=1.0).cut_threshold == 1.0  # the histogram test off: allowed


def _noise(seed: int, n: int = 64) -> np.ndarray:
    """Grey noise (R = G = B, uniform tones): two draws differ by a third of the range on average."""
    return np.repeat(np.random.default_rng(seed).integers(0, 256, (n, n, 1), np.uint8), 3, axis=2)


def test_where_the_past_does_not_match_the_new_prediction_is_taken() -> None:
    """Without motion: the pixels whose frame changed (a quarter, the same grey tones so no scene cut) take this
    frame's probability alone; the rest keep 0.7 of the past."""
    smoother = TemporalSmoother(SmoothingConfig(motion=False, flow_size=64))
    first = _noise(1)
    changed = first.copy()
    changed[:32, :32] = _noise(2)[:32, :32]
    smoother.update(first, np.ones((64, 64), np.float32))
    out = smoother.update(changed, np.zeros((64, 64), np.float32))
    assert smoother.cuts == 0
    assert np.allclose(out[:28, :28], 0.0) and np.allclose(out[36:, 36:], 0.7)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_a_still_frame_keeps_a_map_larger_than_the_flow_in_place() -> None:
    """The same frame twice (no motion) with a probability twice the flow's size: the past is pulled from the very
    same pixels (the flow's grid maps onto pixel centres), so a sharp edge stays where it is."""
    smoother = TemporalSmoother(SmoothingConfig(flow_size=32))
    frame = _noise(3)
    prob = np.zeros((64, 64), np.float32)
    prob[:, 30:] += 0.5  # an edge across each axis
    prob[30:, :] += 0.5
    smoother.update(frame, prob)
    assert np.allclose(smoother.update(frame, prob), prob, atol=0.02)


def test_a_map_of_another_size_starts_again() -> None:
    smoother = TemporalSmoother(SmoothingConfig(motion=False))
    frame = np.full((H, W, 3), 90, np.uint8)
    smoother.update(frame, np.ones((16, 16), np.float32))
    second = np.full((32, 32), 0.25, np.float32)
    assert np.array_equal(smoother.update(frame, second), second)  # taken as it is: no past of its size


def test_frames_are_greyed_as_rgb() -> None:
    """Red weighs 0.299 in grey, blue 0.114 (a BGR reading swaps them and sees other tones)."""
    from colorsplash.runtime.video.temporal import _grey

    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    assert _grey(red, 16).mean() == pytest.approx(0.299, abs=0.005)
