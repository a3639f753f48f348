"""The documents name options, presets, files and scores that exist: every ``--flag`` a README command line gives a
verb is one of that verb's, every ``--preset`` one of ``train``'s, every file ``docs/architecture.md`` names is in
the package, and the model card's figures of the bundled file's embedded scores are the file's."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from colorsplash.cli import build_parser
from colorsplash.runtime.model.onnx_model import bundled_model_path
from colorsplash.runtime.model.variants import read_config

ROOT = Path(__file__).resolve().parents[1]
VERBS = ("splash", "mask", "video", "train", "evaluate", "export", "serve")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_-]*")
# flags of other tools the README shows (pip, pytest, torchrun, ruff) and of bench scripts (their own --help)
OTHER_TOOLS = {"--dist", "--extra-index-url", "--force-reinstall", "--no-deps", "--nproc_per_node", "--check"}
BENCH_FLAGS = {"--recall", "--u2netp"}


def _verb_flags() -> dict[str, set[str]]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {verb: set(sub.choices[verb]._option_string_actions) for verb in VERBS}


def _commands(text: str) -> list[tuple[str, str]]:
    """``(verb, the rest of the command)`` for each inline code span and each fenced line that runs a verb."""
    spans = re.findall(r"`([^`\n]+)`", text) + [line for line in text.splitlines() if "colorsplash " in line]
    found = []
    for span in spans:
        for m in re.finditer(r"colorsplash (" + "|".join(VERBS) + r")\b([^#|&;]*)", span):
            found.append((m.group(1), m.group(2)))
    return found


def test_every_flag_a_readme_command_gives_a_verb_is_one_of_its_flags() -> None:
    flags = _verb_flags()
    wrong = sorted(
        {
            f"colorsplash {verb} {flag}"
            for verb, rest in _commands((ROOT / "README.md").read_text())
            for flag in FLAG.findall(rest)
            if flag not in flags[verb]
        }
    )
    assert not wrong, f"README.md names flags these verbs do not have: {wrong}"


def test_every_flag_the_readme_names_exists_somewhere() -> None:
    known = set().union(*_verb_flags().values()) | OTHER_TOOLS | BENCH_FLAGS
    unknown = sorted(set(FLAG.findall((ROOT / "README.md").read_text())) - known)
    assert not unknown, f"README.md names flags no verb has (a renamed option?): {unknown}"


def test_the_command_finder_reads_a_command_and_its_flags() -> None:
    """The finder above is what the first test stands on: a wrong flag in a command is found."""
    found = _commands(
        "run `colorsplash splash cat.jpg --efect blur # note` or\n    colorsplash train d --epoch 3 && x --y"
    )
    assert set(found) == {("splash", " cat.jpg --efect blur "), ("train", " d --epoch 3 ")}
    flags = _verb_flags()
    assert "--efect" not in flags["splash"] and "--epoch" not in flags["train"] and "--effect" in flags["splash"]


@pytest.mark.parametrize("doc", ["README.md", "docs/model-card.md", "docs/benchmarks.md"])
def test_every_preset_a_document_names_is_one_of_trains(doc: str) -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    preset = sub.choices["train"]._option_string_actions["--preset"]
    named = set(re.findall(r"--preset ([a-z0-9-]+)", (ROOT / doc).read_text()))
    assert named and not named - set(preset.choices or ()), (
        f"{doc}: presets train lacks: {named - set(preset.choices or ())}"
    )


def test_every_file_the_architecture_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    names = set(re.findall(r"`([\w/.]+\.(?:py|js|html))`", text))
    here = {p.name for p in (ROOT / "src" / "colorsplash").rglob("*") if p.is_file()}
    missing = sorted(n for n in names if not (ROOT / n).exists() and Path(n).name not in here)
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_the_model_cards_embedded_scores_are_the_bundled_files() -> None:
    """The model card gave Dice 0.925 / 0.972 ... as "embedded in the ONNX metadata" of the shipped file: those were
    the file bundled before the presence trunk; the shipped file carries other figures."""
    config = read_config(bundled_model_path())
    assert config is not None
    sets = config.training["evaluation"]["datasets"]
    card = " ".join((ROOT / "docs" / "model-card.md").read_text().split())
    said = re.search(r"`training\.evaluation`\), reads IoU (.*?) \(feral valid / Oxford val", card)
    assert said, "docs/model-card.md no longer states the bundled file's embedded scores"
    expected = {
        name: " / ".join(f"{sets[s][key]:.3f}" for s in ("feral-cats", "oxford-pets"))
        for name, key in (("IoU", "iou"), ("Dice", "dice"), ("pixel accuracy", "pixel_accuracy"))
    }
    expected["0.5:0.95"] = " / ".join(f"{sets[s]['seed_miou']:.3f}" for s in ("feral-cats", "oxford-pets"))
    for name, figures in expected.items():
        assert f"{name} {figures}" in said.group(0), f"model card: {name} should read {figures}: {said.group(0)}"


def test_the_readme_names_every_column_of_evaluates_csv_in_order() -> None:
    """scores.csv's ``coloured`` and ``subject_free`` columns were in no document."""
    from colorsplash.evaluation.evaluate import CSV_FIELDS

    text = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"`scores\.csv` has one row per scored photo: (.*?)\.\s", text)
    assert found is not None
    assert re.findall(r"`([a-z_]+)`", found.group(1))[: len(CSV_FIELDS)] == list(CSV_FIELDS)


# train's tuning flags come from TrainConfig and AugmentConfig fields, each with its own help: README points to
# ``colorsplash train --help`` for them rather than naming every one
NOT_NAMED_IN_README = {"-h", "--help"}


