"""The ImageNet trunk's guidance of the decoder (``ModelConfig.trunk_guidance``, ``--preset pets-guided``): a
network given guidance starts exactly where its checkpoint was, the guidance learns with the decoder while the
encoder and trunk stay frozen, it survives export, and a presence head can be taken from an exported file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from colorsplash.training.config import TrainConfig  # noqa: E402
from colorsplash.training.networks import build_model, forward_train, freeze_for, train_mode  # noqa: E402
from colorsplash.training.steps import batch_loss  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PLAIN = ModelConfig(arch="unet-lite0", input_size=64, name="plain-test")
GUIDED = dataclasses.replace(PLAIN, presence_trunk="lite0", presence_trunk_size=32, trunk_guidance=True)
HEAD = dataclasses.replace(GUIDED, trunk_guidance=False, presence_head=True)


def test_guidance_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="set presence_trunk"):
        dataclasses.replace(PLAIN, trunk_guidance=True)
    with pytest.raises(ValueError, match="presence_head or trunk_guidance"):
        dataclasses.replace(GUIDED, trunk_guidance=False)
    assert build_model(GUIDED).presence is None  # a trunk for the decoder alone: no presence head


def test_a_guided_network_starts_with_its_checkpoints_masks() -> None:
    """Zero-initialised guidance: the plain network's weights give the same logits with the trunk attached, and
    the output does depend on the trunk once the guidance's last convs are not zero."""
    torch.manual_seed(0)
    plain, guided = build_model(PLAIN).eval(), build_model(GUIDED).eval()
    missing, unexpected = guided.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and {k.split(".")[0] for k in missing} == {"guidance", "presence_trunk"}
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(plain(x), guided(x))
        for conv in guided.guidance.out:
            conv.weight.normal_(0, 1.0)
        assert not torch.equal(plain(x), guided(x))  # (an untrained decoder damps it to ~1e-5)


def test_a_decoder_step_moves_the_guidance_and_decoder_only() -> None:
    torch.manual_seed(0)
    model = build_model(GUIDED)
    freeze_for(model, "decoder")
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"guidance", "decoder", "head"}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    train_mode(model, "decoder")
    assert model.guidance.training and not model.encoder.training and not model.presence_trunk.training
    x, y = torch.randn(4, 3, 64, 64), torch.zeros(4, 1, 64, 64, dtype=torch.uint8)
    y[:2, 0, 10:40, 10:40] = 1
    for _ in range(2):  # the second step moves the guidance's first conv too (its gradient is 0 while out is 0)
        opt.zero_grad()
        logits, _ = forward_train(model, x, "decoder")
        assert logits is not None
        batch_loss(logits, None, y, TrainConfig(trainable="decoder")).backward()
        opt.step()
    changed = {k.rsplit(".", 1)[0] for k, v in model.state_dict().items() if not torch.equal(before[k], v)}
    assert {k.split(".")[0] for k in changed} == {"guidance", "decoder", "head"}, sorted(changed)
    assert "guidance.reduce.0" in changed


def test_guidance_exports_and_a_presence_head_is_taken_from_a_file(tmp_path: Path) -> None:
    """The guided network exports (its logits match PyTorch's), and :func:`add_presence_head` gives a checkpoint
    the head, trunk and threshold of an exported file: the presence output matches the file's."""
    ort = pytest.importorskip("onnxruntime")
    from colorsplash.training.export import export_onnx
    from colorsplash.training.transplant import add_presence_head

    torch.manual_seed(0)
    head_model = build_model(dataclasses.replace(HEAD, presence_threshold=0.37)).eval()
    save_checkpoint(tmp_path / "head.pt", head_model, dataclasses.replace(HEAD, presence_threshold=0.37))
    export_onnx(tmp_path / "head.pt", tmp_path / "head.onnx")
    guided = build_model(GUIDED).eval()
    with torch.no_grad():
        for conv in guided.guidance.out:
            conv.weight.normal_(0, 0.1)
    save_checkpoint(tmp_path / "guided.pt", guided, GUIDED)
    add_presence_head(tmp_path / "head.onnx", tmp_path / "guided.pt", tmp_path / "both.pt")
    with pytest.raises(FileExistsError, match="both.pt exists"):
        add_presence_head(tmp_path / "head.onnx", tmp_path / "guided.pt", tmp_path / "both.pt")
    payload = read_checkpoint(tmp_path / "both.pt")
    config = ModelConfig.from_dict(payload["model_config"])
    assert config.presence_head and config.trunk_guidance and config.presence_threshold == pytest.approx(0.37)
    export_onnx(tmp_path / "both.pt", tmp_path / "both.onnx")
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    both_seg, both_presence = ort.InferenceSession(str(tmp_path / "both.onnx")).run(None, {"image": x})
    _, head_presence = ort.InferenceSession(str(tmp_path / "head.onnx")).run(None, {"image": x})
    with torch.no_grad():
        want = guided(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(both_seg, want, atol=1e-4)
    np.testing.assert_allclose(both_presence, head_presence, atol=1e-4)
