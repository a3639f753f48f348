"""The Python API given odd but plausible inputs (Pillow images whose file is closed, closed file objects...):
each is refused with a documented error that names it and says what to do."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import colorsplash
from colorsplash.runtime.model.onnx_model import Model


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "p.png"
    Image.new("RGB", (8, 6), (200, 30, 30)).save(path)
    return path


def test_a_pillow_image_closed_before_its_pixels_were_read_says_so(model: Model, png: Path) -> None:
    """``with Image.open(p) as im: ...`` then ``splash(im)`` (Pillow reads the pixels on first use) failed with a
    bare ``AssertionError`` from inside Pillow; a closed image with "Operation on closed image"."""
    with Image.open(png) as lazy:
        pass
    emptied = Image.open(png)
    emptied.load()
    emptied.close()
    with open(png, "rb") as fp:
        unread = Image.open(fp)
    for image in (lazy, emptied, unread):
        for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.subject_score):
            with pytest.raises(colorsplash.ImageReadError, match=r"^the Pillow image: it is closed.*\.load\(\)"):
                call(image, model)
    with Image.open(png) as loaded:
        loaded.load()
    assert colorsplash.splash(loaded, model).shape == (6, 8, 3)  # its pixels were read inside the block


def test_a_damaged_pillow_image_is_an_image_read_error(model: Model, png: Path) -> None:
    """A Pillow image of a cut-off file raised Pillow's ``OSError`` ("image file is truncated"), not the
    documented :class:`ImageReadError` that a path of the same file gives."""
    data = io.BytesIO()
    Image.effect_noise((64, 48), 60).convert("RGB").save(data, "JPEG")
    cut = data.getvalue()[: len(data.getvalue()) // 2]
    with pytest.raises(colorsplash.ImageReadError, match=r"^the Pillow image: unreadable or truncated picture"):
        colorsplash.splash(Image.open(io.BytesIO(cut)), model)


def test_a_closed_file_object_is_named_and_refused_in_words(model: Model, png: Path) -> None:
    """A file object closed before the call raised Python's bare ``ValueError: read of closed file`` (or "I/O
    operation on closed file"), naming no file and saying nothing of what to do."""
    with open(png, "rb") as fp:
        pass
    memory = io.BytesIO(png.read_bytes())
    memory.close()
    for source, name in ((fp, str(png)), (memory, "the BytesIO object")):
        for call in (colorsplash.splash, colorsplash.subject_score):
            with pytest.raises(colorsplash.ImageReadError) as caught:
                call(source, model)
            assert str(caught.value) == f"{name}: the file object is closed; open the file again, or pass its path"


@pytest.mark.parametrize("threads", [1.5, "2", True])
def test_load_model_refuses_threads_that_are_no_whole_number_in_words(tiny_onnx: Path, threads: object) -> None:
    """``threads=1.5`` or ``"2"`` reached ONNX Runtime's binding, which printed its C++ signature ("incompatible
    function arguments ... SupportsInt"); ``True`` ran one thread."""
    with pytest.raises(TypeError, match=r"^threads must be a whole number of threads or None, got "):
        colorsplash.load_model(tiny_onnx, threads=threads)  # type: ignore[arg-type]


def test_load_model_refuses_negative_threads_and_takes_numpy_counts(tiny_onnx: Path) -> None:
    """``threads=-1`` loaded without a word (ONNX Runtime's choice, not the count asked for)."""
    with pytest.raises(
        ValueError, match=r"^threads must be at least 1 \(or 0 or None: one per physical core\), got -1"
    ):
        colorsplash.load_model(tiny_onnx, threads=-1)
    assert colorsplash.load_model(tiny_onnx, threads=np.int64(1), precision="file").threads == 1  # type: ignore[arg-type]


def test_more_threads_than_cores_are_warned_about(tiny_onnx: Path) -> None:
    """``threads=10000`` loaded without a word and held the machine at a load of a thousand (spinning threads on
    two cores): more threads than the cores this process may use are warned about, the count asked for kept."""
    from colorsplash.runtime.cpu import usable_cores

    cores = usable_cores()
    with pytest.warns(UserWarning, match=rf"^threads={cores + 1} is more than the {cores} core\(s\) this process"):
        model = colorsplash.load_model(tiny_onnx, threads=cores + 1, precision="file")
    assert model.threads == cores + 1