@pytest.mark.parametrize("verb", [v for v in VERBS if v != "train"])
def test_the_readme_names_every_option_of_each_verb(verb: str) -> None:
    """``serve --port``, ``--debug`` and ``evaluate --worst`` were in no document: a user met them in --help only."""
    text = (ROOT / "README.md").read_text()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    missing = sorted(
        "/".join(action.option_strings)
        for action in sub.choices[verb]._actions
        if action.option_strings and not set(action.option_strings) & NOT_NAMED_IN_README
        if not any(re.search(re.escape(s) + r"(?![\w-])", text) for s in action.option_strings)
    )
    assert not missing, f"README.md never names these options of colorsplash {verb}: {missing}"


def _default(verb: str, flag: str) -> object:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[verb]._option_string_actions[flag].default


def test_the_readme_states_the_option_defaults_the_code_has() -> None:
    from colorsplash import server
    from colorsplash.runtime.effects import DIM_AMOUNT

    text = " ".join((ROOT / "README.md").read_text().split())
    said = {
        "serve address": (r"HTTP API on ([\d.]+:\d+)", f"{server.DEFAULT_HOST}:{server.DEFAULT_PORT}"),
        "serve --port": (r"on 127\.0\.0\.1:(\d+)", str(_default("serve", "--port"))),
        "--upload-timeout": (r"`--upload-timeout` seconds \((\d+) by default", f"{server.DEFAULT_UPLOAD_TIMEOUT_S:g}"),
        "--header-timeout": (r"`--header-timeout` seconds \((\d+) by default", f"{server.DEFAULT_HEADER_TIMEOUT_S:g}"),
        "--max-requests": (r"At most (\d+) requests are served at once \(`--max-requests`", str(server.MAX_REQUESTS)),
        "--max-per-client": (r"half of `--max-requests` by default: (\d+)\)", str(server.MAX_PER_CLIENT)),
        "header size": (r"line and headers may hold at most (\d+) KB", str(server.MAX_HEADER_BYTES // 1024)),
        "--quality": (r"A JPEG result has `--quality` \((\d+)\)", str(_default("splash", "--quality"))),
        "video --quality": (r"constant quality \((\d+): visually lossless", str(_default("video", "--quality"))),
        "--calibration-images": (
            r"`--calibration-images N`, default (\d+)",
            str(_default("export", "--calibration-images")),
        ),
        "plain dim": (r"plain `dim` = `dim:([\d.]+)`", f"{DIM_AMOUNT:g}"),
        "--worst": (r"`--worst N` photos, (\d+) by default", str(_default("evaluate", "--worst"))),
    }
    wrong = {}
    for name, (pattern, expected) in said.items():
        found = re.search(pattern, text)
        if found is None or found.group(1) != expected:
            wrong[name] = (found and found.group(1), expected)
    assert not wrong, f"README.md's defaults (said, code): {wrong}"


def test_the_readme_gives_load_models_parameters_as_the_code_has_them() -> None:
    """README gave ``load_model(path, precision="auto", device="auto")``, without ``threads``, which its worker
    processes paragraph asks for."""
    import inspect

    from colorsplash import load_model

    first, *rest = inspect.signature(load_model).parameters.values()
    shown = ", ".join([first.name] + [f"{p.name}={p.default!r}".replace("'", '"') for p in rest])
    text = " ".join((ROOT / "README.md").read_text().split())
    assert f"`load_model({shown})`" in text, f"README.md should give load_model({shown})"


def test_the_architecture_names_every_module_of_the_package() -> None:
    """``server/send_deadline.py`` and the page's ``style.css`` were in the package and nowhere in the document."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "src" / "colorsplash"
    files = [p for p in package.rglob("*") if p.suffix in (".py", ".js", ".html", ".css") and p.name != "__init__.py"]
    unnamed = sorted(
        str(p.relative_to(package)) for p in files if f"`{p.name}`" not in text and f"/{p.name}`" not in text
    )
    assert files and not unnamed, f"docs/architecture.md does not name: {unnamed}"


def _choices() -> dict[str, set[str]]:
    """Each option's choices, from ``choices`` or the ``{a,b}`` metavar of options whose values a parser checks."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    found: dict[str, set[str]] = {}
    for parser in sub.choices.values():
        for action in parser._actions:
            values = {str(c) for c in action.choices or ()}
            if not values and isinstance(action.metavar, str) and action.metavar.startswith("{"):
                values = set(action.metavar.strip("{}").split(","))
            for flag in action.option_strings if values else ():
                found.setdefault(flag, set()).update(values)
    return found


@pytest.mark.parametrize("doc", ["README.md", "docs/model-card.md", "docs/architecture.md"])
def test_every_value_a_document_gives_a_choice_option_is_one_of_its_choices(doc: str) -> None:
    choices = _choices()
    text = (ROOT / doc).read_text()
    wrong = sorted(
        m.group(0)
        for m in re.finditer(r"(--[a-z][a-z-]*)[ =]([a-z0-9][a-z0-9-]*(?:\|[a-z0-9-]+)*)", text)
        if m.group(1) in choices and not set(m.group(2).split("|")) <= choices[m.group(1)]
    )
    assert not wrong, f"{doc} gives options values they do not take: {wrong}"
    assert {"--edges", "--on-empty", "--precision"} <= set(choices)


def test_the_readme_lists_the_files_a_run_writes() -> None:
    from colorsplash.training.run_files import WRITTEN

    text = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"The run folder holds (.*?) with `--swa-epochs`\)", text)
    assert found is not None, "README.md no longer lists a run folder's files"
    assert set(re.findall(r"`([\w.]+\.\w+)`", found.group(1))) == set(WRITTEN)
