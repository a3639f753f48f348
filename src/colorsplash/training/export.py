"""Export a checkpoint to a single self-contained ONNX file carrying its config as metadata."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import torch

from colorsplash.evaluation.evaluate import CHECKPOINT_HASH, SUMMARY_KEYS
from colorsplash.runtime.files import atomic_path, in_utf8, made_folders_tidied
from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, ModelConfig
from colorsplash.runtime.model.model_file import ModelLoadError
from colorsplash.runtime.model.model_graph import checked_config
from colorsplash.runtime.model.onnx_model import PRESENCE_OUTPUT, create_session
from colorsplash.runtime.model.variants import file_hash
from colorsplash.runtime.temp_names import temp_folder
from colorsplash.training.checkpoint import load_checkpoint, missing_checkpoint
from colorsplash.training.export_checks import check_finite, check_request, warn_unchosen_threshold
from colorsplash.training.graph_edits import drop_unused_opsets, split_single_output_convs
from colorsplash.training.networks import WithPresence, has_presence
from colorsplash.training.quantize import (
    CALIBRATION_PERCENTILE,
    DEFAULT_CALIBRATION_IMAGES,
    FLOAT_ENDS,
    TRAINING_SPLIT,
    CalibrationSource,
    calibration_set,
    quantize_int8,
)

log = logging.getLogger(__name__)

ONNX_INPUT = "image"
ONNX_OUTPUT = "logits"


def _export_graph(model: torch.nn.Module, size: int, path: str) -> None:
    dummy = torch.zeros(1, 3, size, size)
    outputs = [ONNX_OUTPUT]
    if has_presence(model):  # a second output, photo logits N x 1, in the same file
        model, outputs = WithPresence(model).eval(), [ONNX_OUTPUT, PRESENCE_OUTPUT]
    # The legacy TorchScript exporter writes one file with weights inside; the dynamo exporter of this torch
    # version would put them in a side ``.onnx.data`` file. Its trace warns that forward's switches (with_presence,
    # presence_only) become constants, which they are meant to: eight lines of a traceback's look, not the user's.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (dummy,),
            path,
            input_names=[ONNX_INPUT],
            output_names=outputs,
            dynamic_axes={name: {0: "batch"} for name in (ONNX_INPUT, *outputs)},
            opset_version=17,
            dynamo=False,
        )


def _finish_file(path: str, config: ModelConfig, fp16: bool) -> None:
    """Rewrite the graph at ``path`` for speed (:mod:`colorsplash.training.graph_edits`), store fp16 weights when
    asked and attach the config; checked and saved in place as one file that imports only the opsets it uses
    (older ONNX Runtime versions refuse unknown ones: :func:`colorsplash.training.graph_edits.drop_unused_opsets`)."""
    import onnx

    proto = onnx.load(path, load_external_data=True)
    split_single_output_convs(proto)
    drop_unused_opsets(proto)
    if fp16:
        from onnx import numpy_helper

        # Store weights as fp16 and cast back to fp32 inside the graph: half the file, fp32 arithmetic.
        _weights_to_fp16(proto, numpy_helper)
    proto.metadata_props.clear()
    entry = proto.metadata_props.add()
    entry.key, entry.value = CONFIG_METADATA_KEY, config.to_json()
    proto.producer_name = "colorsplash"
    onnx.checker.check_model(proto)
    onnx.save_model(proto, path, save_as_external_data=False)


def _portable(text: str) -> str:
    """An absolute path -> its last two parts (``/x/runs/a/best.pt`` -> ``a/best.pt``); other words unchanged."""
    if not text.startswith("/") and not (len(text) > 2 and text[1] == ":" and text[2] in "\\/"):
        return text
    return "/".join(PurePath(text).parts[-2:])


def portable_paths(value: Any) -> Any:
    """``value`` (JSON-like) with every absolute path shortened to its last two parts, also inside command lines:
    a shipped model must not carry the training machine's folders."""
    if isinstance(value, dict):
        return {k: portable_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable_paths(v) for v in value]
    if isinstance(value, str):
        return " ".join(_portable(word) for word in value.split(" "))
    return value