def test_a_model_file_written_again_is_loaded_again(tiny_onnx: Path, tmp_path: Path) -> None:
    """``load_model("m.onnx")`` after ``m.onnx`` was exported again (a notebook's train, export, load loop) gave the
    model loaded before from the cache, without a word; ``splash(img, "m.onnx")`` too."""
    from colorsplash.runtime.model.onnx_model import bundled_model_path

    path = tmp_path / "m.onnx"
    shutil.copyfile(tiny_onnx, path)
    first = colorsplash.load_model(path, precision="file", device="cpu")
    assert colorsplash.load_model(path, precision="file", device="cpu") is first  # unchanged: the same model
    shutil.copyfile(bundled_model_path(), tmp_path / "new.onnx")
    os.replace(tmp_path / "new.onnx", path)  # exported again, as colorsplash export writes it
    again = colorsplash.load_model(path, precision="file", device="cpu")
    assert (first.config.name, again.config.name) == ("tiny-test", "colorsplash-pets-lite1")


def test_a_point_may_be_a_numpy_pair(model: Model) -> None:
    """``point=np.array([x, y])`` (a click's position, ``np.argwhere``'s row reversed) was refused: "expected X,Y in
    pixels, got array([10, 20])"; a tuple of the same numbers was taken."""
    image = np.full((30, 40, 3), 20, np.uint8)
    for point in (np.array([10, 20]), np.array([10.7, 20.2]), np.array([10, 20], np.int32)):
        assert colorsplash.SplashOptions(point=point).point == (10, 20)
        assert colorsplash.predict_alpha(image, model, point=point).shape == (30, 40)
    with pytest.raises(colorsplash.OptionError, match=r"^point: expected X,Y in pixels"):
        colorsplash.SplashOptions(point=np.array([[10, 20]]))
    with pytest.raises(colorsplash.OptionError, match=r"^point: expected X,Y in pixels"):
        colorsplash.SplashOptions(point=np.array([1, 2, 3]))


@pytest.mark.parametrize(
    ("shape", "hint"),
    [
        ((3, 30, 40), "; channels first (CxHxW)? pass x.transpose(1, 2, 0)"),
        ((1, 30, 40, 3), "; a batch of one? pass x[0]"),
        ((30, 40, 2), "; grey and alpha? pass PIL.Image.fromarray(x) (mode LA)"),
        ((30, 40, 5), ""),
        ((40,), ""),
    ],
)
def test_an_array_of_another_shape_names_the_shapes_taken(model: Model, shape: tuple[int, ...], hint: str) -> None:
    """An array of another shape was refused as "expected an HxWx3 RGB image array", though HxW and HxWx4 are taken
    too, and a channels-first array (a torch tensor's ``.numpy()``) or a batch of one got no word of what to do."""
    with pytest.raises(ValueError) as caught:
        colorsplash.splash(np.zeros(shape, np.uint8), model)
    expected = "expected an image array of shape HxWx3 (RGB), HxWx4 (RGBA), HxW or HxWx1 (grey), got shape "
    assert str(caught.value) == f"{expected}{shape}{hint}"
    if hint.endswith("(mode LA)"):
        assert colorsplash.splash(Image.fromarray(np.zeros(shape, np.uint8)), model).shape == (30, 40, 3)


