"""The hostile-input corpus (tests/hostile.py, 70+ generated cases) through the real ``colorsplash`` process:
zero tracebacks or stray warnings, zero inputs modified, every output decoded again, true summary counts."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.hostile import ERROR, OK, write_hostile
from PIL import Image

from colorsplash.runtime.pictures.photo_write import FORMAT_EXTENSIONS

pytestmark = pytest.mark.slow

SUMMARY = re.compile(r"(\d+) file\(s\): done (\d+), skipped (\d+), failed (\d+)")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile") / "in"
    expected = write_hostile(folder)
    assert len(expected) >= 60
    return folder, expected


def hashes(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def colorsplash(model: Path, *args: str, run: tuple[str, ...] = ("colorsplash",)) -> tuple[int, str, tuple[int, ...]]:
    """Run the real process (``python -m`` ``run``, by default colorsplash itself); (exit status, stderr, summary
    counts total/done/skipped/failed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-m", *run, "-q", *args, "--model", str(model)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    found = SUMMARY.search(done.stderr)
    counts = tuple(int(g) for g in found.groups()) if found else ()
    return done.returncode, done.stderr, counts


def check_clean(err: str) -> None:
    assert "Traceback" not in err, err
    assert "Warning:" not in err and "site-packages" not in err, err  # Python warnings naming Pillow's source


def check_outputs(before: dict[Path, str], roots: list[Path]) -> list[Path]:
    """Every file present before is unchanged; every new file opens completely as its extension's format;
    no temporary file is left. Returns the new files."""
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"modified: {path}"
    new = [p for root in roots for p in root.rglob("*") if p.is_file() and p not in before]
    for path in new:
        assert not path.name.startswith(".colorsplash-"), f"temporary file left: {path}"
        with Image.open(path) as img:
            img.load()
            assert path.suffix.lower() in FORMAT_EXTENSIONS[img.format], path
    return new


def lines_about(err: str, path: Path) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"{path}:")]


def test_splash_beside_inputs(corpus: tuple[Path, dict[str, str]], tiny_onnx: Path) -> None:
    folder, expected = corpus
    before = hashes(folder.parent)
    code, err, counts = colorsplash(tiny_onnx, "splash", str(folder))
    check_clean(err)
    new = check_outputs(before, [folder.parent])
    assert code == 1
    assert counts == (len(expected), len(new), 0, sum(v != OK for v in expected.values()))
    for name, outcome in expected.items():
        stem = name.rsplit(".", 1)[0]
        if outcome == OK:
            assert [p for p in new if p.name.startswith(f"{stem}.splash.")], name
        else:
            assert len(lines_about(err, folder / name)) == 1, name
    assert "EXIF metadata (camera, dates, GPS) is damaged" in "".join(lines_about(err, folder / "corrupt_exif.jpg"))
    assert "16-bit" in "".join(lines_about(err, folder / "rgb48.png"))
    assert "already exists" in "".join(lines_about(err, folder / "mine.jpg"))
    assert "already the output of" in "".join(lines_about(err, folder / "pair.png"))

    # A second run: every result now exists; without a flag each one is refused, with --skip-existing skipped.
    before = hashes(folder.parent)
    code, err, counts = colorsplash(tiny_onnx, "splash", str(folder))
    check_clean(err)
    assert code == 1 and counts[1] == 0 and not check_outputs(before, [folder.parent])
    code, err, counts = colorsplash(tiny_onnx, "splash", str(folder), "--skip-existing")
    check_clean(err)
    assert counts[1] == 0 and not check_outputs(before, [folder.parent])
    assert counts[2] == len(new) + 2  # also mine.jpg and clash.jpg, whose result names were the user's files


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_output_folder(corpus: tuple[Path, dict[str, str]], tiny_onnx: Path, tmp_path: Path, verb: str) -> None:
    folder, expected = corpus
    before = hashes(folder.parent)
    out = tmp_path / "out"
    code, err, counts = colorsplash(tiny_onnx, verb, str(folder), "-o", str(out))
    check_clean(err)
    new = check_outputs(before, [folder.parent, out])
    assert all(out in p.parents for p in new)
    errors = sum(v == ERROR for v in expected.values())
    # In a folder of their own no file exists yet, but inputs that differ only in extension share a result name
    # (all masks are .png; pair.jpg holds PNG bytes like pair.png): the later ones are refused, one line each.
    stems = [n.rsplit(".", 1)[0] for n, v in expected.items() if v != ERROR]
    refused = len(stems) - len(set(stems)) if verb == "mask" else 1
    assert err.count("is already the output of") == refused
    assert code == 1 and counts == (len(expected), len(new), 0, errors + refused)
    assert len(new) == len(expected) - errors - refused
    if verb == "mask":
        assert all(p.suffix == ".png" for p in new)


@pytest.mark.parametrize("refusal", ["permissions", "EACCES", "EROFS"])
def test_read_only_folder_and_unreadable_file(refusal: str, tmp_path: Path, tiny_onnx: Path) -> None:
    """A folder that cannot be written and a file that cannot be read: one line each, no traceback. By real
    permissions (not as root, who writes and reads anyway), and for every user, root included (CI), by the same
    refusals raised where the OS raises them (helpers/refusing.py: permissions, a read-only mount)."""
    from helpers.hostile import encoded, gradient

    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "a.jpg").write_bytes(encoded(gradient(), "JPEG"))
    (ro / "secret.png").write_bytes(encoded(gradient(), "PNG"))
    run: tuple[str, ...] = ("colorsplash",)
    if refusal == "permissions":
        if os.geteuid() == 0:
            pytest.skip("running as root: permissions do not stop writes or reads (the other cases check it)")
        (ro / "secret.png").chmod(0)
        ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        run = ("helpers.refusing", str(getattr(errno, refusal)), str(ro), str(ro / "secret.png"))
    try:
        before = {p: p.stat().st_mtime_ns for p in ro.iterdir()}
        code, err, counts = colorsplash(tiny_onnx, "splash", str(ro), run=run)
        check_clean(err)
        assert code == 1 and counts == (2, 0, 0, 2), err
        assert "cannot write" in "".join(lines_about(err, ro / "a.jpg")), err
        unreadable = lines_about(err, ro / "secret.png")
        assert len(unreadable) == 1 and "permissions" in unreadable[0] and "re-export" not in unreadable[0], err
        assert {p: p.stat().st_mtime_ns for p in before} == before
        assert sorted(p.name for p in ro.iterdir()) == ["a.jpg", "secret.png"]
    finally:
        ro.chmod(stat.S_IRWXU)
        (ro / "secret.png").chmod(stat.S_IRUSR | stat.S_IWUSR)
