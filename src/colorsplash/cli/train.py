"""CLI verb ``colorsplash train`` (needs the ``train`` extra: PyTorch).

Its flags are generated from the config dataclasses (:class:`~colorsplash.runtime.config.ModelConfig`,
:class:`~colorsplash.training.config.TrainConfig`, :class:`~colorsplash.training.config.AugmentConfig`), so each
option, its default and its help are defined once, on the dataclass field.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from colorsplash.cli.common import need_torch
from colorsplash.cli.config_args import add_config_arguments, config_from_args, given_fields
from colorsplash.runtime.config import ModelConfig, default_model_config
from colorsplash.training.config import AugmentConfig, TrainConfig
from colorsplash.training.recipes import RECIPES, preset_names, read_recipe_file


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="train a U-Net on image/mask folders",
        description="Train on one or more data folders (seed layout input/+mask/, paired images/+masks/, "
        "or Oxford-IIIT Pet images/+trimaps/).",
    )
    p.add_argument("data", nargs="*", help="data set folders")
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help="a named recipe; 'pets' runs the four stages that made the bundled model (pets-lite1-base, "
        "-finetune, -384, -robust), each in RUN/stage<i>-<preset>, and blends the last two into "
        "RUN/blend.pt ('pets-lite0': the same on Lite0); a single stage needs --init after the "
        "first; the preset's values win over the flags below",
    )
    p.add_argument("--resume", metavar="RUN", help="continue the run in folder RUN from its last.pt")
    add_config_arguments(p, ModelConfig, "model", "network")
    add_config_arguments(p, TrainConfig, "train", "training")
    add_config_arguments(p, AugmentConfig, "augment", "augmentation")
    p.set_defaults(func=run_train)


def build_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Model and training configs from parsed ``train`` arguments (a single-stage preset applied last; a
    staged recipe lays its stage presets over these configs as it runs)."""
    from colorsplash.training.recipes import apply_preset

    model_flags = given_fields(args, "model")
    base = default_model_config(model_flags.get("arch", ModelConfig.arch), model_flags.get("input_size", 256))
    mcfg = config_from_args(base, args, "model")
    augment = config_from_args(AugmentConfig(), args, "augment")
    tcfg = config_from_args(TrainConfig(data=tuple(args.data), augment=augment), args, "train")
    out_given = "out_dir" in given_fields(args, "train")
    if not out_given:
        tcfg = dataclasses.replace(tcfg, out_dir=f"runs/{args.preset or mcfg.arch}")
    if args.preset and args.preset not in RECIPES:
        mcfg, tcfg = apply_preset(args.preset, mcfg, tcfg)
    return mcfg, tcfg


def _refuse_existing_run(out_dir: str) -> None:
    if (Path(out_dir) / "last.pt").exists() or read_recipe_file(out_dir) is not None:
        raise ValueError(
            f"{out_dir} already holds a run; pass --resume {out_dir} to continue it or -o NEW_DIR to start another"
        )


def run_train(args: argparse.Namespace) -> int:
    need_torch("train")
    from colorsplash.training.recipe_run import run_recipe, start_recipe_file
    from colorsplash.training.trainer import Trainer

    progress = not getattr(args, "quiet", False)  # kept in logs too, redrawn once a minute (runtime.progress)
    record = read_recipe_file(args.resume) if args.resume else None
    if record is not None:  # a staged run: finish its remaining stages
        state, best = run_recipe(
            record["recipe"],
            ModelConfig.from_dict(record["model"]),
            TrainConfig.from_dict(record["train"]),
            resume=True,
            show_progress=progress,
        )
        return _report(state.best_iou, state.best_epoch, str(best))
    if args.resume:
        mcfg, tcfg = build_configs(args)
        trainer = Trainer(mcfg, dataclasses.replace(tcfg, out_dir=args.resume), resume=True, show_progress=progress)
    else:
        if not args.data:
            raise ValueError("name at least one data folder (or --resume RUN)")
        mcfg, tcfg = build_configs(args)
        _refuse_existing_run(tcfg.out_dir)
        if args.preset in RECIPES:
            start_recipe_file(args.preset, mcfg, tcfg)
            state, best = run_recipe(args.preset, mcfg, tcfg, show_progress=progress)
            return _report(state.best_iou, state.best_epoch, str(best))
        trainer = Trainer(mcfg, tcfg, show_progress=progress)
    state = trainer.fit()
    return _report(state.best_iou, state.best_epoch, str(Path(trainer.cfg.out_dir) / "best.pt"))


def _report(best_iou: float, best_epoch: int, best: str) -> int:
    from colorsplash.training.steps import setup_distributed

    if setup_distributed().main:  # under torchrun only rank 0 reports
        print(f"best validation IoU {best_iou:.4f} (epoch {best_epoch}); model {best}")
    return 0
