"""``train --preset pets DATA...`` is the bundled model's recipe end to end: each stage trains on the data sets its
preset names (the first four on oxford-pets and feral-cats alone, the presence and guided stages on all four), a
missing set is refused before anything is written, and the recipe's last step chooses the presence threshold of
``RUN/final.pt`` on the validation pet photos, as ``bench/presence.py --recall 0.995`` chose the bundled file's."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers.layouts import make_oxford_set, make_paired_set, make_scenes_set  # noqa: E402

from colorsplash.cli import main  # noqa: E402
from colorsplash.evaluation import datasets as data  # noqa: E402
from colorsplash.evaluation.pet_validation import validation_sets  # noqa: E402
from colorsplash.evaluation.presence import CALIBRATION_KEY, gate_scores  # noqa: E402
from colorsplash.training import recipes  # noqa: E402
from colorsplash.training.checkpoint import read_checkpoint  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TWO = ("oxford-pets", "feral-cats")
FOUR = ("oxford-pets", "oxford-breeds", "feral-cats", "coco-scenes")
MODEL = {"arch": "unet-lite0", "input_size": 64, "name": "tiny-pets"}
TRUNK = {"presence_trunk": "lite0", "presence_trunk_size": 32}
TRAIN = {"epochs": 1, "batch_size": 4, "val_fraction": 0.25, "max_steps": 2, "bf16": False}
FERAL_VALID = ("p0", "p1")
UNSEEN = ("Birman_1", "Birman_2")


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tiny folders named like the four real sets: {set name: folder}."""
    root = tmp_path_factory.mktemp("shared")
    make_oxford_set(root / "oxford-pets", [f"Abyssinian_{i}" for i in range(1, 9)])
    make_oxford_set(root / "oxford-breeds", [*UNSEEN, *(f"Siamese_{i}" for i in range(1, 7))])
    make_paired_set(root / "feral-cats", n=6)
    (root / "feral-cats" / "splits.tsv").write_text(
        "".join(f"p{i}\t{'valid' if f'p{i}' in FERAL_VALID else 'train'}\n" for i in range(6))
    )
    scenes = {f"scene{i}": [(f"person00_scene{i}", "person")] for i in range(8)}
    make_scenes_set(root / "coco-scenes", {**scenes, "withcat": [("cat00_withcat", "cat")]})
    return {name: str(root / name) for name in FOUR}


@pytest.fixture
def tiny_pets(monkeypatch: pytest.MonkeyPatch) -> str:
    """``tinyd``, the ``pets`` recipe in small: a segmentation stage on oxford-pets and feral-cats, then a head
    stage and a guided stage on the four sets, and the threshold chosen at the pets recipe's recall."""
    head_train = {**TRAIN, "trainable": "presence", "init_from": "ignored.pt", "lr": 1e-2}
    guided_train = {**TRAIN, "init_from": "ignored.pt", "encoder_lr_scale": 0.1, "presence_weight": 0.0}
    stages = {
        "tiny-two": {"data_sets": TWO, "model": MODEL, "train": TRAIN},
        "tiny-head": {"data_sets": FOUR, "model": {**MODEL, **TRUNK, "presence_head": True}, "train": head_train},
        "tiny-guided": {"data_sets": FOUR, "model": {**MODEL, **TRUNK, "trunk_guidance": True}, "train": guided_train},
    }
    for name, preset in stages.items():
        monkeypatch.setitem(recipes.STAGE_PRESETS, name, preset)
    monkeypatch.setitem(recipes.RECIPES, "tinyd", ("tiny-two",))
    monkeypatch.setitem(recipes.RECIPE_HEADS, "tinyd", "tiny-head")
    monkeypatch.setitem(recipes.RECIPE_FINISH, "tinyd", "tiny-guided")
    monkeypatch.setitem(recipes.RECIPE_THRESHOLD_RECALL, "tinyd", recipes.PETS_PRESENCE_RECALL)
    return "tinyd"


