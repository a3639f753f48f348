"""CLI verb ``colorsplash train`` (needs the ``train`` extra: PyTorch).

Its flags are generated from the config dataclasses (:class:`~colorsplash.runtime.model.config.ModelConfig`,
:class:`~colorsplash.training.config.TrainConfig`, :class:`~colorsplash.training.config.AugmentConfig`), so each
option, its default and its help are defined once, on the dataclass field.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colorsplash.cli.common import add_data_argument, add_negatives_argument, need_torch, sigterm_as_interrupt
from colorsplash.cli.config_args import (
    add_config_arguments,
    config_from_args,
    given_fields,
    given_flags,
    replaced_flags,
)
from colorsplash.runtime.flags import arg_type, non_empty_name
from colorsplash.runtime.model.config import ModelConfig, default_model_config
from colorsplash.training import run_files
from colorsplash.training.config import (
    NEGATIVE_SHARE,
    AugmentConfig,
    TrainConfig,
    refuse_one_pixel_features,
    resumed_config,
    resumed_model_config,
)
from colorsplash.training.recipes import PETS_PRESENCE_RECALL, RECIPES, preset_names, read_recipe_file
from colorsplash.training.run_lock import run_lock

if TYPE_CHECKING:
    from colorsplash.training.trainer import Trainer

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="train a U-Net on image/mask folders",
        description="Train on one or more data folders (input/ + mask/ as in the tutorial colorsplash grew from, "
        "paired images/ + masks/, or Oxford-IIIT Pet images/+trimaps/), and with --negatives on folders of photos "
        "without the subject.",
    )
    add_data_argument(p)
    add_negatives_argument(
        p,
        "folders of photos that do NOT show the subject (any pictures directly in them, no masks; name "
        "subfolders too): every pixel is background and the presence head (on by default with them, unet-lite* "
        "only) learns to answer 'no'; a seeded quarter of them validates, and the end of the run chooses the "
        f"presence threshold that {100 * PETS_PRESENCE_RECALL:g} %% of the validation subject photos pass, so that "
        "splash says 'no SUBJECT found' on such photos. An epoch trains on every subject photo and, rounded up, one "
        f"negative for every three (a {100 * NEGATIVE_SHARE:g} %% share of each batch on average, 2 of 8, as the "
        "pets recipe's pet-free scenes; more negatives are drawn afresh each epoch)",
    )
    p.add_argument(
        "--preset",
        choices=preset_names(),
        help="a named recipe; 'pets' makes the bundled model from the folders oxford-pets, oxford-breeds, "
        "feral-cats and coco-scenes: four stages (pets-lite1-base, -finetune, -384, -robust) on oxford-pets and "
        "feral-cats alone, each in RUN/stage<i>-<preset>, a blend of the last two (RUN/blend.pt), then on all four "
        "the presence head's stage on it and one epoch of masks guided by the head's trunk, and last the presence "
        f"threshold chosen on the validation pet photos ({100 * PETS_PRESENCE_RECALL:g} %% pass); the model is "
        "RUN/final.pt ('pets-lite0': the first four and the blend on Lite0); a stage trains on the data sets its "
        "preset names (a set is named after its folder), alone too; a single stage needs --init after the first; "
        "the preset's values win over the flags below (but --name and --subject: a warning names each flag replaced)",
    )
    p.add_argument(
        "--resume",
        type=arg_type(non_empty_name("name the run folder to continue (the -o of its train)")),
        metavar="RUN",
        help="continue the run in folder RUN from its last.pt, with the run's own saved config and data folders "
        "(no other training flags or data may be given; to train a finished run further, start a new run with "
        "--init RUN/last.pt)",
    )
    add_config_arguments(p, ModelConfig, "model", "network")
    add_config_arguments(p, TrainConfig, "train", "training")
    add_config_arguments(p, AugmentConfig, "augment", "augmentation")
    p.set_defaults(func=run_train)


def build_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Model and training configs from parsed ``train`` arguments (a single-stage preset applied last; a
    staged recipe lays its stage presets over these configs as it runs)."""
    from colorsplash.training.recipes import apply_preset
    from colorsplash.training.stage_data import log_stage_data

    model_flags = given_fields(args, "model")
    base = default_model_config(model_flags.get("arch", ModelConfig.arch), model_flags.get("input_size", 256))
    _refuse_head_on_plain_unet(base.arch, model_flags, bool(args.negatives))
    mcfg = config_from_args(base, args, "model")
    augment = config_from_args(AugmentConfig(), args, "augment")
    # Absolute data folders, so that --resume finds them from any working folder (names, and so splits, unchanged).
    data = tuple(os.path.abspath(d) for d in args.data)
    negatives = tuple(os.path.abspath(d) for d in args.negatives)
    mcfg = _presence_for_negatives(mcfg, model_flags, negatives)
    tcfg = config_from_args(TrainConfig(data=data, negatives=negatives, augment=augment), args, "train")
    if tcfg.init_from:
        tcfg = dataclasses.replace(tcfg, init_from=os.path.abspath(tcfg.init_from))
    if "out_dir" not in given_fields(args, "train"):
        tcfg = dataclasses.replace(tcfg, out_dir=f"runs/{args.preset or mcfg.arch}")
    if args.preset and args.preset not in RECIPES:
        given = (mcfg, tcfg)
        mcfg, tcfg = apply_preset(args.preset, mcfg, tcfg)
        # The model's own words stay the user's: a stage preset on their data would make it say "no pet found".
        mcfg = dataclasses.replace(mcfg, **{k: v for k, v in model_flags.items() if k in ("name", "subject")})
        _warn_replaced(args, given, (mcfg, tcfg))
        log_stage_data(args.preset, data, tcfg.data)
    _refuse_frozen_head(mcfg, tcfg)
    refuse_one_pixel_features(mcfg)
    return mcfg, tcfg


