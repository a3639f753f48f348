"""The figures issue 17 asks of a GPU machine, in one short run: photos/s at 12 MP and 1 MP, video frames/s at
1080p, and the training throughput behind one epoch of the pets recipe.

Runs on whatever ``--device`` gives (``auto``: CUDA when ``onnxruntime-gpu`` sees a GPU); prints the providers
the session really uses, so a silent CPU fallback shows. Photos and the clip are synthetic (a real pet photo
from ``../shared/data`` when present), made in a temporary folder. Training: ``unet-lite1`` at 384 px, batch 8,
bf16 autocast + channels-last on CUDA (``bench/train_speed.py``'s loop) on random tensors; the epoch estimate
is the pets recipe's 954 training images divided by that rate (data loading and validation not included).

Usage::

    python bench/gpu_speed.py [--device auto|cpu|cuda] [--quick] [--no-train]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splash_speed import base_photo, write_jpeg  # noqa: E402

from colorsplash.runtime.batch import PhotoJob  # noqa: E402
from colorsplash.runtime.model.onnx_model import ModelLoadError, load_model  # noqa: E402
from colorsplash.runtime.planning import OutputPlan, plan_files  # noqa: E402

PETS_TRAIN_IMAGES = 954


def photos_per_second(job: PhotoJob, src: Path, out: Path, runs: int) -> float:
    task = plan_files([src], OutputPlan(out_file=out, overwrite=True))[0]
    job.overwrite = True  # the timed runs write the same result again
    job(task)  # warm-up (CUDA kernels, cuDNN algorithm search)
    start = time.perf_counter()
    for _ in range(runs):
        job(task)
    return runs / (time.perf_counter() - start)


def video_fps(model: object, tmp: Path, frames: int) -> str:
    try:
        from video_stability import cover, write_still_clip

        from colorsplash.runtime.video.clip import splash_video
    except ImportError as err:
        return f"skipped ({err})"
    clip = write_still_clip(tmp / "clip1080.mp4", cover(base_photo(), 1920, 1080), frames)
    result = splash_video(clip, tmp / "out1080.mp4", model=model)  # type: ignore[arg-type]
    return f"{result.frames_per_second:.1f} frames/s ({result.frames} frames)"


def training(quick: bool) -> str:
    try:
        from train_speed import Setting, images_per_second
    except ImportError as err:
        return f"skipped ({err})"
    rate = images_per_second(
        "unet-lite1", 384, 8, 5 if quick else 30, 2 if quick else 5, Setting("bf16+channels_last", True, True)
    )
    return (
        f"{rate:.1f} images/s -> one epoch of {PETS_TRAIN_IMAGES} images in about "
        f"{PETS_TRAIN_IMAGES / rate:.0f} s (training steps only)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--quick", action="store_true", help="fewer runs and frames (a smoke run)")
    parser.add_argument("--no-train", action="store_true", help="skip the training figure")
    args = parser.parse_args()
    try:
        model = load_model(device=args.device)
    except ModelLoadError as err:  # --device cuda without the CUDA build: its message says what to install
        raise SystemExit(f"gpu_speed.py: {err}") from err
    providers = model.session.get_providers()  # type: ignore[attr-defined]
    print(f"model {model.path.name} ({model.config.precision}) on {model.device}: providers {providers}")
    runs, frames = (2, 12) if args.quick else (10, 60)
    with tempfile.TemporaryDirectory(prefix="gpu-speed-") as name:
        tmp = Path(name)
        job = PhotoJob(model)
        for label, (w, h) in (("12 MP", (4000, 3000)), ("1 MP", (1155, 866))):
            src = write_jpeg(tmp / f"{w}x{h}.jpg", base_photo(), w, h)
            print(f"{label} JPEG, splash end to end: {photos_per_second(job, src, tmp / 'out.jpg', runs):.2f} photos/s")
        print(f"video 1920x1080: {video_fps(model, tmp, frames)}")
    if not args.no_train:
        print(f"training unet-lite1 384 px, batch 8: {training(args.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
