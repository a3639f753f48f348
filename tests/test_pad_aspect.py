"""Photos wider than the config's ``pad_aspect`` (or taller than its inverse) are padded to it before the square
resize, in training and inference alike, and the padding is cut off the network's answer (runtime.model.preprocess)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorsplash.runtime.model import onnx_model
from colorsplash.runtime.model.config import DEFAULT_PAD_ASPECT, LITE_NORMALIZATION, ModelConfig
from colorsplash.runtime.model.onnx_model import load_model
from colorsplash.runtime.model.preprocess import (
    content_box,
    fit_to_input,
    normalize,
    photo_probability,
    preprocess,
    resize_to_input,
)


def test_the_photo_gets_whole_input_pixels_centred_and_photos_within_bounds_the_square() -> None:
    assert content_box(90, 160, 64, 4 / 3) == (8, 0, 48, 64)  # 16:9 as if padded to 4:3: 3/4 of the rows
    assert content_box(160, 90, 64, 4 / 3) == (0, 8, 64, 48)  # 9:16
    assert content_box(50, 200, 64, 4 / 3) == (21, 0, 21, 64)  # 4:1: a third of the rows
    assert content_box(300, 400, 64, 4 / 3) == (0, 0, 64, 64)  # 4:3 itself, and anything squarer
    assert content_box(400, 300, 64, 4 / 3) == (0, 0, 64, 64)
    assert content_box(90, 160, 64, 0.0) == (0, 0, 64, 64)  # 0: stretch every photo
    assert content_box(1, 10_000, 64, 4 / 3) == (31, 0, 1, 64)  # never less than one row


def test_a_wide_photo_is_padded_with_the_normalisation_mean() -> None:
    config = ModelConfig(input_size=64, normalization=LITE_NORMALIZATION)
    photo = np.full((50, 100, 3), 255, np.uint8)  # 2:1 -> padded to 100x75: 12 + 13 rows of 127
    x = preprocess(photo, config)
    assert x.shape == (3, 64, 64)
    assert np.abs(x[:, :8]).max() < 0.01 and np.abs(x[:, -8:]).max() < 0.01  # (127 - 127) / 128
    assert x[:, 20:44].min() > 0.99  # (255 - 127) / 128
    # Within the bounds the input is the plain stretch it always was.
    within = np.random.default_rng(0).integers(0, 256, (48, 60, 3)).astype(np.uint8)
    assert np.array_equal(preprocess(within, config), normalize(resize_to_input(within, 64), LITE_NORMALIZATION))
    stretched = ModelConfig(input_size=64, normalization=LITE_NORMALIZATION, pad_aspect=0.0)
    assert preprocess(photo, stretched).min() > 0.99


def test_the_answer_loses_its_padding_and_lines_up_with_the_photo() -> None:
    """A network answering with its own input's values (a ramp over the photo) gives back, after
    ``photo_probability``, the photo's ramp stretched to the square: no shift, no padding left."""
    config = ModelConfig(input_size=64, pad_aspect=4 / 3)
    for h, w in ((90, 160), (160, 90), (70, 300)):
        ramp = (np.add.outer(np.arange(h) / h, np.arange(w) / w) * 100).astype(np.uint8)  # 0..200
        seen = fit_to_input(ramp, 64, config.pad_aspect, fill=255).astype(np.float32) / 255
        back = photo_probability(seen, h, w, config)
        expected = resize_to_input(ramp, 64).astype(np.float32) / 255
        assert back.shape == (64, 64)
        assert back.max() < 0.8  # the padding (255) is gone: the ramp tops out at 200
        assert np.abs(back - expected).max() < 0.01
    low = np.random.default_rng(1).random((64, 64)).astype(np.float32)
    assert photo_probability(low, 48, 64, config) is low  # no padding: the same array


