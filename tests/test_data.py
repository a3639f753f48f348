"""Data discovery, decoding and splitting on small generated folders of all three layouts."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_oxford_set, make_paired_set, make_scenes_set, make_seed_set, save_picture
from PIL import Image

from colorsplash.evaluation.datasets import (
    IGNORE,
    DataError,
    Sample,
    detect_layout,
    discover,
    discover_all,
    load_pair,
    split_samples,
)


def test_seed_layout_thresholds_noisy_jpeg_masks(tmp_path: Path) -> None:
    truth = make_seed_set(tmp_path)
    samples = discover(tmp_path)
    assert detect_layout(tmp_path) == "seed"
    assert [s.name for s in samples] == ["cat0", "cat1", "cat2", "cat3"]
    assert all(s.kind == "seed" and s.dataset == tmp_path.name for s in samples)
    raw = np.asarray(Image.open(samples[0].mask))
    assert len(np.unique(raw)) > 2, "the fixture must hold JPEG noise for this test to mean anything"
    for sample, expected in zip(samples, truth, strict=True):
        image, mask = load_pair(sample)
        assert image.shape == (48, 64, 3) and image.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1}
        assert np.mean(mask == expected) > 0.99


def test_paired_layout_matches_by_stem_and_reads_splits(tmp_path: Path) -> None:
    make_paired_set(tmp_path)
    # Another extension for one mask: matching is by stem, not by full name.
    (tmp_path / "masks" / "p3.png").rename(tmp_path / "masks" / "p3.bmp")
    (tmp_path / "splits.tsv").write_text("p0\ttrain\np1\tvalid\np2\ttest\n")
    samples = discover(tmp_path)
    assert [(s.name, s.kind, s.split) for s in samples] == [
        ("p0", "paired", "train"),
        ("p1", "paired", "val"),
        ("p2", "paired", "val"),
        ("p3", "paired", None),
    ]
    image, mask = load_pair(samples[3])
    assert image.shape[:2] == mask.shape and set(np.unique(mask)) == {0, 1}
    train, val = split_samples(samples, val_fraction=0.0, seed=0)
    assert [s.name for s in val] == ["p1", "p2"] and [s.name for s in train] == ["p0", "p3"]


def test_files_opened_by_content_not_extension(tmp_path: Path) -> None:
    make_seed_set(tmp_path, n=2)
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[:, :8, 3] = 0  # transparent strip: composited over white
    save_picture(tmp_path / "input" / "cat0.jpg", rgba, fmt="PNG")
    save_picture(tmp_path / "input" / "cat1.jpg", np.full((48, 64), 7, np.uint8), fmt="GIF")
    assert Image.open(tmp_path / "input" / "cat1.jpg").format == "GIF"
    png, _ = load_pair(discover(tmp_path)[0])
    gif, _ = load_pair(discover(tmp_path)[1])
    assert png.shape == gif.shape == (48, 64, 3)
    assert tuple(png[20, 30]) == (200, 0, 0) and tuple(png[20, 2]) == (255, 255, 255)
    assert np.all(gif == 7)


def test_exif_orientation_applied(tmp_path: Path) -> None:
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:, :30] = (255, 0, 0)  # left half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    buf = io.BytesIO()
    Image.fromarray(stored).save(buf, format="JPEG", exif=exif, quality=95)
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.jpg").write_bytes(buf.getvalue())
    save_picture(tmp_path / "mask" / "mask_a.jpg", np.zeros((60, 40), np.uint8))  # mask in display orientation
    image, mask = load_pair(discover(tmp_path)[0])
    assert image.shape == (60, 40, 3) and mask.shape == (60, 40)
    assert image[5, 20, 0] > 200 and image[5, 20, 2] < 60  # the stored left half is now on top
    assert image[55, 20, 0] < 60


def test_image_without_mask_names_file_and_skip_bad(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_seed_set(tmp_path, n=3)
    (tmp_path / "mask" / "mask_cat1.jpg").unlink()
    with pytest.raises(DataError, match=r"cat1\.jpg.*--skip-bad"):
        discover(tmp_path)
    with caplog.at_level(logging.WARNING):
        samples = discover(tmp_path, skip_bad=True)
    assert [s.name for s in samples] == ["cat0", "cat2"]
    assert "cat1" in caplog.text


def test_mask_of_another_size_and_unreadable_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_seed_set(tmp_path, n=4)
    save_picture(tmp_path / "mask" / "mask_cat1.jpg", np.zeros((10, 10), np.uint8))
    (tmp_path / "input" / "cat2.jpg").write_bytes(b"this is not a picture")
    (tmp_path / "input" / "cat3.jpg").write_bytes(b"")
    samples = discover(tmp_path)
    with pytest.raises(DataError, match=r"mask_cat1\.jpg.*10x10.*64x48"):
        load_pair(samples[1])
    # one parenthesis of ways out: "(or remove it from the data) (or pass --skip-bad)" read as two afterthoughts
    with pytest.raises(
        DataError, match=r"cat2\.jpg.*; check the file \(or remove it from the data, or pass --skip-bad\)$"
    ):
        load_pair(samples[2])
    with pytest.raises(DataError, match=r"cat3\.jpg.*empty"):
        load_pair(samples[3])
    pytest.importorskip("torch")  # the rest: training's loader (the light runtime's tests stop here)
    from colorsplash.runtime.model.config import ModelConfig
    from colorsplash.training.torch_dataset import load_resized

    config = ModelConfig(input_size=32)
    with pytest.raises(DataError, match=r"mask_cat1\.jpg"):
        load_resized(samples, config, show_progress=False)
    with caplog.at_level(logging.WARNING):
        images, masks, kept = load_resized(samples, config, skip_bad=True, show_progress=False)
    assert [s.name for s in kept] == ["cat0"] and images.shape == (1, 32, 32, 3) and masks.shape == (1, 32, 32)
    assert "skipped 3 photo(s) (--skip-bad): 1 mask too small, 2 unreadable" in caplog.text
    assert "cat2.jpg" in caplog.text


def test_empty_and_unknown_folders(tmp_path: Path) -> None:
    (tmp_path / "empty" / "input").mkdir(parents=True)
    (tmp_path / "empty" / "mask").mkdir()
    with pytest.raises(DataError, match=r"empty.*no image/mask pairs"):
        discover(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match=r"other.*no known data layout"):
        discover(tmp_path / "other")
    with pytest.raises(DataError, match="not found"):
        discover(tmp_path / "missing")


def test_seeded_split_is_reproducible_and_order_free(tmp_path: Path) -> None:
    samples = [Sample(Path(f"i{i}.jpg"), Path(f"m{i}.png"), "seed", "set") for i in range(400)]
    train, val = split_samples(samples, 0.25, seed=3)
    assert 70 < len(val) < 130 and len(train) + len(val) == 400
    again = split_samples(list(reversed(samples)), 0.25, seed=3)[1]
    assert {s.name for s in again} == {s.name for s in val}
    other = split_samples(samples, 0.25, seed=4)[1]
    assert {s.name for s in other} != {s.name for s in val}
    assert split_samples(samples, 0.0, seed=3)[1] == []


def test_several_sets_in_one_run(tmp_path: Path) -> None:
    make_seed_set(tmp_path / "seedset", n=2)
    make_paired_set(tmp_path / "pairs", n=3)
    samples = discover_all([tmp_path / "seedset", tmp_path / "pairs"])
    assert [(s.dataset, s.kind) for s in samples] == [("seedset", "seed")] * 2 + [("pairs", "paired")] * 3


def test_two_folders_of_one_name_are_said_to_be_one_set(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``a/pets b/pets``: both sets are named ``pets``, so every per-set figure (evaluate's table, training's
    validation) merged them without a word; a warning names both folders."""
    make_paired_set(tmp_path / "a" / "pets", n=2)
    make_paired_set(tmp_path / "b" / "pets", n=2)
    make_paired_set(tmp_path / "c" / "cats", n=2)
    with caplog.at_level(logging.WARNING):
        samples = discover_all([tmp_path / "a" / "pets", tmp_path / "b" / "pets", tmp_path / "c" / "cats"])
    assert {s.dataset for s in samples} == {"pets", "cats"} and len(samples) == 6
    said = [r.getMessage() for r in caplog.records if "both named" in r.getMessage()]
    assert len(said) == 1 and str(tmp_path / "a" / "pets") in said[0] and str(tmp_path / "b" / "pets") in said[0]


