"""Masks users bring, read right or refused in words: EXIF-turned photos, tiny masks, label maps with a void
value, and masks of other colours and levels (small generated paired folders)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_paired_set, save_picture
from PIL import Image, ImageDraw, ImageFilter

from colorsplash.evaluation.datasets import IGNORE, DataError, discover, iter_pairs, load_pair

T = Image.Transpose
SHOWN = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE, 6: T.ROTATE_270}  # EXIF's
UNDO = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}  # the EXIF orientation that undoes each one
SHOWN.update({7: T.TRANSVERSE, 8: T.ROTATE_90})


def orient_pixels(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` as EXIF ``orientation`` shows them (Pillow's transposes, not the code under test)."""
    return np.asarray(Image.fromarray(pixels).transpose(SHOWN[orientation]))


def _truth(h: int, w: int) -> np.ndarray:
    """An asymmetric 0/1 mask: a block at the top left, so every turn and mirror moves it."""
    mask = np.zeros((h, w), np.uint8)
    mask[: h * 2 // 3, : w // 3] = 1
    return mask


def _save_turned(path: Path, upright: np.ndarray, orientation: int) -> None:
    """Save ``upright`` as the stored pixels that EXIF ``orientation`` shows upright."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = np.ascontiguousarray(orient_pixels(upright, UNDO[orientation]))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(stored).save(path, exif=exif, quality=95)


def _read_all(root: Path) -> dict[str, np.ndarray]:
    return {s.name: mask for s, _, mask in iter_pairs(discover(root), show_progress=False)}


def _turned_set(root: Path, photos: dict[str, tuple[tuple[int, int], int]]) -> None:
    """Photos ``{name: ((h, w) upright, EXIF orientation)}`` whose masks were drawn on the stored pixels."""
    for name, (hw, orientation) in photos.items():
        upright = np.dstack([_truth(*hw) * 200] * 3).astype(np.uint8)
        _save_turned(root / "images" / f"{name}.jpg", upright, orientation)
        stored = np.ascontiguousarray(orient_pixels(_truth(*hw), UNDO[orientation]))
        save_picture(root / "masks" / f"{name}.png", stored * 255)


def test_masks_of_exif_turned_photos_whose_shape_cannot_tell_are_named_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A square photo shown turned (orientation 6), or any photo turned 180 degrees or mirrored (3, 2), whose mask
    was drawn on its stored pixels trained on a mask turned against the photo without a word. The rule (read
    upright) is kept, and one warning names those photos and says how to settle it."""
    photos = {"sq6": ((40, 40), 6), "wide3": ((40, 56), 3), "wide2": ((40, 56), 2)}
    _turned_set(tmp_path, photos)
    # an upright mask of a sideways-stored photo: its shape tells, nothing to say
    _save_turned(tmp_path / "images" / "tall8.jpg", np.zeros((56, 40, 3), np.uint8), 8)
    save_picture(tmp_path / "masks" / "tall8.png", _truth(56, 40) * 255)
    with caplog.at_level(logging.WARNING):
        masks = _read_all(tmp_path)
    assert np.array_equal(masks["tall8"], _truth(56, 40))
    for name in photos:  # read upright, as the rule says, and named
        assert not np.array_equal(masks[name], _truth(*photos[name][0]))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "3 photo(s) are shown turned or mirrored" in warnings[0]
    assert all(f"{name}.jpg" in warnings[0] for name in photos)
    assert "tall8" not in warnings[0] and "exiftool -n -Orientation=1" in warnings[0]


def test_a_mask_of_a_sideways_stored_photos_raw_pixels_is_turned_as_the_photo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its shape says it was drawn on the stored pixels: it was refused, it is now turned as the photo is."""
    _turned_set(tmp_path, {"tall6": ((56, 40), 6), "wide5": ((40, 56), 5)})
    with caplog.at_level(logging.INFO):
        masks = _read_all(tmp_path)
    assert np.array_equal(masks["tall6"], _truth(56, 40)) and np.array_equal(masks["wide5"], _truth(40, 56))
    assert "2 mask(s) have the shape of their photo's stored, sideways pixels" in caplog.text
    assert "tall6.jpg" in caplog.text and "WARNING" not in caplog.text


def test_the_photo_and_its_mask_are_opened_once_for_their_pixels_and_orientation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fitting a mask to its photo opened the photo's file a second time for its EXIF orientation, which the read
    of its pixels had just applied (a PNG's whole picture decoded again for it), and then the mask's beside a
    turned photo; both reads now hand their orientation on."""
    from colorsplash.evaluation import mask_size
    from colorsplash.runtime.pictures import picture_open

    _turned_set(tmp_path, {"tall6": ((56, 40), 6)})
    save_picture(tmp_path / "images" / "plain.png", np.zeros((40, 56, 3), np.uint8))
    save_picture(tmp_path / "masks" / "plain.png", _truth(40, 56) * 255)
    opened: list[str] = []
    real = picture_open.open_unchecked

    def recording(path: Path) -> Image.Image:
        opened.append(f"{Path(path).parent.name}/{Path(path).name}")
        return real(path)

    monkeypatch.setattr(picture_open, "open_unchecked", recording)
    monkeypatch.setattr(mask_size, "open_unchecked", recording, raising=False)  # where it opened masks again
    masks = _read_all(tmp_path)
    assert np.array_equal(masks["tall6"], _truth(56, 40)) and np.array_equal(masks["plain"], _truth(40, 56))
    assert sorted(opened) == ["images/plain.png", "images/tall6.jpg", "masks/plain.png", "masks/tall6.png"]


def test_a_mask_tagged_like_its_photo_is_turned_by_its_own_tag_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upright = np.dstack([_truth(40, 40) * 200] * 3).astype(np.uint8)
    _save_turned(tmp_path / "images" / "sq.jpg", upright, 6)
    _save_turned(tmp_path / "masks" / "sq.png", _truth(40, 40) * 255, 6)
    with caplog.at_level(logging.WARNING):
        masks = _read_all(tmp_path)
    assert np.array_equal(masks["sq"], _truth(40, 40)) and not caplog.records


def test_a_non_square_sideways_mask_without_exif_is_still_refused(tmp_path: Path) -> None:
    make_paired_set(tmp_path, n=1)
    save_picture(tmp_path / "masks" / "p0.png", np.zeros((56, 40), np.uint8))
    with pytest.raises(DataError, match=r"p0\.png: mask is 40x56.*turned sideways: save it upright"):
        load_pair(discover(tmp_path)[0])


def test_a_tiny_mask_is_refused_and_a_genuine_smaller_copy_still_stretched(tmp_path: Path) -> None:
    """A 1x1 or 8x8 picture "is" any square photo at another scale: it was stretched over the photo (a 1x1 white
    mask made the whole photo the subject)."""
    for i, side in enumerate((1, 8, 25, 30)):  # 25x25 of 100x100 (4 times) and 30x30 of 60x60 are smaller copies
        photo_side = 100 if side == 25 else 60 if side == 30 else 1000
        save_picture(tmp_path / "images" / f"p{i}.png", np.zeros((photo_side, photo_side, 3), np.uint8))
        save_picture(tmp_path / "masks" / f"p{i}.png", np.full((side, side), 255, np.uint8))
    samples = discover(tmp_path)
    with pytest.raises(DataError, match=r"p0\.png: mask is 1x1, too small.*1000x1000, 1000 times.*photo's size"):
        load_pair(samples[0])
    with pytest.raises(DataError, match=r"p1\.png: mask is 8x8, too small.*--skip-bad"):
        load_pair(samples[1])
    assert load_pair(samples[2])[1].shape == (100, 100) and load_pair(samples[3])[1].shape == (60, 60)


def _voc_labels(h: int = 40, w: int = 56) -> tuple[np.ndarray, np.ndarray]:
    """A Pascal VOC style label map (0 background, class 12 at the top left, class 3 at the bottom right, a
    2-pixel 255 void border round each) and its expected labels (0, 1, IGNORE)."""
    labels = np.zeros((h, w), np.uint8)
    labels[:26, :18] = 12
    labels[30:, 40:] = 3
    border = np.zeros((h, w), bool)
    border[:28, 18:20] = border[26:28, :20] = True
    border[28:30, 38:] = border[28:, 38:40] = True
    labels[border] = 255
    expected = np.where(labels == 255, IGNORE, (labels > 0).astype(np.uint8)).astype(np.uint8)
    return labels, expected


def test_a_label_map_reads_its_classes_as_the_subject_and_its_255_border_as_not_scored(tmp_path: Path) -> None:
    """A VOC-style label map (palette PNG, or the same indices as greys): the 255 border was read as the subject
    and the classes (12, 3 < 128) as background; saved as RGB in VOC's colours, the dark class colours read as
    background and the cream border as subject."""
    labels, expected = _voc_labels()
    make_paired_set(tmp_path, n=3)
    voc = [0, 0, 0] * 256
    voc[3 * 3 : 3 * 3 + 3], voc[12 * 3 : 12 * 3 + 3] = [128, 128, 0], [64, 0, 0]  # VOC's bird and cat colours
    voc[255 * 3 :] = [224, 224, 192]  # VOC's void colour
    palette = Image.fromarray(labels, mode="P")
    palette.putpalette(voc)
    palette.save(tmp_path / "masks" / "p0.png")
    save_picture(tmp_path / "masks" / "p1.png", labels)  # greys 0, 3, 12, 255
    rgb = palette.convert("RGB")
    assert rgb.mode == "RGB" and len(rgb.getcolors() or []) == 4
    rgb.save(tmp_path / "masks" / "p2.png")
    for sample in discover(tmp_path):
        assert np.array_equal(load_pair(sample)[1], expected), sample.mask


def test_masks_of_other_levels_and_colours_read_their_subject(tmp_path: Path) -> None:
    """Masks that read as empty or as all subject: two greys neither black nor white, a dark class number on 0, a
    blue (or antialiased red) subject on black saved as RGB; a white mask with a thin grey edge keeps its reading."""
    truth = _truth(40, 56)
    make_paired_set(tmp_path, n=7)
    rgb_blue = np.zeros((40, 56, 3), np.uint8)
    rgb_blue[truth == 1] = (0, 0, 255)
    yy, xx = np.mgrid[:40, :56]
    ramp = np.clip((18 - xx + (yy % 10) / 10) * 64, 0, 255).astype(np.uint8) * (yy < 26)  # antialiased red
    red = np.dstack([ramp, ramp // 8, ramp // 8])
    edged = truth * 255
    edged[: 26 + 1, 18] = edged[26, :19] = 100  # a grey edge drawn round the white subject
    masks = {0: truth * 50 + 50, 1: truth * 105 + 150, 2: truth * 15, 3: rgb_blue, 4: red, 5: edged}
    for i, mask in masks.items():
        save_picture(tmp_path / "masks" / f"p{i}.png", mask.astype(np.uint8))
    assert len(np.unique(red.reshape(-1, 3), axis=0)) > 32  # an antialiased edge: read by brightness
    read = [load_pair(sample)[1] for sample in discover(tmp_path)]
    for i in range(6):
        assert np.mean(read[i] != truth) < (0.03 if i == 4 else 1e-9), i  # 4: a pixel a row where the edge cuts it


def test_a_folder_of_photos_alone_is_told_of_negatives_and_of_masks(tmp_path: Path) -> None:
    """A folder of photos without masks given as data said only "it holds no folders": neither that photos without
    the subject are passed with ``--negatives`` nor where masks of the subject's photos belong."""
    for i in range(3):
        save_picture(tmp_path / "streets" / f"s{i}.jpg", np.zeros((40, 56, 3), np.uint8))
    with pytest.raises(
        DataError,
        match=r"it holds 3 photo\(s\) and no masks: photos without the subject go in with "
        r"--negatives .*streets; photos of it need masks: .*streets/images/ .*streets/masks/",
    ):
        discover(tmp_path / "streets")


def test_masks_beside_their_photos_are_told_where_to_go(tmp_path: Path) -> None:
    """Masks saved next to their photos (``car.jpg`` + ``car.png``) got "no known data layout ... it holds no
    folders", or, in images/, "which mask is whose cannot be told" without saying where masks belong."""
    for i in range(2):
        save_picture(tmp_path / "flat" / f"car{i}.jpg", np.zeros((40, 56, 3), np.uint8))
        save_picture(tmp_path / "flat" / f"car{i}.png", _truth(40, 56) * 255)
    with pytest.raises(DataError, match=r"photos and masks side by side \(car0\.jpg \+ car0\.png\).*flat/masks/"):
        discover(tmp_path / "flat")
    make_paired_set(tmp_path / "set", n=1)
    save_picture(tmp_path / "set" / "images" / "p0.jpg", np.zeros((40, 56, 3), np.uint8))
    with pytest.raises(DataError, match=r"share the name 'p0'.*a mask sits in the masks folder"):
        discover(tmp_path / "set")


def test_inverted_masks_are_questioned_by_train_and_evaluate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Masks drawn subject-black-on-white trained the background as the subject without a word."""
    from colorsplash.evaluation.evaluate import evaluate_model

    make_paired_set(tmp_path, n=3)

    def nothing(image: np.ndarray) -> np.ndarray:
        return np.zeros(image.shape[:2], np.float32)

    with caplog.at_level(logging.WARNING):
        evaluate_model(nothing, discover(tmp_path), show_progress=False)
        assert not caplog.records
        for mask in (tmp_path / "masks").iterdir():
            save_picture(mask, 255 - np.asarray(Image.open(mask)))
        evaluate_model(nothing, discover(tmp_path), show_progress=False)
        assert "3 of 3 ground-truth masks mark all four corners" in caplog.text
        caplog.clear()
        pytest.importorskip("torch")  # the rest: train's warning (the light runtime's tests stop here)
        from colorsplash.training.steps import warn_empty_masks

        masks = np.stack([load_pair(s)[1] for s in discover(tmp_path)])
        warn_empty_masks(masks)
        assert "3 of 3 training masks mark all four corners" in caplog.text and "inverted" in caplog.text


def _palette_mask(indices: np.ndarray, colours: list[tuple[int, int, int]]) -> Image.Image:
    picture = Image.fromarray(indices.astype(np.uint8), mode="P")
    picture.putpalette([c for colour in colours for c in colour] + [0, 0, 0] * (256 - len(colours)))
    return picture


def test_colour_masks_on_white_read_the_white_as_background(tmp_path: Path) -> None:
    """A label map in class colours on white (palette index 0 white, VOC's cat and bird colours) read its dark
    classes as the background and the white as the subject (the darkest colour was taken for the background), as
    did a red subject drawn on white, exact or antialiased; the achromatic colour is the background."""
    from colorsplash.evaluation.mask_read import read_mask

    truth = _truth(40, 56)
    classes = truth * 3  # VOC's bird (128, 128, 0) above its cat (64, 0, 0), on white at index 0
    classes[13:] = truth[13:]
    on_white = _palette_mask(classes, [(255, 255, 255), (64, 0, 0), (0, 0, 0), (128, 128, 0)])
    red = np.full((40, 56, 3), 255, np.uint8)
    red[truth == 1] = (255, 0, 0)
    big = Image.new("RGB", (224, 160), (255, 255, 255))
    ImageDraw.Draw(big).polygon([(0, 0), (80, 0), (64, 104), (0, 104)], fill=(255, 0, 0))  # _truth's block x4, slanted
    antialiased = big.filter(ImageFilter.GaussianBlur(2)).resize((56, 40), Image.Resampling.BILINEAR)
    assert len(antialiased.getcolors() or []) > 32  # read by brightness, not as a label map
    drawn = {
        "palette.png": on_white,
        "palette_rgb.png": on_white.convert("RGB"),
        "red.png": Image.fromarray(red),
        "red_aa.png": antialiased,
        "red.jpg": Image.fromarray(red),
    }
    for name, picture in drawn.items():
        picture.save(tmp_path / name, quality=85)
        assert np.mean(read_mask(tmp_path / name, "paired") != truth) < 0.03, name


def test_a_small_subject_with_a_wide_dark_edge_band_is_not_read_as_a_label_maps_void(tmp_path: Path) -> None:
    """0, a band of grey 80 round a small white subject: the band outnumbered the 255s, so the mask was taken for
    a grey Pascal VOC map (255 void): the subject was not scored and its edge band read as the subject."""
    from colorsplash.evaluation.mask_read import read_mask

    mask = np.zeros((40, 56), np.uint8)
    mask[10:24, 10:24] = 80
    mask[14:20, 14:20] = 255
    save_picture(tmp_path / "m.png", mask)
    assert np.array_equal(read_mask(tmp_path / "m.png", "paired"), (mask == 255).astype(np.uint8))
    labels, expected = _voc_labels()  # a grey label map keeps its void
    save_picture(tmp_path / "voc.png", labels)
    assert np.array_equal(read_mask(tmp_path / "voc.png", "paired"), expected)


def test_rgb_masks_give_their_brightest_channel_or_their_distance_from_white(tmp_path: Path) -> None:
    """An RGB mask's grey values, exactly: its brightest channel on a dark picture, 255 minus its darkest channel
    for strong colours on a light edge (random colours: more than a label map's 32, so read by brightness)."""
    from colorsplash.evaluation.mask_read import read_grey

    rgb = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    on_black, on_white = rgb.copy(), rgb.copy()
    on_black[[0, -1]], on_black[:, [0, -1]] = 0, 0
    on_white[[0, -1]], on_white[:, [0, -1]] = 255, 255
    for name, picture, expected in (
        ("black.png", on_black, on_black.max(axis=2)),
        ("white.png", on_white, 255 - on_white.min(axis=2)),
    ):
        save_picture(tmp_path / name, picture)
        np.testing.assert_array_equal(read_grey(tmp_path / name), expected, err_msg=name)
