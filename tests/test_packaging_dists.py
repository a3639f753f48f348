"""The sdist and the wheel as a user gets them: built from the tracked files alone, the wheel from the sdist (as
``python -m build`` does), and what each of them holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tracked but not in the sdist: the training checkpoint (17 MB; no test loads it) and git's own file.
SDIST_LEFT_OUT = {"models/pets-lite1.pt", ".gitignore"}
# What a checkout gathers that is not tracked: the README's first command's result beside the example photo, a mask
# of it, Python's caches. None of it belongs in the sdist.
LEFTOVERS = ("examples/chelsea.splash.jpg", "examples/chelsea.mask.png", "tests/__pycache__/conftest.cpython-311.pyc")
# What setuptools adds to an sdist beside the tracked files.
SDIST_MADE = ("PKG-INFO", "setup.cfg", "src/colorsplash.egg-info/")
BUILD = "import sys; from setuptools import build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"

pytestmark = pytest.mark.slow


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an unpacked sdist): the tracked files are unknown")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def _check_backend() -> None:
    """The venv's setuptools is what [build-system] asks (the dev extra installs it): an older one fails the
    builds on pyproject.toml itself, which would read as a packaging defect."""
    import setuptools

    low = re.search(r'requires = \["setuptools>=([0-9.]+)"\]', (ROOT / "pyproject.toml").read_text())
    assert low is not None, "[build-system] requires is not setuptools>=N"
    have = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
    need = tuple(int(p) for p in low.group(1).split("."))
    assert have >= need, f"setuptools {setuptools.__version__} is older than [build-system]'s: pip install -e '.[dev]'"
    dev = re.search(r'^    "setuptools>=([0-9.]+)",$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert dev is not None and dev.group(1) == low.group(1), "the dev extra's setuptools minimum is [build-system]'s"


def _build(what: str, source: Path, out: Path) -> Path:
    """``build_sdist`` or ``build_wheel`` of setuptools' PEP 517 backend, run in ``source``; the file it wrote."""
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", BUILD, what, str(out)], cwd=source, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{what} failed in {source}:\n{done.stderr[-3000:]}"
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str], list[str]]:
    """The tracked files, the sdist's files (without its top folder) and the wheel's, the wheel built from the
    unpacked sdist; built from the tracked files and :data:`LEFTOVERS`."""
    tmp = tmp_path_factory.mktemp("dists")
    tracked = _tracked()
    _check_backend()
    for name in tracked:  # a clean checkout: no build/, caches or egg-info of this one
        (tmp / "clean" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp / "clean" / name)
    for name in LEFTOVERS:
        (tmp / "clean" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "examples" / "chelsea.jpg", tmp / "clean" / name)
    sdist = _build("build_sdist", tmp / "clean", tmp / "sdist")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
        top = tar.getnames()[0].split("/")[0]
        in_sdist = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
    wheel = _build("build_wheel", tmp / "unpacked" / top, tmp / "wheel")
    with zipfile.ZipFile(wheel) as zf:
        in_wheel = zf.namelist()
    return tracked, in_sdist, in_wheel


def test_the_sdist_holds_every_tracked_file_but_the_training_checkpoint(
    dists: tuple[list[str], list[str], list[str]],
) -> None:
    """Audit (packaging): the sdist lacked bench/, scripts/, .ci/ and CHANGELOG.md, so 12 of its own tests failed
    there (bench scripts, the min-deps pins, the files docs/architecture.md names) and the README's links to
    bench/README.md and scripts/fuzz/README.md led nowhere."""
    tracked, in_sdist, _ = dists
    missing = sorted(set(tracked) - SDIST_LEFT_OUT - set(in_sdist))
    assert not missing, f"tracked files the sdist lacks (MANIFEST.in): {missing}"
    assert not SDIST_LEFT_OUT & set(in_sdist)


def test_the_sdist_holds_nothing_untracked(dists: tuple[list[str], list[str], list[str]]) -> None:
    """Audit (packaging): MANIFEST.in's ``include examples/*.jpg`` took the README's first command's result,
    examples/chelsea.splash.jpg, into an sdist built from a checkout where it had been run."""
    tracked, in_sdist, _ = dists
    untracked = sorted(n for n in set(in_sdist) - set(tracked) if not n.startswith(SDIST_MADE))
    assert not untracked, f"files in the sdist that are not tracked: {untracked}"


def test_the_wheel_built_from_the_sdist_holds_the_package_and_its_data_only(
    dists: tuple[list[str], list[str], list[str]],
) -> None:
    """Every tracked file of src/colorsplash ships (both bundled models, py.typed, the page's files,
    evaluation/excluded.tsv: opened through importlib.resources), and nothing else but the metadata."""
    tracked, _, in_wheel = dists
    package = {name.removeprefix("src/") for name in tracked if name.startswith("src/colorsplash/")}
    assert {"colorsplash/models/pets.onnx", "colorsplash/models/pets.fp32.onnx"} <= package
    missing = sorted(package - set(in_wheel))
    assert not missing, f"package files the wheel lacks ([tool.setuptools.package-data]): {missing}"
    extra = [n for n in set(in_wheel) - package if not n.split("/")[0].endswith(".dist-info")]
    assert not extra, f"files in the wheel that are not the package's: {sorted(extra)}"
