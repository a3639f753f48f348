"""The training run: builds model, optimiser and schedule, loops over epochs, resumes, stops early.

The loop and its state live here; what each epoch does (steps, validation, schedule, data) is
:mod:`colorsplash.training.steps`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training import plots, run_files
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint, unwrap
from colorsplash.training.config import TrainConfig, resumed_config, resumed_model_config
from colorsplash.training.distributed import Dist, setup_distributed
from colorsplash.training.networks import build_model, freeze_for, param_groups
from colorsplash.training.pretrained import init_presence_trunk, init_pretrained
from colorsplash.training.steps import (
    RunState,
    TrainData,
    choose_bf16,
    make_loader,
    onecycle_schedule,
    predict_batches,
    prepare_data,
    seed_everything,
    total_steps,
    train_epoch,
    training_device,
    validate,
    write_json,
    write_metrics,
)
from colorsplash.training.swa import WeightAverage, averaging

log = logging.getLogger(__name__)


class Trainer:
    """One training run in ``tcfg.out_dir``; ``resume=True`` continues from ``last.pt`` there."""

    def __init__(self, mcfg: ModelConfig, tcfg: TrainConfig, resume: bool = False, show_progress: bool = True) -> None:
        self.d: Dist = setup_distributed()
        self.run = Path(tcfg.out_dir)
        self.state = RunState()
        self.kept_epoch = 0  # the epoch the run's last.pt was saved after (0: none yet)
        resume_payload = self._resume_payload() if resume else None
        if resume_payload is not None:
            mcfg = resumed_model_config(resume_payload["model_config"])
            # The saved configs, never new flags (the CLI refuses them): the LR schedule depends on the saved ones.
            tcfg = resumed_config(TrainConfig.from_dict(resume_payload["train_config"]), self.run)
        self.mcfg, self.cfg = mcfg, tcfg
        seed_everything(tcfg.seed + self.d.rank)
        self.device = training_device(self.d.rank)
        self.show_progress = show_progress and self.d.main
        bf16, why = choose_bf16(tcfg)
        self.precision = {"autocast": "bfloat16" if bf16 else "float32", "reason": why}
        self.data: TrainData = prepare_data(tcfg, mcfg, self.show_progress, report=self.d.main)
        if self.d.main:  # after the data is found: `train nosuch` printed it before its refusal
            log.info("precision: %s (%s)", "bfloat16 autocast" if bf16 else "float32", why)
        self.model = self._build(resume_payload)
        groups = param_groups(self.model, tcfg.lr, tcfg.encoder_lr_scale)
        self.opt = torch.optim.AdamW(groups, lr=tcfg.lr, weight_decay=tcfg.weight_decay)
        self.sched = self._schedule()
        # Rank 0 alone keeps the average: it alone validates and saves.
        self.swa = WeightAverage(unwrap(self.model)) if tcfg.swa_epochs and self.d.main else None
        if resume_payload is not None:
            self._restore(resume_payload)

    def _schedule(self) -> torch.optim.lr_scheduler.LRScheduler:
        if self.cfg.lr_schedule == "constant":
            return torch.optim.lr_scheduler.LambdaLR(self.opt, lambda step: 1.0)
        peaks = [group["lr"] for group in self.opt.param_groups]
        return onecycle_schedule(self.opt, peaks, total_steps(self.cfg, len(self.data.train), self.d.world))

    def _resume_payload(self) -> dict[str, Any]:
        last = self.run / run_files.LAST
        if self.run.is_file():  # --resume run/last.pt said "run/last.pt/last.pt: nothing to resume"
            raise ValueError(f"--resume {self.run}: names a file; name its run folder: --resume {self.run.parent}")
        if not self.run.exists():
            raise FileNotFoundError(
                f"--resume {self.run}: no such folder, nothing to resume; name a run folder (a train -o)"
            )
        if not last.is_file():
            raise FileNotFoundError(f"{last}: nothing to resume (no last.pt in {self.run}); start without --resume")
        if self.d.main:  # under the run's lock: a partial checkpoint there is a killed run's, no one's now
            run_files.remove_partials(self.run)
        return read_checkpoint(last)

    def _build(self, resume_payload: dict[str, Any] | None) -> nn.Module:
        model = build_model(self.mcfg)
        if resume_payload is None and self.cfg.init_from:
            _load_init_weights(model, self.cfg.init_from, self.mcfg)
        elif resume_payload is None:
            init_pretrained(model, self.mcfg.arch)
        if resume_payload is None:
            init_presence_trunk(model)
        freeze_for(model, self.cfg.trainable)
        model.to(self.device)
        if self.cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.d.world > 1:
            model = nn.parallel.DistributedDataParallel(model)
        return model

    def _restore(self, payload: dict[str, Any]) -> None:
        unwrap(self.model).load_state_dict(payload["state_dict"])
        self.opt.load_state_dict(payload["optimizer"])
        self.sched.load_state_dict(payload["scheduler"])
        self.state = RunState(**payload["run_state"])
        if self.swa is not None and "swa_state" in payload:
            self.swa.load_state_dict(payload["swa_state"])
        torch.set_rng_state(payload["torch_rng"])
        self.kept_epoch = self.state.epoch
        if self.d.main and self.state.finished and not run_files.reports_written(self.run):
            log.info(
                "%s: its %d epochs are trained; writing the last reports it was stopped before",
                self.run,
                self.state.epoch,
            )
        elif self.d.main and self.state.finished:
            log.info("%s", finished_message(self.run, self.state.epoch, self.cfg.epochs))
        elif self.d.main:
            log.info("resuming %s after epoch %d (step %d)", self.run, self.state.epoch, self.state.step)

    def _final_config(self, metrics: dict[str, Any]) -> ModelConfig:
        training = {
            "data": list(self.cfg.data),
            **({"negatives": list(self.cfg.negatives)} if self.cfg.negatives else {}),
            "preset": self.cfg.preset,
            "train_config": self.cfg.to_dict(),
            "autocast": self.precision["autocast"],
            **{k: v for k, v in self.data.summary.items() if k != "val_names"},
            "metrics": metrics,
        }
        return dataclasses.replace(self.mcfg, training=training)

    def _save(
        self, name: str, resumable: bool, model: nn.Module | None = None, metrics: dict[str, Any] | None = None
    ) -> None:
        if metrics is None:
            metrics = {
                "val_iou": self.state.best_iou if name == run_files.BEST else self.state.history[-1]["val_iou"],
                "epoch": self.state.best_epoch if name == run_files.BEST else self.state.epoch,
            }
        extra: dict[str, Any] = {"train_config": self.cfg.to_dict()}
        if resumable:
            extra.update(
                optimizer=self.opt.state_dict(),
                scheduler=self.sched.state_dict(),
                run_state=dataclasses.asdict(self.state),
                torch_rng=torch.get_rng_state(),
            )
            if self.swa is not None:
                extra["swa_state"] = self.swa.state_dict()
        save_checkpoint(self.run / name, model or self.model, self._final_config(metrics), **extra)
        if name == run_files.LAST:
            self.kept_epoch = self.state.epoch

    def _finish_average(self) -> None:
        """Rank 0: validate the weight average, save it as ``swa.pt``, and as ``best.pt`` when it is best."""
        assert self.swa is not None
        net = self.swa.finalize(self.data.train, self.cfg.batch_size, self.device)
        val_iou, val_loss = validate(net, self.data.val, self.cfg, self.device)
        metrics = {"val_iou": val_iou, "epoch": self.state.epoch, "swa_epochs": self.swa.count}
        self._save(run_files.SWA, resumable=False, model=net, metrics=metrics)
        better = val_iou > self.state.best_iou
        log.info(
            "weight average of %d epochs: val loss %.4f, val IoU %.4f%s",
            self.swa.count,
            val_loss,
            val_iou,
            " (best)" if better else f" (best stays epoch {self.state.best_epoch})",
        )
        if better:
            self.state.best_iou, self.state.best_epoch = val_iou, self.state.epoch
            self._save(run_files.BEST, resumable=False, model=net, metrics=metrics)

    def _validate_and_share(self) -> tuple[float, float]:
        """Rank 0 validates; the result is broadcast so every rank takes the same stop decision."""
        result = torch.zeros(2)
        if self.d.main:
            # The bare network: a DDP forward on rank 0 alone could start a buffer broadcast the others never join.
            result[:] = torch.tensor(validate(unwrap(self.model), self.data.val, self.cfg, self.device))
        if self.d.world > 1:
            dist.broadcast(result, 0)
        return float(result[0]), float(result[1])

    def _end_epoch(self, train_loss: float, started: float) -> bool:
        """Validate, log, save; return True when training should stop."""
        val_iou, val_loss = self._validate_and_share()
        self.state.epoch += 1
        self.state.history.append(
            {
                "epoch": self.state.epoch,
                "step": self.state.step,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_iou": val_iou,
                "lr": self.opt.param_groups[0]["lr"],
                "seconds": time.time() - started,
            }
        )
        if self.swa is not None and averaging(self.cfg, self.state.epoch):
            self.swa.update(unwrap(self.model))
        improved = val_iou > self.state.best_iou
        if improved:
            self.state.best_iou, self.state.best_epoch = val_iou, self.state.epoch
        if self.d.main:
            if improved:
                self._save(run_files.BEST, resumable=False)
            self._save(run_files.LAST, resumable=True)
            write_metrics(self.run, self.state.history)
            plots.plot_curves(self.state.history, self.run / run_files.CURVES)
            log.info(
                "epoch %d: train loss %.4f, val loss %.4f, val IoU %.4f%s",
                self.state.epoch,
                train_loss,
                val_loss,
                val_iou,
                " (best)" if improved else "",
            )
        out_of_steps = self.cfg.max_steps is not None and self.state.step >= self.cfg.max_steps
        patience_gone = self.state.epoch - self.state.best_epoch >= self.cfg.patience
        if patience_gone and self.d.main:
            log.info("early stop: no IoU gain in %d epochs", self.cfg.patience)
        return out_of_steps or patience_gone or self.state.epoch >= self.cfg.epochs

    def _write_run_files(self) -> None:
        self.run.mkdir(parents=True, exist_ok=True)
        write_json(
            self.run / run_files.CONFIG,
            {
                "model": self.mcfg.to_dict(),
                "train": self.cfg.to_dict(),
                "data": self.data.summary,
                "world_size": self.d.world,
                "precision": self.precision,
            },
        )
        plots.save_overview(self.data.train, self.run / run_files.OVERVIEW)

    def fit(self) -> RunState:
        """Train until the epoch budget, ``max_steps`` or patience runs out; returns the final state."""
        if self.d.main:
            self._write_run_files()
        done = self.state.finished or self.state.epoch >= self.cfg.epochs
        while not done:
            started = time.time()
            loader = make_loader(self.data.train, self.cfg, self.d, self.state.epoch)
            train_loss = train_epoch(
                self.model, loader, self.opt, self.sched, self.cfg, self.state, self.device, self.d, self.show_progress
            )
            done = self._end_epoch(train_loss, started)
        if self.swa is not None and self.swa.count and not self.state.finished:
            self._finish_average()
        self.state.finished = True
        if self.d.main:
            self._save(run_files.LAST, resumable=True)  # records the end, so a resume does not train further
            self._finish()
        if self.d.world > 1:
            dist.barrier()  # rank 0 has written best.pt and last.pt: a next stage may read them
        return self.state

    def _finish(self) -> None:
        best = read_checkpoint(self.run / run_files.BEST)
        unwrap(self.model).load_state_dict(best["state_dict"])
        probs = [p for p, _, _ in predict_batches(unwrap(self.model), self.data.val, self.cfg, self.device)]
        plots.save_val_predictions(self.data.val, probs, self.run / run_files.VAL_PREDICTIONS)
        # Logged for every stage of a recipe too; the CLI's last line (stdout, rank 0) is the run's result.
        log.info(
            "done: checkpoints in %s (best epoch %d, IoU %.4f)", self.run, self.state.best_epoch, self.state.best_iou
        )


def finished_message(run: Path, epoch: int, epochs: int) -> str:
    """What ``--resume`` says of the run folder ``run`` whose ``last.pt`` records its end after ``epoch``."""
    return (
        f"{run} finished already (epoch {epoch} of {epochs}): nothing to train; to train it further, start a new "
        f"run: colorsplash train DATA... --init {run / run_files.LAST} -o NEW_RUN"
    )


# ModelConfig fields that shape a network's weights besides its arch, and how a user sets them.
_SHAPE_SETTINGS = (("base_channels", "--unet-base"), ("depth", "--unet-depth"), ("upsample", "--upsample"))


def _network_differences(source: ModelConfig, mcfg: ModelConfig) -> str:
    """The network settings in which the checkpoint's config ``source`` differs from this run's ``mcfg``, as the
    flags that set them (``--unet-base 8 (this run: 16)``); empty when none differ."""
    differ = [
        f"{flag} {getattr(source, name)} (this run: {getattr(mcfg, name)})"
        for name, flag in _SHAPE_SETTINGS
        if source.arch == "unet" and getattr(source, name) != getattr(mcfg, name)
    ]
    if tuple(source.decoder_channels) != tuple(mcfg.decoder_channels) and source.arch != "unet":
        differ.append(f"decoder channels {list(source.decoder_channels)} (this run: {list(mcfg.decoder_channels)})")
    return ", ".join(differ)


def _load_init_weights(model: nn.Module, path: str, mcfg: ModelConfig) -> None:
    """Start from a checkpoint's weights (fine-tuning); its network (arch, widths, depth) must be ``mcfg``'s.

    Raises:
        ValueError: one line naming the checkpoint and the settings that differ.
    """
    payload = read_checkpoint(path)
    source = ModelConfig.from_dict(payload["model_config"])
    if source.arch != mcfg.arch:
        raise ValueError(
            f"{path}: checkpoint is {source.arch} but this run trains {mcfg.arch}; "
            f"pass --arch {source.arch} (and the same decoder) to fine-tune it"
        )
    own = model.state_dict()
    clash = [k for k, v in payload["state_dict"].items() if k in own and own[k].shape != v.shape]
    differ = _network_differences(source, mcfg)
    if differ or clash:
        raise ValueError(
            f"{path}: checkpoint has {differ or f'other weight shapes (first {clash[0]})'}; "
            "pass the network settings it was trained with to fine-tune it"
        )
    missing, unexpected = model.load_state_dict(payload["state_dict"], strict=False)
    # A new presence head, its ImageNet trunk and the trunk's guidance start on weights that had none (the
    # guidance at zero, so the start computes the checkpoint's masks); anything else must match.
    if unexpected or any(not k.startswith(("presence.", "presence_trunk.", "guidance.")) for k in missing):
        raise ValueError(
            f"{path}: checkpoint weights do not fit this network (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]}); pass the same --arch and decoder it was trained with"
        )
