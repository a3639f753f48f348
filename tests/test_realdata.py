"""The real data sets in ../shared/data (skipped when absent): discovery counts and a few real pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorsplash.evaluation.datasets import IGNORE, discover, load_pair, split_samples

pytestmark = pytest.mark.realdata


def test_oxford_pets_discovery_and_pairs(shared_data: Path) -> None:
    samples = discover(shared_data / "oxford-pets")
    assert len(samples) == 300
    assert {s.kind for s in samples} == {"oxford"} and {s.dataset for s in samples} == {"oxford-pets"}
    # Only trainval.txt is present: without test.txt the official split does not apply, a seeded one does.
    assert {s.split for s in samples} == {None}
    train, val = split_samples(samples, 0.15, seed=0)
    assert len(train) + len(val) == 300 and 25 <= len(val) <= 65
    for sample in samples[:2] + samples[-2:]:
        image, mask = load_pair(sample)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
        assert mask.shape == image.shape[:2]
        values = set(np.unique(mask).tolist())
        assert values <= {0, 1, IGNORE} and {1, IGNORE} <= values  # pet and border present
        assert 0.02 < np.mean(mask == 1) < 0.98


def test_feral_cats_discovery_split_and_pairs(shared_data: Path) -> None:
    everything = discover(shared_data / "feral-cats", keep_excluded=True)
    assert len(everything) == 895 and {s.kind for s in everything} == {"paired"}
    train, val = split_samples(everything, 0.15, seed=0)  # the set's splits.tsv wins over the fraction
    assert (len(train), len(val)) == (700, 195)
    samples = discover(shared_data / "feral-cats")  # without the 8 training copies of validation photos
    train, val = split_samples(samples, 0.15, seed=0)
    assert (len(train), len(val)) == (692, 195)
    for sample in samples[:3]:
        image, mask = load_pair(sample)
        assert image.shape == (640, 640, 3) and mask.shape == (640, 640)
        assert set(np.unique(mask).tolist()) <= {0, 1}


def test_fused_matte_splash_equals_the_general_path_on_a_real_photo(shared_data: Path) -> None:
    """The fused band's smooth F and B come from the photo as the general path reduces it: estimated from the
    matte's own small copy instead, this photo differed by 9 levels at the edge of the fur."""
    import cv2

    from colorsplash.runtime.edges.alpha import (
        RefineSettings,
        downscale,
        finish_alpha,
        model_presence,
        photo_guide,
        plan_alpha,
    )
    from colorsplash.runtime.effects import composite
    from colorsplash.runtime.fused import fusable, grey_splash_in_place
    from colorsplash.runtime.model.onnx_model import load_model
    from colorsplash.runtime.options import SplashOptions
    from colorsplash.runtime.pictures.photo_io import read_rgb

    rgb = read_rgb(shared_data / "oxford-pets" / "images" / "Abyssinian_106.jpg")
    photo = np.ascontiguousarray(cv2.resize(rgb, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    model, options, settings = load_model(), SplashOptions(edges="matte"), RefineSettings()
    small = downscale(photo, settings.work_side)
    prob, presence = model_presence(model, small)
    plan = plan_alpha(photo.shape[:2], prob, small, options, settings, presence)
    expected = composite(photo, finish_alpha(plan, photo_guide(photo, plan), options).alpha, options)
    out = photo.copy()
    assert fusable(plan, options, out)
    grey_splash_in_place(out, plan)
    # The two paths' smooth colours differ by about a level (documented in fused._matte_band), which the cut of
    # decontamination's overshoot (foreground._no_overshoot) can turn into 3 or 4 on a few pixels: 5 at 3 of 6.3 M
    # with the photo stretched to the model's square, 28 at 3 and 2 at 4 since it is padded to 4:3 (another band).
    diff = np.abs(out.astype(int) - expected).max(axis=2)
    assert diff.max() <= 4 and int((diff >= 3).sum()) <= 60


def test_no_jpeg_of_the_data_sets_is_taken_for_damaged(shared_data: Path) -> None:
    """The marker walk that refuses overwritten JPEGs must pass every real photo (progressive ones included)."""
    from colorsplash.runtime.pictures.jpeg_markers import jpeg_data_damaged

    files = sorted(shared_data.rglob("*.jpg"))
    assert len(files) > 1000
    flagged = [f.name for f in files if (data := f.read_bytes())[:2] == b"\xff\xd8" and jpeg_data_damaged(data)]
    assert not flagged
