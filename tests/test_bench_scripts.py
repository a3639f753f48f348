"""The benchmark scripts of ``bench/`` stay runnable as the package moves: every script imports, and every name it
takes from ``colorsplash`` (``from colorsplash.x import name``, ``module.name``) still exists there. mypy checks
``src`` only, so a helper renamed or moved in ``src`` broke scripts without any check noticing."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def _lookup(module: str, name: str) -> object:
    """``module.name`` (a submodule is imported first), or ``None`` when it does not exist."""
    parent = importlib.import_module(module)
    found = getattr(parent, name, None)
    if found is None and hasattr(parent, "__path__") and importlib.util.find_spec(f"{module}.{name}") is not None:
        found = importlib.import_module(f"{module}.{name}")
    return found


def _colorsplash_names(tree: ast.Module) -> list[tuple[str, str]]:
    """``(module, name)`` for each ``from colorsplash... import name`` and each ``alias.name`` where ``alias`` is a
    colorsplash module imported as such (``import colorsplash.x as alias``, ``from colorsplash.y import x as alias``
    when ``colorsplash.y.x`` is a module)."""
    wanted: list[tuple[str, str]] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "colorsplash":
            for name in node.names:
                wanted.append((node.module, name.name))
                if isinstance(_lookup(node.module, name.name), ModuleType):
                    aliases[name.asname or name.name] = f"{node.module}.{name.name}"
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.startswith("colorsplash.") and name.asname:
                    aliases[name.asname] = name.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            wanted.append((aliases[node.value.id], node.attr))
    return wanted


@contextmanager
def _skipped_without_extras(script: Path) -> Iterator[None]:
    """Skip when ``script`` needs an optional package this environment lacks (PyTorch, matplotlib: the light
    runtime's oldest-versions job has neither); a missing colorsplash module or bench script still fails."""
    try:
        yield
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if not top or top == "colorsplash" or (BENCH / f"{top}.py").exists():
            raise
        pytest.skip(f"bench/{script.name} needs {err.name}, not installed here")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_colorsplash_name_a_bench_script_uses_exists(script: Path) -> None:
    with _skipped_without_extras(script):
        missing = [
            f"{module}.{name}"
            for module, name in _colorsplash_names(ast.parse(script.read_text()))
            if _lookup(module, name) is None
        ]
    assert not missing, f"bench/{script.name} uses names colorsplash no longer has: {missing}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_bench_script_imports(script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Imported as a module (its ``main`` not run), with ``bench/`` on the path as when run as a script."""
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    with _skipped_without_extras(script):
        spec.loader.exec_module(module)


def test_the_floor_module_answers_help_without_waiting_for_its_input() -> None:
    """``python bench/floor.py --help`` (the module ``PlainFloor`` runs) waited for ``SRC<TAB>DST`` lines on stdin."""
    with subprocess.Popen(
        [sys.executable, str(BENCH / "floor.py"), "--help"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("bench/floor.py --help waited on stdin")
    assert proc.returncode == 0 and out.startswith("usage: floor.py") and "SRC<TAB>DST" in out


LIGHT_INSTALL = """
import importlib.abc, runpy, sys
EXTRAS = {"torch", "torchvision", "albumentations", "matplotlib", "onnx", "fastapi", "starlette", "uvicorn",
          "multipart", "python_multipart", "imageio_ffmpeg", "pillow_heif", "pymatting", "httpx", "skimage"}
class LightInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, LightInstall())
sys.argv = [sys.argv[1], "--help"]
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_bench_script_answers_help_under_the_light_install(script: Path) -> None:
    """bench/README.md: each script at least answers ``--help`` without the optional extras. Seven stopped on a
    traceback (``import torch``, matplotlib, httpx); they now print their usage after a line naming the extra."""
    run = subprocess.run(
        [sys.executable, "-c", LIGHT_INSTALL, str(script)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-800:]
    assert "usage:" in run.stdout or script.stem in {"rembg_peers", "shared_data"}, run.stdout[-400:]
