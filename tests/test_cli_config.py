"""The training CLI is generated from the config dataclasses: flags map to fields, defaults come from the fields."""

from __future__ import annotations

import dataclasses
import os

import pytest

from colorsplash.cli import build_parser, main
from colorsplash.cli.train import build_configs
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.training.config import AugmentConfig, TrainConfig


def _configs(*argv: str) -> tuple[ModelConfig, TrainConfig]:
    return build_configs(build_parser().parse_args(["train", "data", *argv]))


def test_no_flags_give_the_dataclass_defaults() -> None:
    mcfg, tcfg = _configs()
    # Data folders are stored absolute, so --resume finds them from any working folder.
    assert dataclasses.replace(tcfg, out_dir=TrainConfig.out_dir) == TrainConfig(data=(os.path.abspath("data"),))
    assert tcfg.out_dir == "runs/unet-lite0" and mcfg.arch == ModelConfig.arch and mcfg.input_size == 256


def test_flags_reach_their_fields() -> None:
    mcfg, tcfg = _configs(
        "--arch",
        "unet",
        "--size",
        "64",
        "--unet-depth",
        "2",
        "--epochs",
        "3",
        "--dice",
        "0.5",
        "-j",
        "2",
        "--no-bf16",
        "--no-augment",
        "--aug-zoom",
        "0.5",
        "1.5",
        "--aug-paste-count",
        "3",
        "--aug-paste-cut",
        "0.3",
        "-o",
        "runs/x",
        "--init",
        "w.pt",
        "--lr-schedule",
        "constant",
    )
    assert (mcfg.arch, mcfg.input_size, mcfg.depth) == ("unet", 64, 2)
    assert mcfg.normalization.std == (255.0, 255.0, 255.0)  # the seed U-Net's x/255, chosen by arch
    assert (tcfg.epochs, tcfg.dice_weight, tcfg.num_workers, tcfg.bf16) == (3, 0.5, 2, False)
    assert (tcfg.out_dir, tcfg.init_from, tcfg.lr_schedule) == ("runs/x", os.path.abspath("w.pt"), "constant")
    assert tcfg.augment == dataclasses.replace(
        AugmentConfig(), enabled=False, zoom=(0.5, 1.5), paste_count=3, paste_cut=0.3
    )


def test_preset_wins_and_names_the_run_folder() -> None:
    """The preset's values and data sets win: of the folders given, the stage keeps those of its sets."""
    mcfg, tcfg = _configs("oxford-pets", "feral-cats", "--preset", "pets-lite1-384", "--epochs", "2")
    assert (mcfg.arch, mcfg.input_size, tcfg.epochs, tcfg.out_dir) == ("unet-lite1", 384, 20, "runs/pets-lite1-384")
    assert tcfg.data == (os.path.abspath("oxford-pets"), os.path.abspath("feral-cats"))  # not ./data


def test_a_stage_preset_keeps_the_users_subject_and_name_and_names_the_flags_it_replaces(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Audit (trainaudit): ``train --preset pets-lite0-base my_parrots/ --subject parrot --name parrots`` made a
    model named colorsplash-pets-lite0 that said "no pet found" on photos without a parrot, and ``--epochs 1``
    trained 30 epochs, without a word: the model's own words stay the user's, and a warning names each flag the
    preset replaced, with the value it trains with."""
    argv = ("--preset", "pets-lite0-base", "--subject", "parrot", "--name", "parrots", "--epochs", "1", "--size", "64")
    mcfg, tcfg = _configs(*argv, "--aug-zoom", "0.5", "2", "--lr", "2e-3", "--dice", "0.5")
    assert (mcfg.subject, mcfg.name) == ("parrot", "parrots")
    assert (mcfg.input_size, tcfg.epochs) == (320, 30)  # the preset's settings still win
    assert "--preset pets-lite0-base sets --size 320, --epochs 30 in place of the flags given" in caplog.text
    assert "--lr" not in caplog.text and "--dice" not in caplog.text  # given as the preset has them: not replaced
    caplog.clear()
    _configs("--preset", "pets-lite0-base", "--aug-color-jitter", "--no-aug-hflip", "--aug-zoom", "0.6", "1.4")
    assert "--no-aug-hflip" not in caplog.text and "sets" not in caplog.text  # none replaced


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs: must be a positive whole number"),
        (["--lr", "nan"], "--lr: expected a finite number"),
        (["--val-fraction", "2"], "--val-fraction: must be between 0 and 1"),
        (["--aug-paste-count", "0"], "--aug-paste-count: must be a positive whole number"),
        (["--aug-paste-cut", "1.5"], "--aug-paste-cut: must be between 0 and 1"),
        *[
            ([f"--aug-{name}", "1.5"], f"--aug-{name}: must be between 0 and 1")
            for name in ("blur", "jpeg", "downscale")
        ],
        (["--aug-copy-paste", "-0.1"], "--aug-copy-paste: must be between 0 and 1"),
        (["--aug-paste-occlude", "2"], "--aug-paste-occlude: must be between 0 and 1"),
        (["--arch", "resnet"], "--arch: invalid choice"),
    ],
)
def test_bad_values_are_one_readable_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "data", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err.replace("argument ", "") and "Traceback" not in err


def test_help_lists_defaults_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 30)" in out and "{onecycle,constant}" in out and "--no-augment" in out


def test_one_spelling_per_concept_across_verbs() -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in verbs.items():
        flags = {s for action in sub._actions for s in action.option_strings}
        assert "--out" not in flags and "--workers" not in flags, name
        if "-o" in flags:
            assert "--output" in flags, name


def test_quiet_and_debug_work_before_and_after_the_verb() -> None:
    """`colorsplash splash --debug x.jpg` was a usage error: only `colorsplash --debug splash` worked (docs audit)."""
    from colorsplash.cli import build_parser

    parser = build_parser()
    for argv in (
        ["-q", "--debug", "splash", "x.jpg"],
        ["splash", "-q", "--debug", "x.jpg"],
        ["splash", "x.jpg", "-q", "--debug"],
    ):
        args = parser.parse_args(argv)
        assert args.quiet is True and args.debug is True, argv
    args = parser.parse_args(["splash", "x.jpg"])
    assert args.quiet is False and args.debug is False
    args = parser.parse_args(["-q", "train", "data", "-o", "run"])  # the top level's value survives the verb's
    assert args.quiet is True and args.debug is False


def test_a_negative_point_gets_its_own_error_not_argparses(capsys: pytest.CaptureFixture[str]) -> None:
    """`--point -5,3` said "expected one argument" (argparse took the value for an option)."""
    from colorsplash.cli import main

    assert main(["splash", "x.jpg", "--point", "-5,3"]) == 2
    err = capsys.readouterr().err
    assert "must not be negative" in err and "expected one argument" not in err
