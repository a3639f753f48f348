"""The seam between the light runtime and training: without torch, albumentations, matplotlib or onnx, every
runtime, evaluation, server and CLI module imports and a photo is splashed (CLI and Python API)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BLOCKED = ("torch", "albumentations", "matplotlib", "onnx")

_SCRIPT = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys
    BLOCKED = {blocked!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked by the seam test: {{name}}")
            return None

    sys.meta_path.insert(0, Block())
    import colorsplash
    for sub in ("runtime", "evaluation", "cli"):
        pkg = importlib.import_module("colorsplash." + sub)
        for info in pkgutil.walk_packages(pkg.__path__, f"colorsplash.{{sub}}."):
            importlib.import_module(info.name)
    from colorsplash.cli import main
    assert main(["-q", "splash", {photo!r}, "-o", {out!r}]) == 0
    rgb = colorsplash.splash({photo!r})
    assert rgb.ndim == 3 and rgb.dtype.name == "uint8"
    loaded = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
    assert not loaded, loaded
    print("seam ok")
""")


def test_runtime_runs_without_training_packages(tmp_path: Path) -> None:
    photo = Path(__file__).parents[1] / "examples" / "chelsea.jpg"
    script = _SCRIPT.format(blocked=BLOCKED, photo=str(photo), out=str(tmp_path / "out"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seam ok" in result.stdout
    assert any(p.name.endswith(".splash.jpg") or ".splash." in p.name for p in (tmp_path / "out").iterdir())


def test_cli_help_imports_neither_torch_nor_opencv() -> None:
    """``colorsplash --help`` stays fast: no torch, no OpenCV, no ONNX Runtime at parse time."""
    code = (
        "import sys\nfrom colorsplash.cli import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in ('torch', 'cv2', 'onnxruntime', 'onnx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
