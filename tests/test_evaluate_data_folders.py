"""``colorsplash evaluate`` (and ``train``, which finds and reads its data the same way) on the data folders it is
given: a folder named twice, and a photo given both as a data set's and as a negative, are refused before any photo
is scored; a photo over the pixel limit is refused in words that name no option these verbs lack."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.hostile import png_claiming
from helpers.layouts import make_oxford_set, make_paired_set, make_seed_set, save_picture
from PIL import Image

from colorsplash.cli import main
from colorsplash.evaluation.datasets import DataError, discover_all
from colorsplash.evaluation.evaluate import evaluate_model, save_worst_gallery


def test_a_data_folder_named_twice_is_refused(tmp_path: Path) -> None:
    """``evaluate pets pets`` (or ``pets ./pets``) scored every photo twice: the table said 8 images for 4 and each
    row of scores.csv came twice; ``--negatives DIR DIR`` was already refused."""
    make_paired_set(tmp_path / "pets", n=4)
    assert len(discover_all([tmp_path / "pets"])) == 4
    again = tmp_path / "." / "pets" / ".." / "pets"
    with pytest.raises(DataError, match=r"pets: named twice \(as .*pets too\).*count twice; name each folder once"):
        discover_all([tmp_path / "pets", again])


def test_evaluate_refuses_a_folder_named_twice_before_writing(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_paired_set(tmp_path / "pets", n=2)
    report = tmp_path / "report"
    args = ["evaluate", str(tmp_path / "pets"), str(tmp_path / "pets"), "--model", str(tiny_onnx), "-o", str(report)]
    assert main(args) == 2
    assert "named twice" in capsys.readouterr().err
    assert not report.exists()


def test_evaluate_refuses_a_photo_given_as_data_and_as_negative(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate pets --negatives pets/images`` scored each photo once as showing the subject and once as all
    background; ``train`` refuses it (``refuse_overlap``), and so does ``evaluate`` now."""
    make_paired_set(tmp_path / "pets", n=2)
    report = tmp_path / "report"
    negatives = str(tmp_path / "pets" / "images")
    args = ["evaluate", str(tmp_path / "pets"), "--negatives", negatives, "--model", str(tiny_onnx), "-o", str(report)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is the same photo as" in err and "cannot both show the subject and not" in err
    assert not report.exists()


def test_a_photo_over_the_pixel_limit_names_no_max_pixels_option(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "raise it with --max-pixels (Python: max_pixels=) if you trust the file", an option neither
    ``evaluate`` nor ``train`` takes (argparse then refused it as unrecognised)."""
    make_paired_set(tmp_path / "pets", n=2)
    (tmp_path / "pets" / "images" / "p0.png").write_bytes(png_claiming(12000, 10000))  # 120 MP by its header
    args = ["evaluate", str(tmp_path / "pets"), "--model", str(tiny_onnx), "-o", str(tmp_path / "report")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "p0.png: 12000x10000 is more than the pixel limit 100,000,000, within which data sets are read" in err
    assert "save it smaller (and its mask) or remove it from the data (or pass --skip-bad)" in err
    assert "--max-pixels" not in err


def test_a_file_given_as_a_data_folder_is_called_a_file(tmp_path: Path) -> None:
    """``evaluate cat.jpg`` said "cat.jpg: data folder not found" of a file that is there (``--negatives cat.jpg``
    says it is a file)."""
    make_paired_set(tmp_path / "pets", n=1)
    photo = tmp_path / "pets" / "images" / "p0.png"
    with pytest.raises(DataError, match=r"p0\.png: is a file, not a data folder \(images/ \+ masks/.*name its folder"):
        discover_all([photo])
    with pytest.raises(DataError, match=r"nowhere: data folder not found"):
        discover_all([tmp_path / "nowhere"])


def test_the_gallery_shows_the_worst_photo_of_two_sets_of_one_name(tmp_path: Path) -> None:
    """``evaluate a/pets b/pets``: both sets are named ``pets`` and hold photos of the same names; the gallery
    looked a photo up by set and name, so the worst one of ``a/pets`` was drawn from ``b/pets`` (that photo, its
    mask and its prediction) under the IoU of the other. It is looked up by the photo's file now."""
    make_paired_set(tmp_path / "a" / "pets", n=2)
    make_paired_set(tmp_path / "b" / "pets", n=2)
    wrong = tmp_path / "a" / "pets" / "masks" / "p0.png"  # a/pets/p0's mask inverted: the worst photo
    save_picture(wrong, 255 - np.asarray(Image.open(wrong)))
    samples = discover_all([tmp_path / "a" / "pets", tmp_path / "b" / "pets"])

    def red(image: np.ndarray) -> np.ndarray:
        return (image[..., 0] > 150).astype(np.float32)

    scores = evaluate_model(red, samples, show_progress=False)
    drawn: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    (chosen,) = save_worst_gallery(red, scores, samples, lambda rows, _: drawn.extend(rows), tmp_path / "w.png", 0.5, 1)
    assert chosen.image == str(tmp_path / "a" / "pets" / "images" / "p0.png") and chosen.iou == 0.0
    (_, _, mask, _) = drawn[0]
    assert (mask == (np.asarray(Image.open(wrong)) > 127)).all()  # a/pets' inverted mask, not b/pets' one


@pytest.mark.parametrize("inside", ["pets/images", "pets/masks", "negs"])
def test_a_report_folder_that_data_is_read_from_is_refused_before_scoring(
    inside: str, tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``evaluate pets -o pets/images`` wrote scores.csv, summary.json and worst.png among the photos: the next
    ``evaluate pets`` (or ``train pets``) stopped on "1 photo(s) without a mask: worst.png", and a report written into
    a ``--negatives`` folder went on as one more photo without the subject, without a word. Refused, naming it."""
    make_paired_set(tmp_path / "pets", n=2)
    save_picture(tmp_path / "negs" / "street.png", np.zeros((20, 30, 3), np.uint8))
    report = tmp_path / inside
    (report / "summary.json").write_text("{}")  # an earlier report's: "pass --overwrite" would only lead to this
    before = sorted(report.iterdir())
    args = ["evaluate", str(tmp_path / "pets"), "--negatives", str(tmp_path / "negs"), "--model", str(tiny_onnx)]
    assert main([*args, "-o", str(report)]) == 2
    err = capsys.readouterr().err
    assert f"-o {report}: photos or masks are read from this folder" in err and "choose another report folder" in err
    assert sorted(report.iterdir()) == before


def test_photos_without_a_mask_name_the_masks_that_match_no_photo(tmp_path: Path) -> None:
    """Masks named ``p0_mask.png`` beside photos ``p0.png``: the error said "2 photo(s) without a mask (expected e.g.
    masks/p0.<ext>)" and stopped before the warning on the masks of no photo's name, so the masks the user made were
    never mentioned. The error names them."""
    make_paired_set(tmp_path / "pets", n=2)
    for mask in sorted((tmp_path / "pets" / "masks").iterdir()):
        mask.rename(mask.with_name(f"{mask.stem}_mask.png"))
    with pytest.raises(DataError, match=r"2 photo\(s\) without a mask") as err:
        discover_all([tmp_path / "pets"])
    assert "masks has 2 mask(s) named as no photo: p0_mask.png, p1_mask.png" in str(err.value), err.value


@pytest.mark.parametrize(
    ("named", "example"), [("{}_mask", "p0_mask.png to p0.png"), ("mask_{}", "mask_p0.png to p0.png")]
)
def test_masks_named_as_their_photo_plus_a_word_are_renamed(tmp_path: Path, named: str, example: str) -> None:
    """Masks saved as ``p0_mask.png`` or ``mask_p0.png`` (as labelling tools name them) beside ``p0.png``: the
    error told the user to "add the masks or remove the photos", though every mask was there under another name.
    It names the text added and the rename; masks of other names keep the old advice."""
    make_paired_set(tmp_path / "pets", n=3)
    for mask in sorted((tmp_path / "pets" / "masks").iterdir()):
        mask.rename(mask.with_name(named.format(mask.stem) + ".png"))
    with pytest.raises(DataError, match=r"3 photo\(s\) without a mask") as err:
        discover_all([tmp_path / "pets"])
    added = "'_mask' after" if named.startswith("{") else "'mask_' before"
    assert f"3 of those masks are named as their photo with {added} its name" in str(err.value), err.value
    assert f"rename each to it ({example})" in str(err.value) and "add the masks" not in str(err.value)
    for i, mask in enumerate(sorted((tmp_path / "pets" / "masks").iterdir())):
        mask.rename(mask.with_name(f"label{i}.png"))
    with pytest.raises(DataError, match="add the masks or remove the photos") as err:
        discover_all([tmp_path / "pets"])
    assert "named as their photo" not in str(err.value)


def test_the_photo_or_mask_folder_given_for_its_data_set_names_the_data_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``train cats/images`` (a tab completion too far): the error told the user to put the photos in
    ``cats/images/images/`` and the masks in ``cats/images/masks/`` (``cats/masks``: that its 4 "photos" go in with
    ``--negatives``). It says which data set the folder belongs to, to name instead, for every layout's folders."""
    make_paired_set(tmp_path / "cats", n=2)
    make_seed_set(tmp_path / "seed", n=2)
    make_oxford_set(tmp_path / "oxford", ["Bengal_1"])
    for data_set, folder in (("cats", "images"), ("cats", "masks"), ("seed", "input"), ("seed", "mask")):
        with pytest.raises(DataError) as err:
            discover_all([tmp_path / data_set / folder])
        assert str(err.value).endswith(
            f"it is the {folder}/ folder of the data set {tmp_path / data_set}: name that folder instead"
        ), err.value
    with pytest.raises(DataError, match=r"it is the trimaps/ folder of the data set .*oxford: name that"):
        discover_all([tmp_path / "oxford" / "trimaps"])
    monkeypatch.chdir(tmp_path / "cats" / "images")
    with pytest.raises(DataError, match=r"it is the images/ folder of the data set .*cats: name that folder instead"):
        discover_all(["."])
    (tmp_path / "loose" / "images").mkdir(parents=True)  # no data set above it: as before
    with pytest.raises(DataError, match=r"it holds no folders$"):
        discover_all([tmp_path / "loose" / "images"])


def test_a_splits_file_naming_some_photos_says_the_others_are_split_by_the_seed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``splits.tsv`` naming the validation photos alone (3 of 57 in a user's set) put 9 in validation: the 54
    others were split by ``--val-fraction`` as in a folder without the file, without a word. A warning says how
    many it places and that the others get the seeded split; a file naming every photo says nothing."""
    make_paired_set(tmp_path / "cats", n=4)
    (tmp_path / "cats" / "splits.tsv").write_text("p0\tval\np1.png\ttrain\n")
    with caplog.at_level("WARNING", logger="colorsplash"):
        discover_all([tmp_path / "cats"])
    assert f"{tmp_path / 'cats' / 'splits.tsv'} places 2 of the 4 photos in {tmp_path / 'cats'}; the other 2 " in (
        caplog.text
    )
    assert "(p2.png, p3.png) are split as in a folder without the file (--val-fraction, --seed)" in caplog.text
    caplog.clear()
    (tmp_path / "cats" / "splits.tsv").write_text("p0\tval\np1.png\ttrain\np2\ttrain\np3\tval\n")
    with caplog.at_level("WARNING", logger="colorsplash"):
        discover_all([tmp_path / "cats"])
    assert "splits.tsv" not in caplog.text