def test_masks_are_padded_as_background_with_nearest_neighbours() -> None:
    mask = np.ones((40, 120), np.uint8)
    mask[:, :10] = 255  # an unscored band keeps its label
    fitted = fit_to_input(mask, 32, 4 / 3, 0, nearest=True)
    assert set(np.unique(fitted)) == {0, 1, 255}
    assert (fitted[:4] == 0).all() and (fitted[-4:] == 0).all()


def test_the_model_feeds_a_padded_input_and_returns_the_photo_part(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through :class:`Model`: the network sees the padding (its input 0 there), the caller never does."""
    seen: list[np.ndarray] = []

    def echo(session: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        x = next(iter(feeds.values()))
        seen.append(x)
        return [x[:, :1] * 20.0]  # a "network" sure where its input is bright: sigmoid(0) = 0.5 on the padding

    monkeypatch.setattr(onnx_model, "run_session", echo)
    model = load_model(tiny_onnx)
    assert model.config.pad_aspect == DEFAULT_PAD_ASPECT  # a file without the field reads as the default
    white = np.full((45, 160, 3), 255, np.uint8)
    prob, _ = model.predict_scored(white)
    s = model.config.input_size
    assert np.abs(seen[0][0, :, :4]).max() == 0 and seen[0][0, :, s // 2].min() > 0.99
    assert prob.shape == (s, s) and prob.min() > 0.99


def test_config_field_is_checked_and_defaults_for_older_files() -> None:
    assert ModelConfig.from_dict({"arch": "unet-lite0"}).pad_aspect == DEFAULT_PAD_ASPECT
    assert ModelConfig.from_dict({"pad_aspect": 0}).pad_aspect == 0
    assert ModelConfig.from_json(ModelConfig(pad_aspect=1.5).to_json()).pad_aspect == 1.5
    with pytest.raises(ValueError, match="pad_aspect must be 0"):
        ModelConfig(pad_aspect=0.5)
    with pytest.raises(ValueError, match="pad_aspect must be a number"):
        ModelConfig.from_dict({"pad_aspect": "wide"})


def test_training_pairs_are_fitted_as_the_model_will_see_them(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from colorsplash.evaluation.datasets import discover
    from colorsplash.training.torch_dataset import load_resized

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    photo = np.full((40, 120, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "images" / "wide.png"), photo)
    cv2.imwrite(str(tmp_path / "masks" / "wide.png"), np.full((40, 120), 255, np.uint8))
    images, masks, _ = load_resized(discover(tmp_path), ModelConfig(input_size=32), show_progress=False)
    assert (images[0, :3] == 127).all() and (images[0, 14:18] == 200).all()  # the Lite mean, then the photo
    assert (masks[0, :3] == 0).all() and (masks[0, 14:18] == 1).all()
    _, stretched, _ = load_resized(discover(tmp_path), ModelConfig(input_size=32, pad_aspect=0), show_progress=False)
    assert (stretched[0] == 1).all()


def test_the_flag_takes_the_default_its_help_shows() -> None:
    """``train --help`` says "(default: 4/3)", and ``--pad-aspect 4/3`` was refused: "expected a number 0 (stretch
    every photo) or at least 1, got '4/3'". A width:height is taken as ``W/H`` or ``W:H`` too."""
    import argparse

    from colorsplash.cli.config_args import add_config_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, ModelConfig, "model", "network")
    assert "(default: 4/3)" in " ".join(parser.format_help().split())
    for given, value in (("4/3", DEFAULT_PAD_ASPECT), ("16:9", 16 / 9), ("1.5", 1.5), ("0", 0.0)):
        config = config_from_args(ModelConfig(), parser.parse_args(["--pad-aspect", given]), "model")
        assert config.pad_aspect == value, given
    parse = next(f for f in dataclasses.fields(ModelConfig) if f.name == "pad_aspect").metadata["parse"]
    with pytest.raises(ValueError, match=r"^must be 0 \(stretch every photo\) or at least 1, e\.g\. 4/3, got 3/4$"):
        parse("3/4")
    with pytest.raises(ValueError, match="^expected a number 0 .*, got '4/0'$"):
        parse("4/0")
