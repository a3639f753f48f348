"""The words a user meets for the same thing, whichever way they call colorsplash.

One owner for: how each caller spells an option (the CLI ``--on-empty copy``, the Python API ``on_empty="copy"``,
the HTTP API ``on-empty=copy``), what a model calls the thing it finds (its ``subject``: "no pet found"), how
a model is named in a verb's lines (:func:`model_label`) and a list of names cut short (:func:`listed`). Light: no
NumPy, no ONNX Runtime.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from colorsplash.runtime.model.config import ModelConfig

Spelling = Literal["cli", "python", "http"]
DEFAULT_SUBJECT: str = ModelConfig.subject  # "subject": a model whose training named no subject
# What a model's ``subject`` means, in plain words, for the subjects of the models this project's recipes make.
SUBJECT_WORDS = {"pet": "cats and dogs"}


MAX_SHOWN = 60  # characters of a model's own name or subject that a line shows


def printable(text: str) -> str:
    """``text`` as a log line or a header may quote it from a request: each character that is not printable (line
    breaks, other control characters, bidirectional overrides) escaped as ``\\n``, ``\\x01``, ``\\u202e``, so
    that a path or file name cannot start a forged log line or header. Spaces (a macOS screenshot's narrow no-break
    space, a Japanese name's full-width one) and the zero-width joiners of emoji and scripts stay as they are."""
    return "".join(ch if _kept(ch) else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _kept(ch: str) -> bool:
    """Whether :func:`printable` shows ``ch`` as it is: Python's printable, any space (``Zs``: U+00A0, U+202F,
    U+3000), and the zero-width non-joiner and joiner (U+200C, U+200D: a family emoji, a Persian word), which can
    neither break a line nor reorder one."""
    return ch.isprintable() or ch in "\u200c\u200d" or unicodedata.category(ch) == "Zs"


def shown(text: str, most: int = MAX_SHOWN) -> str:
    """Words a model file brings (its ``name``, its ``subject``) as a line shows them: :func:`printable` (a file
    from elsewhere named ``"\\x1b]0;...\\x07"`` retitled the terminal and coloured the summary line) and cut to
    ``most`` characters with "..." (a 10,000-character name filled the screen)."""
    text = printable(text.strip())
    return text if len(text) <= most else text[: most - 3] + "..."


def listed(items: Sequence[str], most: int = 10) -> str:
    """``a.jpg, b.jpg and 3 more``: at most ``most`` of ``items`` for a message, and how many more there are; each
    :func:`printable` (a file named with a line break forged a line of the run's own)."""
    shown = ", ".join(printable(item) for item in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def option_name(name: str, spelling: Spelling = "python") -> str:
    """An option (``on_empty``, the Python name) as ``spelling``'s caller names it: ``--on-empty`` (cli),
    ``on_empty`` (python keyword), ``on-empty`` (http query or form field)."""
    if spelling == "cli":
        return "--" + name.replace("_", "-")
    return name.replace("_", "-") if spelling == "http" else name


def option_use(name: str, value: str, spelling: Spelling = "python") -> str:
    """An option given a value, as ``spelling``'s caller writes it: ``--on-empty copy``, ``on_empty="copy"``,
    ``on-empty=copy``. The web page shows ``name=value`` of its own controls in their words (``words.js``), so the
    HTTP spelling stays ``name=value``."""
    if spelling == "cli":
        return f"{option_name(name, spelling)} {value}"
    return f'{name}="{value}"' if spelling == "python" else f"{option_name(name, spelling)}={value}"


def subject_word(config: ModelConfig | None) -> str:
    """What the model finds, for messages ("pet" for the bundled model, "red car" for one trained with
    ``--subject "red car"``); "subject" when its training named none or there is no config (a stand-in)."""
    subject = getattr(config, "subject", "")
    return shown(subject) if isinstance(subject, str) and subject.strip() else DEFAULT_SUBJECT


@dataclass(frozen=True)
class Wording:
    """How a caller words a message: ``subject``, the model's word for what it finds (:func:`subject_word`),
    ``spelling``, how the caller names options (:func:`option_name`), and ``item``, what it splashes ("photo";
    video: "clip")."""

    subject: str = DEFAULT_SUBJECT
    spelling: Spelling = "python"
    item: str = "photo"

    @classmethod
    def of(cls, model: Any, spelling: Spelling, item: str = "photo") -> Wording:
        """The wording of a caller (``spelling``) running ``model`` (a loaded model, or a stand-in without a
        config: "subject") on ``item``s."""
        return cls(subject_word(getattr(model, "config", None)), spelling, item)


PYTHON_WORDS = Wording()  # the Python API's: "subject", ``on_empty="copy"``


def model_description(config: ModelConfig, file_name: str) -> str:
    """The model in a user's words: "Pet model — cats and dogs" (the bundled one), "Red car model — cars-v2" (a
    trained model's subject and its own name, or its file name when it kept the default name), "Custom model —
    cars.onnx" when its config names no subject."""
    subject, name = shown(config.subject), shown(config.name)
    named = bool(subject) and subject.lower() != DEFAULT_SUBJECT
    head = f"{subject[:1].upper()}{subject[1:]} model" if named else "Custom model"
    detail = file_name if _named_by_file(config) else SUBJECT_WORDS.get(subject.lower(), name) if named else name
    return f"{head} — {detail}"


def _named_by_file(config: ModelConfig) -> bool:
    """Whether :func:`model_description` names the model by its file: no words of its subject's own and no name
    of its own (the default one)."""
    subject, name = config.subject.strip().lower(), config.name.strip()
    words = subject in SUBJECT_WORDS and subject != DEFAULT_SUBJECT
    return not words and (not name or name == ModelConfig.name)


def model_label(config: ModelConfig, path: str | Path, bundled: bool) -> str:
    """The one way a verb names the model it runs (``splash``/``mask``'s summary, ``video``'s result line,
    ``serve``'s start line): ``model: <description>`` and, for any file but the bundled model, its path: once,
    in place of its file name where the description already names the model by it ("Food model — runs/food.onnx",
    not "Food model — food.onnx (runs/food.onnx)"). The bundled model's variant is said in place of its path
    ("(int8)", "(fp32)"): which file ``--precision auto`` chose was said once, the first time, and never after."""
    if bundled:
        return f"model: {model_description(config, Path(path).name)} ({config.arithmetic})"
    if _named_by_file(config):
        return f"model: {model_description(config, str(path))}"
    return f"model: {model_description(config, Path(path).name)} ({path})"
