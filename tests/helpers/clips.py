"""Generated clips shared by the video tests (test_video_*.py): tiny (96x64, 20 frames) and encoded with
ffmpeg directly, not our writer; a perfect stand-in model for their subject; one quiet CLI run."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from colorsplash.cli import main
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.runtime.video.video_io import ffmpeg_exe, probe, read_frames

H, W, N = 64, 96, 20


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


@pytest.fixture(name="orange_is_subject")
def orange_is_subject_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the model a perfect orange-disc detector (probability from the pixels' colour)."""

    def fake(self: Model, image: np.ndarray) -> np.ndarray:
        s = self.config.input_size
        import cv2

        small = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
        return np.clip((small[..., 0] - small[..., 2] - 60) / 80, 0, 1).astype(np.float32)

    monkeypatch.setattr(Model, "predict_lowres", fake)


def frame_count(path: Path) -> int:
    return sum(1 for _ in read_frames(probe(path)))


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["-q", "video", *args])
    return code, capsys.readouterr().err.strip().splitlines()


def marked_frames(n: int) -> list[np.ndarray]:
    """Frames whose top-left 16x16 grey patch encodes the frame index (level 30 + 3 i), over a moving subject."""
    frames = moving_subject(n=n, step=1.0)[0]
    for i, frame in enumerate(frames):
        frame[:16, :16] = 30 + 3 * i
    return frames


def marker(frame: np.ndarray) -> int:
    """The index a :func:`marked_frames` frame shows (grey patches stay grey through any splash effect)."""
    return round((float(frame[4:12, 4:12].mean()) - 30) / 3)
