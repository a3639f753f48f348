"""Network shapes, the ImageNet check of the pretrained encoder, and checkpoint round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from colorsplash.runtime.model.config import SEED_NORMALIZATION, ModelConfig, default_model_config  # noqa: E402
from colorsplash.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint  # noqa: E402
from colorsplash.training.networks import EfficientNetLite, LiteUNet, UNet, build_model  # noqa: E402
from colorsplash.training.pretrained import imagenet_weights_path, init_pretrained, load_imagenet_encoder  # noqa: E402

CAT_CLASSES = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("upsample", ["transpose", "bilinear"])
@pytest.mark.parametrize(("base", "depth"), [(8, 4), (4, 2), (6, 5)])
def test_unet_shapes(upsample: str, base: int, depth: int) -> None:
    net = UNet(base, depth, upsample).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 64, 64)).shape == (2, 1, 64, 64)
    assert [block[0].out_channels for block in net.down] == [base * 2**i for i in range(depth + 1)]
    ups = [type(m) for m in net.modules() if isinstance(m, torch.nn.ConvTranspose2d | torch.nn.Upsample)]
    expected = torch.nn.ConvTranspose2d if upsample == "transpose" else torch.nn.Upsample
    assert ups == [expected] * depth


def test_seed_unet_widths() -> None:
    net = build_model(ModelConfig(arch="unet", input_size=256, normalization=SEED_NORMALIZATION))
    assert isinstance(net, UNet)
    assert [block[0].out_channels for block in net.down] == [8, 16, 32, 64, 128]
    assert net.head.out_channels == 1 and net.head.kernel_size == (1, 1)


def test_unet_lite0_shapes() -> None:
    net = build_model(default_model_config("unet-lite0", 64)).eval()
    assert isinstance(net, LiteUNet)
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 64)).shape == (1, 1, 64, 64)
        assert net(torch.randn(2, 3, 96, 96)).shape == (2, 1, 96, 96)
    assert net.encoder.tap_channels == [16, 24, 40, 112, 320]
    assert not hasattr(net.encoder, "_fc")  # the classifier is not part of the segmentation network


def test_imagenet_head_ranks_chelsea_as_a_cat() -> None:
    data = pytest.importorskip("skimage.data")
    import cv2

    net = EfficientNetLite("lite0")
    load_imagenet_encoder(net, "lite0", with_head=True)
    net.eval()
    image = cv2.resize(data.chelsea(), (224, 224), interpolation=cv2.INTER_AREA)  # RGB uint8
    x = torch.from_numpy(((image.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        probs = torch.softmax(net(x), dim=1)[0]
    top5 = set(probs.topk(5).indices.tolist())
    assert top5 & set(CAT_CLASSES), f"no cat class in the top 5: {sorted(top5)}"
    assert float(probs[281:286].sum()) > 0.5  # measured 0.94: a wrong key mapping would give near 0


def test_init_pretrained_fills_the_encoder() -> None:
    net = build_model(default_model_config("unet-lite0", 64))
    init_pretrained(net, "unet-lite0")
    state = torch.load(imagenet_weights_path("lite0"), map_location="cpu", weights_only=True)
    assert torch.equal(net.encoder._conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(net.encoder._blocks[15]._project_conv.weight, state["_blocks.15._project_conv.weight"])


@pytest.mark.parametrize("arch", ["unet", "unet-lite0"])
def test_checkpoint_round_trip_needs_no_flags(tmp_path: Path, arch: str) -> None:
    torch.manual_seed(0)
    config = ModelConfig(
        arch=arch,
        input_size=64,
        base_channels=4,
        depth=3,
        upsample="bilinear",
        normalization=SEED_NORMALIZATION,
        name="round-trip",
        subject="cat",
        training={"metrics": {"val_iou": 0.5}},
    )
    net = build_model(config).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(path, net, config, note="extra entries are kept")
    loaded, loaded_config = load_checkpoint(path)
    assert loaded_config == config
    assert not loaded.training  # ready for inference
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert read_checkpoint(path)["note"] == "extra entries are kept"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind


class _RunsCode:
    """An object whose unpickling runs code: here it only writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "ran"))  # type: ignore[return-value]


def test_a_checkpoint_that_would_run_code_is_refused_unread(tmp_path: Path) -> None:
    """Security: checkpoints were read with weights_only=False, so a .pt shared by someone else (train --init,
    evaluate, export) could run any code while being read. Only tensors and plain data are read now."""
    marker = tmp_path / "ran.txt"
    evil = tmp_path / "shared.pt"
    torch.save({"format": "colorsplash-checkpoint-v1", "model_config": {}, "payload": _RunsCode(marker)}, evil)
    with pytest.raises(ValueError, match=r"shared\.pt: refused: it holds Python objects besides tensors"):
        read_checkpoint(evil)
    assert not marker.exists()


def test_read_checkpoint_rejects_other_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"junk\.pt"):
        read_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(ValueError, match=r"other\.pt.*not a colorsplash checkpoint"):
        read_checkpoint(other)
    with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
        read_checkpoint(tmp_path / "missing.pt")
