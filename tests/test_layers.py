"""Imports flow one way (docs/architecture.md): between the package's layers, and between the runtime's stages.

Every ``import`` of a colorsplash module in the source is read from the syntax tree, in-function imports and those
for type hints included, so a module moved or a new import that goes the wrong way fails here, naming both ends.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "colorsplash"

# What each layer may import besides itself (cli: anything).
LAYERS = {
    "runtime": set(),
    "evaluation": {"runtime"},
    "training": {"runtime", "evaluation"},
    "server": {"runtime"},
}
# What each runtime stage may import besides itself and the shared owners at the top of runtime.
STAGES = {
    "pictures": set(),
    "model": {"pictures.signatures"},
    "edges": {"model", "pictures"},
    "video": {"edges", "model", "pictures", "batch", "effects", "planning"},
}
SHARED = {"files", "temp_names", "fork_safe", "cpu", "allocator", "flags", "wording", "options", "no_subject"}
# What the shared owners may import from the stages: the model's config, and for type hints only (under
# ``if TYPE_CHECKING:``) AlphaResult (no_subject), which the edges stage applies their rule to.
SHARED_USES = {"model.config"}
SHARED_TYPE_HINTS = {"edges.alpha"}


def _imports(path: Path, package: str | None = None, type_hints: bool = True) -> set[str]:
    """Dotted names of the colorsplash modules (or the packages) ``path`` imports, relative to ``colorsplash.``;
    without ``type_hints``, not those under ``if TYPE_CHECKING:`` (never imported when the program runs).

    ``package`` is the dotted package ``path`` is in, relative to ``colorsplash`` (by default, from where it lies
    under :data:`PACKAGE`): a package-relative ``from . import x`` or ``from ..stage import x`` is read from it."""
    if package is None:
        package = ".".join(path.relative_to(PACKAGE).parent.parts)
    tree = ast.parse(path.read_text(), str(path))
    hints = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if not type_hints and id(node) in hints:
            continue
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # package-relative: from the package up level - 1 folders
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] + ([module] if module else [])
                module = ".".join(["colorsplash", *parts])
            if module != "colorsplash" and not module.startswith("colorsplash."):
                continue
            base = module.removeprefix("colorsplash").removeprefix(".")
            folder = PACKAGE / base.replace(".", "/")
            found |= {
                ".".join(filter(None, (base, a.name))) if _is_module(folder, a.name) else base for a in node.names
            } - {""}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("colorsplash.") for a in node.names if a.name.startswith("colorsplash.")}
    return found


def _is_module(folder: Path, name: str) -> bool:
    """Whether ``from package import name`` names a module (or subpackage) of ``folder`` rather than an attribute."""
    return (folder / name).is_dir() or (folder / f"{name}.py").is_file()


def _modules(under: str) -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def _allowed(target: str, allowed: set[str]) -> bool:
    return any(target == a or target.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE)} imports colorsplash.{target}"
        for path in _modules(layer)
        for target in _imports(path)
        if target.split(".")[0] in LAYERS.keys() | {"cli"} and not _allowed(target, LAYERS[layer] | {layer})
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_runtime_stage_imports_only_the_stages_below_it_and_the_shared_owners(stage: str) -> None:
    allowed = {f"runtime.{s}" for s in STAGES[stage] | SHARED | {stage}}
    wrong = [
        f"{path.relative_to(PACKAGE)} imports colorsplash.{target}"
        for path in _modules(f"runtime/{stage}")
        for target in _imports(path)
        if target.startswith("runtime.") and not _allowed(target, allowed)
    ]
    assert not wrong, wrong


def test_the_shared_owners_import_no_stage_but_the_model_config() -> None:
    allowed = {f"runtime.{s}" for s in SHARED | SHARED_USES}
    hints = allowed | {f"runtime.{s}" for s in SHARED_TYPE_HINTS}
    wrong = [
        f"{name}.py imports colorsplash.{target}{'' if type_hints else ' (not for type hints only)'}"
        for name in sorted(SHARED)
        for type_hints, may in ((True, hints), (False, allowed))
        for target in _imports(PACKAGE / "runtime" / f"{name}.py", type_hints=type_hints)
        if target.startswith("runtime.") and not _allowed(target, may)
    ]
    assert not wrong, wrong


def test_imports_for_type_hints_are_told_apart(tmp_path: Path) -> None:
    """The shared owners may import the edges stage's types only under ``if TYPE_CHECKING:``: such an import is
    told from one that runs."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nimport typing\nif TYPE_CHECKING:\n"
        "    from colorsplash.runtime.edges.alpha import AlphaResult\n"
        "if typing.TYPE_CHECKING:\n    from colorsplash.runtime.video import clip\n"
        "from colorsplash.runtime.model.config import ModelConfig\n"
    )
    everything = {"runtime.edges.alpha", "runtime.video.clip", "runtime.model.config"}
    assert _imports(probe, "runtime") == everything
    assert _imports(probe, "runtime", type_hints=False) == {"runtime.model.config"}


def test_the_rules_see_imports_of_every_form(tmp_path: Path) -> None:
    """The reader finds module-level, in-function, ``from colorsplash import layer`` and package-relative forms."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from colorsplash.runtime.edges import alpha\nimport colorsplash.training.losses\n"
        "def f():\n    from colorsplash.runtime.model.config import ModelConfig\n"
        "from colorsplash import evaluation, __version__\nfrom . import photo_io\nfrom ..video import clip\n"
        "from ..files import atomic_write\nfrom .. import wording\n"
    )
    assert _imports(probe, "runtime.pictures") == {
        "runtime.edges.alpha",
        "training.losses",
        "runtime.model.config",
        "evaluation",
        "runtime.pictures.photo_io",
        "runtime.video.clip",
        "runtime.files",
        "runtime.wording",
    }


def test_a_wrong_import_fails_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules can fail: a picture stage's module importing the video stage, and the runtime importing training,
    each one form that read nothing before (package-relative; ``from colorsplash import``), are named."""
    real = _imports

    def with_wrong_imports(path: Path, package: str | None = None) -> set[str]:
        if path == PACKAGE / "runtime" / "pictures" / "limits.py":
            (tmp_path / "limits.py").write_text("from ..video import clip\nfrom colorsplash import training\n")
            return real(path) | real(tmp_path / "limits.py", "runtime.pictures")
        return real(path, package)

    monkeypatch.setitem(globals(), "_imports", with_wrong_imports)
    with pytest.raises(AssertionError, match=r"pictures/limits.py imports colorsplash.runtime.video.clip"):
        test_each_runtime_stage_imports_only_the_stages_below_it_and_the_shared_owners("pictures")
    with pytest.raises(AssertionError, match=r"pictures/limits.py imports colorsplash.training'"):
        test_each_layer_imports_only_the_layers_below_it("runtime")
