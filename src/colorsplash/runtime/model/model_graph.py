"""What a colorsplash ONNX graph must look like, checked once at load against the config it carries (read from the
file's metadata here: :func:`checked_config`).

An exported file (``colorsplash export``) has one float input ``N x 3 x S x S`` and a float output ``logits``,
``N x 1 x S x S``, first; with ``presence_head`` also ``presence``, ``N x 1`` (``S`` is the config's
``input_size``, ``N`` the batch, dynamic). A foreign graph given a copy of a real config (or a config edited by
hand) would otherwise load and either fail on every photo or silently give a wrong splash. Only what the session
reports is read (names, element types, static dimensions): no ``onnx`` package, no inference run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from colorsplash.runtime.model.config import CONFIG_METADATA_KEY, ModelConfig
from colorsplash.runtime.model.model_file import ModelLoadError

LOGITS_OUTPUT = "logits"
PRESENCE_OUTPUT = "presence"
FLOAT = "tensor(float)"


def _dims_problem(what: str, shape: Sequence[Any], want: Sequence[int | None]) -> str | None:
    """Why ``shape`` (ONNX Runtime's: ints for static dimensions, names or ``None`` for dynamic ones) cannot be
    ``want`` (``None``: any size), or ``None`` when it can."""
    if len(shape) != len(want):
        return f"{what} has {len(shape)} dimensions {list(shape)}, expected {len(want)}"
    for got, expected in zip(shape, want, strict=True):
        if expected is not None and isinstance(got, int) and got != expected:
            shown = ["N" if w is None else w for w in want]
            return f"{what} has shape {list(shape)}, expected {shown}"
    return None


def _tensor_problem(what: str, arg: Any, want: Sequence[int | None]) -> str | None:
    """Why the session's input or output ``arg`` is not a float tensor of shape ``want``, or ``None``."""
    if arg.type != FLOAT:
        return f"{what} is {arg.type}, expected {FLOAT}"
    return _dims_problem(what, list(arg.shape or ()), want)


def graph_problem(session: Any, config: ModelConfig) -> str | None:
    """Why the graph of ``session`` (an ONNX Runtime session) does not deliver what ``config`` promises, in words
    for an error message, or ``None`` when its inputs and outputs fit (dynamic dimensions always fit)."""
    size = config.input_size
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        return f"the graph has {len(inputs)} inputs, expected one image input"
    problem = _tensor_problem(f"its input {inputs[0].name!r}", inputs[0], (None, 3, size, size))
    if problem:
        return problem
    if not outputs or outputs[0].name != LOGITS_OUTPUT:
        names = ", ".join(repr(o.name) for o in outputs) or "none"
        return f"its first output must be {LOGITS_OUTPUT!r} (outputs: {names})"
    problem = _tensor_problem(f"its output {LOGITS_OUTPUT!r}", outputs[0], (None, 1, size, size))
    if problem:
        return problem
    presence = next((o for o in outputs if o.name == PRESENCE_OUTPUT), None)
    if presence is None:
        return (
            f"its config has presence_head but the graph has no {PRESENCE_OUTPUT!r} output"
            if config.presence_head
            else None
        )
    return _tensor_problem(f"its output {PRESENCE_OUTPUT!r}", presence, (None, 1))


EXPORT_COMMAND = "`colorsplash export CHECKPOINT -o model.onnx`"


def read_onnx_config(session: object, path: Path) -> ModelConfig:
    """The colorsplash config stored in the metadata of ``session``'s file ``path``.

    Raises:
        ModelLoadError: no such metadata, or it is not a valid config (not JSON, wrong types or values), or a
            metadata value is not UTF-8 (a damaged copy); the message names the file and says to re-export it.
    """
    try:
        meta = session.get_modelmeta().custom_metadata_map  # type: ignore[attr-defined]
    except UnicodeDecodeError as err:  # ONNX Runtime decodes every value as UTF-8: bytes changed in a bad copy
        raise ModelLoadError(
            f"{path}: its metadata is damaged (a value is not UTF-8 text: {err.reason} at its byte {err.start}); "
            f"copy the file again, or re-export it with {EXPORT_COMMAND}"
        ) from err
    if CONFIG_METADATA_KEY not in meta:
        raise ModelLoadError(  # "export it" was said of any ONNX file: rembg's, which no export remakes
            f"{path}: an ONNX model not made by colorsplash (it has no {CONFIG_METADATA_KEY!r} metadata, which says "
            "the input size and normalisation to feed it); colorsplash runs the models `colorsplash export` makes "
            "from checkpoints of `colorsplash train`"
        )
    try:
        return ModelConfig.from_json(meta[CONFIG_METADATA_KEY])
    except ValueError as err:
        raise ModelLoadError(
            f"{path}: its {CONFIG_METADATA_KEY!r} metadata is not a valid colorsplash config ({err}); "
            f"re-export it with {EXPORT_COMMAND}"
        ) from err


def checked_config(session: object, path: Path) -> ModelConfig:
    """:func:`read_onnx_config`, and the graph checked against it (:func:`colorsplash.runtime.model.model_graph
    .graph_problem`).

    Raises:
        ModelLoadError: as :func:`read_onnx_config`, or the graph's inputs or outputs are not what the config
            promises (a foreign graph with a copied config); the message names the file and the mismatch.
    """
    config = read_onnx_config(session, path)
    problem = graph_problem(session, config)
    if problem:
        raise ModelLoadError(f"{path}: not a colorsplash model graph: {problem}; re-export it with {EXPORT_COMMAND}")
    return config
