"""PyTorch checkpoints that carry their own config.

A checkpoint is a ``torch.save`` dict with ``format`` = :data:`FORMAT`, ``model_config`` (the
:class:`~colorsplash.runtime.model.config.ModelConfig` as a dict), ``state_dict`` and, for resumable ``last.pt`` files,
the optimiser, scheduler, epoch and history. :func:`load_checkpoint` rebuilds the network from the file
alone.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any, BinaryIO, cast

import torch
from torch import nn

from colorsplash.runtime.files import LOST_WRITES, atomic_path
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.model_file import CHECKPOINT_FORMAT, is_torch_checkpoint, zip_cut_short
from colorsplash.runtime.model.variants import read_config
from colorsplash.training import run_files
from colorsplash.training.networks import build_model

FORMAT = CHECKPOINT_FORMAT  # the runtime tells checkpoints from other files by it, without torch
# What torch.load's unpickler raises for a byte changed in a copy or by a disk (a name that is not UTF-8, a bad
# memo key or number): about one damaged file in ten, beside torch's RuntimeError and a cut file's EOFError
_DAMAGED = (ValueError, KeyError, TypeError)
_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, *_DAMAGED)  # a file torch.load cannot read back


class _Sink:
    """The file ``torch.save`` writes through, keeping the OSError of a failed write (a full disk): given a path,
    ``torch.save`` reported it as "[enforce fail at inline_container.cc:672] . unexpected pos ...", no file named."""

    def __init__(self, fp: BinaryIO) -> None:
        self._fp = fp
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self._fp.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self._fp.flush()


def _reads_back(written: Path, obj: dict[str, Any]) -> None:
    """Re-open the checkpoint just written as :func:`read_checkpoint` will (``weights_only``): the same keys and,
    for its ``state_dict``, the same tensors. Raises ``OSError`` otherwise (the file is then not published)."""
    why = LOST_WRITES
    try:
        loaded = torch.load(written, map_location="cpu", weights_only=True)
    except _LOAD_ERRORS as err:
        raise OSError(f"the checkpoint written did not read back ({err}); {why}") from err
    if not isinstance(loaded, dict) or loaded.keys() != obj.keys():  # e.g. an unpickled list: no .get to ask
        raise OSError(f"the checkpoint written read back other than it was written; {why}")
    weights, wanted = loaded.get("state_dict", {}), obj.get("state_dict", {})
    if weights.keys() != wanted.keys() or not all(_same_bits(weights[k], wanted[k]) for k in wanted):
        raise OSError(f"the checkpoint written read back other than it was written; {why}")


def _same_bits(read: torch.Tensor, written: torch.Tensor) -> bool:
    """Whether a tensor read back is the one written, bit for bit: ``torch.equal`` says a NaN (the weights of a run
    whose loss diverged, saved every epoch) differs from itself, which stopped the run blaming the disk."""
    if read.dtype != written.dtype or read.shape != written.shape:
        return False
    return torch.equal(read.reshape(-1).view(torch.uint8), written.detach().cpu().reshape(-1).view(torch.uint8))


def atomic_torch_save(obj: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temp file in the same folder, re-open it (:func:`_reads_back`), then rename: a kill or
    a failing disk never leaves half a file.

    Raises:
        OSError: ``cannot write PATH: No space left on device`` (or another write error), the file untouched.
    """
    with atomic_path(path, lambda written: _reads_back(written, obj)) as tmp, open(tmp, "wb") as fp:
        sink = _Sink(fp)
        try:
            torch.save(obj, cast("BinaryIO", sink))  # torch.save calls only write and flush
        except RuntimeError:
            if sink.error is None:
                raise
            raise sink.error from None


def unwrap(model: nn.Module) -> nn.Module:
    """The bare network inside DistributedDataParallel or torch.compile wrappers."""
    inner = getattr(model, "module", model)
    return getattr(inner, "_orig_mod", inner)


def save_checkpoint(path: str | Path, model: nn.Module, config: ModelConfig, **extra: Any) -> None:
    payload = {
        "format": FORMAT,
        "model_config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()},
    }
    payload.update(extra)
    atomic_torch_save(payload, path)


# What to give where a checkpoint is expected
NAME_A_RUN = f"name the {run_files.BEST} or {run_files.LAST} of a run folder (the folder colorsplash train -o wrote)"


def folder_not_checkpoint(path: Path) -> str:
    """What to say of a folder (a run's, most likely) given where a checkpoint file is expected."""
    example = f"{path / run_files.BEST} or {run_files.LAST}"
    return f"{path}: is a folder, not a checkpoint; name a checkpoint file in it, e.g. {example}"