def _warn_replaced(
    args: argparse.Namespace, given: tuple[ModelConfig, TrainConfig], used: tuple[ModelConfig, TrainConfig]
) -> None:
    """Warn of the flags given whose values the stage preset replaced (its settings win), with the values used."""
    replaced = [
        *replaced_flags(args, "model", given[0], used[0]),
        *replaced_flags(args, "train", given[1], used[1]),
        *replaced_flags(args, "augment", given[1].augment, used[1].augment),
    ]
    if replaced:
        log.warning(
            "--preset %s sets %s in place of the flags given (a preset's settings win over flags); to train with "
            "yours, leave out --preset",
            args.preset,
            ", ".join(replaced),
        )


def _check_start(init_from: str | None, preset: str | None) -> None:
    """Refuse a starting checkpoint that is not there before any data is read (it failed after reading the whole
    data set), and a later stage of a staged recipe run alone without one; ``preset``: the preset that named it (its
    paths are the repository's, relative to its root)."""
    if not init_from:
        _refuse_stage_without_start(preset)
        return
    if Path(init_from).is_file():
        return
    if Path(init_from).is_dir():
        from colorsplash.training.checkpoint import folder_not_checkpoint

        raise FileNotFoundError(f"--init {folder_not_checkpoint(Path(init_from))}; nothing was trained")
    if preset is None:
        raise FileNotFoundError(f"--init {init_from}: checkpoint not found; nothing was trained")
    raise FileNotFoundError(
        f"{init_from}: checkpoint not found: --preset {preset} starts from this file of the colorsplash repository "
        "(not in the package); run from the repository's root, or name another start with --init PATH"
    )


def _refuse_stage_without_start(preset: str | None) -> None:
    """A stage preset that its recipe starts from the stage before it (see :func:`stage_before`) needs ``--init``."""
    from colorsplash.training.stage_data import stage_before

    if preset is None or (before := stage_before(preset)) is None:
        return
    recipe, stage = before
    raise ValueError(
        f"--preset {preset} continues from the weights of the stage before it, {stage} (--preset {recipe} runs "
        f"them in turn), at a fine-tune's learning rate: without --init it would start from ImageNet weights; pass "
        f"--init RUN/best.pt of a {stage} run, or run the whole recipe with --preset {recipe}; nothing was trained"
    )


def _refuse_frozen_head(mcfg: ModelConfig, tcfg: TrainConfig) -> None:
    """``--trainable decoder`` freezes the presence head: with ``--negatives`` it would learn nothing from them and
    the end of the run would choose a threshold on an untrained head (a gate that turns away subject photos at
    random)."""
    if tcfg.negatives and mcfg.presence_head and tcfg.trainable == "decoder":
        raise ValueError(
            "--trainable decoder keeps the presence head frozen, so it cannot learn from --negatives to say 'no "
            f"{mcfg.subject} here'; pass --trainable all (or presence: the head alone), or --no-presence-head to "
            "teach the masks alone that the negatives are all background"
        )


def _refuse_head_on_plain_unet(arch: str, given: dict[str, Any], negatives: bool) -> None:
    """A presence head (asked for, or on by default with ``--negatives``) needs an EfficientNet-Lite encoder."""
    if arch != "unet" or not given.get("presence_head", negatives):
        return
    why = "--negatives turn on the presence head" if "presence_head" not in given else "--presence-head"
    also = ", or --no-presence-head to teach the plain U-Net's masks alone that the negatives are all background"
    raise ValueError(
        f"{why}, which reads an EfficientNet-Lite encoder: --arch unet has none; pass --arch unet-lite0 (or "
        f"unet-lite1, unet-lite2){also if negatives else ''}"
    )


