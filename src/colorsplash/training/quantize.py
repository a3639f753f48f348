"""Post-training int8 quantisation of an exported ONNX graph (ONNX Runtime, static, QDQ, per-channel).

Why: on CPUs with int8 dot-product instructions (AVX-512 VNNI / AVX-VNNI, ARM dot-product) ONNX Runtime runs
the quantised convolutions of the Lite U-Net about 1.8x faster than float32, and the file shrinks about 3.5x.
Weights are quantised per output channel (signed int8), activations per tensor (unsigned int8) with ranges
calibrated on real photos: each range covers the 0.01-99.99 percentiles of the values seen, so a few outlier
activations do not stretch the range and cost the rest their precision (measured on the pet model: IoU on the
Oxford validation photos 0.949 with percentiles, 0.946 with plain min/max, 0.951 in float32).
Calibration photos come from the *training* split of data set folders, so the validation images that scores are
reported on never shape the quantisation; a folder of photos (no masks: calibration reads only the photos) gives
all its photos.

Weights of the matrix-product layers (every convolution but the depthwise ones, and the presence head's Gemms)
are quantised to 7 bits (-64..64, ONNX Runtime's ``reduce_range``). Why: without VNNI, ONNX Runtime's x86 int8
kernels (AVX2, AVX-512 BW) multiply uint8 activations by int8 weights with ``vpmaddubsw``, which adds each pair of
products in int16 *with saturation*; 255 x 127 x 2 overflows it, 255 x 64 x 2 cannot. Activations with a zero
point near 128 (the inputs of the expand convolutions) saturated in 0.1-0.3 % of pairs and put 2-9 % RMS error on
those layers' outputs (simulated on photos). On the bundled pet model (76 photos of the data sets, AVX2) the int8 file's
logits were 0.73 from float32's on average and 0.84 % of pixels fell on the other side of 0.5; with 7-bit
weights 0.46 and 0.29 %, the fused kernels agree with exact int32 accumulation (0.06 against 0.58), at the same
speed. Depthwise convolutions run on a kernel that accumulates in int32 and keep 8 bits.

The presence head's last Gemm, which writes the photo's subject logit, stays float (:func:`presence_writers`): the
threshold is taken on that logit, and a uint8 range calibrated on subject photos alone cut off its negative half.

Last, each int8 convolution's bias absorbs the mean shift its rounded weights cause on the calibration photos
(:mod:`colorsplash.training.bias_correction`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from colorsplash.evaluation.datasets import discover, split_samples
from colorsplash.evaluation.folders import DataError, images_in, layout_hint, layout_of, warn_subfolders
from colorsplash.runtime.model.config import ModelConfig
from colorsplash.runtime.model.model_graph import PRESENCE_OUTPUT
from colorsplash.runtime.model.preprocess import preprocess
from colorsplash.runtime.pictures.photo_io import ImageReadError, read_rgb
from colorsplash.runtime.pictures.picture_open import PixelLimitError
from colorsplash.runtime.progress import bar_settings
from colorsplash.training.bias_correction import correct_biases
from colorsplash.training.config import DEFAULT_CALIBRATION_IMAGES
from colorsplash.training.graph_edits import node_attributes

CALIBRATION_PERCENTILE = 99.99
# ONNX Runtime 1.17 wants one override per channel, not one with an "axis" (see saturation_free_overrides); the
# train extra asks for this version (pyproject.toml).
MIN_QUANTIZER_ORT = (1, 18)


log = logging.getLogger(__name__)
TRAINING_SPLIT, PHOTO_FOLDER = "training split", "photo folder"


@dataclass(frozen=True)
class CalibrationSource:
    """Where calibration photos came from: a ``folder`` as given, its ``kind`` (:data:`TRAINING_SPLIT` of a data
    set, or every photo of a :data:`PHOTO_FOLDER`), and how many of the photos drawn are its."""

    folder: str
    kind: str
    photos: int


def folder_photos(folder: Path, config: ModelConfig) -> tuple[str, list[Path]]:
    """The calibration candidates of one ``folder`` and their kind: a data set's training split, as the model was
    trained (``config.trained_split()``; photos without masks count, calibration reads no mask), or every photo
    directly in a folder with no data layout (:func:`~colorsplash.evaluation.folders.images_in`).

    Raises:
        DataError: ``folder`` is missing, or holds neither photos nor a data set (saying what it holds).
    """
    if folder.is_dir() and layout_of(folder) is None:
        photos = images_in(folder)
        if not photos:
            raise DataError(
                f"{folder}: neither photos nor a data set to calibrate on; --int8 takes folders of photos or data "
                f"set folders{layout_hint(folder)}"
            )
        warn_subfolders(folder)
        return PHOTO_FOLDER, photos
    train, _ = split_samples(discover(folder, skip_bad=True, keep_unpaired=True), *config.trained_split())
    return TRAINING_SPLIT, [s.image for s in train]


Candidate = tuple[int, int, Path]  # a calibration candidate: its place among all, its folder's index, the photo


def _drawn(data: Sequence[str | Path], config: ModelConfig, seed: int) -> tuple[list[Candidate], list[str]]:
    """The candidates of the folders ``data`` (:func:`folder_photos`) in a seeded order, the draw; and each
    folder's kind."""
    pool: list[tuple[int, Path]] = []
    kinds = []
    for index, folder in enumerate(data):
        kind, photos = folder_photos(Path(folder), config)
        kinds.append(kind)
        pool.extend((index, p) for p in photos)
    if not pool:
        raise ValueError(
            f"no training images in {', '.join(map(str, data))} to calibrate the int8 model on; "
            "pass the data folders the model was trained on, or a folder of photos"
        )
    order = np.random.default_rng(seed).permutation(len(pool))
    return [(int(j), *pool[j]) for j in order], kinds