def test_scenes_layout_pet_free_photos_are_background_and_labelled_pets_train(tmp_path: Path) -> None:
    from colorsplash.evaluation.datasets import is_subject_free

    root = tmp_path / "scenes"
    photos = {f"{i:03d}": [(f"person0{i}_{i:03d}", "person")] for i in range(40)}
    photos["900"] = [("laptop01_900", "laptop"), ("cat02_900", "cat")]
    make_scenes_set(root, photos)
    samples = discover(root)
    assert detect_layout(root) == "scenes" and len(samples) == 41
    pets = [s for s in samples if not is_subject_free(s)]
    assert [(s.name, s.dataset, s.split) for s in pets] == [("900", "scenes-pets", "train")]
    free = [s for s in samples if is_subject_free(s)]
    assert {s.dataset for s in free} == {"scenes"}
    val = [s for s in free if s.split == "val"]
    assert 4 <= len(val) <= 18 and all(s.split in ("train", "val") for s in free)  # 25 %, seeded
    assert [s.name for s in val] == [s.name for s in discover(root) if s.split == "val"]  # the same every time
    _, mask = load_pair(free[0])
    assert mask.shape == (30, 40) and not mask.any()  # the person is background, like everything else
    _, mask = load_pair(pets[0])
    assert (mask[2:8, 5:15] == 0).all()  # the laptop: background
    assert (mask[10:16, 5:15] == 1).all()  # the cat
    assert (mask[20:, :] == IGNORE).all() and (mask[:, 20:] == IGNORE).all()  # the rest: maybe an unlabelled pet