def _presence_for_negatives(mcfg: ModelConfig, given: dict[str, Any], negatives: tuple[str, ...]) -> ModelConfig:
    """``mcfg`` with the presence head on when negatives are given and ``--presence-head``/``--no-presence-head``
    was not; a warning when the head is asked for without negatives (it sees no photo without the subject)."""
    if not negatives:
        if given.get("presence_head"):
            log.warning(
                "--presence-head without --negatives: the head sees no photo without the %s, so it learns to say "
                "yes to every photo and no threshold is chosen; give --negatives DIR",
                mcfg.subject,
            )
        return mcfg
    return mcfg if "presence_head" in given else dataclasses.replace(mcfg, presence_head=True)


def _refuse_existing_run(out_dir: str) -> None:
    """Refuse a run folder that is a file, holds a run, or holds files of a run's names that no run wrote (a run
    stopped before its first epoch ended left its own ``config.json``: the same command may start it again)."""
    run = Path(out_dir)
    if run.exists() and not run.is_dir():
        raise ValueError(f"-o {out_dir}: is a file; -o names the run folder (new or empty): choose a folder")
    if (run / run_files.LAST).exists() or read_recipe_file(out_dir) is not None:
        raise ValueError(
            f"{out_dir} already holds a run; pass --resume {out_dir} to continue it or -o NEW_DIR to start another"
        )
    clash = [name for name in run_files.WRITTEN if os.path.lexists(run / name)]  # a link to nothing too
    if clash and not _is_run_config(run / run_files.CONFIG):
        raise ValueError(
            f"{out_dir} holds {', '.join(clash)}, which a run would replace, and no run of colorsplash; "
            "choose a new or empty folder with -o NEW_DIR"
        )


def _is_run_config(path: Path) -> bool:
    """Whether ``path`` is the ``config.json`` a run writes (its model and training settings)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and "model" in record and "train" in record


def _refuse_flags_with_resume(args: argparse.Namespace) -> None:
    """``--resume RUN`` continues with the run's saved config and data: refuse anything else given with it (it
    was silently ignored), naming what."""
    given = [f"data folder(s) {' '.join(args.data)}"] if args.data else []
    given += ["--negatives"] if args.negatives else []
    given += ["--preset"] if args.preset else []
    for cls, key in ((ModelConfig, "model"), (TrainConfig, "train"), (AugmentConfig, "augment")):
        given += given_flags(args, cls, key)
    if given:
        raise ValueError(
            f"--resume {args.resume} continues the run with its own saved config and data folders; these would be "
            f"ignored: {', '.join(given)}. Drop them, or start a new run from it: colorsplash train DATA... "
            f"--init {Path(args.resume) / 'last.pt'} -o NEW_RUN"
        )


def run_train(args: argparse.Namespace) -> int:
    need_torch("train")
    from colorsplash.training.distributed import process_group_closed

    with sigterm_as_interrupt(), process_group_closed():  # SIGTERM as Ctrl-C: finished epochs kept, how to go on said
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    progress = not getattr(args, "quiet", False)  # kept in logs too, redrawn once a minute (runtime.progress)
    if args.resume:
        _refuse_flags_with_resume(args)
        with run_lock(Path(args.resume), main=_main_process(), create=False):
            return _resume(args, progress)
    if not args.data:
        after = " before --negatives (it takes every folder after it)" if args.negatives else ""
        raise ValueError(f"name at least one data folder (or --resume RUN){after}")
    if args.negatives and args.preset in RECIPES:
        raise ValueError(
            f"--preset {args.preset} takes its photos without a pet from coco-scenes; --negatives is for runs "
            "of your own subject (or a single stage preset)"
        )
    mcfg, tcfg = build_configs(args)
    _check_start(tcfg.init_from, args.preset if "init_from" not in given_fields(args, "train") else None)
    _refuse_existing_run(tcfg.out_dir)  # before the folder is made and torch loaded: said at once
    main = _main_process()
    with run_lock(Path(tcfg.out_dir), main=main):
        if main:  # again, held: a run training there when first looked at may have ended since, leaving its files
            _refuse_existing_run(tcfg.out_dir)
        return _start(args, mcfg, tcfg, progress)


def _resume(args: argparse.Namespace, progress: bool) -> int:
    """``--resume RUN``: a staged recipe's remaining stages, or a single run's remaining epochs."""
    from colorsplash.training.recipe_run import run_recipe
    from colorsplash.training.trainer import Trainer

    record = read_recipe_file(args.resume)
    if record is not None:  # a staged run: its remaining stages (moved data refused by those that read it)
        with _on_interrupt(args.resume, None):
            state, best = run_recipe(
                record["recipe"],
                resumed_model_config(record["model"]),
                resumed_config(TrainConfig.from_dict(record["train"]), args.resume, reads_data=False),
                resume=True,
                show_progress=progress,
            )
        return _report(state.best_iou, state.best_epoch, str(best))
    if (finished := _finished_run(Path(args.resume))) is not None:
        return finished
    mcfg, tcfg = build_configs(args)
    trainer = Trainer(mcfg, dataclasses.replace(tcfg, out_dir=args.resume), resume=True, show_progress=progress)
    return _fit(trainer)


def _start(args: argparse.Namespace, mcfg: ModelConfig, tcfg: TrainConfig, progress: bool) -> int:
    """A new run in ``tcfg.out_dir`` (checked free, and locked): a staged recipe or a single run."""
    from colorsplash.training.recipe_run import run_recipe, stage_plan, start_recipe_file
    from colorsplash.training.trainer import Trainer

    if args.preset in RECIPES:
        stage_plan(args.preset, mcfg, tcfg)  # a data set a stage needs is missing: say so before writing RUN
        start_recipe_file(args.preset, mcfg, tcfg)
        with _on_interrupt(tcfg.out_dir, None):
            state, best = run_recipe(args.preset, mcfg, tcfg, show_progress=progress)
        return _report(state.best_iou, state.best_epoch, str(best))
    return _fit(Trainer(mcfg, tcfg, show_progress=progress))


def _fit(trainer: Trainer) -> int:
    """Train ``trainer``'s run to its end, then its presence threshold (with negatives); report."""
    from colorsplash.training.calibration import calibrate_run

    with _on_interrupt(trainer.cfg.out_dir, trainer):
        state = trainer.fit()
        calibrate_run(trainer.cfg.out_dir, trainer.cfg)  # with negatives: the presence threshold of best.pt
    return _report(state.best_iou, state.best_epoch, str(Path(trainer.cfg.out_dir) / run_files.BEST))