def test_the_pets_recipe_names_the_data_of_each_stage_and_its_threshold_recall() -> None:
    stages = recipes.recipe_stages("pets")
    assert stages == (
        "pets-lite1-base",
        "pets-lite1-finetune",
        "pets-lite1-384",
        "pets-lite1-robust",
        "pets-lite1-presence",
        "pets-lite1-guided-all",
    )
    assert [recipes.STAGE_PRESETS[s].get("data_sets") for s in stages] == [TWO] * 4 + [FOUR] * 2
    assert recipes.RECIPE_THRESHOLD_RECALL["pets"] == recipes.PETS_PRESENCE_RECALL == 0.995


def test_validation_photos_are_the_benchs_sets(sets: dict[str, str]) -> None:
    """feral valid, Oxford val, the held-out breeds alone (not the other breeds' validation photos) and the
    held-out pet-free scenes; the labelled cat of coco-scenes always trains."""
    found = validation_sets(list(sets.values()))
    assert list(found) == ["feral valid", "Oxford val", "unseen breeds", "pet-free"]
    assert [s.name for s in found["feral valid"]] == list(FERAL_VALID)
    assert [s.name for s in found["unseen breeds"]] == list(UNSEEN)
    oxford = data.split_samples(data.discover(sets["oxford-pets"]), 0.15, 0)[1]
    assert [s.name for s in found["Oxford val"]] == sorted(s.name for s in oxford) != []
    free = [s.name for s in data.discover(sets["coco-scenes"]) if s.split == "val" and data.is_subject_free(s)]
    assert [s.name for s in found["pet-free"]] == sorted(free) != []


def test_gate_scores_put_pet_free_photos_apart_and_keep_head_scores_only_from_a_head(sets: dict[str, str]) -> None:
    found = validation_sets([sets["feral-cats"], sets["coco-scenes"]])
    prob = np.array([[0.2, 0.9], [0.1, 0.6]], np.float32)
    with_head = gate_scores(lambda image: (prob, 0.7), found)
    assert with_head.pets["head"] == [0.7] * 2 and len(with_head.free["head"]) == len(found["pet-free"])
    assert with_head.pets["max"] == [pytest.approx(0.9)] * 2 and with_head.pets["area"] == [0.5] * 2
    assert gate_scores(lambda image: (prob, None), found).pets["head"] == []


def _config(stage_folder: Path) -> dict:
    return json.loads((stage_folder / "config.json").read_text())