def test_scenes_photos_listed_in_excluded_tsv_are_dropped(tmp_path: Path) -> None:
    from colorsplash.evaluation.exclusions import excluded_names

    listed = excluded_names()["coco-scenes"]
    assert len(listed) >= 10  # the audit of coco-scenes found a pet in these pet-free photos
    dropped = sorted(listed)[0]
    root = tmp_path / "coco-scenes"
    make_scenes_set(root, {dropped: [("person00_x", "person")], "000000000001": [("tie00_y", "tie")]})
    assert [s.name for s in discover(root)] == ["000000000001"]
    other = tmp_path / "other-scenes"  # the list names photos of coco-scenes only
    make_scenes_set(other, {dropped: [("person00_x", "person")]})
    assert [s.name for s in discover(other)] == [dropped]


def test_breeds_photos_with_wrong_labels_are_dropped_from_training_and_validation(tmp_path: Path) -> None:
    from colorsplash.evaluation.exclusions import excluded_reasons

    reasons = excluded_reasons()
    listed = sorted(name for (dataset, name) in reasons if dataset == "oxford-breeds")
    assert "Russian_Blue_112" in listed and all(reasons[("oxford-breeds", n)] for n in listed)  # each says why
    root = tmp_path / "oxford-breeds"
    make_oxford_set(root, ["Russian_Blue_112", "Russian_Blue_1", "Siamese_17", "Siamese_1"])
    kept = discover(root)
    assert [s.name for s in kept] == ["Russian_Blue_1", "Siamese_1"]  # an unseen breed's and a training breed's
    assert [s.dataset for s in kept] == ["oxford-breeds-unseen", "oxford-breeds"]
    assert len(discover(root, keep_excluded=True)) == 4  # audits still see them


