"""Inference with ONNX Runtime: load a model file (or the bundled one) and predict a soft alpha.

No PyTorch needed. The model's config (input size, normalisation) is read from the file's metadata. Which variant
of the model runs (int8 or float, see :mod:`colorsplash.runtime.model.variants`) and on which device (CPU or CUDA) is
decided at load time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from colorsplash.runtime.allocator import tune_allocator
from colorsplash.runtime.cpu import checked_threads
from colorsplash.runtime.files import file_version, not_a_file
from colorsplash.runtime.fork_safe import ForkSafeLock
from colorsplash.runtime.model import model_file
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.model_file import ModelLoadError as ModelLoadError  # re-exported: callers import it here
from colorsplash.runtime.model.model_file import (
    check_model_file,
    check_model_path,
    folder_hint,
    not_loadable,
    session_source,
)
from colorsplash.runtime.model.model_file import is_torch_checkpoint as is_torch_checkpoint
from colorsplash.runtime.model.model_graph import PRESENCE_OUTPUT, checked_config, read_onnx_config
from colorsplash.runtime.model.preprocess import photo_probability, preprocess, upsample_probability
from colorsplash.runtime.model.stopping import run_session
from colorsplash.runtime.model.variants import (
    PRECISION_CHOICES,
    Variant,
    VariantError,
    by_kind,
    choose_auto,
    find_variants,
    read_config,
)
from colorsplash.runtime.wording import model_label

BUNDLED_MODEL_NAME = "pets.onnx"
MODEL_ENV = "COLORSPLASH_MODEL"
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
CPU_PROVIDER, CUDA_PROVIDER = "CPUExecutionProvider", "CUDAExecutionProvider"
_USE_CPU = '--device cpu (Python: device="cpu")'  # the CLI's words and the API's: load_model raises these too
_twin_lock = ForkSafeLock()  # making a model's spinning twin (Model._session_for_run)


def bundled_model_path() -> Path:
    """Path of the pet model shipped inside the package (``colorsplash/models/pets.onnx``)."""
    return Path(str(resources.files("colorsplash") / "models" / BUNDLED_MODEL_NAME))


# onnxruntime-gpu installs the same `onnxruntime` package as the CPU wheel, a dependency of colorsplash: with
# both installed their files mix and the CPU build wins. Removing the CPU wheel removes shared files, so the GPU
# wheel is reinstalled last.
GPU_INSTALL = (
    "pip install 'colorsplash[gpu]' && pip uninstall -y onnxruntime && "
    "pip install --force-reinstall --no-deps onnxruntime-gpu"
)


def default_model_path() -> Path:
    """``$COLORSPLASH_MODEL`` when set, else the bundled model."""
    env = os.environ.get(MODEL_ENV)
    return Path(env) if env else bundled_model_path()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` as float32, same shape. OpenCV's exp: within 2e-7 of float64, a third of NumPy's
    time on a 384x384 map (0.12 against 0.33 ms), and no overflow warnings (its input is clamped)."""
    if x.size == 0:
        return x.astype(np.float32)
    y = np.negative(x, dtype=np.float32).reshape(-1, x.shape[-1] if x.ndim else 1)
    cv2.exp(y, dst=y)
    y += 1.0
    np.reciprocal(y, out=y)
    return y.reshape(x.shape)