def _sources(data: Sequence[str | Path], kinds: Sequence[str], folders: Sequence[int]) -> list[CalibrationSource]:
    """Each folder of ``data`` with how many of the photos of ``folders`` (one folder index a photo) are its."""
    return [CalibrationSource(str(folder), kinds[i], folders.count(i)) for i, folder in enumerate(data)]


def calibration_photos(
    data: Sequence[str | Path], config: ModelConfig, count: int = DEFAULT_CALIBRATION_IMAGES, seed: int = 0
) -> tuple[list[Path], list[CalibrationSource]]:
    """A seeded draw of ``count`` photos from the candidates of the folders ``data`` (:func:`folder_photos`), in
    their order; and how many came from each folder.

    Raises:
        ValueError: ``data`` holds no photo to calibrate on.
    """
    drawn, kinds = _drawn(data, config, seed)
    chosen = sorted(drawn[:count])
    return [p for _, _, p in chosen], _sources(data, kinds, [i for _, i, _ in chosen])


def calibration_set(
    data: Sequence[str | Path],
    config: ModelConfig,
    count: int = DEFAULT_CALIBRATION_IMAGES,
    show_progress: bool = True,
    seed: int = 0,
) -> tuple[list[np.ndarray], list[CalibrationSource]]:
    """The calibration inputs of the photos :func:`calibration_photos` draws, in their order, a photo left out
    (unreadable, over the pixel limit; one warning names them all) replaced by the next of the draw, so ``count``
    are read while the folders hold them; and how many of the photos read came from each folder.

    Raises:
        ValueError: ``data`` holds no photo to calibrate on.
        DataError: none of its photos could be read.
    """
    drawn, kinds = _drawn(data, config, seed)
    read: list[tuple[Candidate, np.ndarray]] = []
    bad: list[str] = []
    start = 0
    while len(read) < count and start < len(drawn):
        batch = sorted(drawn[start : start + count - len(read)])
        start += len(batch)
        inputs, left_out = _read_inputs([p for _, _, p in batch], config, show_progress)
        bad += left_out
        read += [(c, x) for c, x in zip(batch, inputs, strict=True) if x is not None]
    _warn_left_out(bad)
    if not read:
        raise DataError(
            f"no photo could be read to calibrate the int8 model on in {', '.join(map(str, data))} (the warning above "
            "names them); pass folders of readable photos to --int8"
        )
    read.sort(key=lambda r: r[0][0])
    return [x for _, x in read], _sources(data, kinds, [c[1] for c, _ in read])