def test_load_model_refusals_give_the_python_words_too(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_model(precision="int8")`` of a float-only model said "use --precision auto", and
    ``load_model(device="cuda")`` without CUDA "use --device cpu": flags of the CLI, not the API's keywords."""
    from colorsplash.runtime.model import onnx_model

    with pytest.raises(colorsplash.VariantError, match=r'use --precision auto \(Python: precision="auto"\)'):
        colorsplash.load_model(tiny_onnx, precision="int8", device="cpu")
    monkeypatch.setattr(onnx_model, "available_providers", lambda: [onnx_model.CPU_PROVIDER])
    with pytest.raises(colorsplash.ModelLoadError) as caught:
        colorsplash.load_model(tiny_onnx, device="cuda")
    assert str(caught.value).startswith('--device cuda (Python: device="cuda"): this ONNX Runtime has no CUDA')
    assert str(caught.value).endswith('or use --device cpu (Python: device="cpu")')


def test_max_pixels_may_be_a_numpy_integer(model: Model, png: Path) -> None:
    """``max_pixels=np.prod(image.shape[:2])`` was refused as "expected a whole number of pixels (at least 1) or
    None, got np.int64(48)": a whole number."""
    for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.subject_score):
        call(png, model, max_pixels=np.prod((6, 8)))
        with pytest.raises(colorsplash.ImageReadError, match=r"pixel limit 47.*max_pixels="):
            call(png, model, max_pixels=np.int32(47))
    with pytest.raises(colorsplash.OptionError, match=r"^max_pixels: expected a whole number"):
        colorsplash.splash(png, model, max_pixels=np.float64(48.0))


def test_matte_given_a_file_or_pillow_image_is_a_type_error_saying_what_it_takes(png: Path) -> None:
    """``matte`` takes arrays only; a path or a Pillow image was a ValueError "got <class 'str'>" (the API's
    documented error for an argument of the wrong type is TypeError)."""
    guide = np.full((6, 8), 0.5, np.float32)
    for image in (str(png), Image.open(png)):
        with pytest.raises(TypeError, match=r"image must be an RGB uint8 HxWx3 NumPy array.*np\.asarray"):
            colorsplash.matte(image, guide)  # type: ignore[arg-type]
    rgb = np.zeros((6, 8, 3), np.uint8)
    with pytest.raises(TypeError, match=r"guide must be a 2-D NumPy array.*got list"):
        colorsplash.matte(rgb, guide.tolist())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"RGB uint8 HxWx3"):
        colorsplash.matte(np.zeros((6, 8), np.uint8), guide)  # an array of the wrong shape stays a ValueError


def test_a_model_file_written_again_while_it_loads_is_loaded_again(
    tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's version was taken after the load: a file written again while ONNX Runtime read the old one (an
    export finishing meanwhile, another thread's load) was cached as that new version, and served stale after."""
    from colorsplash.runtime.model import onnx_model
    from colorsplash.runtime.model.onnx_model import bundled_model_path

    path = tmp_path / "m.onnx"
    shutil.copyfile(tiny_onnx, path)
    real = onnx_model._load_variant

    def load_then_export_again(*args: object) -> Model:
        loaded = real(*args)  # type: ignore[arg-type]
        shutil.copyfile(bundled_model_path(), tmp_path / "new.onnx")
        os.replace(tmp_path / "new.onnx", path)
        return loaded

    monkeypatch.setattr(onnx_model, "_load_variant", load_then_export_again)
    assert colorsplash.load_model(path, precision="file", device="cpu").config.name == "tiny-test"
    monkeypatch.setattr(onnx_model, "_load_variant", real)
    assert colorsplash.load_model(path, precision="file", device="cpu").config.name == "colorsplash-pets-lite1"


def test_an_empty_image_path_says_it_is_empty(model: Model) -> None:
    """``splash("")`` (a variable left empty) said ``: is a folder, not a file``: ``Path("")`` is the current
    folder, and the message named nothing."""
    for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.subject_score):
        with pytest.raises(colorsplash.ImageReadError, match=r"^the image path is empty \(''\); name a picture file$"):
            call("", model)


