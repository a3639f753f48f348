"""Packaging facts: one version, a licence, no training-machine paths in the package or its docs."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import colorsplash

ROOT = Path(__file__).parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(work|root|home|Users|mnt)/")
TEXT_SUFFIXES = {".py", ".md", ".js", ".html", ".css", ".json", ".toml", ".txt", ".tsv"}


def _texts() -> list[Path]:
    files = [p for p in (ROOT / "src" / "colorsplash").rglob("*") if p.suffix in TEXT_SUFFIXES]
    files += [p for p in (ROOT / "docs").rglob("*.md")]
    files += [ROOT / "README.md", ROOT / "bench" / "README.md"]
    return [p for p in files if p.is_file()]


def test_no_absolute_machine_paths_in_package_and_docs() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _texts()
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert not offenders, f"absolute machine paths: {offenders}"


def test_the_machine_path_pattern_catches_what_it_should() -> None:
    assert MACHINE_PATH.search("see /work/runs/lite1/best.pt") and MACHINE_PATH.search('"/home/me/x"')
    assert not MACHINE_PATH.search("see runs/lite1 and https://example.org/work/x")


def test_one_version_source() -> None:
    assert importlib.metadata.version("colorsplash") == colorsplash.__version__
    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("[")[0]


def test_licence_file_ships() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert 'license-files = ["LICENSE"]' in (ROOT / "pyproject.toml").read_text()


def test_import_turns_off_opencv_busy_waiting_unless_the_user_set_it() -> None:
    """``import colorsplash`` sets OpenCV's thread-pool active waits to 0 before cv2 loads (they stole ONNX
    Runtime's cores), keeping a value the user chose."""
    code = (
        "import os, colorsplash, cv2; "
        "print(os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER'], os.environ['OPENCV_THREAD_POOL_ACTIVE_WAIT_MAIN'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_THREAD_POOL_ACTIVE_WAIT")}
    plain = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert plain.stdout.split() == ["0", "0"]
    own = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "OPENCV_THREAD_POOL_ACTIVE_WAIT_WORKER": "500"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert own.stdout.split() == ["500", "0"]


def test_the_video_extra_asks_for_an_imageio_ffmpeg_that_bundles_a_usable_ffmpeg() -> None:
    """Audit (min deps): ``imageio-ffmpeg>=0.5`` let pip keep 0.5.x, whose bundled ffmpeg 4.2 video refuses."""
    from colorsplash.runtime.video.video_ffmpeg import MIN_IMAGEIO_FFMPEG

    extra = re.search(r'^video = \["imageio-ffmpeg>=([0-9.]+)"\]', (ROOT / "pyproject.toml").read_text(), re.M)
    assert extra is not None and extra.group(1) == MIN_IMAGEIO_FFMPEG


def test_the_min_deps_job_pins_the_minimums_of_pyproject() -> None:
    """``.ci/min-deps`` installs ``.ci/min-constraints.txt``: each runtime, server, video and heif minimum of
    pyproject.toml is pinned there at that version or the lowest installable one of the same release series
    (numpy 1.24.2 for 1.24: onnxruntime 1.17 needs it), so raising a minimum without the job is caught."""
    text = (ROOT / "pyproject.toml").read_text()
    core = text.split("[project]\n")[1].split("[project.optional-dependencies]")[0]
    wanted = dict(re.findall(r'"([a-z0-9-]+)>=([0-9.]+)"', core))
    for extra in ("server", "video", "heif"):
        line = re.search(rf"^{extra} = \[(.*)\]$", text, re.M)
        assert line is not None, extra
        wanted.update(re.findall(r'"([a-z0-9-]+)>=([0-9.]+)"', line.group(1)))
    pins = dict(re.findall(r"^([a-z0-9-]+)==([0-9.]+)", (ROOT / ".ci" / "min-constraints.txt").read_text(), re.M))

    def release(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split("."))

    for name, low in wanted.items():
        assert name in pins, f"{name}>={low} is not pinned in .ci/min-constraints.txt"
        assert release(pins[name]) >= release(low), (name, low, pins[name])
        assert release(pins[name])[:2] == release(low)[:2], f"{name}: pinned {pins[name]}, pyproject says >={low}"


def test_the_checkers_read_the_code_as_the_oldest_accepted_python() -> None:
    """A 3.10 interpreter runs only the light runtime's tests here (``.ci/min-deps``), so mypy, ruff and vermin
    (``.ci/run``) must each check against the oldest Python ``requires-python`` accepts; one of them left at a newer
    version lets 3.11-only code through in training, bench and scripts."""
    text = (ROOT / "pyproject.toml").read_text()
    low = re.search(r'^requires-python = ">=3\.(\d+)"$', text, re.M)
    assert low is not None
    minor = low.group(1)
    assert re.search(rf'^python_version = "3\.{minor}"$', text, re.M), "[tool.mypy] python_version"
    assert re.search(rf'^target-version = "py3{minor}"$', text, re.M), "[tool.ruff] target-version"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(rf"^vermin .*--target=3\.{minor}- .*--violations src tests bench scripts$", ci, re.M)


def test_every_test_runs_under_a_time_limit(pytestconfig: pytest.Config) -> None:
    """A hung test must fail with its threads' stacks, not stall CI until the CI's own limit: pytest-timeout is
    loaded (``getini`` refuses an option no plugin declared) with a limit well above the slowest test (~5 minutes)
    and the thread method, which also ends a test stuck in C code or on a lock."""
    assert 600 <= float(pytestconfig.getini("timeout")) <= 1800
    assert pytestconfig.getini("timeout_method") == "thread"


def test_the_classifiers_name_each_tested_python_from_the_oldest_accepted() -> None:
    """``requires-python`` is open above; the classifiers say which Pythons the tests ran on, one each from its
    minimum up, so a user on a newer one knows it was not tried."""
    text = (ROOT / "pyproject.toml").read_text()
    low = re.search(r'^requires-python = ">=3\.(\d+)"$', text, re.M)
    assert low is not None
    minors = [int(m) for m in re.findall(r'^    "Programming Language :: Python :: 3\.(\d+)",$', text, re.M)]
    assert minors and minors == list(range(int(low.group(1)), minors[-1] + 1)), minors
    assert '"Programming Language :: Python :: 3 :: Only",' in text