def _read_inputs(
    photos: Sequence[Path], config: ModelConfig, show_progress: bool
) -> tuple[list[np.ndarray | None], list[str]]:
    """Network inputs for calibration, one a photo in order: float32 ``1 x 3 x S x S``, preprocessed exactly as at
    inference, ``None`` for a photo left out (unreadable, over the pixel limit); and what each left out was, for
    :func:`_warn_left_out`."""
    inputs: list[np.ndarray | None] = []
    bad = []
    bar = tqdm(photos, desc="calibrating", unit="img", disable=not show_progress, leave=False, **bar_settings())
    for path in bar:
        try:
            inputs.append(preprocess(read_rgb(path), config)[None])
        except ImageReadError as err:  # over the pixel limit: without the reader's "raise --max-pixels", not export's
            inputs.append(None)
            bad.append(err.what if isinstance(err, PixelLimitError) else str(err))
    return inputs, bad


def _warn_left_out(bad: Sequence[str]) -> None:
    if bad:
        log.warning("calibration left out %d unreadable photo(s):\n  %s", len(bad), "\n  ".join(bad))


CALIBRATION_CHUNK = 8  # photos whose activations are held at once while calibrating


class _Reader:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over a list of inputs, read in ranges: with
    ``CalibStridedMinMax`` ONNX Runtime calibrates one range at a time and merges the histograms, so only a
    range's activations are held (all 64 photos at once peaked above 17 GB and was killed on a 24 GB machine)."""

    def __init__(
        self, input_name: str, inputs: Sequence[np.ndarray], done: Callable[[], object] = lambda: None
    ) -> None:
        self._feeds = [{input_name: x} for x in inputs]
        self._pending: Iterator[dict[str, np.ndarray]] = iter(self._feeds)
        self._done = done  # called as each photo is handed on (a progress bar)

    def __len__(self) -> int:
        return len(self._feeds)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._pending = iter(self._feeds[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        feed = next(self._pending, None)
        if feed is not None:
            self._done()
        return feed


def calibration_stride(count: int, chunk: int | None = None) -> int:
    """The largest range size up to ``chunk`` (default :data:`CALIBRATION_CHUNK`) that divides ``count`` (ONNX
    Runtime needs equal ranges)."""
    chunk = CALIBRATION_CHUNK if chunk is None else chunk
    return max(d for d in range(1, min(chunk, count) + 1) if count % d == 0)


FLOAT_ENDS = (1, 1)  # convolutions kept in float at the graph's start and end (the stem and the output head)


def end_convolutions(path: str | Path, ends: tuple[int, int] = FLOAT_ENDS) -> list[str]:
    """Names of the first ``ends[0]`` and last ``ends[1]`` convolution nodes of the ONNX graph at ``path``, in
    graph order. Kept in float they cost little (a few of about 70 convolutions) and hold most of the int8 error:
    the stem sees raw pixels, the head makes the logits the 0.5 cut-off is taken on."""
    import onnx

    # The presence trunk's and its guidance's convolutions are not the segmentation network's ends, wherever the
    # graph puts them.
    convs = [
        n.name
        for n in onnx.load(str(path)).graph.node
        if n.op_type in ("Conv", "ConvTranspose") and not any(part in n.name for part in ("presence_trunk", "guidance"))
    ]
    first, last = ends
    return convs[:first] + (convs[-last:] if last else [])


def presence_writers(path: str | Path) -> list[str]:
    """Names of the nodes of the ONNX graph at ``path`` that write its ``presence`` output (the presence head's
    last Gemm; none without a presence head). Kept in float: quantised, the logit got a uint8 range calibrated on
    the calibration photos, which are all subject photos when only the data folders are given, so the range
    started at 0 and every photo without the subject scored exactly 0.5, above any threshold chosen under it (a
    custom model's gate then never said "no subject")."""
    import onnx

    return [n.name for n in onnx.load(str(path)).graph.node if PRESENCE_OUTPUT in n.output]


def saturation_free_overrides(path: str | Path, excluded: Sequence[str] = ()) -> dict[str, list[dict[str, object]]]:
    """ONNX Runtime ``TensorQuantOverrides`` that quantise to 7 bits the weights of the graph at ``path`` that
    feed matrix products (see the module doc): every ``Conv`` that is not depthwise and every ``Gemm``, except the
    nodes named in ``excluded`` (kept float). Keys are weight initializer names; each value is the per-channel
    override list ONNX Runtime expects (one dict for all channels, with the channel axis)."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {init.name: init for init in graph.initializer}
    overrides: dict[str, list[dict[str, object]]] = {}
    for node in graph.node:
        if node.name in excluded or len(node.input) < 2 or node.input[1] not in weights:
            continue
        if node.op_type == "Conv":
            depthwise = node_attributes(node).get("group", 1) > 1 and weights[node.input[1]].dims[1] == 1
            if depthwise:
                continue
            axis = 0
        elif node.op_type == "Gemm":
            axis = 0 if node_attributes(node).get("transB", 0) else 1
        else:
            continue
        overrides[node.input[1]] = [{"axis": axis, "reduce_range": True}]
    return overrides


def quantize_int8(
    src: str | Path,
    dst: str | Path,
    inputs: Sequence[np.ndarray],
    input_name: str = "image",
    float_ends: tuple[int, int] = FLOAT_ENDS,
    show_progress: bool = False,
) -> None:
    """Write an int8 QDQ version of the float32 ONNX file ``src`` to ``dst`` (one file, no side data); with
    ``show_progress`` a bar counts the model's runs on the photos (minutes on a CPU: each photo runs to calibrate the
    ranges, then again to correct the biases).

    Args:
        src: float32 ONNX model (as written by :func:`colorsplash.training.export.export_onnx`).
        dst: output path; may not be ``src``.
        inputs: calibration feeds, each float32 ``1 x 3 x S x S`` (see :func:`calibration_set`).
        input_name: the graph's input name.
        float_ends: how many convolutions stay float at the start and the end (see :func:`end_convolutions`);
            the presence output's Gemm stays float too (:func:`presence_writers`).

    Raises:
        ValueError: no calibration inputs.
    """
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not inputs:
        raise ValueError("int8 quantisation needs at least one calibration image")
    check_quantizer_version()
    bar = tqdm(
        total=2 * len(inputs),
        desc="quantising",
        unit="run",
        disable=not show_progress,
        leave=False,
        **bar_settings(),
    )
    with bar, tempfile.TemporaryDirectory(dir=Path(dst).parent) as tmp:
        prepared = os.path.join(tmp, "prepared.onnx")
        # Fold and infer shapes first (ONNX Runtime's recommended step); the batch axis stays symbolic, so the
        # symbolic pass is skipped and ONNX's own shape inference is used.
        quant_pre_process(str(src), prepared, skip_symbolic_shape=True)
        excluded = end_convolutions(prepared, float_ends) + presence_writers(prepared)
        _quantize_static(prepared, dst, _Reader(input_name, inputs, bar.update), excluded)
        quantized = onnx.load(str(dst))
        correct_biases(prepared, quantized, inputs, input_name, bar.update)
        onnx.save_model(quantized, str(dst), save_as_external_data=False)


def check_quantizer_version() -> None:
    """Raise :class:`RuntimeError` unless ONNX Runtime is :data:`MIN_QUANTIZER_ORT` or newer (its 1.17 refused the
    overrides with "Expected tensor ... to have N per-channel quantization overrides, but found 1")."""
    import onnxruntime

    have = tuple(int(part) for part in onnxruntime.__version__.split(".")[:2] if part.isdigit())
    if have < MIN_QUANTIZER_ORT:
        need = ".".join(map(str, MIN_QUANTIZER_ORT))
        raise RuntimeError(
            f"int8 export needs onnxruntime {need} or newer (this is {onnxruntime.__version__}): "
            f"pip install -U 'onnxruntime>={need}' (or pip install -U 'colorsplash[train]')"
        )


def _quantize_static(prepared: str, dst: str | Path, reader: _Reader, excluded: list[str]) -> None:
    """ONNX Runtime's static QDQ quantisation of ``prepared`` into ``dst``: int8 per-channel weights (7-bit,
    see :func:`saturation_free_overrides`), uint8 activations calibrated at :data:`CALIBRATION_PERCENTILE`, the
    ``excluded`` nodes left in float."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    # The histogram calibrator print()s its progress; keep the CLI's output to our own lines.
    with contextlib.redirect_stdout(io.StringIO()):
        quantize_static(
            prepared,
            str(dst),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            nodes_to_exclude=excluded,
            extra_options={
                "TensorQuantOverrides": saturation_free_overrides(prepared, excluded),
                "CalibPercentile": CALIBRATION_PERCENTILE,
                "CalibStridedMinMax": calibration_stride(len(reader)),
            },
        )
