"""Staged recipes run stage after stage (see :mod:`colorsplash.training.recipes`): each stage a :class:`Trainer` run
in its own folder on the data sets its preset names, then the recipe's blend, head stage, finishing stage and
presence threshold; ``--resume`` skips finished stages."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch.distributed as dist

from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training import run_files
from colorsplash.training.calibration import calibrate_on_main
from colorsplash.training.checkpoint import read_checkpoint
from colorsplash.training.config import TrainConfig
from colorsplash.training.distributed import setup_distributed
from colorsplash.training.interpolation import blend_checkpoints
from colorsplash.training.recipes import (
    BLEND_FILE,
    FINAL_FILE,
    RECIPE_BLENDS,
    RECIPE_FINISH,
    RECIPE_HEADS,
    RECIPE_THRESHOLD_RECALL,
    RECIPES,
    apply_preset,
    recipe_stages,
    stage_folder,
    write_recipe_file,
)
from colorsplash.training.run_lock import run_lock
from colorsplash.training.stage_data import describe_folders
from colorsplash.training.steps import RunState
from colorsplash.training.trainer import Trainer
from colorsplash.training.transplant import add_presence_head

log = logging.getLogger(__name__)


def finished_state(folder: Path) -> RunState | None:
    """The final state of the run in ``folder`` when its ``last.pt`` says it reached its end and its last report
    (``val_predictions.png``) was written, else ``None``: a stage stopped while it drew that report is resumed, and
    writes it (it was skipped as finished, the report never written)."""
    last = folder / run_files.LAST
    if not last.is_file() or not run_files.reports_written(folder):
        return None
    saved = read_checkpoint(last).get("run_state", {})
    return RunState(**saved) if saved.get("finished") else None


def run_recipe(
    recipe: str, mcfg: ModelConfig, tcfg: TrainConfig, resume: bool = False, show_progress: bool = True
) -> tuple[RunState, Path]:
    """Run the stages of the staged recipe ``recipe`` (see :mod:`colorsplash.training.recipes`) one after the other.

    Stage ``i`` trains in ``tcfg.out_dir/stage<i>-<preset>`` with its preset laid over ``mcfg``/``tcfg``, on the
    folders of ``tcfg.data`` whose data sets the preset names (every stage's sets are checked before any trains).
    Stage 1 starts from ``tcfg.init_from`` (ImageNet weights when unset), every later stage from the previous
    stage's ``best.pt``. With ``resume``, finished stages are skipped and an interrupted one continues from its
    ``last.pt``. Returns the last stage's state and the path of the recipe's model: the last stage's ``best.pt``
    or, for recipes in :data:`~colorsplash.training.recipes.RECIPE_BLENDS`, ``tcfg.out_dir/blend.pt``, the blend of the
    last two stages' ``best.pt`` (made by rank 0 and validated; its IoU replaces the state's ``best_iou``); for
    recipes in :data:`~colorsplash.training.recipes.RECIPE_HEADS`, the ``best.pt`` of the head-only stage run
    from that model; for recipes also in :data:`~colorsplash.training.recipes.RECIPE_FINISH`, ``tcfg.out_dir/final.pt``:
    the finishing stage, run from the model the head stage started from, with the head stage's presence head and,
    for recipes in :data:`~colorsplash.training.recipes.RECIPE_THRESHOLD_RECALL`, the presence threshold chosen on
    the validation pet photos of ``tcfg.data`` (:func:`~colorsplash.training.calibration.calibrate_on_main`).

    Raises:
        ValueError: a data set a stage needs is not among ``tcfg.data`` (before any stage trains).
    """
    _log_plan(recipe, stage_plan(recipe, mcfg, tcfg), tcfg.data)
    init, state, folder = tcfg.init_from, RunState(), Path(tcfg.out_dir)
    if resume and setup_distributed().main:  # under RUN's lock: a partial blend.pt or final.pt is a killed run's
        run_files.remove_partials(folder, (BLEND_FILE, FINAL_FILE))
    stages = RECIPES[recipe]
    for index, stage in enumerate(stages, 1):
        folder = stage_folder(tcfg.out_dir, index, stage)
        # The stage's preset is laid over the previous stage's best.pt: a preset's own init_from wins.
        stage_tcfg = dataclasses.replace(tcfg, out_dir=str(folder), init_from=init)
        smcfg, stcfg = apply_preset(stage, mcfg, stage_tcfg, recipe)
        state = _fit_stage(f"{index}/{len(stages)} ({stage})", folder, smcfg, stcfg, resume, show_progress)
        init = str(folder / run_files.BEST)
    made = folder / run_files.BEST
    if recipe in RECIPE_BLENDS and len(stages) >= 2:
        state, made = _blend_last_stages(recipe, mcfg, tcfg, state, resume, show_progress)
    if recipe not in RECIPE_HEADS:
        return state, made
    state, head = _train_stage_from(recipe, RECIPE_HEADS, len(stages) + 1, made, mcfg, tcfg, resume, show_progress)
    if recipe not in RECIPE_FINISH:
        return state, head
    state, seg = _train_stage_from(recipe, RECIPE_FINISH, len(stages) + 2, made, mcfg, tcfg, resume, show_progress)
    final = _with_head(seg, head, Path(tcfg.out_dir) / FINAL_FILE, resume)
    if recipe in RECIPE_THRESHOLD_RECALL:
        calibrate_on_main(final, tcfg.data, RECIPE_THRESHOLD_RECALL[recipe])  # once: kept on resume
    return state, final


def stage_plan(recipe: str, mcfg: ModelConfig, tcfg: TrainConfig) -> list[tuple[str, tuple[str, ...]]]:
    """Each stage preset of ``recipe``, in order, with the folders of ``tcfg.data`` it trains on (checked before
    a run folder is written to).

    Raises:
        ValueError: a data set a stage needs is not among ``tcfg.data`` (naming the stage, the set and the folders).
    """
    return [(stage, apply_preset(stage, mcfg, tcfg, recipe)[1].data) for stage in recipe_stages(recipe)]


def _log_plan(recipe: str, plan: list[tuple[str, tuple[str, ...]]], given: tuple[str, ...]) -> None:
    """Rank 0 logs which folders each stage of ``recipe`` trains on, and warns of given folders no stage uses."""
    if not setup_distributed().main:
        return
    log.info("recipe %s: %s", recipe, "; ".join(f"{stage} on {describe_folders(used)}" for stage, used in plan))
    unused = [f for f in given if not any(f in used for _, used in plan)]
    if unused:
        log.warning("recipe %s: no stage trains on %s", recipe, ", ".join(unused))


def _with_head(seg: Path, head: Path, out: Path, resume: bool) -> Path:
    """Rank 0 writes ``out``: the checkpoint ``seg`` with the presence head of ``head`` (kept on resume when it is
    newer than both); returns ``out``."""
    d = setup_distributed()
    if d.main and not (resume and _newer_than(out, seg, head)):
        out.unlink(missing_ok=True)  # a stale final.pt of this run, made before a stage was retrained
        add_presence_head(head, seg, out)
        log.info("recipe model: %s with the presence head of %s -> %s", seg, head, out)
    if d.world > 1:
        dist.barrier()
    return out


def _newer_than(out: Path, *sources: Path) -> bool:
    """Whether ``out`` exists and was written after every one of ``sources`` (a derived file a resume may keep)."""
    return out.is_file() and out.stat().st_mtime_ns >= max(src.stat().st_mtime_ns for src in sources)


def _train_stage_from(
    recipe: str,
    table: dict[str, str],
    index: int,
    start: Path,
    mcfg: ModelConfig,
    tcfg: TrainConfig,
    resume: bool,
    show_progress: bool,
) -> tuple[RunState, Path]:
    """Run ``recipe``'s stage in ``table`` (its head-only stage in :data:`~colorsplash.training.recipes.RECIPE_HEADS`
    or its finishing stage in :data:`~colorsplash.training.recipes.RECIPE_FINISH`) as stage ``index`` from the
    recipe's model ``start``; returns its state and ``best.pt``."""
    stage = table[recipe]
    folder = stage_folder(tcfg.out_dir, index, stage)
    smcfg, stcfg = apply_preset(stage, mcfg, dataclasses.replace(tcfg, out_dir=str(folder)), recipe)
    stcfg = dataclasses.replace(stcfg, init_from=str(start))  # the recipe's model, not the preset's own start
    state = _fit_stage(f"{index} ({stage})", folder, smcfg, stcfg, resume, show_progress, f" from {start}")
    return state, folder / run_files.BEST


