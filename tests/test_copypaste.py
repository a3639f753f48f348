"""Copy-paste compositing: pets cut out by their masks land on pet-free scenes, labelled exactly, seeded."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from colorsplash.evaluation.datasets import IGNORE, Sample  # noqa: E402
from colorsplash.runtime.model.config import ModelConfig  # noqa: E402
from colorsplash.training.config import AugmentConfig  # noqa: E402
from colorsplash.training.copypaste import Paster, make_paster, paste_pet  # noqa: E402
from colorsplash.training.torch_dataset import SegmentationDataset  # noqa: E402

S = 64


def _pet() -> tuple[np.ndarray, np.ndarray]:
    """A pure red 20x16 'pet' with an unsure rim (255), on a green background."""
    image = np.zeros((S, S, 3), np.uint8)
    image[..., 1] = 200
    mask = np.zeros((S, S), np.uint8)
    mask[19:41, 23:41] = IGNORE
    mask[20:40, 24:40] = 1
    image[mask == 1] = (255, 0, 0)
    return image, mask


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A dark blue scene with a 'person' box (its object mask) in the middle."""
    image = np.zeros((S, S, 3), np.uint8)
    image[..., 2] = 90
    things = np.zeros((S, S), bool)
    things[16:48, 24:40] = True
    return image, things


def test_pasted_pet_is_labelled_where_it_lands_and_nowhere_else() -> None:
    pet, pet_mask = _pet()
    scene, things = _scene()
    for seed in range(20):
        out, label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), (0.1, 0.8), occlude=0.0)
        assert out.shape == scene.shape and label.shape == (S, S) and out.dtype == np.uint8
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        assert (label == 1).any() and red[label == 1].all()  # every pet pixel shows the pet
        assert not red[label == 0].any()  # no pet colour labelled background
        assert not (out[..., 1] > 100).any()  # the donor's background (green) and its unsure rim never pasted
        assert set(np.unique(label)) <= {0, 1, IGNORE}
        # The feathered, unscored rim runs all round, at the sides of the pet's box too (this pet fills its box).
        ys, xs = np.nonzero(label == 1)
        assert (label[ys.min() - 1, xs.min() : xs.max() + 1] == IGNORE).any() or ys.min() == 0
        ys, xs = np.nonzero(label != 0)
        box = (np.ptp(ys) + 1) * (np.ptp(xs) + 1) / S**2
        assert 0.07 <= box <= 0.9  # a tenth of the frame to most of it (rounding and the feathered edge aside)


def test_pastes_are_seeded_and_mostly_on_or_beside_the_scenes_objects() -> None:
    pet, pet_mask = _pet()
    scene, things = _scene()
    first = [paste_pet(scene, things, pet, pet_mask, np.random.default_rng(3))[1] for _ in range(2)]
    assert np.array_equal(*first)
    touching = 0
    for seed in range(40):
        _, label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), (0.1, 0.2), occlude=0.0)
        grown = np.zeros_like(things)
        ys, xs = np.nonzero(label == 1)
        grown[max(ys.min() - 4, 0) : ys.max() + 5, max(xs.min() - 4, 0) : xs.max() + 5] = True
        touching += bool((grown & things).any())
    assert touching >= 24  # 70 % are placed by an object; small pets placed anywhere rarely touch it


def test_occlusion_puts_the_scenes_objects_in_front_of_the_pet() -> None:
    pet, pet_mask = _pet()
    scene, things = _scene()
    occluded = 0
    for seed in range(30):
        out, label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), occlude=1.0)
        assert (label == 1).any()  # never hidden completely
        if not (label[things] == 1).any() and np.array_equal(out[things], scene[things]):
            occluded += 1
    assert occluded > 0


def test_pets_cut_by_the_frame_keep_an_exact_label() -> None:
    """``cut``: part of the pet may fall outside the frame; what stays in is labelled exactly like a whole pet."""
    pet, pet_mask = _pet()
    scene, things = _scene()
    cut_edges = 0
    for seed in range(30):
        out, label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), (0.3, 0.6), 0.0, cut=1.0)
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        assert red[label == 1].all() and not red[label == 0].any()
        ys, xs = np.nonzero(label == 1)
        if len(ys) and (ys.min() == 0 or xs.min() == 0 or ys.max() == S - 1 or xs.max() == S - 1):
            cut_edges += 1
    assert cut_edges >= 15  # most boxes overhang the frame (up to half the box may lie outside)
    whole = [paste_pet(scene, things, pet, pet_mask, np.random.default_rng(s), (0.1, 0.2), 0.0)[1] for s in range(30)]
    assert not any((lab[0] == 1).any() or (lab[:, 0] == 1).any() for lab in whole)  # cut 0: never at the edge


