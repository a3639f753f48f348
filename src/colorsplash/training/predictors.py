"""Prediction functions for evaluation and bench scripts: any model file -> ``RGB image -> probability``.

A ``predict_fn`` takes an RGB (not BGR) uint8 ``HxWx3`` photo and returns the subject probability, float32
``HxW`` in [0, 1] at the photo's own size. ``.onnx`` files run in ONNX Runtime (no PyTorch needed),
``.pt`` checkpoints in PyTorch (imported only then). :func:`torch_scorer` also gives a network's presence score.
By default the probability is *gated* as ``splash`` and ``mask`` gate it (:func:`gated`): all 0 on a photo whose
subject score is under the model's threshold, so scores measure what a user gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from colorsplash.evaluation.evaluate import PredictFn
from colorsplash.evaluation.presence import ScoredPredict
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.model_file import ModelLoadError, folder_hint, is_torch_checkpoint
from colorsplash.runtime.model.preprocess import photo_probability, preprocess, upsample_probability
from colorsplash.runtime.model.variants import read_config
from colorsplash.runtime.no_subject import no_subject_reason

if TYPE_CHECKING:
    import torch


def load_predictor(
    path: str | Path | None, gate: bool = True, cutoff: float = 0.5
) -> tuple[PredictFn, ModelConfig, Path]:
    """A ``predict_fn`` for a ``.onnx`` file, a ``.pt`` checkpoint (float32) or, for ``None``, the default
    model; returns it with the model's config and path. ``gate``: the probability as :func:`gated` makes it (what
    ``splash --threshold CUTOFF --hard`` colours); ``False``: the network's probability on every photo, whatever
    its subject score."""
    if path is not None and Path(path).is_dir() and (hint := folder_hint(Path(path), runs_checkpoints=True)):
        raise ModelLoadError(f"{path}: is a folder, not a file; {hint}")  # not "export" its checkpoint: it runs
    if path is not None and _is_checkpoint(Path(path)):
        return torch_predictor(Path(path), gate, cutoff)
    from colorsplash.runtime.model.onnx_model import load_model

    model = load_model(path, precision="file")  # exactly this file, not a faster sibling variant
    if not gate:
        return model.predict_probability, model.config, model.path
    return gated(model.predict_scored, model.presence_threshold, cutoff), model.config, model.path


def _is_checkpoint(path: Path) -> bool:
    """Whether ``path`` is run as a checkpoint: a PyTorch file by its bytes (``best.pth``, ``model.ckpt``: "a
    training checkpoint, not an ONNX model; make one with export" was said of them), or any ``.pt`` file but an
    exported model renamed."""
    return is_torch_checkpoint(path) or (path.suffix.lower() == ".pt" and read_config(path) is None)


def gated(predict: ScoredPredict, threshold: float, cutoff: float = 0.5) -> PredictFn:
    """What a photo's prediction is as ``splash`` shows it: ``predict``'s probability upsampled to the photo's
    size, or all 0 (nothing coloured) when the photo holds no subject by the one rule of
    :func:`~colorsplash.runtime.no_subject.no_subject_reason` (``splash``'s own): its subject score is under
    ``threshold`` (the model's ``presence_threshold``), or no pixel reaches the probability ``cutoff`` (the
    evaluation's ``--threshold``). The score is the presence output's, or the highest probability for a model
    without one (``None`` from ``predict``). The result takes an RGB uint8 ``HxWx3`` photo and gives float32
    ``HxW`` in [0, 1]."""

    def predict_fn(image: np.ndarray) -> np.ndarray:
        low, score = predict(image)
        h, w = image.shape[:2]
        if no_subject_reason(score, threshold, float(low.max()) if low.size else 0.0, cutoff) is not None:
            return np.zeros((h, w), np.float32)
        return upsample_probability(low, h, w)

    return predict_fn


def torch_predictor(path: Path, gate: bool = True, cutoff: float = 0.5) -> tuple[PredictFn, ModelConfig, Path]:
    """A ``predict_fn`` running the checkpoint ``path`` in PyTorch (float32, no gradients); ``gate`` and
    ``cutoff`` as :func:`load_predictor` says."""
    try:
        from colorsplash.training.checkpoint import load_checkpoint  # imports PyTorch
    except ImportError as err:
        raise RuntimeError(
            f"{path}: a .pt checkpoint needs PyTorch: pip install 'colorsplash[train]', or export it to ONNX first"
        ) from err
    model, config = load_checkpoint(path)
    scorer = torch_scorer(model, config)
    if gate:
        return gated(scorer, config.presence_threshold, cutoff), config, path

    def predict(image: np.ndarray) -> np.ndarray:
        return upsample_probability(scorer(image)[0], image.shape[0], image.shape[1])

    return predict, config, path


def torch_scorer(model: torch.nn.Module, config: ModelConfig) -> ScoredPredict:
    """A :data:`~colorsplash.evaluation.presence.ScoredPredict` running the network ``model`` (eval mode) in
    PyTorch, float32, no gradients: the library's one preprocessing (:func:`preprocess`), the probability at the
    network's resolution and the network's own presence output (``sigmoid`` of its logit; ``None`` without a
    presence head)."""
    import torch

    from colorsplash.training.networks import has_presence

    with_presence = has_presence(model)

    @torch.no_grad()
    def predict(image: np.ndarray) -> tuple[np.ndarray, float | None]:
        x = torch.from_numpy(preprocess(image, config))[None]
        logits, presence = model(x, with_presence=True) if with_presence else (model(x), None)
        score = None if presence is None else float(torch.sigmoid(presence.float()).reshape(-1)[0])
        return photo_probability(
            torch.sigmoid(logits[0, 0].float()).numpy(), image.shape[0], image.shape[1], config
        ), score

    return predict