def missing_checkpoint(path: Path) -> str:
    """What to say of a checkpoint file that is not there: the checkpoints its folder holds instead (a run whose
    ``best.pt`` was removed, a recipe's ``final.pt``), or that the run there finished no epoch."""
    folder = path.parent
    held = sorted(p.name for p in folder.glob("*.pt") if not p.name.startswith(".")) if folder.is_dir() else []
    if held:
        return (
            f"{path}: checkpoint not found; {folder} holds {', '.join(held)}: name {'it' if len(held) == 1 else 'one'}"
        )
    if (folder / run_files.CONFIG).is_file():
        return (
            f"{path}: checkpoint not found: the run in {folder} holds no checkpoint (it was stopped before its first "
            "epoch ended, or they were removed); train it again with the same command, then name its best.pt"
        )
    return f"{path}: checkpoint not found; {NAME_A_RUN}"


def not_a_checkpoint(path: Path) -> str:
    """What to say of a file given as a checkpoint that holds no PyTorch pickle: an exported model ("refused: it
    holds Python objects ... could run code" was said of it, as of a picture or any other file), or another file."""
    if read_config(path) is not None:
        return f"{path}: an ONNX model (what export makes), not a training checkpoint (--model runs it); {NAME_A_RUN}"
    return f"{path}: not a PyTorch checkpoint; {NAME_A_RUN}"


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict; raises ``ValueError`` naming the file if it is not a colorsplash checkpoint.

    Read with ``weights_only=True``: tensors and plain data only (all a colorsplash checkpoint holds), so a file
    from elsewhere cannot run code while it is read, as a full unpickling would let it."""
    if not os.fspath(path):  # Path("") is the current folder: ".: is a folder, not a checkpoint"
        raise FileNotFoundError("the checkpoint path is empty; name a checkpoint file, e.g. a run folder's best.pt")
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(folder_not_checkpoint(path))
    if not path.is_file():
        raise FileNotFoundError(missing_checkpoint(path))
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (*_LOAD_ERRORS, OSError) as err:
        raise ValueError(_unreadable(path, err)) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(
            f"{path}: a PyTorch file, but not a colorsplash checkpoint (it has no format {FORMAT!r}: weights of "
            f"another network, e.g. an ImageNet encoder); {NAME_A_RUN}"
        )
    try:  # export said "'model_config'" (a KeyError) of a checkpoint without one, and named no file for a bad one
        ModelConfig.from_dict(payload.get("model_config"))  # type: ignore[arg-type]
    except ValueError as err:
        raise ValueError(f"{path}: its model config is missing or not valid ({err}); {NAME_A_RUN}") from err
    return payload


def _unreadable(path: Path, err: BaseException) -> str:
    """What to say of the file ``path`` that ``torch.load`` refused with ``err``: cut short (torch's words for a part
    copy: "failed finding central directory ... internal miniz error", "[Errno 22]"), no PyTorch file at all (a
    picture, an exported model, a ``.npz``: no pickle, so it cannot hold code either), one holding Python objects
    (refused: reading them could run code), or torch's own words."""
    if isinstance(err, EOFError) or zip_cut_short(path):
        return (
            f"{path}: a checkpoint cut short or damaged (a copy or download that did not finish?); copy it again, "
            f"or {NAME_A_RUN}"
        )
    if not is_torch_checkpoint(path):
        return not_a_checkpoint(path)
    if isinstance(err, pickle.UnpicklingError):
        return (
            f"{path}: refused: it holds Python objects besides tensors and plain data, which colorsplash "
            "checkpoints never do, and reading them could run code; use a checkpoint written by colorsplash train"
        )
    if isinstance(err, _DAMAGED):
        return f"{path}: a damaged checkpoint (its data do not decode: {err}); copy it again, or {NAME_A_RUN}"
    return f"{path}: not a readable PyTorch checkpoint ({err})"


def load_checkpoint(path: str | Path) -> tuple[nn.Module, ModelConfig]:
    """Rebuild the network of a checkpoint in eval mode; no flags needed."""
    payload = read_checkpoint(path)
    config = ModelConfig.from_dict(payload["model_config"])
    model = build_model(config)
    try:
        model.load_state_dict(payload.get("state_dict", {}))
    except (RuntimeError, TypeError, AttributeError) as err:  # torch's pages on each key missing or of a wrong size
        first = str(err).splitlines()[1:2] or [str(err)]
        raise ValueError(
            f"{path}: its weights do not fit the network its config describes ({first[0].strip()[:120]}...); "
            f"{NAME_A_RUN}"
        ) from err
    return model.eval(), config