def _finished_run(run: Path) -> int | None:
    """For ``--resume`` of a single run whose ``last.pt`` records its end: say so and report its result without
    reading its data (which may have moved since); ``None`` when it has epochs left (or no ``last.pt``), or when it
    was stopped after its last epoch and before its last report (``val_predictions.png``), which the trainer then
    writes (it said so, and ``--resume`` said "finished already" and never wrote it)."""
    from colorsplash.training.calibration import calibrate_run
    from colorsplash.training.checkpoint import read_checkpoint
    from colorsplash.training.steps import RunState
    from colorsplash.training.trainer import finished_message

    if not (run / run_files.LAST).is_file():
        return None
    payload = read_checkpoint(run / run_files.LAST)
    state = RunState(**payload["run_state"])
    if not state.finished or not run_files.reports_written(run):
        return None
    if _main_process():
        log.info("%s", finished_message(run, state.epoch, payload["train_config"]["epochs"]))
    saved = resumed_config(TrainConfig.from_dict(payload["train_config"]), run, reads_data=False)
    calibrate_run(run, saved)  # if cut short before
    return _report(state.best_iou, state.best_epoch, str(run / run_files.BEST))


@contextlib.contextmanager
def _on_interrupt(run: str, trainer: Trainer | None) -> Iterator[None]:
    """On Ctrl-C, say in one line what the run folder ``run`` kept and the command that continues it (a staged
    recipe: ``trainer`` None), then let the interrupt end the command."""
    try:
        yield
    except KeyboardInterrupt:
        if _main_process():
            print(f"colorsplash: training interrupted: {_kept(run, trainer)}", file=sys.stderr)
        raise


def _kept(run: str, trainer: Trainer | None) -> str:
    """What an interrupted run kept, and how to go on (one line)."""
    again = f"continue with: colorsplash train --resume {shlex.quote(str(run))}"
    if trainer is None:
        return f"the finished stages and the current stage's finished epochs are kept; {again}"
    if not trainer.kept_epoch:
        return "no epoch had finished, so nothing was kept; run the same command again"
    last, kept, total = Path(run) / run_files.LAST, trainer.kept_epoch, trainer.cfg.epochs
    if kept >= total:
        every = "its one epoch" if total == 1 else f"all {total} epochs"  # "holds all 1 epochs"
        return f"{last} holds {every}; the run's last reports were not written: {again}"
    epochs = "epoch 1" if kept == 1 else f"epochs 1-{kept}"
    return f"{last} keeps {epochs} of {total} (the epoch in progress is lost); {again}"


def _main_process() -> bool:
    from colorsplash.training.distributed import setup_distributed

    return setup_distributed().main


def _report(best_iou: float, best_epoch: int, best: str) -> int:
    if _main_process():  # under torchrun only rank 0 reports
        print(f"best validation IoU {best_iou:.4f} (epoch {best_epoch}); model {best}")
    return 0
