"""Weight averaging's epochs and average (:mod:`colorsplash.training.swa`), without a training run."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from colorsplash.training.config import TrainConfig  # noqa: E402
from colorsplash.training.swa import WeightAverage, averaging  # noqa: E402


def test_only_the_last_epochs_are_averaged() -> None:
    """``--epochs 5 --swa-epochs 2``: epochs 4 and 5 (1-based), no other; ``--swa-epochs 0`` averages none and
    ``--swa-epochs 5`` all."""
    two = TrainConfig(epochs=5, swa_epochs=2)
    assert [averaging(two, e) for e in range(1, 6)] == [False, False, False, True, True]
    assert not any(averaging(TrainConfig(epochs=5, swa_epochs=0), e) for e in range(1, 6))
    assert all(averaging(TrainConfig(epochs=5, swa_epochs=5), e) for e in range(1, 6))


def test_the_average_is_uniform_over_its_updates() -> None:
    model = torch.nn.Linear(2, 1, bias=False)
    average = WeightAverage(model)
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            model.weight.fill_(value)
        average.update(model)
    assert average.count == 3
    weights = [v for k, v in average.state_dict().items() if k.endswith("weight")]
    assert len(weights) == 1 and torch.allclose(weights[0], torch.full((1, 2), 3.0))


def test_the_final_average_is_in_eval_mode_with_fresh_batch_norm_statistics() -> None:
    """Batch-norm statistics do not average: they are measured again on the training photos, and the network comes
    back ready to validate (eval mode: those statistics used, not the batch's)."""
    import numpy as np

    from colorsplash.runtime.model.config import SEED_NORMALIZATION, ModelConfig
    from colorsplash.training.torch_dataset import SegmentationDataset

    config = ModelConfig(arch="unet", input_size=32, base_channels=4, depth=2, normalization=SEED_NORMALIZATION)
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    train = SegmentationDataset(images, np.zeros((4, 32, 32), np.uint8), config)
    model = torch.nn.Sequential(torch.nn.Identity(), torch.nn.BatchNorm2d(3))
    average = WeightAverage(model)
    average.update(model)
    final = average.finalize(train, 2, torch.device("cpu"))
    assert not final.training
    inputs = torch.stack([train[i][0] for i in range(4)])
    assert torch.allclose(final[1].running_mean, inputs.mean(dim=(0, 2, 3)), atol=1e-5)