def test_held_out_breeds_are_validation_only_under_their_own_set_name(tmp_path: Path) -> None:
    from colorsplash.evaluation.datasets import HELD_OUT_BREEDS, breed

    assert breed("Russian_Blue_12") == "Russian_Blue" and breed("japanese_chin_3") == "japanese_chin"
    cats = {"Birman", "Russian_Blue", "Siamese", "Ragdoll", "British_Shorthair", "Maine_Coon"}
    assert len(HELD_OUT_BREEDS) >= 4 and HELD_OUT_BREEDS & cats and HELD_OUT_BREEDS - cats  # cats and dogs
    root = tmp_path / "breeds"
    make_oxford_set(root, ["Birman_1", "Birman_2", "Siamese_1", "yorkshire_terrier_7", "samoyed_1"])
    by_name = {s.name: s for s in discover(root)}
    for name in ("Birman_1", "Birman_2", "yorkshire_terrier_7"):
        assert (by_name[name].dataset, by_name[name].split) == ("breeds-unseen", "val")
    for name in ("Siamese_1", "samoyed_1"):
        assert (by_name[name].dataset, by_name[name].split) == ("breeds", None)
    train, val = split_samples(list(by_name.values()), val_fraction=0.0, seed=0)
    assert {s.name for s in val} == {"Birman_1", "Birman_2", "yorkshire_terrier_7"}


def _blob_mask(h: int = 40, w: int = 56) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[10:30, 15:40] = 1
    return mask


def test_masks_saved_as_0_1_or_as_a_two_colour_palette_read_1_as_the_subject(tmp_path: Path) -> None:
    """Audit (custom subject): a mask saved with values 0/1, or a palette PNG that shows white on black (indices
    0/1), was read as all background (1 < 128): the model was taught to find nothing."""
    make_paired_set(tmp_path, n=2)
    truth = _blob_mask()
    save_picture(tmp_path / "masks" / "p0.png", truth)  # values 0 and 1
    palette = Image.fromarray(truth, mode="P")
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.save(tmp_path / "masks" / "p1.png")
    assert Image.open(tmp_path / "masks" / "p1.png").mode == "P"
    for sample in discover(tmp_path):
        _, mask = load_pair(sample)
        assert np.array_equal(mask, truth), sample.mask


def test_masks_with_transparency_are_read_by_their_alpha(tmp_path: Path) -> None:
    """Audit (custom subject): a cut-out mask (subject opaque, background transparent) was read by the colour of
    its pixels: white under the transparency made the whole photo the subject, the photo itself its brightness."""
    make_paired_set(tmp_path, n=3)
    truth = _blob_mask()
    alpha = truth * 255
    white = np.dstack([np.full((40, 56, 3), 255, np.uint8), alpha])  # white everywhere, alpha = subject
    photo = np.dstack([load_pair(discover(tmp_path)[2])[0], alpha])  # the photo cut out (background removers)
    black = np.dstack([np.repeat(alpha[..., None], 3, axis=2), alpha])  # white subject, black transparent rest
    for i, rgba in enumerate((white, photo, black)):
        save_picture(tmp_path / "masks" / f"p{i}.png", rgba)
    for sample in discover(tmp_path):
        _, mask = load_pair(sample)
        assert np.array_equal(mask, truth), sample.mask


