"""A mistyped verb or option names the one meant; another verb's option says whose it is; no verb lists them;
usage words as README spells them."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorsplash.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["splsh", "a.jpg"], "invalid choice: 'splsh'"),
        (["evalute", "data"], "did you mean 'evaluate'?"),
        (["splash", "a.jpg", "--precision", "in8"], "did you mean 'int8'?"),
        (["splash", "a.jpg", "--overwite"], "unrecognized arguments: --overwite; did you mean --overwrite?"),
        (["serve", "--acess-log"], "did you mean --access-log?"),
        (["video", "in.mp4", "-o", "out.mp4", "--thresold=0.4"], "did you mean --threshold?"),
    ],
)
def test_a_typo_names_what_was_meant(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert "did you mean" in err


def test_another_verbs_option_says_whose_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mask", "a.jpg", "--effect", "blur"]) == 2
    err = capsys.readouterr().err
    assert "--effect is an option of splash, video, not of mask" in err
    assert "did you mean" not in err  # not --refine, which only looks a little like it


@pytest.mark.parametrize(
    ("argv", "unknown"),
    [
        (["splash", "a.jpg", "--frobnicate"], "--frobnicate"),
        (["splash", "a.jpg", "--no-overwrite"], "--no-overwrite"),  # not "did you mean --overwrite?", its opposite
        (["video", "in.mp4", "-o", "out.mp4", "--smooth"], "--smooth"),  # nor --no-smooth
    ],
)
def test_nothing_close_suggests_nothing(argv: list[str], unknown: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"unrecognized arguments: {unknown} (see colorsplash {argv[0]} --help)" in err


def test_no_verb_lists_the_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "one of splash, mask, video, train, evaluate, export, serve" in err


@pytest.mark.parametrize("verb", ["train", "evaluate"])
def test_data_folders_are_spelt_as_readme_spells_them(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    """README writes ``colorsplash train DATA... -o RUN``; the usage said ``[data ...]``, lower case among INPUT,
    CHECKPOINT, PATH and RUN."""
    assert main([verb, "--help"]) == 0
    out = capsys.readouterr().out
    assert "[DATA ...]" in out and "[data ...]" not in out


def test_the_suggestion_reads_newer_pythons_unquoted_choices(capsys: pytest.CaptureFixture[str]) -> None:
    """Python 3.12.8 and later list the choices without quotes: ``(choose from splash, mask)``."""
    from colorsplash.cli.suggest import SuggestingParser

    with pytest.raises(SystemExit):
        SuggestingParser(prog="colorsplash").error("argument VERB: invalid choice: 'splsh' (choose from splash, mask)")
    assert capsys.readouterr().err.endswith("(choose from splash, mask); did you mean 'splash'?\n")


@pytest.mark.parametrize("argv", [["splash", "-cat.png"], ["mask", "a.png", "-cat.png"], ["splash", "--cat.png"]])
def test_a_file_named_like_an_option_is_said_how_to_give(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    name = argv[-1]
    (tmp_path / name).write_bytes(b"")  # a photo's name that starts with a dash: argparse takes it for an option
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{name}: a file whose name starts with '-' is read as an option; write it as ./{name}" in err, err
    assert main(["splash", "--overwite", "--", name]) == 2  # after --, a file: nothing more to say of it
    assert "starts with '-'" not in capsys.readouterr().err