def test_matte_of_an_empty_image_or_guide_says_it_is_empty() -> None:
    """An empty image with a square guide failed inside OpenCV (``cv2.error: ... inv_scale_x > 0 in function
    'resize'``); an empty guide was said not to be 2-D (``got (0, 0)``)."""
    square = np.full((4, 4), 0.5, np.float32)
    for image in (np.zeros((0, 8, 3), np.uint8), np.zeros((6, 0, 3), np.uint8)):
        with pytest.raises(ValueError, match=r"^the image array is empty \(shape \(\d+, \d+, 3\)\); nothing to matte$"):
            colorsplash.matte(image, square)
    rgb = np.zeros((6, 8, 3), np.uint8)
    for guide in (np.zeros((0, 0), np.float32), np.zeros((6, 0), np.uint8)):
        with pytest.raises(ValueError, match=r"^the guide is empty \(shape \(\d+, \d+\)\); pass the photo's"):
            colorsplash.matte(rgb, guide)


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            PermissionError(13, "Permission denied"),
            r"cannot be opened \(Permission denied\); check the file's permissions",
        ),
        (
            OSError(5, "Input/output error"),
            r"cannot be read \(Input/output error\); check the disk or share and try again",
        ),
    ],
)
def test_a_photo_path_the_system_will_not_read_is_an_image_read_error(
    model: Model, png: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, said: str
) -> None:
    """A photo without read permission (or on a failing disk) raised Python's bare ``PermissionError: [Errno 13]
    Permission denied`` (or ``OSError``), not the documented ImageReadError a loop over photos catches."""

    def refuse(self: Path) -> bytes:
        raise error

    monkeypatch.setattr(Path, "read_bytes", refuse)  # running as root, chmod 000 is no refusal
    for call in (colorsplash.splash, colorsplash.subject_score):
        with pytest.raises(colorsplash.ImageReadError, match=rf"^{re.escape(str(png))}: {said}$"):
            call(png, model)