def test_paired_folder_says_what_it_does_not_use(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Audit (custom subject): a mask without a photo and pictures in subfolders were dropped without a word;
    a mask named after the photo's whole file name (``p1.jpg.png``) was not found; macOS's ``._p0.png`` was read
    as a photo and failed; photos without a mask were named only the first."""
    make_paired_set(tmp_path, n=4)
    (tmp_path / "masks" / "p1.png").rename(tmp_path / "masks" / "p1.png.png")
    save_picture(tmp_path / "masks" / "lonely.png", _blob_mask() * 255)
    save_picture(tmp_path / "images" / "more" / "p9.png", _blob_mask() * 255)
    (tmp_path / "images" / "._p0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    with caplog.at_level(logging.WARNING):
        samples = discover(tmp_path)
    assert [(s.name, s.mask.name) for s in samples][:2] == [("p0", "p0.png"), ("p1", "p1.png.png")]
    assert len(samples) == 4
    assert "1 mask(s) without a photo" in caplog.text and "lonely.png" in caplog.text
    assert "subfolders are not read" in caplog.text and "p9.png" in caplog.text
    for name in ("p2", "p3"):
        (tmp_path / "masks" / f"{name}.png").unlink()
    with pytest.raises(DataError, match=r"2 photo\(s\) without a mask.*p2\.png, p3\.png"):
        discover(tmp_path)


def test_two_photos_or_masks_of_one_name_are_refused(tmp_path: Path) -> None:
    """Audit (custom subject): ``car.jpg`` and ``car.png`` both trained with the one mask ``car.png`` (and two masks
    of one name gave the photo whichever was listed first)."""
    make_paired_set(tmp_path, n=2)
    save_picture(tmp_path / "images" / "p0.jpg", np.zeros((40, 56, 3), np.uint8))
    with pytest.raises(DataError, match=r"p0\.jpg and p0\.png share the name 'p0'.*rename or remove"):
        discover(tmp_path)
    (tmp_path / "images" / "p0.jpg").rename(tmp_path / "masks" / "p0.jpg")
    with pytest.raises(DataError, match=r"p0\.jpg and p0\.png share the name 'p0'"):
        discover(tmp_path)


def test_splits_file_words_are_checked(tmp_path: Path) -> None:
    """Audit (custom subject): a split written ``validation`` (or any word but valid/val/test) silently trained."""
    make_paired_set(tmp_path, n=3)
    (tmp_path / "splits.tsv").write_text("p0\tvalidation\np1\tTrain\n")
    assert [s.split for s in discover(tmp_path)] == ["val", "train", None]
    (tmp_path / "splits.tsv").write_text("p0\ttrain\np1\tholdout\n")
    with pytest.raises(DataError, match=r"splits\.tsv, line 2: split 'holdout' for p1"):
        discover(tmp_path)


def test_a_folder_of_data_sets_names_them(tmp_path: Path) -> None:
    """Audit (custom subject): ``train data/`` on the folder that holds the sets said only 'no known layout'."""
    make_paired_set(tmp_path / "cars", n=1)
    (tmp_path / "notes").mkdir()
    with pytest.raises(DataError, match=r"no known data layout.*it holds data sets: name them instead \(.*cars\)"):
        discover(tmp_path)
    (tmp_path / "other" / "photos").mkdir(parents=True)
    (tmp_path / "other" / "labels").mkdir()
    with pytest.raises(DataError, match=r"it holds labels/, photos/$"):
        discover(tmp_path / "other")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"it holds no folders"):
        discover(tmp_path / "empty")


def test_half_a_layout_says_what_it_lacks(tmp_path: Path) -> None:
    """``images/`` without ``masks/`` said only "it holds images/", as if the layout were unknown: it says which
    folder is missing and where the masks go (or that photos without the subject go in with ``--negatives``)."""
    (tmp_path / "cats" / "images").mkdir(parents=True)
    with pytest.raises(DataError) as caught:
        discover(tmp_path / "cats")
    assert str(caught.value).endswith(
        f"it holds images/: images/ without masks/ or trimaps/; put each photo's mask, of the same name, in "
        f"{tmp_path / 'cats' / 'masks'}/ (photos without the subject: --negatives {tmp_path / 'cats' / 'images'})"
    )
    (tmp_path / "seed" / "mask").mkdir(parents=True)
    with pytest.raises(DataError, match=r"it holds mask/: mask/ without input/$"):
        discover(tmp_path / "seed")


def test_a_data_set_of_capitalised_folders_is_told_to_rename_them(tmp_path: Path) -> None:
    """Audit (trainaudit): ``train parrots/`` whose folders were made as ``Images/`` and ``Masks/`` (as Windows and
    macOS users name folders, and as a case-insensitive disk reads them) said "no known data layout ... it holds
    Images/, Masks/" without what to do; it says to rename them to the lower-case names."""
    (tmp_path / "Images").mkdir()
    (tmp_path / "Masks").mkdir()
    (tmp_path / "notes").mkdir()
    with pytest.raises(DataError, match=r"lower case: rename Images/ to images/, Masks/ to masks/$"):
        discover(tmp_path)


def test_a_mask_at_another_scale_is_stretched_and_a_sideways_one_turned(tmp_path: Path) -> None:
    """Audit (custom subject): a mask saved at half its photo's size was refused; one drawn on the raw pixels of a
    photo stored sideways (EXIF orientation 6) was refused with two sizes and no reason (now: turned as the photo
    is shown, test_mask_reading)."""
    make_paired_set(tmp_path, n=2)
    truth = np.zeros((40, 56), np.uint8)
    truth[10:30, 16:40] = 1  # even edges: halved and doubled exactly
    save_picture(tmp_path / "masks" / "p0.png", truth[::2, ::2] * 255)  # 28x20 for a 56x40 photo
    _, mask = load_pair(discover(tmp_path)[0])
    assert mask.shape == truth.shape and np.array_equal(mask, truth)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    Image.fromarray(np.zeros((56, 40, 3), np.uint8)).save(tmp_path / "images" / "p1.png", exif=exif)
    save_picture(tmp_path / "masks" / "p1.png", np.zeros((56, 40), np.uint8))  # the stored pixels' shape
    assert load_pair(discover(tmp_path)[1])[1].shape == (40, 56)


def test_0_1_masks_as_jpeg_16_bit_or_a_palette_listing_white_first_read_1_as_the_subject(tmp_path: Path) -> None:
    """A 0/1 mask saved as JPEG (its 1s become 0..2), or as a 16-bit PNG (scaled from 65535 to 0), read as all
    background; a black-and-white palette mask that lists white first read the background as the subject (its
    indices 0/1 were taken for a 0/1 mask); one of black, grey and white read as all background."""
    make_paired_set(tmp_path, n=4)
    yy, xx = np.mgrid[:40, :56]
    truth = (((yy - 20) ** 2 + (xx - 28) ** 2) < 15**2).astype(np.uint8)  # a disc: JPEG rings round its edge
    Image.fromarray(truth).save(tmp_path / "masks" / "p0.jpg", quality=90)  # values 0..2
    (tmp_path / "masks" / "p0.png").unlink()
    Image.fromarray(truth.astype(np.uint16)).save(tmp_path / "masks" / "p1.png")
    assert Image.open(tmp_path / "masks" / "p1.png").mode.startswith("I")
    inverted = Image.fromarray(1 - truth, mode="P")
    inverted.putpalette([255, 255, 255, 0, 0, 0])  # index 0 white (the subject), 1 black
    inverted.save(tmp_path / "masks" / "p2.png")
    greys = Image.fromarray(truth * 2 + (xx < 4), mode="P")  # black background, a grey strip, a white disc
    greys.putpalette([0, 0, 0, 60, 60, 60, 255, 255, 255])
    greys.save(tmp_path / "masks" / "p3.png")
    masks = [load_pair(sample)[1] for sample in discover(tmp_path)]
    assert np.mean(masks[0] != truth) < 0.03  # JPEG: edge pixels (the old reading: all 31 % of the disc)
    for mask in masks[1:]:
        assert np.array_equal(mask, truth)


def test_a_16_bit_trimap_keeps_its_labels(tmp_path: Path) -> None:
    """A 16-bit trimap (1 pet, 2 background, 3 border) was scaled from 65535 to 8 bits: all 0, no pet, no border."""
    make_oxford_set(tmp_path, ["Abyssinian_1"])
    sample = discover(tmp_path)[0]
    _, before = load_pair(sample)
    labels = np.where(before == 1, 1, np.where(before == IGNORE, 3, 2)).astype(np.uint16)
    Image.fromarray(labels).save(sample.mask)
    assert np.array_equal(load_pair(sample)[1], before)


def test_splits_file_names_with_extensions_a_bom_or_a_header_are_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A splits.tsv naming photos by file name (``p0.png``), saved by a spreadsheet (a byte-order mark before the
    first name) or with spaces after a name was silently not used: its test photos were split at random and could
    train; a ``name<TAB>split`` header line was an error."""
    make_paired_set(tmp_path, n=4)
    tsv = tmp_path / "splits.tsv"
    tsv.write_text("name\tsplit\np0.png\tval\np1 \ttest\np2\ttrain\n", encoding="utf-8-sig")
    with caplog.at_level(logging.WARNING):
        assert [s.split for s in discover(tmp_path)] == ["val", "val", "train", None]
    assert "match no photo" not in caplog.text
    tsv.write_text("p0\tval\ncat.jpg\tval\n")
    with caplog.at_level(logging.WARNING):
        assert [s.split for s in discover(tmp_path)] == ["val", None, None, None]
    assert "splits.tsv: 1 name(s) match no photo" in caplog.text and "cat.jpg" in caplog.text
