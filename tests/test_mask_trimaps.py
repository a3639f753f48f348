"""Masks users bring, second pass: trimaps given as masks (matting's 0/128/255, Oxford-IIIT Pet's 1/2/3 in a
paired folder) read with their band not scored, masks of three values that are no trimap read as before, and the
notes of a run's reading (EXIF-turned photos, trimaps) said once per run."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.layouts import make_paired_set, save_picture
from PIL import Image, ImageFilter

from colorsplash.evaluation.datasets import IGNORE, discover, iter_pairs
from colorsplash.evaluation.mask_read import read_mask
from colorsplash.runtime.pictures.photo_io import ImageReadError

H, W = 60, 80


def _disc(radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (yy - 30) ** 2 + (xx - 36) ** 2 <= radius**2


def _trimap(inner: float = 12, outer: float = 26) -> tuple[np.ndarray, np.ndarray]:
    """A matting trimap's three regions (uint8 ``HxW``: 0 background, 1 unknown band, 2 subject; a wide band, half
    of the subject's disc, as alphamatting.com's hair) and the labels it should read as (0, IGNORE, 1)."""
    regions = _disc(outer).astype(np.uint8) + _disc(inner)
    return regions, np.array([0, IGNORE, 1], np.uint8)[regions]


def test_trimaps_given_as_masks_read_their_band_as_not_scored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A matting trimap (0 background, 128 unknown, 255 subject; alphamatting.com's are palette PNGs of greys) or
    Oxford-IIIT Pet's trimap (1 pet, 2 background, 3 border) in a paired folder: 128 was read as the subject (the
    whole band trained as subject), and 1/2/3 made the whole photo the subject. One line says they were trimaps."""
    regions, expected = _trimap()
    greys = np.array([0, 128, 255], np.uint8)[regions]
    palette = Image.fromarray(regions, mode="P")
    palette.putpalette([0, 0, 0, 128, 128, 128, 255, 255, 255] + [0, 0, 0] * 253)
    masks = {
        "grey": Image.fromarray(greys),
        "grey127": Image.fromarray(np.array([0, 127, 255], np.uint8)[regions]),
        "rgb": Image.fromarray(np.dstack([greys] * 3)),
        "palette": palette,
        "oxford": Image.fromarray(np.array([2, 3, 1], np.uint8)[regions]),
    }
    (tmp_path / "masks").mkdir()
    for name, mask in masks.items():
        save_picture(tmp_path / "images" / f"{name}.jpg", np.zeros((H, W, 3), np.uint8))
        mask.save(tmp_path / "masks" / f"{name}.png")
    with caplog.at_level(logging.INFO):
        read = {s.name: mask for s, _, mask in iter_pairs(discover(tmp_path), show_progress=False)}
    for name in masks:
        assert np.array_equal(read[name], expected), name
    lines = [r.getMessage() for r in caplog.records if "trimap" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("5 mask(s) are trimaps"), lines
    assert "palette.png" in lines[0] and "not scored" in lines[0]


def test_masks_of_three_values_that_are_no_trimap_keep_their_reading(tmp_path: Path) -> None:
    """The other side of the trimap rule: a soft (antialiased) mask has many values; two subjects in two greys, or a
    white subject with a grey part beside it (both touching the background), keep 128 and up as the subject; a
    trimap's values with a fourth value are no trimap."""
    two = np.zeros((H, W), np.uint8)
    two[10:50, 5:30], two[10:50, 45:75] = 128, 255  # two subjects side by side
    part = np.zeros((H, W), np.uint8)
    part[10:50, 20:45], part[30:55, 45:70] = 255, 128  # a white subject and a big grey part beside it
    soft = np.asarray(Image.fromarray(_disc(20).astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(3)))
    four = np.array([0, 128, 255], np.uint8)[_trimap()[0]]
    four[0, 0] = 64
    for name, mask in {"two": two, "part": part, "soft": soft, "four": four}.items():
        save_picture(tmp_path / f"{name}.png", mask)
        assert np.array_equal(read_mask(tmp_path / f"{name}.png", "paired"), (mask >= 128).astype(np.uint8)), name
    assert len(np.unique(soft)) > 3


def test_orientation_warning_is_said_once_for_a_runs_training_and_validation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """train reads its training and validation photos in two passes: each said its own warning about photos whose
    masks' orientation cannot be told, so a run printed it twice. Now one warning names them all."""
    pytest.importorskip("torch")
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    make_paired_set(tmp_path, n=4)
    exif = Image.Exif()
    exif[0x0112] = 3  # shown turned 180 degrees: a mask's shape cannot tell how it was drawn
    for i in range(4):
        photo = tmp_path / "images" / f"p{i}.png"
        Image.open(photo).convert("RGB").save(photo.with_suffix(".jpg"), exif=exif)
        photo.unlink()
    (tmp_path / "splits.tsv").write_text("p0\ttrain\np1\ttrain\np2\tval\np3\tval\n")
    caplog.set_level(logging.WARNING)
    prepare_data(TrainConfig(data=(str(tmp_path),)), ModelConfig(input_size=32), show_progress=False)
    warnings = [r.getMessage() for r in caplog.records if "EXIF orientation" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("4 photo(s) are shown turned") and "p0.jpg" in warnings[0] and "p3.jpg" in warnings[0]


def test_oxford_trimaps_with_two_of_their_values_read_as_trimaps_in_a_folder_of_them(tmp_path: Path) -> None:
    """Oxford-IIIT Pet trimaps in a paired folder: one whose pet fills the photo (1 pet, 3 border, no 2) or that
    has no border (1 and 2) fell to the two-level rule, whose higher value is the subject, and read inverted (the
    border or the background as the pet). In a folder of such trimaps they now read as trimaps; in a folder of
    other masks the two-level rule stays."""
    regions = _trimap()[0]  # 0 outside, 1 band, 2 inside
    oxford = np.array([2, 3, 1], np.uint8)
    fills = np.where(regions == 0, 3, 1).astype(np.uint8)  # the pet fills the photo but for a border
    no_border = np.where(regions == 2, 1, 2).astype(np.uint8)
    masks = {"a": oxford[regions], "b": oxford[regions], "c": oxford[regions], "fills": fills, "plain": no_border}
    (tmp_path / "pets" / "masks").mkdir(parents=True)
    for name, mask in masks.items():
        save_picture(tmp_path / "pets" / "images" / f"{name}.jpg", np.zeros((H, W, 3), np.uint8))
        Image.fromarray(mask).save(tmp_path / "pets" / "masks" / f"{name}.png")
    read = {s.name: mask for s, _, mask in iter_pairs(discover(tmp_path / "pets"), show_progress=False)}
    assert np.array_equal(read["fills"], np.where(regions == 0, IGNORE, 1))
    assert np.array_equal(read["plain"], (regions == 2).astype(np.uint8))
    others = tmp_path / "others"  # 1/2 masks (2 the subject) and 0/1 ones, no whole trimap: read as before
    others.mkdir()
    for name, mask in {
        "one": no_border,
        "two": (regions == 2).astype(np.uint8),
        "full": np.ones((H, W), np.uint8),
    }.items():
        Image.fromarray(mask).save(others / f"{name}.png")
    assert np.array_equal(read_mask(others / "one.png", "paired"), (regions != 2).astype(np.uint8))
    assert np.array_equal(read_mask(others / "full.png", "paired"), np.ones((H, W), np.uint8))


def _big_trimap() -> tuple[np.ndarray, np.ndarray]:
    """:func:`_trimap`'s regions and labels at 240x320 (JPEG's 8x8 blocks small beside the band)."""
    regions, _ = _trimap()
    regions = np.asarray(Image.fromarray(regions).resize((4 * W, 4 * H), Image.Resampling.NEAREST))
    return regions, np.array([0, IGNORE, 1], np.uint8)[regions]


@pytest.mark.parametrize("quality", [60, 95])
def test_trimaps_saved_as_jpeg_read_as_their_png_or_are_refused(tmp_path: Path, quality: int) -> None:
    """A trimap saved as JPEG: its band (128 with compression noise) was split at 128, half of it read as the
    subject; an Oxford 1/2/3 trimap (now 0..5) read as all subject. Now the matting trimap reads exactly as its
    PNG, greys or RGB, and the Oxford one, in a paired folder or in its own layout, is refused by name (JPEG
    cannot keep its one-level steps: at quality 60 its background turns into 1, the pet)."""
    regions, expected = _big_trimap()
    greys = np.array([0, 128, 255], np.uint8)[regions]
    for name, picture in {"grey": greys, "rgb": np.dstack([greys] * 3)}.items():
        Image.fromarray(picture).save(tmp_path / f"{name}.jpg", quality=quality)
        assert np.array_equal(read_mask(tmp_path / f"{name}.jpg", "paired"), expected), name
    Image.fromarray(np.array([2, 3, 1], np.uint8)[regions]).save(tmp_path / "oxford.jpg", quality=quality)
    for kind in ("paired", "oxford"):
        with pytest.raises(ImageReadError, match=r"oxford\.jpg: an Oxford-IIIT Pet trimap .* save trimaps as PNG"):
            read_mask(tmp_path / "oxford.jpg", kind)


def test_a_clean_mask_saved_as_jpeg_still_reads_as_a_mask(tmp_path: Path) -> None:
    """The other side: a 0/255 mask, a soft (blurred) one and a 0/1 one saved as JPEG, compression noise and all,
    read as masks (white >= 128, or 1 on 0), none of them as a trimap."""
    disc = np.asarray(Image.fromarray(_disc(20).astype(np.uint8)).resize((4 * W, 4 * H), Image.Resampling.NEAREST))
    soft = np.asarray(Image.fromarray(disc * 255).filter(ImageFilter.GaussianBlur(6)))
    for name, mask, subject in [("hard", disc * 255, disc), ("soft", soft, soft >= 128), ("01", disc, disc)]:
        Image.fromarray(mask).save(tmp_path / f"{name}.jpg", quality=75)
        got = read_mask(tmp_path / f"{name}.jpg", "paired")
        assert not np.any(got == IGNORE), name
        assert np.mean(got != subject) < 0.01, name  # JPEG's blocks move 0/1 edges a little


def _filling_mask() -> np.ndarray:
    """A 0/1 mask (uint8 320x320, 1 the subject) whose subject fills 99.2 % of the frame: its background a jagged
    strip along the top edge, 0 to 3 pixels deep (a pet filling the photo, its fur against the top)."""
    mask = np.ones((320, 320), np.uint8)
    edge = [(x, (0, 3, 1, 2)[x // 4 % 4]) for x in range(0, 324, 4)]  # its depth at every 4th column
    cv2.fillPoly(mask, [np.array([(0, 0), *edge, (320, 0)])], 0)
    return mask


def test_a_01_mask_whose_subject_fills_the_frame_saved_as_jpeg_reads_as_a_mask(tmp_path: Path) -> None:
    """Its few 0s and JPEG's 2s beside its edge (0.5 % of the pixels) passed for an Oxford-IIIT Pet trimap saved as
    JPEG (values 0..7, almost no 0, some 2s): refused, "save trimaps as PNG". The 2s are ringing, not areas."""
    mask = _filling_mask()
    assert mask.mean() > 0.99
    Image.fromarray(mask).save(tmp_path / "fills.jpg", quality=75)
    raw = np.asarray(Image.open(tmp_path / "fills.jpg"))
    assert raw.max() == 2 and np.mean(raw >= 2) > 0.002  # what the Oxford test saw: 2s, beside few 0s
    got = read_mask(tmp_path / "fills.jpg", "paired")
    assert np.mean(got != mask) < 0.01


def test_an_oxford_trimap_whose_pet_fills_the_frame_saved_as_jpeg_is_still_refused(tmp_path: Path) -> None:
    """The other side: an Oxford trimap whose background is only a corner (2 % of the frame) and whose border is a
    4-pixel band has areas of 2s and 3s, and is refused whatever the quality."""
    trimap = np.ones((320, 320), np.uint8)
    yy, xx = np.mgrid[:320, :320]
    corner = np.hypot(yy, xx)
    trimap[corner < 60] = 3
    trimap[corner < 56] = 2
    for quality in (60, 75, 95):
        Image.fromarray(trimap).save(tmp_path / "oxford.jpg", quality=quality)
        with pytest.raises(ImageReadError, match=r"oxford\.jpg: an Oxford-IIIT Pet trimap"):
            read_mask(tmp_path / "oxford.jpg", "paired")


def test_a_tiny_sets_split_notes_are_said_once_a_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """ "no validation images … validating on the training set" was warned at every read of the data, the later
    reads of a run (``report=False``: a recipe's interpolation, torchrun's other ranks) too."""
    pytest.importorskip("torch")
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.config import TrainConfig
    from colorsplash.training.steps import prepare_data

    make_paired_set(tmp_path, n=2)
    config = TrainConfig(data=(str(tmp_path),), val_fraction=0.0)
    caplog.set_level(logging.WARNING)
    prepare_data(config, ModelConfig(input_size=32), show_progress=False, report=False)
    assert "validating on the training set" not in caplog.text
    prepare_data(config, ModelConfig(input_size=32), show_progress=False)
    assert caplog.text.count("validating on the training set") == 1, caplog.text