def test_each_stage_trains_on_its_sets_and_final_pt_gets_the_chosen_threshold(
    tiny_pets: str, sets: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from colorsplash.evaluation.presence import choose_threshold
    from colorsplash.runtime.model.onnx_model import load_model
    from colorsplash.training.export import export_onnx

    caplog.set_level(logging.INFO)
    run = tmp_path / "run"
    assert main(["-q", "train", "--preset", tiny_pets, *sets.values(), "-o", str(run)]) == 0
    two = [sets[name] for name in ("oxford-pets", "feral-cats")]
    for folder, used, names in (
        ("stage1-tiny-two", two, {"oxford-pets", "feral-cats"}),
        ("stage2-tiny-head", list(sets.values()), {*FOUR, "oxford-breeds-unseen", "coco-scenes-pets"}),
        ("stage3-tiny-guided", list(sets.values()), {*FOUR, "oxford-breeds-unseen", "coco-scenes-pets"}),
    ):
        config = _config(run / folder)
        assert config["train"]["data"] == used and set(config["data"]["datasets"]) == names, folder
        trained = read_checkpoint(run / folder / "best.pt")["model_config"]["training"]
        assert trained["data"] == used and set(trained["datasets"]) == names, folder
    assert f"tiny-two on oxford-pets ({sets['oxford-pets']}), feral-cats ({sets['feral-cats']})" in caplog.text

    final = read_checkpoint(run / "final.pt")["model_config"]
    record = final["training"][CALIBRATION_KEY]
    threshold = final["presence_threshold"]
    assert record["threshold"] == threshold and record["recall"] == 0.995
    found = validation_sets(list(sets.values()))
    assert record["sets"] == {label: len(samples) for label, samples in found.items()}
    # The float export's scores of the validation pet photos, as bench/presence.py takes them, give the same value.
    export_onnx(run / "final.pt", tmp_path / "final.onnx", show_progress=False)
    model = load_model(tmp_path / "final.onnx", threads=1, precision="file")
    pets = [s for label, samples in found.items() if label != "pet-free" for s in samples]
    scores = [model.predict_scored(data.load_pair(s)[0])[1] for s in pets]
    assert threshold == pytest.approx(choose_threshold(scores, 0.995), abs=1e-4)
    assert abs(threshold - 0.5) > 1e-3  # a threshold left at the default would fail the line above
    assert f"presence threshold {threshold:.4f}" in caplog.text and "validation pet photos pass" in caplog.text

    mtime = (run / "final.pt").stat().st_mtime_ns
    caplog.clear()
    assert main(["train", "--resume", str(run)]) == 0
    assert "presence threshold already chosen" in caplog.text
    assert (run / "final.pt").stat().st_mtime_ns == mtime


def test_a_missing_set_is_refused_before_the_run_folder_is_written(
    tiny_pets: str, sets: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    two = [sets["oxford-pets"], sets["feral-cats"]]
    assert main(["train", "--preset", tiny_pets, *two, "-o", str(run)]) == 2
    err = capsys.readouterr().err
    assert "stage tiny-head of --preset tinyd" in err and "oxford-breeds or coco-scenes" in err
    assert f"folders given: {', '.join(two)}" in err
    assert not run.exists()  # nothing written: the same -o with the four folders starts afresh


def test_a_stage_run_alone_trains_on_its_sets_only(
    tiny_pets: str, sets: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--preset", "tiny-head", sets["oxford-pets"], "-o", str(tmp_path / "head")]) == 2
    err = capsys.readouterr().err
    assert "stage tiny-head trains on the data sets" in err and "oxford-breeds" in err
    run = tmp_path / "two"
    assert main(["-q", "train", "--preset", "tiny-two", *sets.values(), "-o", str(run)]) == 0
    assert _config(run)["train"]["data"] == [sets["oxford-pets"], sets["feral-cats"]]


def test_a_stage_run_alone_on_a_users_own_folder_trains_on_it(
    tiny_pets: str, sets: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A user borrowing a stage's settings for their own data (``--preset pets-lite1-384 my_cats/``): none of the
    stage's sets is given, so it trains on the folder given, and the log says so; only a part of its sets is an
    error (above)."""
    own = tmp_path / "my_cats"
    shutil.copytree(sets["feral-cats"], own)
    run = tmp_path / "mine"
    caplog.set_level(logging.INFO)
    assert main(["train", "--preset", "tiny-two", str(own), "-o", str(run)]) == 0
    assert _config(run)["train"]["data"] == [str(own)]
    assert "none of those is given, so it trains on the folders given" in caplog.text


@pytest.mark.parametrize(
    ("stage", "before"), [("pets-lite1-finetune", "pets-lite1-base"), ("pets-lite0-384", "pets-lite0-finetune")]
)
def test_a_later_stage_run_alone_without_init_is_refused(
    stage: str,
    before: str,
    sets: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Audit (trainaudit): ``train --preset pets-lite1-finetune my_parrots/`` ("a single stage needs --init after
    the first", said the help) trained 30 epochs from ImageNet weights at the fine-tune's learning rate without a
    word; it is refused before anything is written, naming the stage it continues and the recipe."""
    from colorsplash.cli import train as train_cli
    from colorsplash.training.stage_data import stage_before

    def trained(*args: object) -> int:
        raise AssertionError("the stage trained")

    monkeypatch.setattr(train_cli, "_start", trained)
    own, run = tmp_path / "my_parrots", tmp_path / "run"
    shutil.copytree(sets["feral-cats"], own)
    assert main(["train", "--preset", stage, str(own), "-o", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"--preset {stage} continues from the weights of the stage before it, {before}" in err
    assert f"--init RUN/best.pt of a {before} run" in err and "nothing was trained" in err
    assert not run.exists()
    assert stage_before("pets-lite1-defocus") == ("pets-defocus", "pets-lite1-multipaste")
    for first_or_own_start in ("pets-lite1-base", "pets-lite1-presence", "pets-lite1-multipaste", "pets"):
        assert stage_before(first_or_own_start) is None
