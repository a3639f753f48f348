"""CLI verbs ``train``, ``evaluate`` and ``export`` (need the ``train`` extra: PyTorch)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from colorsplash.runtime.config import ARCHES, ModelConfig, default_model_config
from colorsplash.training.config import LR_SCHEDULES, AugmentConfig, TrainConfig
from colorsplash.training.quantize import DEFAULT_CALIBRATION_IMAGES
from colorsplash.training.recipes import RECIPES, preset_names, read_recipe_file, write_recipe_file

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
    p.add_argument("--preset", choices=preset_names(),
                   help="a named recipe; 'pets' runs the four stages that made the bundled model (pets-lite1-base, "
                        "-finetune, -384, -robust), each in RUN/stage<i>-<preset>, and blends the last two into "
                        "RUN/blend.pt ('pets-lite0': the same on Lite0); a single stage needs --init after the "
                        "first")
    p.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--arch", choices=ARCHES, default="unet-lite0")
    p.add_argument("--size", type=int, default=256, help="network input size (multiple of 32)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--dice", type=float, default=TrainConfig.dice_weight, help="weight of the Dice loss term")
    p.add_argument("--lovasz", type=float, default=TrainConfig.lovasz_weight,
                   help="weight of the Lovasz hinge loss term (optimises per-image IoU)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    p.add_argument("--val-fraction", type=float, default=TrainConfig.val_fraction)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule,
                   help="onecycle: warm-up then cosine decay; constant: for weight averaging")
    p.add_argument("--swa-epochs", type=int, default=TrainConfig.swa_epochs, metavar="N",
                   help="average the weights of the last N epochs (saved as swa.pt; best.pt if it validates best)")
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


def build_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Model and training configs from parsed ``train`` arguments (a single-stage preset applied last; a
    staged recipe lays its stage presets over these configs as it runs)."""
    from colorsplash.training.recipes import apply_preset

    mcfg = dataclasses.replace(default_model_config(args.arch, args.size), base_channels=args.unet_base,
                               depth=args.unet_depth, upsample=args.upsample)
    tcfg = TrainConfig(data=tuple(args.data), out_dir=args.out or f"runs/{args.arch}", epochs=args.epochs,
                       batch_size=args.batch_size, lr=args.lr, dice_weight=args.dice, lovasz_weight=args.lovasz,
                       max_steps=args.max_steps,
                       val_fraction=args.val_fraction, seed=args.seed, patience=args.patience,
                       skip_bad=args.skip_bad, bf16=not args.no_bf16, num_workers=args.workers,
                       init_from=args.init, augment=AugmentConfig(enabled=not args.no_augment),
                       lr_schedule=args.lr_schedule, swa_epochs=args.swa_epochs)
    if args.preset:
        if args.preset not in RECIPES:
            mcfg, tcfg = apply_preset(args.preset, mcfg, tcfg)
        if args.out is None:
            tcfg = dataclasses.replace(tcfg, out_dir=f"runs/{args.preset}")
    return mcfg, tcfg


def _refuse_existing_run(out_dir: str) -> None:
    if (Path(out_dir) / "last.pt").exists() or read_recipe_file(out_dir) is not None:
        raise ValueError(f"{out_dir} already holds a run; pass --resume {out_dir} to continue it "
                         "or -o NEW_DIR to start another")


def run_train(args: argparse.Namespace) -> int:
    _need_torch()
    from colorsplash.training.trainer import Trainer, run_recipe

    progress = not getattr(args, "quiet", False)
    record = read_recipe_file(args.resume) if args.resume else None
    if record is not None:  # a staged run: finish its remaining stages
        state, best = run_recipe(record["recipe"], ModelConfig.from_dict(record["model"]),
                                 TrainConfig.from_dict(record["train"]), resume=True, show_progress=progress)
        return _report(state.best_iou, state.best_epoch, str(best))
    if args.resume:
        mcfg, tcfg = build_configs(args)
        trainer = Trainer(mcfg, dataclasses.replace(tcfg, out_dir=args.resume), resume=True,
                          show_progress=progress)
    else:
        if not args.data:
            raise ValueError("name at least one data folder (or --resume RUN)")
        mcfg, tcfg = build_configs(args)
        _refuse_existing_run(tcfg.out_dir)
        if args.preset in RECIPES:
            _start_recipe_file(args.preset, mcfg, tcfg)
            state, best = run_recipe(args.preset, mcfg, tcfg, show_progress=progress)
            return _report(state.best_iou, state.best_epoch, str(best))
        trainer = Trainer(mcfg, tcfg, show_progress=progress)
    state = trainer.fit()
    return _report(state.best_iou, state.best_epoch, str(Path(trainer.cfg.out_dir) / "best.pt"))


def _start_recipe_file(recipe: str, mcfg: ModelConfig, tcfg: TrainConfig) -> None:
    """Rank 0 writes ``recipe.json``, once every rank has checked the run folder was free (under torchrun a
    rank that looked after the file appeared would refuse the run as already started)."""
    import torch.distributed as dist

    from colorsplash.training.steps import setup_distributed

    d = setup_distributed()
    if d.world > 1:
        dist.barrier()
    if d.main:
        write_recipe_file(tcfg.out_dir, recipe, mcfg, tcfg)


def _report(best_iou: float, best_epoch: int, best: str) -> int:
    import torch.distributed as dist

    if not dist.is_initialized() or dist.get_rank() == 0:  # under torchrun only rank 0 reports
        print(f"best validation IoU {best_iou:.4f} (epoch {best_epoch}); model {best}")
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
    from colorsplash.evaluation.evaluate import evaluate_cli

    return evaluate_cli(args)


def _register_export(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("export", help="export a checkpoint to ONNX")
    p.add_argument("checkpoint", help="a .pt checkpoint (best.pt or last.pt of a run)")
    p.add_argument("-o", "--out", required=True, help="output .onnx file")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    precision.add_argument("--int8", nargs="+", metavar="DATA",
                           help="quantise to int8 (faster on CPU, ~1/4 the size), calibrated on photos from the "
                                "training split of these data folders")
    p.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES, metavar="N",
                   help=f"photos used to calibrate --int8 (default {DEFAULT_CALIBRATION_IMAGES})")
    p.add_argument("--metrics", metavar="SUMMARY_JSON",
                   help="embed an `evaluate` summary.json (scores at original resolution) in the metadata")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    _need_torch()
    from colorsplash.training.export import export_onnx

    out = Path(args.out)
    if out.resolve() == Path(args.checkpoint).resolve():
        raise ValueError(f"{out}: refusing to overwrite the input checkpoint")
    if args.calibration_images < 1:
        raise ValueError(f"--calibration-images must be at least 1, got {args.calibration_images}")
    evaluation = None
    if args.metrics:
        try:
            evaluation = json.loads(Path(args.metrics).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{args.metrics}: not a readable evaluate summary.json ({err})") from err
    config = export_onnx(args.checkpoint, out, fp16=args.fp16, evaluation=evaluation, int8_data=args.int8,
                         calibration_images=args.calibration_images,
                         show_progress=not getattr(args, "quiet", False))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {config.arch} at {config.input_size}px, "
          f"{config.precision})")
    return 0
