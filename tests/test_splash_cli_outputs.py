"""``colorsplash splash`` and ``colorsplash mask`` outputs: naming and folders, never an input nor a user's file
replaced, results that must read back, -o FILE, standard input and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.splash_cli import (
    blob_file,
    keyed_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, keyed)
    run,
)
from PIL import Image

from colorsplash.cli import main
from colorsplash.runtime.planning import OutputPlan, plan_tasks


def test_output_dir_mirrors_tree_recursive_and_globs(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    blob_file(src / "top.png", 0)
    blob_file(src / "sub" / "deep.png", 1)
    out = tmp_path / "out"
    assert run(capsys, "splash", str(src), "-o", str(out), "--model", str(tiny_onnx))[0] == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["top.splash.png"]
    code, err = run(capsys, "splash", str(src), "-o", str(out), "-r", "--model", str(tiny_onnx))
    assert code == 1 and "top.splash.png already exists" in err  # an earlier result is not replaced silently
    assert (out / "sub" / "deep.splash.png").is_file()
    assert run(capsys, "splash", str(src), "-o", str(out), "-r", "--skip-existing", "--model", str(tiny_onnx))[0] == 0
    glob_out = tmp_path / "g"
    assert run(capsys, "splash", str(src / "*.png"), "-o", str(glob_out), "--model", str(tiny_onnx))[0] == 0
    assert [p.name for p in glob_out.iterdir()] == ["top.splash.png"]


def test_inputs_are_never_overwritten(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "x.jpg", 0)
    blob_file(tmp_path / "x.png", 1)
    original = (tmp_path / "x.png").read_bytes()
    code, err = run(
        capsys, "mask", str(tmp_path / "x.jpg"), str(tmp_path / "x.png"), "-o", str(tmp_path), "--model", str(tiny_onnx)
    )
    # -o is the photos' own folder: masks are tagged (x.mask.png), never x.png over the user's photo
    assert code == 1 and "x.mask.png is already the output of" in err and "rename one of them" in err
    assert "-o DIR" not in err  # -o was given: no hint to give it
    assert (tmp_path / "x.png").read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg", "x.mask.png", "x.png"]


def test_unwritable_output_is_per_file(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blob_file(tmp_path / "in" / "ok.png", 0)
    blob_file(tmp_path / "in" / "sub" / "blocked.png", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where a folder should be")
    code, err = run(capsys, "splash", str(tmp_path / "in"), "-r", "-o", str(out), "--model", str(tiny_onnx))
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if "blocked.png" in line and "cannot write" in line]
    assert (out / "ok.splash.png").is_file()
    assert main(["splash", str(tmp_path / "in"), "-o", str(out / "sub"), "--model", str(tiny_onnx)]) == 2
    assert "not a folder" in capsys.readouterr().err


def png_named_jpg(path: Path, seed: int = 0) -> None:
    """A PNG file named ``.jpg``: its result's extension follows the content (``.png``)."""
    blob_file(path.with_suffix(".tmp.png"), seed)
    path.with_suffix(".tmp.png").rename(path)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_content_renamed_result_never_lands_on_an_input(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 1: `splash z.jpg z.splash.png` with PNG bytes in z.jpg must not overwrite z.splash.png."""
    png_named_jpg(tmp_path / "z.jpg")
    blob_file(tmp_path / "z.splash.png", 1)
    before = snapshot(tmp_path)
    code, err = run(
        capsys, "splash", str(tmp_path / "z.jpg"), str(tmp_path / "z.splash.png"), "--model", str(tiny_onnx)
    )
    assert code == 1 and f"{tmp_path / 'z.jpg'}: its output {tmp_path / 'z.splash.png'} is an input file" in err
    assert "done 1, skipped 0, failed 1" in err
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {"z.splash.splash.png"}


def test_users_files_are_not_replaced_without_overwrite(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 2: `mask photo.jpg -o .` beside the user's photo.png; an existing x.splash.jpg."""
    blob_file(tmp_path / "photo.jpg", 0)
    blob_file(tmp_path / "photo.png", 1)
    user_png = (tmp_path / "photo.png").read_bytes()
    assert run(capsys, "mask", str(tmp_path / "photo.jpg"), "-o", str(tmp_path), "--model", str(tiny_onnx))[0] == 0
    assert (tmp_path / "photo.png").read_bytes() == user_png and (tmp_path / "photo.mask.png").is_file()
    blob_file(tmp_path / "x.jpg", 2)
    (tmp_path / "x.splash.jpg").write_bytes(b"my own notes")
    code, err = run(capsys, "splash", str(tmp_path / "x.jpg"), "--model", str(tiny_onnx))
    assert code == 1 and "x.splash.jpg already exists and was not made by this run; not replaced" in err
    assert (tmp_path / "x.splash.jpg").read_bytes() == b"my own notes"
    code, err = run(capsys, "splash", str(tmp_path / "x.jpg"), "--skip-existing", "--model", str(tiny_onnx))
    assert code == 0 and (tmp_path / "x.splash.jpg").read_bytes() == b"my own notes"
    assert run(capsys, "splash", str(tmp_path / "x.jpg"), "--overwrite", "--model", str(tiny_onnx))[0] == 0
    assert Image.open(tmp_path / "x.splash.jpg").format == "JPEG"
    assert main(["splash", str(tmp_path / "x.jpg"), "--overwrite", "--skip-existing"]) == 2  # one or the other


def test_two_inputs_one_result_name_counts_true(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16 item 3: `splash y.jpg y.png` (y.jpg holds PNG bytes) both want y.splash.png: one is refused."""
    png_named_jpg(tmp_path / "y.jpg", 0)
    blob_file(tmp_path / "y.png", 1)
    code, err = run(capsys, "splash", str(tmp_path / "y.jpg"), str(tmp_path / "y.png"), "--model", str(tiny_onnx))
    assert code == 1 and "done 1, skipped 0, failed 1" in err
    assert f"{tmp_path / 'y.png'}: its output {tmp_path / 'y.splash.png'} is already the output of" in err
    assert "use -o DIR" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.jpg", "y.png", "y.splash.png"]


def test_output_that_does_not_read_back_is_a_failure(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 4: an output is decoded before its rename; a broken one is "failed", not "done"."""
    import colorsplash.runtime.pictures.photo_write as photo_write

    real = photo_write.encode_image
    monkeypatch.setattr(photo_write, "encode_image", lambda *a, **k: real(*a, **k)[:-200])
    blob_file(tmp_path / "a.png", 0)
    code, err = run(capsys, "splash", str(tmp_path / "a.png"), "--model", str(tiny_onnx))
    assert code == 1 and "does not read back" in err and "done 0, skipped 0, failed 1" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize(("name", "fmt"), [("out.jpg", "JPEG"), ("out.WEBP", "WEBP"), ("deep/out.tif", "TIFF")])
def test_output_file_with_one_input(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], name: str, fmt: str
) -> None:
    """Issue 16 item 16: `splash in.png -o out.jpg` writes that file, its format from the extension."""
    blob_file(tmp_path / "in.png", 0)
    assert (
        run(capsys, "splash", str(tmp_path / "in.png"), "-o", str(tmp_path / name), "--model", str(tiny_onnx))[0] == 0
    )
    with Image.open(tmp_path / name) as img:
        assert img.format == fmt and img.size == (160, 120) and (tmp_path / name).is_file()
    assert (
        run(capsys, "mask", str(tmp_path / "in.png"), "-o", str(tmp_path / "m.png"), "--model", str(tiny_onnx))[0] == 0
    )
    assert Image.open(tmp_path / "m.png").mode == "L"
    blob_file(tmp_path / "two.png", 1)
    assert main(["splash", str(tmp_path / "in.png"), str(tmp_path / "two.png"), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "names one file, but 2 pictures were given" in capsys.readouterr().err
    assert main(["splash", str(tmp_path / "in.png"), "--effect", "transparent", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "cannot hold the transparent result" in capsys.readouterr().err
    assert not (tmp_path / "x.jpg").exists()
    assert (
        main(
            [
                "-q",
                "splash",
                str(tmp_path / "in.png"),
                "-o",
                str(tmp_path / "in.png"),
                "--overwrite",
                "--model",
                str(tiny_onnx),
            ]
        )
        == 1
    )  # never the input, even with --overwrite
    assert "is an input file" in capsys.readouterr().err


def test_standard_input_and_output(tmp_path: Path, tiny_onnx: Path) -> None:
    """Issue 16 item 16: `-` reads standard input and writes standard output for splash and mask."""
    import io

    blob_file(tmp_path / "a.jpg", 0, quality=95)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for verb, fmt, mode in (("splash", "JPEG", "RGB"), ("mask", "PNG", "L")):
        done = subprocess.run(
            [sys.executable, "-m", "colorsplash", "-q", verb, "-", "--model", str(tiny_onnx)],
            input=(tmp_path / "a.jpg").read_bytes(),
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
        with Image.open(io.BytesIO(done.stdout)) as img:
            assert img.format == fmt and img.mode == mode and img.size == (160, 120)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorsplash",
            "-q",
            "splash",
            str(tmp_path / "a.jpg"),
            "-o",
            "-",
            "--model",
            str(tiny_onnx),
        ],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and Image.open(io.BytesIO(done.stdout)).format == "JPEG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]


def test_output_folder_is_the_input_folder(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 20: `splash . -o .` finds the pictures beside it; a too-long result name is one clear line."""
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.jpg", 1)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "splash", ".", "-o", ".", "--model", str(tiny_onnx))[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.splash.png", "b.jpg", "b.splash.jpg"]
    long = "n" * 240 + ".png"  # 244 bytes; its result name (251) fits, and the temporary name must as well
    blob_file(tmp_path / long, 2)
    assert run(capsys, "splash", long, "--model", str(tiny_onnx))[0] == 0
    assert (tmp_path / ("n" * 240 + ".splash.png")).is_file()
    longer = "m" * 250 + ".png"
    blob_file(tmp_path / longer, 3)
    code, err = run(capsys, "splash", longer, "--model", str(tiny_onnx))
    assert code == 1 and "is longer than the 255 bytes" in err and "; rename the input" in err and "Errno" not in err


class _Pipe:
    """A standard output whose reader takes ``chunk`` bytes per write and closes after ``limit`` bytes."""

    def __init__(self, chunk: int, limit: int) -> None:
        self.chunk, self.limit, self.got = chunk, limit, bytearray()

    def write(self, data: memoryview) -> int:
        if len(self.got) >= self.limit:
            raise BrokenPipeError(32, "Broken pipe")
        take = bytes(data[: min(self.chunk, self.limit - len(self.got))])
        self.got += take
        return len(take)

    def flush(self) -> None:
        pass


def test_standard_output_is_written_whole_or_the_file_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe that takes part of a write returns a short count: the rest must follow, or the file must fail."""
    import io
    import types

    from colorsplash.runtime.pictures import photo_write

    picture = np.random.default_rng(0).integers(0, 255, (40, 300, 3), dtype=np.uint8)
    encoded = io.BytesIO()
    Image.fromarray(picture).save(encoded, "PNG")
    data = encoded.getvalue()
    whole = _Pipe(chunk=1000, limit=10**9)
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=whole))
    photo_write.write_stdout(data, "PNG", picture.shape)
    assert bytes(whole.got) == data
    closed = _Pipe(chunk=1000, limit=5000)
    monkeypatch.setattr(sys, "stdout", types.SimpleNamespace(buffer=closed))
    with pytest.raises(OSError, match="closed by its reader"):
        photo_write.write_stdout(data, "PNG", picture.shape)


def test_output_file_in_a_format_not_written_is_refused_not_made_a_folder(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o out.heic` used to create a folder named out.heic and write the result inside it."""
    blob_file(tmp_path / "a.jpg", 0)
    for name in ("out.heic", "out.ppm"):
        code, err = run(
            capsys, "splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "-o", str(tmp_path / name)
        )
        assert code == 2 and "not written here" in err and ".png" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
    code, _ = run(capsys, "splash", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "-o", str(tmp_path / "out.d"))
    assert code == 0 and (tmp_path / "out.d" / "a.splash.jpg").is_file()  # not a picture extension: a folder


def test_a_closed_standard_error_never_writes_into_the_picture_on_standard_output(
    tmp_path: Path, tiny_onnx: Path
) -> None:
    """With 2>&- Python's print() falls back to stdout: the summary line was appended to the JPEG written there."""
    blob_file(tmp_path / "a.jpg", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-m", "colorsplash", "splash", str(tmp_path / "a.jpg"), "-o", "-", "--model", str(tiny_onnx)],
        stdout=subprocess.PIPE,
        env=env,
        timeout=120,
        preexec_fn=lambda: os.close(2),  # noqa: PLW1509 -- the child starts with standard error closed
    )
    assert done.returncode == 0 and done.stdout.endswith(b"\xff\xd9") and b"file(s)" not in done.stdout


def test_an_output_ending_in_a_slash_is_a_folder(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-o shots.jpg/` (a folder, by its /) wrote the file shots.jpg; with two photos it said "-o shots.jpg names
    one file ... give -o a folder", of the folder given."""
    blob_file(tmp_path / "a.png", 0)
    blob_file(tmp_path / "b.png", 1)
    for photos in (["a.png"], ["a.png", "b.png"]):
        shots = tmp_path / f"shots{len(photos)}.jpg"
        code, err = run(
            capsys, "splash", *(str(tmp_path / p) for p in photos), "-o", f"{shots}/", "--model", str(tiny_onnx)
        )
        assert code == 0, err
        assert sorted(p.name for p in shots.iterdir()) == [f"{Path(p).stem}.splash.png" for p in photos]


def test_outputs_differing_only_in_case_are_one_file(tmp_path: Path) -> None:
    """On macOS and Windows A.splash.png and a.splash.png are the same file: the second would replace the first."""
    (tmp_path / "upper").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "upper" / "A.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    out = tmp_path / "out"
    tasks, errors = plan_tasks([(tmp_path / "a.png", None), (tmp_path / "upper" / "A.png", None)], OutputPlan(out))
    assert [t.output.name for t in tasks] == ["a.splash.png"]
    assert len(errors) == 1 and "is already the output of" in errors[0]


def test_outputs_differing_only_in_unicode_form_are_one_file(tmp_path: Path) -> None:
    """On macOS (APFS, HFS+) café in NFC (é one character) and in NFD (e and an accent) name one file: the second
    photo's result replaced the first's with --overwrite (without it, the line said the first's result "was not made
    by this run"), where A.png and a.png were already said to collide."""
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    for sub, stem in (("composed", nfc), ("decomposed", nfd)):
        (tmp_path / sub).mkdir()
        Image.new("RGB", (4, 4)).save(tmp_path / sub / f"{stem}.png")
    items = [(tmp_path / "composed" / f"{nfc}.png", None), (tmp_path / "decomposed" / f"{nfd}.png", None)]
    tasks, errors = plan_tasks(items, OutputPlan(tmp_path / "out", overwrite=True))
    assert [t.output.name for t in tasks] == [f"{nfc}.splash.png"]
    assert len(errors) == 1 and "is already the output of" in errors[0]


def test_same_names_from_different_folders_are_told_to_give_the_folder(
    tmp_path: Path, tiny_onnx: Path, keyed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A glob's g/a/x.png and g/b/x.png into one -o DIR collide; the line says how to keep them apart (the folder
    as INPUT with -r mirrors a/ and b/), and that way both are written."""
    for i, sub in enumerate(("a", "b")):
        (tmp_path / "g" / sub).mkdir(parents=True)
        blob_file(tmp_path / "g" / sub / "x.png", i)
    out = tmp_path / "out"
    files = [str(tmp_path / "g" / sub / "x.png") for sub in ("a", "b")]
    code, err = run(capsys, "mask", *files, "-o", str(out), "--model", str(tiny_onnx))
    assert code == 1 and "is already the output of" in err and "common folder is the INPUT (with -r)" in err, err
    apart = tmp_path / "apart"
    code, err = run(capsys, "mask", str(tmp_path / "g"), "-r", "-o", str(apart), "--model", str(tiny_onnx))
    assert code == 0, err
    assert sorted(p.relative_to(apart).as_posix() for p in apart.rglob("*.png")) == ["a/x.png", "b/x.png"]


@pytest.mark.parametrize("verb", ["splash", "mask"])
def test_an_extension_alone_as_the_output_is_named_so(
    verb: str, tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-o .png`` is, to Python, a hidden name without an extension: it was made a folder ``.png`` and the result
    written into it, hidden. It is refused before any work, with the file name meant."""
    src = tmp_path / "cat.png"
    blob_file(src, 0)
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, verb, str(src), "-o", ".png", "--model", str(tiny_onnx))
    assert code == 2 and "-o .png: is an extension without a name" in err and "-o cat.png" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.png"]


def test_mask_output_file_in_a_compositing_format_is_refused_not_made_a_folder(
    tmp_path: Path, tiny_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mask -o matte.exr` (a compositor's format Pillow does not know) created a folder named matte.exr and wrote
    matte.exr/a.png inside it, with only "done 1" said."""
    blob_file(tmp_path / "a.jpg", 0)
    for name in ("matte.exr", "matte.dpx", "matte.hdr", "matte.psb", "matte.xcf"):
        code, err = run(capsys, "mask", str(tmp_path / "a.jpg"), "--model", str(tiny_onnx), "-o", str(tmp_path / name))
        assert code == 2 and f"{Path(name).suffix} pictures are not written here" in err and ".tif" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
