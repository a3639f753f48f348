"""Training throughput (images/second) of ``unet`` and ``unet-lite0``: float32 vs bfloat16 autocast + channels_last.

Not a test: it prints figures. Each measurement runs full optimiser steps (forward, BCE loss, backward,
AdamW) on random batches after a short warm-up, the same arithmetic as :mod:`colorsplash.training.steps`.

    python bench/train_speed.py                      # both archs at 256, batch 8, 10 timed steps
    python bench/train_speed.py --steps 3 --size 128  # a quick check
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass

from shared_data import extra_needed

from colorsplash.runtime.cpu import cpu_info
from colorsplash.runtime.model.config import default_model_config

with extra_needed("train", __name__):
    import torch

    from colorsplash.training.losses import segmentation_loss
    from colorsplash.training.networks import build_model


@dataclass(frozen=True)
class Setting:
    name: str
    bf16: bool
    channels_last: bool


SETTINGS = (Setting("fp32", False, False), Setting("bf16+channels_last", True, True))


def images_per_second(arch: str, size: int, batch: int, steps: int, warmup: int, setting: Setting) -> float:
    """Train ``arch`` on random ``batch x 3 x size x size`` inputs; return timed images per second."""
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(default_model_config(arch, size)).to(device).train()
    x = torch.randn(batch, 3, size, size, device=device)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.5).to(torch.uint8)
    if setting.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if setting.bf16 else contextlib.nullcontext()

    def step() -> None:
        with autocast:
            logits = model(x)
        loss = segmentation_loss(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["unet", "unet-lite0"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed optimiser steps per setting")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    # The CPU with its flags: bf16's speed-up hangs on them (AVX-512 BF16, AMX); platform.processor() is empty on Linux
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU: {cpu_info().describe()}"
    print(
        f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads; size {args.size}, "
        f"batch {args.batch_size}, {args.steps} timed steps after {args.warmup} warm-up"
    )
    print(f"{'arch':<12} {'setting':<20} {'images/s':>9} {'speed-up':>9}")
    for arch in args.arch:
        base = None
        for setting in SETTINGS:
            ips = images_per_second(arch, args.size, args.batch_size, args.steps, args.warmup, setting)
            base = base or ips
            print(f"{arch:<12} {setting.name:<20} {ips:>9.2f} {ips / base:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