def _fit_stage(
    label: str,
    folder: Path,
    mcfg: ModelConfig,
    tcfg: TrainConfig,
    resume: bool,
    show_progress: bool,
    start: str = "",
) -> RunState:
    """Train one stage in ``folder`` with its configs, or, with ``resume``, return the state of a stage that already
    finished there (an interrupted one continues from its ``last.pt``). ``label`` names the stage in the log;
    ``start`` is said when it trains."""
    done = finished_state(folder) if resume else None
    if done is not None:
        log.info("stage %s already finished in %s", label, folder)
        return done
    log.info("stage %s%s in %s, on %s", label, start, folder, describe_folders(tcfg.data))
    # The stage's own folder is locked too: `train --resume RUN/stageN-...` is a run of its own, which would train
    # there beside the recipe (the recipe holds RUN's lock, not this one).
    with run_lock(folder, main=setup_distributed().main):
        trainer = Trainer(
            mcfg, tcfg, resume=resume and (folder / run_files.LAST).is_file(), show_progress=show_progress
        )
        return trainer.fit()


def _blend_last_stages(
    recipe: str, mcfg: ModelConfig, tcfg: TrainConfig, state: RunState, resume: bool, show_progress: bool
) -> tuple[RunState, Path]:
    """Rank 0 writes ``RUN/blend.pt`` from the last two stages' ``best.pt`` (kept on resume unless a stage was
    retrained since); the returned state carries the blend's validation IoU."""
    stages = RECIPES[recipe]
    n = len(stages)
    first, second = (stage_folder(tcfg.out_dir, i, stages[i - 1]) / run_files.BEST for i in (n - 1, n))
    out = Path(tcfg.out_dir) / BLEND_FILE
    d = setup_distributed()
    if d.main:
        if resume and _newer_than(out, second):
            log.info("blend already made: %s", out)
            val_iou = read_checkpoint(out)["model_config"]["training"]["metrics"].get("val_iou")
        else:
            _, stcfg = apply_preset(stages[-1], mcfg, tcfg, recipe)
            val_iou = blend_checkpoints(first, second, RECIPE_BLENDS[recipe], out, stcfg, show_progress)
        state = dataclasses.replace(state, best_iou=float(val_iou or 0.0))
    if d.world > 1:
        dist.barrier()  # other ranks return once the blend is written
    return state, out


def start_recipe_file(recipe: str, mcfg: ModelConfig, tcfg: TrainConfig) -> None:
    """Rank 0 writes ``recipe.json``, once every rank has checked the run folder was free (under torchrun a
    rank that looked after the file appeared would refuse the run as already started)."""
    d = setup_distributed()
    if d.world > 1:
        dist.barrier()
    if d.main:
        write_recipe_file(tcfg.out_dir, recipe, mcfg, tcfg)
