"""Which folders a stage preset trains on (``training/stage_data.py``), without PyTorch."""

from __future__ import annotations

import logging

import pytest

from colorsplash.training.stage_data import log_stage_data, stage_folders

GIVEN = ["/data/oxford-pets", "/data/feral-cats", "/data/my_cats"]


def test_a_stage_naming_no_sets_trains_on_every_folder_given_in_a_recipe_too() -> None:
    assert stage_folders("s", (), GIVEN, recipe="pets") == tuple(GIVEN)


def test_a_recipes_stage_given_none_of_its_sets_is_refused_naming_the_recipe() -> None:
    """Run alone on a user's own folders a stage borrows its settings; within a recipe, the recipe's data is
    missing: refused, naming the stage and the recipe."""
    with pytest.raises(ValueError, match=r"^stage tiny-head of --preset pets trains on the data sets coco-scenes"):
        stage_folders("tiny-head", ("coco-scenes",), ["/data/my_cats"], recipe="pets")


def test_a_stage_run_alone_with_no_folder_is_refused_saying_none_was_given() -> None:
    with pytest.raises(ValueError, match=r"\(folders given: none\)"):
        stage_folders("tiny-head", ("oxford-pets",), [])


def test_the_folders_a_stage_leaves_out_are_warned_of(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_stage_data("tiny-two", GIVEN, GIVEN[:2])
    assert "stage tiny-two trains on its data sets alone, not on /data/my_cats" in caplog.text