def test_out_of_focus_pets_are_blurred_and_their_soft_rim_is_not_scored() -> None:
    """``blur``: the pasted pet is blurred; only pixels the blur leaves fully pet are labelled pet."""
    pet, pet_mask = _pet()
    scene, things = _scene()
    for seed in range(10):
        rng = np.random.default_rng(seed)
        out, label = paste_pet(scene, things, pet, pet_mask, rng, (0.3, 0.5), occlude=0.0, blur=1.0)
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        assert (label == 1).any() and red[label == 1].all() and not red[label == 0].any()
        sharp, sharp_label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), (0.3, 0.5), 0.0)
        # a wider unscored rim than the sharp paste's one-pixel feather, and in-between colours along it
        assert (label == IGNORE).sum() > (sharp_label == IGNORE).sum()
        rim = label == IGNORE
        assert ((out[..., 0] > 20) & (out[..., 0] < 235))[rim].mean() > 0.25  # a ramp, not a step


def test_several_pets_per_composite_stay_labelled_in_front_and_behind() -> None:
    """``Paster.count``: 1 to N pets, a later one may cover an earlier one; the label is their union."""
    pet, pet_mask = _pet()
    scene, things = _scene()
    images, masks = np.stack([pet, scene]), np.stack([pet_mask, np.zeros((S, S), np.uint8)])
    paster = Paster(1.0, (0.05, 0.3), 0.5, [0], {1: things}, count=3, rng=np.random.default_rng(0))
    blobs = []
    for _ in range(30):
        out, label = paster(1, images, masks)
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        assert red[label == 1].all() and not red[label == 0].any()
        blobs.append(cv2.connectedComponents((label == 1).astype(np.uint8))[0] - 1)
    assert min(blobs) >= 1 and max(blobs) >= 2  # one pet at least, sometimes several apart


def _samples(tmp_path: Path) -> list[Sample]:
    masks_dir = tmp_path / "masks"
    masks_dir.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((48, 48, 3), np.uint8)).save(tmp_path / "scene.png")
    thing = np.zeros((48, 48), np.uint8)
    thing[10:30, 10:30] = 255
    Image.fromarray(thing).save(masks_dir / "person00_scene.png")
    scene = Sample(
        tmp_path / "scene.png",
        masks_dir / "person00_scene.png",
        "scene",
        "coco",
        "train",
        ((masks_dir / "person00_scene.png", "person"),),
    )
    pet = Sample(tmp_path / "pet.png", tmp_path / "pet_mask.png", "oxford", "pets", "train")
    return [pet, scene]


def test_dataset_pastes_pets_on_pet_free_draws_only(tmp_path: Path) -> None:
    samples = _samples(tmp_path)
    pet, pet_mask = _pet()
    scene, _ = _scene()
    images, masks = np.stack([pet, scene]), np.stack([pet_mask, np.zeros((S, S), np.uint8)])
    assert make_paster(samples, masks, AugmentConfig(copy_paste=0.0), S, seed=0) is None
    paster = make_paster(samples, masks, AugmentConfig(copy_paste=1.0), S, seed=0)
    assert isinstance(paster, Paster) and paster.donors == [0] and list(paster.things) == [1]
    assert paster.things[1][20, 20] and not paster.things[1][50, 50]  # the person, resized to the input size
    ds = SegmentationDataset(images, masks, ModelConfig(input_size=S), augmenter=None, paster=paster)
    image, label = ds.raw(1)
    assert (label == 1).any() and (image[..., 0] > 200).any()  # a pet on the scene
    image, label = ds.raw(0)
    assert np.array_equal(label, pet_mask)  # pet photos are left as they are
    assert ds.overview_indices(4) == [0, 1, 1]  # the overview shows composites of the pet-free photos


def test_a_wide_scenes_objects_line_up_with_its_photo_as_the_loader_fits_it(tmp_path: Path) -> None:
    """The loader pads a scene wider than 4:3 (``ModelConfig.pad_aspect``); its object mask was stretched to the
    square instead, so the objects the pet is placed beside and hidden behind were off the photo's objects (a 3:1
    scene: rows 16-48 of 64 where its photo shows them in rows 25-39)."""
    from PIL import Image

    from colorsplash.training.torch_dataset import load_resized

    masks_dir = tmp_path / "masks"
    masks_dir.mkdir()
    photo = np.zeros((40, 120, 3), np.uint8)
    photo[10:30, 30:60] = 255  # the person, white on black
    Image.fromarray(photo).save(tmp_path / "wide.png")
    Image.fromarray(np.where(photo[..., 0] > 0, 255, 0).astype(np.uint8)).save(masks_dir / "person00_wide.png")
    person = masks_dir / "person00_wide.png"
    scene = Sample(tmp_path / "wide.png", person, "scene", "coco", "train", ((person, "person"),))
    pet = Sample(tmp_path / "pet.png", tmp_path / "pet_mask.png", "oxford", "pets", "train")
    _, pet_mask = _pet()
    masks = np.stack([pet_mask, np.zeros((S, S), np.uint8)])
    images, _, _ = load_resized([scene], ModelConfig(input_size=S), show_progress=False)  # pad_aspect 4/3
    paster = make_paster([pet, scene], masks, AugmentConfig(copy_paste=1.0), S, seed=0)
    assert paster is not None and np.array_equal(paster.things[1], images[0][..., 0] > 128)
    images, _, _ = load_resized([scene], ModelConfig(input_size=S, pad_aspect=0), show_progress=False)
    paster = make_paster([pet, scene], masks, AugmentConfig(copy_paste=1.0), S, seed=0, pad_aspect=0)
    assert paster is not None and np.array_equal(paster.things[1], images[0][..., 0] > 128)  # stretched alike


