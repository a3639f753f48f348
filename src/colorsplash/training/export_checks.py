"""What ``export`` refuses or warns about before it writes anything: an output it must not write (the input, a
folder, a name not ending in ``.onnx``, an existing file without ``overwrite``), a request it cannot carry out, a
checkpoint whose weights are not finite, and a presence threshold no validation photo chose."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from colorsplash.evaluation.presence import CALIBRATION_KEY
from colorsplash.runtime.files import (
    EXTENSION_ONLY,
    extension_only,
    names_folder,
    not_replaceable,
    same_file,
    unwritable_folder,
)
from colorsplash.runtime.flags import non_empty_name
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.wording import subject_word
from colorsplash.training.config import INT8_DATA_ADVICE
from colorsplash.training.quantize import check_quantizer_version
from colorsplash.training.run_files import BEST

log = logging.getLogger(__name__)


def check_output(checkpoint: str | Path, output: str | Path, overwrite: bool = False) -> None:
    """Refuse an ``output`` that is the input ``checkpoint`` (always), a folder (also one named with a trailing
    ``/`` that does not exist yet), a name not ending in ``.onnx`` (``-o cats`` or ``-o cats.jpg`` wrote an ONNX
    file under that name), a pipe or device or a link to one (never replaced, even with ``overwrite``), an
    existing file (unless ``overwrite``), or a place where no file can be made (a file where its folder would be:
    :func:`~colorsplash.runtime.files.unwritable_folder`): checked before any slow work, and again, race-free,
    when the file is published.

    Raises:
        ValueError: naming ``output`` and saying what to do.
    """
    text, output = str(output), Path(output)
    if os.path.lexists(output) and same_file(checkpoint, output):
        raise ValueError(f"{output}: refusing to overwrite the input checkpoint; choose another -o")
    if output.is_dir() or names_folder(text):
        raise ValueError(f"{text}: is a folder; -o names the .onnx file to write (e.g. {output / 'model.onnx'})")
    if extension_only(output, lambda name: name.lower() == ".onnx"):  # Python: a hidden name without a suffix
        raise ValueError(
            f"{output}: {EXTENSION_ONLY}; name the model to write, e.g. -o {output.with_name('model.onnx')}"
        )
    if output.suffix.lower() != ".onnx":
        raise ValueError(f"{output}: an exported model's name ends in .onnx; give -o {output.with_suffix('.onnx')}")
    if (problem := not_replaceable(output, "--overwrite")) is not None:  # before --overwrite is named
        raise ValueError(f"{output}: {problem}")
    if not overwrite and os.path.lexists(output):
        raise ValueError(f"{output}: already exists; pass --overwrite to replace it, or choose another -o")
    if (problem := unwritable_folder(output.parent)) is not None:  # as splash's and evaluate's -o, before the work
        raise ValueError(f"{output}: cannot write it there ({problem}); choose another place with -o")


def warn_unchosen_threshold(checkpoint: str | Path, config: ModelConfig) -> None:
    """Warn when ``config`` has a presence head whose threshold no validation photo chose (no
    :data:`~colorsplash.evaluation.presence.CALIBRATION_KEY` record: a run's ``last.pt``, which the end of a run
    given ``--negatives`` leaves as it is, or a run stopped before its end): the file would hold the default."""
    if not config.presence_head or CALIBRATION_KEY in config.training:
        return
    todo = (
        "its run had no validation photo of it to choose one on (give more photos or a larger --val-fraction)"
        if Path(checkpoint).name == BEST
        else "a run given --negatives chooses one at its end, for best.pt, not last.pt: export the run's best.pt"
    )
    subject, threshold = subject_word(config), config.presence_threshold
    log.warning(
        f"{checkpoint}: no presence threshold was chosen for these weights, so the file keeps the default "
        f"{threshold:.2f}: photos without a {subject} may be coloured, or a {subject} missed; {todo}, or check this "
        "file with evaluate --negatives"
    )


def check_finite(model: torch.nn.Module, checkpoint: str | Path) -> None:
    """Refuse a checkpoint whose weights hold NaN or infinity (its run's loss diverged): its file's forward pass is
    not finite, which :func:`reads_back` would blame on the disk, and no second export mends it."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(
                f"{checkpoint}: its weights are not all finite ({name} holds NaN or infinity: the run that saved it "
                "diverged); export a checkpoint saved before it diverged, or train again with a lower --lr"
            )


def check_request(
    checkpoint: str | Path, output: str | Path, fp16: bool, int8: Sequence[str | Path], overwrite: bool
) -> None:
    """Everything :func:`export_onnx` refuses before any work (see its Raises)."""
    if fp16 and int8:
        raise ValueError("choose fp16 or int8, not both")
    for folder in int8:  # "" (an unset variable) is no folder: as Path(""), it calibrated on the current folder
        non_empty_name(INT8_DATA_ADVICE)(os.fspath(folder))
    check_output(checkpoint, output, overwrite)
    if int8:
        check_quantizer_version()  # before the photos are read
    if Path(checkpoint).suffix.lower() == ".onnx":
        raise ValueError(
            f"{checkpoint}: is already an ONNX model; export takes a .pt checkpoint (a run's best.pt or last.pt). "
            "Use this file as it is with --model"
        )