def _weights_to_fp16(proto: object, numpy_helper: object) -> None:
    import numpy as np
    import onnx

    graph = proto.graph  # type: ignore[attr-defined]
    new_inits, casts = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)  # type: ignore[attr-defined]
        if arr.dtype != np.float32 or arr.size < 1024:
            new_inits.append(init)
            continue
        half = numpy_helper.from_array(arr.astype(np.float16), init.name + "_fp16")  # type: ignore[attr-defined]
        new_inits.append(half)
        casts.append(onnx.helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    for node in reversed(casts):
        graph.node.insert(0, node)


def read_evaluation(path: str | Path, checkpoint: str | Path) -> dict[str, Any]:
    """The ``evaluate`` summary.json at ``path``, checked to be one (it has :data:`SUMMARY_KEYS`) and to score
    ``checkpoint``'s weights: the checkpoint hash it records (the ``.pt`` evaluated, or the one an evaluated ONNX
    file was exported from) must be ``checkpoint``'s.

    Raises:
        ValueError: naming ``path`` and saying what to do. FileNotFoundError: no ``checkpoint``.
    """
    path = Path(path)
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(missing_checkpoint(Path(checkpoint)))
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable evaluate summary.json ({err})") from err
    again = f"colorsplash evaluate DATA --model {checkpoint}"
    if not isinstance(summary, dict) or any(key not in summary for key in SUMMARY_KEYS):
        raise ValueError(f"{path}: not an evaluate summary.json (no {', '.join(SUMMARY_KEYS)}); make one: {again}")
    recorded = summary.get(CHECKPOINT_HASH)
    if not recorded:
        raise ValueError(
            f"{path}: scores {summary.get('model', 'a model')}, which does not record the checkpoint it was made "
            f"from (an older colorsplash's summary or export), so it cannot be told to score {checkpoint}; make a "
            f"new one: {again}"
        )
    if recorded != file_hash(Path(checkpoint)):
        raise ValueError(
            f"{path}: scores another model ({summary.get('model', 'unknown')}), not {checkpoint}; evaluate this "
            f"checkpoint or an ONNX file exported from it: {again}"
        )
    return summary


def with_evaluation(config: ModelConfig, summary: dict[str, object]) -> ModelConfig:
    """Record an ``evaluate`` summary (per-data-set and overall scores at original resolution) in the config, with
    the model file it scored (the checkpoint, or an ONNX file of it in another precision)."""
    keep = ("model", "split", "threshold", "gate", "seed", "val_fraction", "datasets", "overall")
    evaluation = {k: summary[k] for k in keep if k in summary}
    return dataclasses.replace(config, training={**config.training, "evaluation": evaluation})


def _int8_config(config: ModelConfig, sources: Sequence[CalibrationSource], images: int) -> ModelConfig:
    """``config`` of an int8 file: its precision, and how it was calibrated under ``training.int8_calibration``
    (``split``: ``train`` when every photo came from data sets' training splits, else ``photos``/``train+photos``;
    ``sources``: each folder, its kind and the photos drawn from it)."""
    kinds = {s.kind for s in sources}
    record = {
        "data": [s.folder for s in sources],
        "images": images,
        "sources": [{"data": s.folder, "from": s.kind, "images": s.photos} for s in sources],
        "method": (
            f"QDQ, per-channel int8 weights (7-bit in matrix products: no int16 saturation on AVX2), "
            f"uint8 activations, percentile {CALIBRATION_PERCENTILE} ranges, biases corrected for the weights' "
            f"rounding; "
            f"first {FLOAT_ENDS[0]} and last {FLOAT_ENDS[1]} convolutions in float"
            + ("; the presence output's Gemm in float" if config.presence_head else "")
        ),
        "split": "train" if kinds == {TRAINING_SPLIT} else "photos" if TRAINING_SPLIT not in kinds else "train+photos",
    }
    return dataclasses.replace(config, precision="int8", training={**config.training, "int8_calibration": record})


def _calibration(
    data: Sequence[str | Path], config: ModelConfig, count: int, show_progress: bool
) -> tuple[list[np.ndarray], list[CalibrationSource]]:
    """Calibration inputs from ``data`` (:func:`~colorsplash.training.quantize.calibration_set`) and their
    sources; one line says how many photos came from where, a warning when fewer than ``count`` were found."""
    calibration, sources = calibration_set(data, config, count, show_progress)
    where = ", ".join(f"{s.photos} from the {s.kind} of {s.folder}" for s in sources)
    log.info("int8 calibration on %d photo(s): %s", len(calibration), where)
    if len(calibration) < count:
        log.warning(
            "int8 calibration on %d photo(s), not the %d asked for (--calibration-images): that is all there is in %s; "
            "more photos give steadier ranges: name more folders after --int8 (a folder of photos, such as the "
            "run's --negatives, counts whole)",
            len(calibration),
            count,
            ", ".join(f"the {s.kind} of {s.folder}" for s in sources),
        )
    return calibration, sources


def export_onnx(
    checkpoint: str | Path,
    output: str | Path,
    fp16: bool = False,
    evaluation: dict[str, object] | None = None,
    int8_data: Sequence[str | Path] | None = None,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    show_progress: bool = True,
    overwrite: bool = False,
) -> ModelConfig:
    """Write ``output`` (one ``.onnx`` file, no side data) from ``checkpoint``; returns the embedded config.

    The graph maps float32 ``N x 3 x S x S`` normalised RGB (input ``image``) to logits ``N x 1 x S x S``
    (output ``logits``) and, for networks with a presence head, photo logits ``N x 1`` (output ``presence``);
    the ``colorsplash_config`` metadata entry holds the :class:`ModelConfig` as JSON.
    ``fp16`` stores weights in half precision (about half the size) but computes in float32.
    ``int8_data``: data set folders (their *training* split) or folders of photos that calibrate a static int8
    quantisation (``calibration_images`` photos, see :mod:`colorsplash.training.quantize`); input and output stay
    float32.
    ``evaluation``: an ``evaluate`` summary to embed (see :func:`with_evaluation`; :func:`read_evaluation` reads
    and checks one). The config records the checkpoint's SHA-256 (``training.checkpoint_sha256``).
    An existing ``output`` is replaced only with ``overwrite``, the input never (see
    :func:`~colorsplash.training.export_checks.check_output`).

    Raises:
        ValueError: both ``fp16`` and ``int8_data`` were asked for, a folder of ``int8_data`` is an empty name,
            ``output`` may not be written, or the checkpoint's weights are not all finite
            (:func:`~colorsplash.training.export_checks.check_finite`).
        RuntimeError: ``int8_data`` with an ONNX Runtime too old to quantise
            (:func:`~colorsplash.training.quantize.check_quantizer_version`).
    """
    check_request(checkpoint, output, fp16, int8_data or [], overwrite)
    model, config = load_checkpoint(checkpoint)
    check_finite(model, checkpoint)
    warn_unchosen_threshold(checkpoint, config)
    config = dataclasses.replace(config, training={**config.training, CHECKPOINT_HASH: file_hash(Path(checkpoint))})
    if evaluation is not None:
        config = with_evaluation(config, evaluation)
    calibration = None
    if int8_data:
        calibration, sources = _calibration(int8_data, config, calibration_images, show_progress)
        config = _int8_config(config, sources, len(calibration))
    elif fp16:
        config = dataclasses.replace(config, precision="float16-weights")
    # A shipped model must not carry the training machine's folders: the file records paths by their last parts.
    config = dataclasses.replace(config, training=portable_paths(config.training))
    _write_model_file(model, config, calibration, fp16, Path(output), overwrite, show_progress)
    return config


def reads_back(written: Path, config: ModelConfig, output: Path) -> None:
    """Re-open the file just written at ``written`` (to be published as ``output``) as the runtime will: ONNX
    Runtime loads it, its graph matches the config it carries, that config is ``config``, and one forward pass of a
    grey picture gives finite logits of the config's size. Raises ``OSError`` otherwise (the file is then not
    published; :func:`colorsplash.runtime.files.atomic_path` names ``output``)."""
    why = "(a full or failing disk, or a bug: report it)"
    again = f"nothing was written; export it again {why}"
    try:
        session = create_session(written, threads=1)
        stored = checked_config(session, written)
    except ModelLoadError as err:  # its words end in what to do
        raise OSError(f"the exported file did not read back, nothing was written {why}: {err}") from err
    if stored.to_json() != config.to_json():  # as text: a NaN score (never equal to itself) reads back as written
        raise OSError(f"the exported file's config did not read back as written; {again}")
    grey = np.zeros((1, 3, stored.input_size, stored.input_size), np.float32)
    try:
        logits = session.run(None, {session.get_inputs()[0].name: grey})[0]
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise OSError(f"the exported file did not run ({err}); {again}") from err
    if logits.shape != (1, 1, *grey.shape[2:]) or not np.isfinite(logits).all():
        raise OSError(f"the exported file's forward pass gave {logits.shape} logits, not all finite; {again}")


def _write_model_file(
    model: torch.nn.Module,
    config: ModelConfig,
    calibration: list[np.ndarray] | None,
    fp16: bool,
    output: Path,
    overwrite: bool,
    show_progress: bool = False,
) -> None:
    """Export ``model``'s graph, quantise it on ``calibration`` inputs when given, attach ``config`` (fp16 weights
    with ``fp16``), and publish it as ``output`` (see :func:`colorsplash.runtime.files.atomic_path`; an existing
    file is replaced only with ``overwrite``). Intermediate files live in a temporary folder beside ``output``, or
    in the system's when its path is not UTF-8 (:func:`~colorsplash.runtime.files.in_utf8`: PyTorch's exporter
    refused it)."""
    # made_folders_tidied: stopped or failed, no folder made for it is left. atomic_path makes the folder and names
    # ``output`` in any write error (a full disk said "[Errno 28] No space left on device", naming no file); the
    # temporary folder goes before the file is published.
    with (
        made_folders_tidied(output.parent),
        atomic_path(output, lambda written: reads_back(written, config, output), replace=overwrite) as final,
        temp_folder(output) if in_utf8(output.parent) else tempfile.TemporaryDirectory() as tmp,
    ):
        tmp_path = os.path.join(tmp, "model.onnx")
        _export_graph(model, config.input_size, tmp_path)
        if calibration is not None:
            quantized = os.path.join(tmp, "int8.onnx")
            quantize_int8(tmp_path, quantized, calibration, ONNX_INPUT, show_progress=show_progress)
            tmp_path = quantized
        _finish_file(tmp_path, config, fp16)
        shutil.move(tmp_path, final)  # a rename; a copy from the system's temporary folder (not UTF-8: in_utf8)