@dataclass(eq=False)  # a loaded resource: equal only to itself, and hashable (a dict key, a WeakKeyDictionary's)
class Model:
    """A loaded ONNX model and its config.

    Prediction is thread-safe (ONNX Runtime sessions allow concurrent ``run`` calls).

    The *subject score* answers "is there a subject in this photo?" in [0, 1]: the ``sigmoid`` of the file's
    second output ``presence`` (``N x 1``) when it has one, else (older one-output files) the highest pixel
    probability. A photo holds a subject when its score is at least :attr:`presence_threshold` (and some pixel
    reaches the splash's probability cut-off).
    """

    path: Path
    config: ModelConfig
    session: object
    device: str = "cpu"  # where the session runs: ``cpu`` or ``cuda``
    threads: int | None = None  # intra-op threads of ``session`` (``None``: ONNX Runtime's default)
    _own_session: int = field(default=0, repr=False, compare=False)  # id() of the session load_model made
    _version: tuple[int, int, int] | None = field(default=None, repr=False, compare=False)  # path's, as loaded
    _spinning: tuple[int, object] | None = field(default=None, repr=False, compare=False)
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    # ``path`` made absolute where it was loaded: a pickle or the spinning twin still names that file after os.chdir
    _file: Path = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._file = Path(self.path).absolute()

    @contextmanager
    def exclusive(self, on: bool = True) -> Iterator[None]:
        """Model runs of this thread inside the block have the CPU to themselves (the API's one-photo path: no
        decode or encode beside them): they use a second session of the same file whose threads spin between
        operators during a run, instead of sleeping and being woken for each one, and stop at its end. On the
        2-core AVX2 machine the int8 forward pass took 44.6-44.7 ms that way in five fresh processes of six
        (48.6 in one), against 47-52 ms by the process with sleeping threads. Not for runs that share the cores
        with other work (the overlapped decode of a large JPEG: 12 MP 1.55-1.62x the floor with spinning against
        1.45-1.49x): ``on=False`` undoes it inside the block, as
        :func:`~colorsplash.runtime.pipeline.decode_and_plan` runs the model beside that decode, whoever called it
        (the Python API and the server within ``exclusive``). A session set on :attr:`session` by hand (a stand-in)
        is used as it is."""
        before = getattr(self._local, "exclusive", False)
        self._local.exclusive = on
        try:
            yield
        finally:
            self._local.exclusive = before

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its file and settings, not its session (ONNX Runtime's cannot be pickled): a worker process
        (``ProcessPoolExecutor``, ``multiprocessing``) loads the same file again with :func:`load_model`, with
        ``precision="file"``: the variant this model runs, not a new choice. The path goes absolute, as it was
        where the model was loaded: a worker that changed folder, or a parent that did after loading, still names
        the same file."""
        return (load_model, (self._file, self.threads, "file", self.device))

    def __repr__(self) -> str:
        """One line a person can read (the config, with its training record, runs to pages; see :attr:`config`)."""
        c = self.config
        return (
            f"Model({str(self.path)!r}, name={c.name!r}, subject={c.subject!r}, arch={c.arch!r}, "
            f"input_size={c.input_size}, device={self.device!r}, presence={self.has_presence})"
        )

    def _session_for_run(self) -> Any:
        """:attr:`session`, or inside :meth:`exclusive` its spinning twin (made on first use, for the CPU)."""
        own = id(self.session) == self._own_session  # not a stand-in set by hand
        if not (getattr(self._local, "exclusive", False) and own and self.device == "cpu"):
            return self.session
        if self._spinning is None and file_version(self._file) != self._version:
            return self.session  # the file was written again since: a twin made from it would run another graph
        spinning = self._spinning  # made: no lock (it is every model's: one being made held up the others' calls)
        if spinning is not None and spinning[0] == id(self.session):
            return spinning[1]
        with _twin_lock:  # threads meeting on first use make one twin, not one each (memory)
            spinning = self._spinning
            if spinning is None or spinning[0] != id(self.session):
                spinning = (id(self.session), create_session(self._file, self.threads, self.device, spin=True))
                self._spinning = spinning
        return spinning[1]

    @property
    def has_presence(self) -> bool:
        """Whether the file has a photo-level ``presence`` output (else the score is the highest probability)."""
        outputs = self.session.get_outputs()  # type: ignore[attr-defined]
        return any(o.name == PRESENCE_OUTPUT for o in outputs)

    @property
    def label(self) -> str:
        """How a verb names this model in its lines (:func:`colorsplash.runtime.wording.model_label`): its
        description, and its path unless it is the bundled model (any of its variants)."""
        bundled = self.path.resolve().parent == bundled_model_path().resolve().parent
        return model_label(self.config, self.path, bundled)

    @property
    def presence_threshold(self) -> float:
        """Subject score from which a photo counts as holding a subject: the model config's, chosen on
        validation photos (files from before the score: 0.5, i.e. "some pixel reached probability 0.5")."""
        return self.config.presence_threshold

    def predict_lowres(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 ``HxWx3`` -> subject probability float32 ``S x S`` in [0, 1] at the model's size."""
        return self.predict_lowres_batch([image])[0]

    def predict_lowres_batch(self, images: list[np.ndarray]) -> np.ndarray:
        """Several RGB uint8 images (any sizes) -> float32 ``N x S x S`` probabilities."""
        return self.predict_scored_batch(images)[0]

    def predict_scored(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """RGB uint8 ``HxWx3`` -> (probability float32 ``S x S`` in [0, 1], subject score in [0, 1]).

        A one-output file's score is its highest probability, computed from :meth:`predict_lowres` (so a
        stand-in for that method also stands in here)."""
        if not self.has_presence:
            prob = self.predict_lowres(image)
            return prob, float(prob.max()) if prob.size else 0.0
        probs, scores = self.predict_scored_batch([image])
        return probs[0], float(scores[0])

    def predict_scored_batch(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Several RGB uint8 images -> (float32 ``N x S x S`` probabilities, each stretched over its image, float32
        ``N`` subject scores). Images beyond the config's ``pad_aspect`` are padded for the network and the padding
        cut off its answer (:func:`~colorsplash.runtime.model.preprocess.photo_probability`)."""
        x = np.stack([preprocess(im, self.config) for im in images])
        session = self._session_for_run()
        outputs = run_session(session, {session.get_inputs()[0].name: x})  # stoppable: runtime.model.stopping
        probs = _sigmoid(outputs[0][:, 0])
        for i, im in enumerate(images):
            probs[i] = photo_probability(probs[i], im.shape[0], im.shape[1], self.config)
        names = [o.name for o in session.get_outputs()]
        if PRESENCE_OUTPUT in names:
            scores = _sigmoid(outputs[names.index(PRESENCE_OUTPUT)].reshape(len(images), -1)[:, 0])
        else:
            scores = probs.reshape(len(images), -1).max(axis=1)
        return probs, scores.astype(np.float32)

    def predict_probability(self, image: np.ndarray) -> np.ndarray:
        """RGB uint8 ``HxWx3`` -> float32 ``HxW`` probability in [0, 1], bilinearly upsampled to the image size
        (no edge refinement; see :mod:`colorsplash.runtime.edges.alpha` for that)."""
        h, w = image.shape[:2]
        return upsample_probability(self.predict_lowres(image), h, w)


# Loaded models by (path, threads, precision, device), with the version of the named file they were loaded for (the
# chosen variant's is the model's own ``_version``).
_cache: dict[tuple[str, int, str, str], tuple[tuple[int, int, int] | None, Model]] = {}
_cache_lock = ForkSafeLock()  # a child forked during a parent thread's load loads for itself


def available_providers() -> list[str]:
    """ONNX Runtime's execution providers in this installation (``onnxruntime-gpu`` adds CUDA)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when this ONNX Runtime has CUDA support, else ``cpu``; ``cpu`` and ``cuda`` as given.

    Raises:
        ModelLoadError: ``cuda`` was asked for and ONNX Runtime has no CUDA provider; an unknown device name.
    """
    if device not in DEVICE_CHOICES:
        raise ModelLoadError(f"unknown device {device!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    has_cuda = CUDA_PROVIDER in available_providers()
    if device == "cuda" and not has_cuda:
        raise ModelLoadError(
            '--device cuda (Python: device="cuda"): this ONNX Runtime has no CUDA support (providers: '
            f"{', '.join(available_providers())}); install its CUDA build with {GPU_INSTALL} (it needs an NVIDIA "
            f"driver and the CUDA and cuDNN versions its release names), or use {_USE_CPU}"
        )
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    return device


def create_session(path: str | Path, threads: int | None = None, device: str = "cpu", spin: bool = False) -> Any:
    """An ONNX Runtime session for ``path`` on ``device`` (``cpu`` or ``cuda``, see :func:`resolve_device`) with
    ``threads`` intra-op threads (``None``: ORT's default, one per physical core), full graph optimisation and no
    thread spinning (``spin``: spinning during a run, stopped at its end; see :meth:`Model.exclusive`); the bench
    scripts use it for peer models too.

    Raises:
        ModelLoadError: ONNX Runtime cannot load the file, its external data lies outside its folder (refused
            before ONNX Runtime opens it: :func:`colorsplash.runtime.model.model_file.check_model_file`), or ``cuda``
            was asked and the CUDA provider failed to start (ONNX Runtime would otherwise fall back to the CPU
            silently).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle ONNX Runtime threads otherwise spin after each run and steal the cores from edge refinement,
    # blending and encoding, which follow every model call (measured: alpha step 146 -> 93 ms CPU on 12 MP),
    # or from the next model of a benchmark round-robin (our int8 model: 16 ms alone, 29-37 ms after spinning
    # sessions).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if spin:
        opts.add_session_config_entry("session.force_spinning_stop", "1")
    providers = [CUDA_PROVIDER, CPU_PROVIDER] if device == "cuda" else [CPU_PROVIDER]
    check_model_file(path)
    source = session_source(path)
    try:
        session = ort.InferenceSession(source, sess_options=opts, providers=providers)
    except Exception as err:  # onnxruntime raises its own untyped errors for bad files
        raise not_loadable(path, err) from err
    if device == "cuda" and CUDA_PROVIDER not in session.get_providers():
        raise ModelLoadError(
            f"{path}: ONNX Runtime could not start CUDA (check the NVIDIA driver and the CUDA and cuDNN "
            f"libraries its release names; see its log above), or use {_USE_CPU}"
        )
    return session


def load_model(
    path: str | Path | None = None, threads: int | None = None, precision: str = "auto", device: str = "auto"
) -> Model:
    """Load an ONNX model; ``None`` means :func:`default_model_path`. A later call with the same arguments gives
    the same :class:`Model` while the file is unchanged; a file written again since is loaded again.

    Args:
        path: an exported ``.onnx`` file; its variants ``STEM.*.onnx`` beside it take part in the choice.
        threads: ONNX Runtime intra-op threads, a whole number (``None``: one per physical core).
        precision: ``auto`` (the fastest variant on this machine, see :mod:`colorsplash.runtime.model.variants`),
            ``int8`` or ``fp32`` (float arithmetic: a ``float32`` or ``float16-weights`` file), or ``file``: exactly
            ``path``, no variant choice (evaluation and benchmarks of one file).
        device: ``auto`` (CUDA when ONNX Runtime has it, else the CPU), ``cpu`` or ``cuda``.

    Raises:
        ModelLoadError: the path is empty (or holds a NUL character); the file is missing (or a folder), not
            ONNX, or lacks the colorsplash metadata; ``cuda`` is not available.
        TypeError: ``path`` is neither a path nor ``None``; ``threads`` is not a whole number.
        ValueError: ``threads`` is negative.
        VariantError: no variant of the asked precision.

    The first call also tunes glibc's malloc for inference (:func:`colorsplash.runtime.allocator.tune_allocator`;
    ``COLORSPLASH_TUNE_MALLOC=0`` turns that off).
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"the model path must be a str or pathlib.Path of an exported .onnx file, or None for the bundled "
            f"model, got {type(path).__name__}"
        )
    threads = checked_threads(threads)
    if precision not in (*PRECISION_CHOICES, "file"):
        raise VariantError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    tune_allocator()  # inference reuses its few-MB arrays: keep them in the heap (see its module)
    check_model_path(path)
    p = Path(path) if path is not None else default_model_path()
    where = resolve_device(device)
    key = (str(p.resolve()), threads or 0, precision, where)
    if cached := _cached(key, p):  # not held up by another model's load (seconds: the variant timing)
        return cached
    with _cache_lock:  # one load at a time (timings of variants side by side would mislead)
        if cached := _cached(key, p):  # loaded by another thread meanwhile
            return cached
        if not p.is_file():
            raise _not_found(path, p)
        before = file_version(p)  # before the read: a file written again while it loads is loaded again next time
        with model_file.named_by_variable(MODEL_ENV if path is None and os.environ.get(MODEL_ENV) else None):
            model = _load_variant(p, threads, precision, where)
        _cache[key] = (before, model)
        return model


def _cached(key: tuple[str, int, str, str], path: Path) -> Model | None:
    """The model cached for ``key``, kept while its file and chosen variant are unchanged (not re-exported)."""
    known = _cache.get(key)
    if known is not None and known[0] == file_version(path) and known[1]._version == file_version(known[1].path):
        return known[1]
    return None


def _not_found(given: str | os.PathLike[str] | None, path: Path) -> ModelLoadError:
    """What to say of a model ``path`` that is no file (``given``: as the caller named it, ``None`` for the default)."""
    hint = (
        "check the path"  # the path was given (--model, load_model): passing --model is no help
        if given is not None
        else f"check ${MODEL_ENV} or unset it"
        if os.environ.get(MODEL_ENV)
        else "reinstall colorsplash"
    )
    shown = path if given is None else os.fspath(given)  # as given: ``Path`` shows ``https://x`` as ``https:/x``
    hint = (folder_hint(path) if path.is_dir() else None) or hint  # a training run's folder, a folder of models
    return ModelLoadError(f"{shown}: {not_a_file(path, 'model file not found')}; {hint}")


def _load_variant(path: Path, threads: int | None, precision: str, device: str) -> Model:
    """Session of the chosen variant of ``path`` (see :func:`load_model`)."""
    config = read_config(path)
    if config is None:  # not ONNX, or no metadata: the session (or its metadata check) says which
        config = read_onnx_config(create_session(path, threads, device), path)
    variants = find_variants(path, config) if precision != "file" else [Variant(path, config)]
    if precision == "file":
        chosen, made = variants[0], None
    elif precision != "auto":
        chosen, made = by_kind(variants, precision, path), None
    elif device == "cuda":  # int8 QDQ graphs run on slow fallback kernels on GPUs: the float variant
        chosen, made = next((v for v in variants if v.kind == "fp32"), variants[0]), None
    else:
        import onnxruntime as ort

        def make(file: Path) -> Any:
            return create_session(file, threads, device)

        chosen, made = choose_auto(variants, make, ort.__version__, threads=threads)
    version = file_version(chosen.path)
    session = made or create_session(chosen.path, threads, device)
    config = checked_config(session, chosen.path)
    return Model(chosen.path, config, session, device, threads, id(session), _version=version)