def test_the_cut_out_is_the_pets_box_exactly() -> None:
    from colorsplash.training.copypaste import _cut_out

    pet, pet_mask = _pet()
    crop, label = _cut_out(pet, pet_mask)
    assert crop.shape == (20, 16, 3) and (label == 1).all()  # the unsure rim (255) around it is left out


def test_a_cut_out_is_never_scaled_past_the_frame() -> None:
    """A tall, thin pet asked to cover 80 % of the frame as a box stops at the frame's height."""
    from colorsplash.training.copypaste import _scaled

    crop, label = _scaled(np.zeros((60, 4, 3), np.uint8), np.ones((60, 4), np.uint8), S, 0.8)
    assert crop.shape[:2] == label.shape and label.shape[0] == S and label.shape[1] <= S


def test_a_span_anywhere_reaches_both_ends_of_the_frame() -> None:
    from colorsplash.training.copypaste import _anywhere

    rng = np.random.default_rng(0)
    assert {_anywhere(S, S - 4, rng) for _ in range(200)} == {0, 1, 2, 3, 4}
    assert _anywhere(S, S, rng) == 0 and _anywhere(S, S + 10, rng) == -5  # too large: centred


def test_objects_that_would_hide_most_of_the_pet_are_not_put_back() -> None:
    """Occlusion keeps at least 30 % of the pet in view: a pet all behind the scene's person stays in front."""
    from colorsplash.training.copypaste import _occlude

    scene, things = _scene()
    out, label = np.full((S, S, 3), 7, np.uint8), np.zeros((S, S), np.uint8)
    pet = np.zeros((S, S), bool)
    pet[20:30, 26:36] = True  # inside the person's box
    label[pet] = 1
    _occlude(out, label, scene, things, pet, np.zeros((S, S), np.uint8))
    assert (out == 7).all() and label[pet].all()
    pet[20:30, 10:36] = True  # 100 of its 260 pixels behind the person: they come back in front
    _occlude(out, label, scene, things, pet, np.zeros((S, S), np.uint8))
    assert (out[things] == scene[things]).all() and not label[things].any()


def test_a_forced_draw_always_pastes() -> None:
    paster = Paster(0.0, (0.1, 0.2), 0.0, donors=[0], things={1: np.zeros((S, S), bool)})
    assert paster.applies(1, force=True) and not paster.applies(1) and not paster.applies(0, force=True)


def test_a_mirrored_pet_is_labelled_as_it_is_drawn() -> None:
    """An L-shaped pet (not mirror-symmetric): its label flips with its picture."""
    pet, pet_mask = _pet()
    pet_mask[20:30, 32:40] = 0  # cut a corner out: an L
    pet[20:30, 32:40] = (0, 200, 0)
    scene, things = _scene()
    for seed in range(8):
        out, label = paste_pet(scene, things, pet, pet_mask, np.random.default_rng(seed), (0.3, 0.5), occlude=0.0)
        red = (out[..., 0] > 200) & (out[..., 1] < 60)
        assert red[label == 1].all() and not red[label == 0].any(), seed


def test_an_out_of_focus_pet_keeps_its_own_colour_to_its_soft_edge() -> None:
    """The blurred colours are of pet pixels alone (normalised by the blurred alpha): no darkening toward the edge,
    which the alpha alone fades."""
    from colorsplash.training.copypaste import _soft_pet

    crop = np.zeros((20, 16, 3), np.uint8)
    crop[...] = (255, 0, 0)
    colour, _, alpha = _soft_pet(crop, np.ones((20, 16), np.uint8), 2.0)
    seen = alpha > 0.05
    assert seen.sum() > 20 * 16 and (colour[seen][:, 0] >= 250).all()


def test_a_second_pet_is_placed_on_or_beside_the_first() -> None:
    """In a scene with no labelled object, the pets already pasted are where later ones go, most of the time."""
    pet, pet_mask = _pet()
    scene = _scene()[0]
    before = np.zeros((S, S), np.uint8)
    before[:8, :8] = 1
    near = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        _, label = paste_pet(scene, np.zeros((S, S), bool), pet, pet_mask, rng, (0.02, 0.03), 0.0, label=before)
        ys, xs = np.nonzero((label == 1) & (before == 0))  # the new pet alone
        near += bool(np.hypot(ys.mean(), xs.mean()) < 20)
    assert near >= 15  # placed anywhere: about 4 of 30