def test_a_photo_whose_header_the_disk_fails_to_read_is_said_so(
    model: Model, png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header is read first now (before the whole file): a failing disk or share met there said "unreadable or
    truncated picture ([Errno 5] Input/output error: ...); re-export it", the system's number and the wrong advice
    (the file may be fine), where the whole file's read said to check the disk."""
    from colorsplash.runtime.pictures import picture_open

    def fail(source: object) -> Any:
        raise OSError(5, "Input/output error", str(source))

    monkeypatch.setattr(picture_open, "open_unchecked", fail)
    said = r"cannot be read \(Input/output error\); check the disk or share and try again"
    with pytest.raises(colorsplash.ImageReadError, match=rf"^{re.escape(str(png))}: {said}$"):
        colorsplash.splash(png, model)


def test_a_write_only_or_failing_file_object_is_refused_in_words(model: Model, png: Path, tmp_path: Path) -> None:
    """``open(path, "ab")`` raised a bare ``io.UnsupportedOperation: read``, and a stream failing mid-read its
    bare ``OSError``: neither named the file nor said what to do."""

    class Failing(io.RawIOBase):
        name = "camera-stream"

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError(5, "Input/output error")

    written = tmp_path / "w.png"
    said = rf"^{re.escape(str(written))}: it is not open for reading; open the file for reading .*\(rb\)$"
    with open(written, "ab") as writer, pytest.raises(TypeError, match=said):
        colorsplash.splash(writer, model)
    with pytest.raises(colorsplash.ImageReadError, match=r"^camera-stream: cannot be read \(Input/output error\)"):
        colorsplash.splash(Failing(), model)

    class Quiet(io.RawIOBase):  # reads, but never says readable() (RawIOBase's own answer: False)
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readinto(self, buffer: Any) -> int:
            return self.data.readinto(buffer)

    assert colorsplash.splash(Quiet(png.read_bytes()), model).shape == (6, 8, 3)


@pytest.mark.parametrize(("edge", "shown"), [(1 + 1e-9, "0.5..1.000000001"), (-1e-12, "-1e-12..0.5")])
def test_matte_names_the_guide_value_out_of_range_in_full(edge: float, shown: str) -> None:
    """A guide a rounding step over 1 was refused as "must lie in [0, 1], got 0.5..1": three digits hid the
    value at fault, so the message contradicted itself."""
    guide = np.full((6, 8), 0.5)
    guide[0, 0] = edge
    with pytest.raises(ValueError, match=rf"must lie in \[0, 1\], got {re.escape(shown)}; .*np\.clip\(guide, 0, 1\)"):
        colorsplash.matte(np.zeros((6, 8, 3), np.uint8), guide)


def test_array_subclasses_are_read_as_their_plain_arrays(model: Model) -> None:
    """A grey ``np.matrix`` (2-D only) failed inside NumPy ("shape too large to be a matrix") when made RGB."""
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    expected = colorsplash.splash(grey, model)
    for image in (np.asmatrix(grey), np.ma.masked_array(grey)):
        assert np.array_equal(colorsplash.splash(image, model), expected)


@pytest.mark.parametrize("name", ["precision", "device", "threads"])
def test_model_settings_given_to_a_splash_say_they_are_load_models(model: Model, name: str) -> None:
    """``splash(img, precision="fp32")`` (``colorsplash splash --precision fp32`` on the CLI) was "precision:
    unknown option; known: effect, ...", not saying where the setting goes."""
    for call in (colorsplash.splash, colorsplash.predict_alpha, colorsplash.alpha_and_subject):
        with pytest.raises(colorsplash.OptionError, match=rf"^{name}: .*colorsplash\.load_model\({name}=\.\.\.\)$"):
            call(np.zeros((6, 8, 3), np.uint8), model, **{name: "fp32"})


def test_an_async_upload_says_to_pass_its_file(model: Model, png: Path) -> None:
    """An async web upload (Starlette's and FastAPI's ``UploadFile``, whose ``read`` is a coroutine) was told
    "reading it gave coroutine, not bytes; open the file in binary mode (rb)", with Python's "coroutine ... was
    never awaited" warning: it is told to pass its ``.file``, which works."""

    class Upload:
        def __init__(self, data: bytes) -> None:
            self.file = io.BytesIO(data)

        async def read(self) -> bytes:
            return self.file.read()

    upload = Upload(png.read_bytes())
    with pytest.raises(TypeError, match=r"^the Upload object: it is read asynchronously .* pass its \.file"):
        colorsplash.splash(upload, model)
    assert colorsplash.splash(upload.file, model).shape == (6, 8, 3)


@pytest.mark.parametrize("call", ["splash", "predict_alpha", "subject_score"])
def test_a_large_file_of_something_else_is_refused_before_it_is_read_whole(
    model: Model, tmp_path: Path, call: str
) -> None:
    """A 64 MB file that is no picture (a disk image named .jpg) was read whole into memory, then refused: a
    multi-GB one cost that much RAM. Its header is read first; so is that of a picture over ``max_pixels``."""
    import tracemalloc

    junk = tmp_path / "disk.jpg"
    with open(junk, "wb") as fp:
        fp.truncate(64 * 2**20)  # sparse: no disk space used
    huge = tmp_path / "huge.png"
    Image.new("L", (4000, 3000)).save(huge)
    with open(huge, "ab") as fp:  # bytes after IEND: the file is big, its header small
        fp.truncate(64 * 2**20)
    tracemalloc.start()
    try:
        with pytest.raises(colorsplash.ImageReadError, match=r"disk\.jpg: not a picture"):
            getattr(colorsplash, call)(str(junk), model=model)
        with pytest.raises(colorsplash.ImageReadError, match=r"huge\.png: 4000x3000 is more than the pixel limit"):
            getattr(colorsplash, call)(huge, model=model, max_pixels=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_a_photo_of_usual_size_is_read_without_a_header_parse_first(png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header-first check cost every photo of a batch a parse from its file (~0.3 ms of the few ms a photo may
    take outside the model): only files over HEADER_FIRST_BYTES are checked before they are read."""
    from colorsplash.runtime.pictures import photo_io

    parsed: list[object] = []
    monkeypatch.setattr(photo_io, "probe_picture", lambda *args: parsed.append(args))
    assert photo_io.read_picture_bytes(png) == png.read_bytes() and not parsed
    with open(png, "ab") as fp:
        fp.truncate(photo_io.HEADER_FIRST_BYTES + 1)
    photo_io.read_picture_bytes(png)
    assert len(parsed) == 1
