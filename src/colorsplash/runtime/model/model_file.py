"""A model file before ONNX Runtime opens it: a training checkpoint given by mistake, and where its weights come
from (the file itself, or external data files its tensors name); :class:`ModelLoadError` for both.

A tensor of an ONNX file may keep its values in another file (``data_location`` EXTERNAL, with a ``location``
path, relative to the model's folder), as exporters do for models over protobuf's 2 GB limit. ONNX Runtime 1.32
refuses a location that leaves the model's folder (``../``, an absolute path, a symbolic link pointing out), where
the folder of the file a linked model points to counts as the model's too (the Hugging Face cache: each file of a
snapshot is a link into ``../../blobs/``); older releases, which colorsplash supports (``onnxruntime>=1.17``),
read any location: a model file from elsewhere could make them read any file the user can (1.17 loaded
``../outside.bin`` and a link to it). :func:`external_data_problem` finds
every such location before ONNX Runtime opens the file (:func:`check_model_file`, called by
:func:`colorsplash.runtime.model.onnx_model.create_session`), so the rule is the same on every supported release.

The file is read as protobuf here (no ``onnx`` package: the light runtime has none), memory-mapped, descending
only into the messages that can hold a tensor (graphs, nodes, attributes, sparse tensors, functions, training
info); tensor values are skipped, never read.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

from colorsplash.runtime.files import in_utf8
from colorsplash.runtime.model.protobuf import NotProtobuf, ends_inside_a_field, fields, mapped, string_entry
from colorsplash.runtime.pictures.signatures import VIDEO_NAMES, other_format, signature_format

RUN_BEST = "best.pt"  # training.run_files.BEST, which a test keeps it equal to
CHECKPOINT_FORMAT = "colorsplash-checkpoint-v1"  # the ``format`` of every checkpoint train writes (training.checkpoint)
_PICKLE_HEAD = 1 << 20  # bytes of a checkpoint's pickle searched for its format: it is the dict's first entry

# Message -> {field number: message it holds}: the paths from ModelProto to every TensorProto (onnx.proto3).
_MESSAGES: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "function": {7: "node", 11: "attribute"},  # attribute_proto: attributes' defaults, a tensor among them
    "training": {1: "graph", 2: "graph"},
    "sparse": {1: "tensor", 2: "tensor"},
}
_EXTERNAL_DATA = 13  # TensorProto.external_data: StringStringEntryProto (key 1, value 2)
# ONNX Runtime's words for a file stamped newer than it reads, and the C++ place its messages name.
_NEWER = re.compile(r"Unsupported model IR version|Opset \d+ is under development|max supported IR version")
# The signature ends at its first ") " (a parameter list holds none), or ") const ": ORT_ENFORCE's words that follow
# start with the failed condition, in lower case ("node_arg was false. ..."), and may hold "(n) Op" further on.
_SOURCE_PLACE = re.compile(r"/onnxruntime_src/\S+:\d+ [^\n]*?\)(?: const)? ")
_IR_VERSION_TAG = 0x08  # ModelProto's first field: ir_version (field 1, a varint), which every exporter writes first
_MAX_DEPTH = 64  # subgraphs inside subgraphs; protobuf's own parser stops at 100


class ModelLoadError(RuntimeError):
    """A model file is missing or not a colorsplash ONNX file; the message names it."""


def _locations(buf: memoryview, kind: str, pos: int, end: int, depth: int = 0) -> Iterator[str]:
    """Every external-data ``location`` of the tensors inside the ``kind`` message at ``buf[pos:end]``."""
    if depth > _MAX_DEPTH:
        raise NotProtobuf("messages nested too deep")
    for field, start, stop in fields(buf, pos, end):
        if kind == "tensor":
            if field == _EXTERNAL_DATA:
                key, value = string_entry(buf, start, stop)
                if key == b"location":
                    yield value.decode("utf-8", "surrogateescape")
        elif (inner := _MESSAGES[kind].get(field)) is not None:
            yield from _locations(buf, inner, start, stop, depth + 1)


def external_locations(path: str | Path) -> list[str]:
    """The external-data locations named by the tensors of the ONNX file ``path``, as written (empty for a file
    that keeps its weights inside).

    Raises:
        NotProtobuf: the bytes are not protobuf (an ONNX file is).
        OSError: the file cannot be read.
    """
    with mapped(path) as buf:
        return sorted(set(_locations(buf, "model", 0, len(buf))))


def external_data_problem(path: str | Path) -> str | None:
    """Why ONNX Runtime must not open ``path``: a tensor keeps its values in a file that is not a plain file in
    the model's folder or below it (an absolute path, ``../``, a symbolic link pointing out, a pipe or device,
    a file that is not there); ``None`` when every external data file is one (or there are none). For a model
    given as a symbolic link, the folder of the file it points to is the model's too, as for ONNX Runtime 1.32.
    Raises as :func:`external_locations`."""
    folder = Path(path).parent
    homes = (folder.resolve(), Path(path).resolve().parent)
    for location in external_locations(path):
        problem = _location_problem(folder, homes, location)
        if problem is not None:
            return f"its weights are kept in an external data file {location!r}, which {problem}"
    return None


def _location_problem(folder: Path, homes: tuple[Path, Path], location: str) -> str | None:
    """Why ``location`` (a tensor's, relative to the model's ``folder``) may not be read, or ``None``. ``homes``:
    the folders it may lead into (the model's, resolved, and that of the file a linked model points to)."""
    if not location or "\0" in location:
        return "is not a file name"
    if os.path.isabs(location) or location.startswith(("/", "\\")):
        return "is an absolute path, outside the model's folder"
    target = (folder / location).resolve()
    if not any(target.is_relative_to(home) for home in homes):
        where = homes[0] if homes[0] == homes[1] else f"{homes[0]}, or {homes[1]} where the linked model file lies"
        return f"leads out of the model's folder ({where}) to {target}"
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return f"is not there ({target})"
    if not stat.S_ISREG(mode):
        return f"is not a plain file ({target} is a folder, pipe or device)"
    return None


def not_loadable(path: str | Path, said: object) -> ModelLoadError:
    """The error for a file ONNX Runtime cannot load (``said`` why): a training checkpoint is named as such (ONNX
    Runtime's own words say nothing), anything else is to be re-exported."""
    pickled = _torch_pickle(path)
    if pickled is not None and CHECKPOINT_FORMAT.encode() not in pickled:  # weights from elsewhere: export refuses them
        return ModelLoadError(
            f"{path}: a PyTorch file from elsewhere (weights of another network, e.g. an ImageNet encoder), not a "
            "colorsplash model nor checkpoint; give an .onnx file made by `colorsplash export` from a checkpoint of "
            "`colorsplash train`"
        )
    if pickled is not None:  # `train`'s best.pt, which `evaluate` takes
        return ModelLoadError(
            f"{path}: a training checkpoint, not an ONNX model; make one with "
            f"`colorsplash export {path} -o model.onnx` and give that"
        )
    media = _media_format(path)
    if media is not None:  # the photo and the model swapped: protobuf's words ("wire type 7") say nothing
        what = "video" if media in VIDEO_NAMES else "picture"
        return ModelLoadError(f"{path}: a {media} {what}, not a model; give the model file (.onnx) made by export")
    if _cut_short(path):  # "field runs past its message", and "re-export it" of the bundled model's copy
        return ModelLoadError(
            f"{path}: an ONNX model cut short (the file ends inside its data: a copy or download that did not "
            "finish?); copy it again, or export it again"
        )
    words = runtime_words(said)
    if _NEWER.search(words):  # a file from a newer exporter: no re-export by this colorsplash is the cure
        return ModelLoadError(
            f"{path}: made for a newer ONNX Runtime ({words}); upgrade it (pip install -U onnxruntime), or export "
            "the model again with this colorsplash"
        )
    return ModelLoadError(f"{path}: not a loadable ONNX model ({words}); re-export it with colorsplash export")


def runtime_words(said: object) -> str:
    """ONNX Runtime's reason ``said`` on one line, without the C++ source place and function signature it names
    (``/onnxruntime_src/.../model.cc:256 onnxruntime::Model::Model(onnx::ModelProto&&, ...)``)."""
    return " ".join(_SOURCE_PLACE.sub(" ", str(said)).split())


def _cut_short(path: str | Path) -> bool:
    """Whether ``path`` begins as an ONNX model does (field 1, ``ir_version``, a number) and ends inside a field
    (:func:`~colorsplash.runtime.model.protobuf.ends_inside_a_field`); ``False`` when it cannot be read."""
    try:
        with mapped(path) as buf:
            return len(buf) > 0 and buf[0] == _IR_VERSION_TAG and ends_inside_a_field(buf)
    except OSError:
        return False


def folder_hint(folder: Path, runs_checkpoints: bool = False) -> str | None:
    """What to give instead of ``folder`` given as the model: an ONNX file in it, or (a training run's folder)
    its checkpoint exported, or named itself where the caller ``runs_checkpoints`` (``evaluate``: it was told to
    export first); ``None`` when it holds neither. ``splash --model runs/cats`` said only "is a folder"."""
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError:  # not ours to list: the plain words
        return None
    models = [name for name in names if name.endswith(".onnx")]
    if models:
        return f"give a model file in it: {', '.join(str(folder / name) for name in models[:3])}"
    checkpoints = [name for name in names if name.endswith(".pt")]
    if checkpoints:  # a run's best checkpoint first, what export takes (the runtime imports nothing of training)
        chosen = RUN_BEST if RUN_BEST in checkpoints else checkpoints[0]
        if runs_checkpoints:
            return f"it holds training checkpoints: give one, e.g. {folder / chosen}"
        return f"it holds training checkpoints: make a model with `colorsplash export {folder / chosen} -o model.onnx`"
    return None


def _media_format(path: str | Path) -> str | None:
    """The picture or video format of the file at ``path`` by its first bytes
    (:mod:`~colorsplash.runtime.pictures.signatures`), or ``None`` (not one, or unreadable)."""
    try:
        with open(path, "rb") as f:
            prefix = f.read(16)
    except OSError:
        return None
    return signature_format(prefix) or other_format(prefix)


@contextlib.contextmanager
def named_by_variable(variable: str | None) -> Iterator[None]:
    """A :class:`ModelLoadError` raised inside says that the environment ``variable`` named the model (``None``: the
    caller named it): ``splash photo.jpg``, no ``--model`` given, said only "old.pt: a training checkpoint ... give
    that", of a file the user had set ``$COLORSPLASH_MODEL`` to long before."""
    try:
        yield
    except ModelLoadError as err:
        if variable is None:
            raise
        raise ModelLoadError(f"{err} (${variable} names this model: point it at another, or unset it)") from err


def check_model_path(path: str | os.PathLike[str] | None) -> None:
    """Refuse a model path given as text no file can have (``None``, the default model, passes).

    Raises:
        ModelLoadError: the path is empty (``Path("")`` is the current folder: ": is a folder, not a file"), or holds
            a NUL character (Python's own "embedded null byte" named no file).
    """
    text = os.fspath(path) if path is not None else None
    if text == "":
        raise ModelLoadError("the model path is empty; name an exported .onnx file, or None for the default model")
    if text is not None and "\0" in text:
        raise ModelLoadError(f"{text!r}: holds a NUL character (\\x00), which no file name can; check the path")


def session_source(path: str | Path) -> str | bytes:
    """What ONNX Runtime is given to open ``path`` (:func:`colorsplash.runtime.model.onnx_model.create_session`): the
    path, or the file's bytes when the path is not UTF-8 (a name or a folder above it in Latin-1 bytes,
    ``caf\\xe9``, which Python holds as surrogates and ONNX Runtime's path argument refused: "incompatible
    constructor arguments", then "re-export it"), so such a model loads as from any other folder.

    Raises:
        ModelLoadError: such a path's model keeps its weights in external data files, which ONNX Runtime finds
            only by the model's own path.
        OSError: the file cannot be read.
    """
    if in_utf8(path):
        return os.fspath(path)
    if external_locations(path):
        raise ModelLoadError(
            f"{path}: ONNX Runtime opens only paths in UTF-8, and this one is not (a name in another encoding); its "
            "weights are kept in external data files found by that path: rename the file or folder, or re-export "
            "the model as one file with colorsplash export"
        )
    return Path(path).read_bytes()


def check_model_file(path: str | Path) -> None:
    """Refuse, before ONNX Runtime opens it, an empty file (ONNX Runtime said "No graph was found in the
    protobuf") and a model whose tensors keep their values in a file that is not a plain file in the model's
    folder (:func:`external_data_problem`): ONNX Runtime before 1.32 read ``../`` paths and links out of the
    folder, so a model from elsewhere could read any file."""
    with contextlib.suppress(OSError):
        if os.stat(path).st_size == 0:
            raise ModelLoadError(f"{path}: file is empty (0 bytes); copy or export the model again")
    try:
        problem = external_data_problem(path)
    except (NotProtobuf, OSError) as err:
        raise not_loadable(path, err) from err
    if problem is not None:
        raise ModelLoadError(
            f"{path}: {problem}; a model's external data is read only from plain files in its own folder, so "
            "it was not opened: put the data file beside the model, or re-export the model as one file with "
            "colorsplash export"
        )


def _torch_pickle(path: str | Path) -> bytes | None:
    """The start (up to :data:`_PICKLE_HEAD` bytes) of the pickle a ``torch.save`` file at ``path`` holds (a zip
    archive's ``data.pkl`` record, or an older bare pickle), read without torch; ``None`` when it holds none."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            if head[:1] == b"\x80" and head[1:] in (b"\x02", b"\x03", b"\x04", b"\x05"):  # pickle protocol 2..5
                return head + f.read(_PICKLE_HEAD - 2)
        if head == b"PK":
            with zipfile.ZipFile(path) as archive:
                record = _pickle_record(archive)
                if record is not None:
                    with archive.open(record) as f:
                        return f.read(_PICKLE_HEAD)
    except (OSError, zipfile.BadZipFile):
        pass
    return None


def _pickle_record(archive: zipfile.ZipFile) -> str | None:
    """The name of the ``data.pkl`` record (``torch.save``'s pickle, in a folder of the run's name) in ``archive``."""
    return next((n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "data.pkl"), None)


def is_torch_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` holds a PyTorch checkpoint (``torch.save``: a zip archive with a ``data.pkl`` record, or an
    older bare pickle), read without torch."""
    return _torch_pickle(path) is not None


def zip_cut_short(path: str | Path) -> bool:
    """Whether ``path`` begins as a zip archive (``torch.save``'s format) that cannot be read as one: cut short
    (the directory of its records is at its end) or damaged, or whose pickle cannot be read. A whole archive with
    no pickle (NumPy's ``.npz``, a zip of photos) is not: it is another file, which copying again would not mend."""
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                return False
        with zipfile.ZipFile(path) as archive:
            pickled = _pickle_record(archive) is not None
    except zipfile.BadZipFile:
        return True
    except OSError:
        return False
    return pickled and _torch_pickle(path) is None
