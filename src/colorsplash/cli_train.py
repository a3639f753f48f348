"""CLI verbs ``train``, ``evaluate`` and ``export`` (need the ``train`` extra: PyTorch)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from colorsplash.config import ARCHES, AugmentConfig, TrainConfig, default_model_config

log = logging.getLogger(__name__)


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError as err:
        raise RuntimeError("this command needs PyTorch: pip install 'colorsplash[train]'") from err


def register(sub: Any) -> None:
    _register_train(sub)
    _register_evaluate(sub)
    _register_export(sub)


def _register_train(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "train", help="train a U-Net on image/mask folders",
        description="Train on one or more data folders (seed layout input/+mask/, paired images/+masks/, "
                    "or Oxford-IIIT Pet images/+trimaps/).")
    p.add_argument("data", nargs="*", help="data set folders")
    p.add_argument("-o", "--out", default=None, help="run folder (default runs/<arch>)")
    p.add_argument("--preset", choices=("pets", "pets-finetune"),
                   help="a named recipe; 'pets' then 'pets-finetune --init RUN/best.pt' reproduce the bundled model")
    p.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--arch", choices=ARCHES, default="unet-lite0")
    p.add_argument("--size", type=int, default=256, help="network input size (multiple of 32)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--dice", type=float, default=TrainConfig.dice_weight, help="weight of the Dice loss term")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    p.add_argument("--val-fraction", type=float, default=TrainConfig.val_fraction)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--patience", type=int, default=TrainConfig.patience, help="early-stopping patience (epochs)")
    p.add_argument("--unet-base", type=int, default=8, help="unet: channels of the first level")
    p.add_argument("--unet-depth", type=int, default=4, help="unet: number of down-sampling steps")
    p.add_argument("--upsample", choices=("transpose", "bilinear"), default="transpose")
    p.add_argument("--no-augment", action="store_true", help="switch augmentation off")
    p.add_argument("--no-bf16", action="store_true", help="train in float32 (slower on CPU)")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable/mismatched pairs with a warning")
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last.pt")
    p.set_defaults(func=run_train)


def build_configs(args: argparse.Namespace) -> tuple[Any, TrainConfig]:
    """Model and training configs from parsed ``train`` arguments (preset applied last)."""
    from colorsplash.trainer import apply_preset

    mcfg = dataclasses.replace(default_model_config(args.arch, args.size), base_channels=args.unet_base,
                               depth=args.unet_depth, upsample=args.upsample)
    tcfg = TrainConfig(data=tuple(args.data), out_dir=args.out or f"runs/{args.arch}", epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, dice_weight=args.dice, max_steps=args.max_steps,
                       val_fraction=args.val_fraction, seed=args.seed, patience=args.patience,
                       skip_bad=args.skip_bad, bf16=not args.no_bf16, num_workers=args.workers,
                       init_from=args.init, augment=AugmentConfig(enabled=not args.no_augment))
    if args.preset:
        mcfg, tcfg = apply_preset(args.preset, mcfg, tcfg)
        if args.out is None:
            tcfg = dataclasses.replace(tcfg, out_dir=f"runs/{args.preset}")
    return mcfg, tcfg


def run_train(args: argparse.Namespace) -> int:
    _need_torch()
    from colorsplash.trainer import Trainer

    if args.resume:
        mcfg, tcfg = build_configs(args)
        tcfg = dataclasses.replace(tcfg, out_dir=args.resume)
        trainer = Trainer(mcfg, tcfg, resume=True)
    else:
        if not args.data:
            raise ValueError("name at least one data folder (or --resume RUN)")
        mcfg, tcfg = build_configs(args)
        if (Path(tcfg.out_dir) / "last.pt").exists():
            raise ValueError(f"{tcfg.out_dir} already holds a run; pass --resume {tcfg.out_dir} to continue it "
                             "or -o NEW_DIR to start another")
        trainer = Trainer(mcfg, tcfg)
    state = trainer.fit()
    if trainer.d.main:  # under torchrun only rank 0 reports
        print(f"best validation IoU {state.best_iou:.4f} (epoch {state.best_epoch}); run folder {tcfg.out_dir}")
    return 0


def _register_evaluate(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate", help="score a model on a data set at original resolution")
    p.add_argument("data", nargs="+", help="data set folders")
    p.add_argument("--model", default=None, help=".onnx or .pt file (default: the bundled model)")
    p.add_argument("-o", "--out", default=None, help="report folder (default eval/<model stem>)")
    p.add_argument("--split", choices=("all", "val", "train"), default="all",
                   help="score only the set's validation or training part (as train would split it)")
    p.add_argument("--val-fraction", type=float, default=None,
                   help=f"for --split: default the model's training value, else {TrainConfig.val_fraction}")
    p.add_argument("--seed", type=int, default=None,
                   help=f"for --split: default the model's training seed, else {TrainConfig.seed}")
    p.add_argument("--threshold", type=float, default=0.5, help="probability counted as subject")
    p.add_argument("--worst", type=int, default=8, help="images in the gallery of worst predictions")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable/mismatched pairs with a warning")
    p.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from colorsplash.evaluate import evaluate_cli

    return evaluate_cli(args)


def _register_export(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("export", help="export a checkpoint to ONNX")
    p.add_argument("checkpoint", help="a .pt checkpoint (best.pt or last.pt of a run)")
    p.add_argument("-o", "--out", required=True, help="output .onnx file")
    p.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    p.add_argument("--metrics", metavar="SUMMARY_JSON",
                   help="embed an `evaluate` summary.json (scores at original resolution) in the metadata")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    _need_torch()
    from colorsplash.export import export_onnx

    out = Path(args.out)
    if out.resolve() == Path(args.checkpoint).resolve():
        raise ValueError(f"{out}: refusing to overwrite the input checkpoint")
    evaluation = None
    if args.metrics:
        try:
            evaluation = json.loads(Path(args.metrics).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{args.metrics}: not a readable evaluate summary.json ({err})") from err
    config = export_onnx(args.checkpoint, out, fp16=args.fp16, evaluation=evaluation)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {config.arch} at {config.input_size}px)")
    return 0
