"""The Python API: colour splash and subject alpha of a photo in a few lines.

Example::

    import colorsplash

    model = colorsplash.load_model()                  # the bundled model (or a path to an exported .onnx)
    model = colorsplash.load_model(precision="int8", device="cpu")   # pin the variant / device (default "auto")
    out = colorsplash.splash("cat.jpg", model, effect="blur", keep="largest")   # RGB uint8 HxWx3
    alpha = colorsplash.predict_alpha("cat.jpg", model)                           # float32 HxW in [0, 1]
    subject = colorsplash.subject_score("room.jpg", model)   # Subject(found=False, score=0.31, threshold=0.66)

Images may be NumPy arrays (RGB, not BGR: convert OpenCV's ``imread`` output with ``cv2.cvtColor``), Pillow
images, file paths or binary file objects (``open(path, "rb")``, ``io.BytesIO(data)``, an upload). Files are read
by content and turned upright by their EXIF orientation; arrays and Pillow images are used as they are. Results
always have the photo's full width and height, and ``notes`` (:class:`NotedArray`): what reading a file noted.

Errors: :class:`OptionError` (a bad option), :class:`NoSubjectError` (``on_empty="skip"``), :class:`ImageReadError`
(an unreadable or too large image file) and :class:`VariantError` (a precision the model has no file for) are
``ValueError`` subclasses; :class:`ModelLoadError` (a missing or foreign model file) is a ``RuntimeError``; a
``TypeError`` says that an argument has the wrong type.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from colorsplash.runtime.api_images import ImageLike, picture_file, rgb_and_own_alpha, to_rgb
from colorsplash.runtime.edges.alpha import AlphaPlan, RefineSettings, finish_alpha, model_plan, photo_guide
from colorsplash.runtime.edges.edge_matte import matte
from colorsplash.runtime.effects import composite
from colorsplash.runtime.model.onnx_model import Model, ModelLoadError, load_model
from colorsplash.runtime.model.variants import VariantError
from colorsplash.runtime.no_subject import NoSubjectError, apply_on_empty
from colorsplash.runtime.options import (
    MASK_OPTION_NAMES,
    OptionError,
    SplashOptions,
    describe_options,
    options_from_mapping,
)
from colorsplash.runtime.pictures.photo_io import DEFAULT_MAX_PIXELS, ImageReadError, Photo
from colorsplash.runtime.pipeline import decode_and_plan
from colorsplash.runtime.result_notes import NotedArray, Written, result_notes, with_notes
from colorsplash.runtime.wording import Wording

__all__ = [
    "ImageLike",
    "ImageReadError",
    "Model",
    "ModelLoadError",
    "NoSubjectError",
    "NotedArray",
    "OptionError",
    "SplashOptions",
    "Subject",
    "VariantError",
    "alpha_and_subject",
    "load_model",
    "matte",
    "predict_alpha",
    "splash",
    "subject_score",
    "to_rgb",
]


# ``load_model``'s keywords: ``colorsplash splash --precision`` takes them beside the options
MODEL_SETTINGS = frozenset({"precision", "device", "threads"})


def _resolve(
    model: Model | str | os.PathLike[str] | None,
    options: SplashOptions | None,
    overrides: dict[str, Any],
    max_pixels: int | None,
) -> tuple[Model, SplashOptions, int | None]:
    """The model, the options and the pixel limit (a NumPy integer too: ``np.prod(shape)``) of an API call, checked.

    Raises: OptionError, TypeError, ModelLoadError: as :func:`predict_alpha` says."""
    whole = isinstance(max_pixels, numbers.Integral) and not isinstance(max_pixels, bool)
    if max_pixels is not None and (not whole or max_pixels < 1):
        raise OptionError("max_pixels", f"expected a whole number of pixels (at least 1) or None, got {max_pixels!r}")
    if options is not None and not isinstance(options, SplashOptions):
        raise TypeError(
            f"options must be a colorsplash.SplashOptions, got {type(options).__name__}; "
            "pass single options as keywords, e.g. effect='blur'"
        )
    if model is not None and not isinstance(model, (Model, str, os.PathLike)):
        raise TypeError(
            "model must be a model from colorsplash.load_model(), the path (str or pathlib.Path) of an exported "
            f".onnx file, or None for the bundled model; got {type(model).__name__}"
        )
    settings = sorted(MODEL_SETTINGS.intersection(overrides))  # the CLI's splash flags, but no options
    if settings:  # was "precision: unknown option; known: effect, ..."
        name = settings[0]
        raise OptionError(
            name, f"a setting of the model, not of a splash; load it with colorsplash.load_model({name}=...)"
        )
    # Checked like every other entry point's (SplashOptions validates); text is parsed ("0.4", "blur:8").
    opts = options_from_mapping(overrides, base=options)
    loaded = model if isinstance(model, Model) else load_model(None if model is None else os.fspath(model))
    return loaded, opts, None if max_pixels is None else int(max_pixels)


@dataclass(frozen=True)
class Subject:
    """The model's answer to "is there a subject (a pet, for the bundled model) in this photo?".

    Attributes:
        found: whether it is there; when not, ``on_empty`` decides what a splash does (grey, copy or skip).
        score: the photo's subject score in [0, 1]: the model's photo-level output where its file has one (the
            bundled pet model does), else its highest pixel probability.
        threshold: the score from which a subject counts as found (stored in the model file, chosen on
            validation photos so that 99.5 % of the subject photos pass, as ``train --negatives`` and the pets
            recipe choose it; 0.5 for files without a chosen one). A subject
            also needs some pixel at the splash's probability cut-off (``threshold`` option, default 0.5).
    """

    found: bool
    score: float
    threshold: float


def alpha_and_subject(
    image: ImageLike,
    model: Model | str | os.PathLike[str] | None = None,
    options: SplashOptions | None = None,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    **overrides: Any,
) -> tuple[np.ndarray, Subject]:
    """:func:`predict_alpha` and :class:`Subject` from one model run (arguments and errors as there): the alpha,
    float32 ``HxW`` in [0, 1] at the photo's size (1 = subject), and what the model found."""
    loaded, opts, max_pixels = _resolve(model, options, overrides, max_pixels)
    planned = _plan(loaded, image, opts, max_pixels)
    alpha, subject = _alpha(loaded, planned, opts)
    return with_notes(alpha, _notes(planned.photo, "mask")), subject


@dataclass
class _Planned:
    """A photo given to the API and its alpha plan (:func:`_plan`)."""

    rgb: np.ndarray
    own_alpha: np.ndarray | None
    photo: Photo | None
    plan: AlphaPlan


def _plan(loaded: Model, image: ImageLike, opts: SplashOptions, max_pixels: int | None) -> _Planned:
    """The photo's RGB (uint8 ``HxWx3``), own transparency and :class:`Photo` (``None`` for an array or Pillow
    image), and its alpha plan. A path or file object is decoded and planned as ``colorsplash mask`` does it
    (:func:`~colorsplash.runtime.pipeline.decode_and_plan`: a large JPEG's working copy from its DCT), so the
    alphas are the same bits; an array or Pillow image is shrunk for the model."""
    source = picture_file(image, max_pixels)
    with loaded.exclusive():  # nothing else of ours runs beside this model call (see Model.exclusive)
        if source is None:
            rgb, own_alpha = rgb_and_own_alpha(image, max_pixels)
            return _Planned(rgb, own_alpha, None, model_plan(loaded, rgb, opts, RefineSettings()))
        planned = source.decode(lambda data, name: decode_and_plan(data, name, loaded, opts, max_pixels=max_pixels))
    photo = planned.photo
    return _Planned(photo.rgb, photo.alpha, photo, planned.plan)


def _alpha(loaded: Model, planned: _Planned, opts: SplashOptions) -> tuple[np.ndarray, Subject]:
    """The full-size alpha of a planned photo and what the model found, ``opts.on_empty`` applied; a
    :class:`NoSubjectError` names the file the photo was read from ("the photo" for an array or Pillow image)."""
    result = finish_alpha(planned.plan, photo_guide(planned.rgb, planned.plan), opts)
    subject = Subject(not result.empty, result.score, loaded.presence_threshold)
    name = "the photo" if planned.photo is None else planned.photo.name
    apply_on_empty(result, opts.on_empty, name, words=Wording.of(loaded, "python"))
    return result.alpha, subject


def subject_score(
    image: ImageLike,
    model: Model | str | os.PathLike[str] | None = None,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Subject:
    """Is there a subject (a pet, for the bundled model) in the photo? The model run and the subject test of a
    splash with default options, without making the alpha (about half the time of :func:`predict_alpha`).

    Args: ``image``, ``model`` and ``max_pixels`` as in :func:`predict_alpha`.

    Returns:
        :class:`Subject`: ``found``, ``score`` (in [0, 1]) and the model's ``threshold``; ``found`` is what
        :func:`alpha_and_subject` reports for the same photo.

    Raises:
        as :func:`predict_alpha`: ImageReadError, ModelLoadError, TypeError, ValueError.
    """
    loaded, _, max_pixels = _resolve(model, None, {}, max_pixels)
    plan = _plan(loaded, image, SplashOptions(refine=False), max_pixels).plan
    return Subject(not plan.empty, plan.score, loaded.presence_threshold)


def predict_alpha(
    image: ImageLike,
    model: Model | str | os.PathLike[str] | None = None,
    options: SplashOptions | None = None,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    **overrides: Any,
) -> np.ndarray:
    """The subject's alpha at the photo's full resolution, edges refined.

    Args:
        image: a NumPy uint8 array in RGB order (not BGR: convert OpenCV's ``imread`` output with
            ``cv2.cvtColor(img, cv2.COLOR_BGR2RGB)``), ``HxWx3``, or ``HxW`` grey, or ``HxWx4`` RGBA (composited
            over white); a Pillow image (any mode); a file path or a binary file object, read from where it
            stands to its end (``open(path, "rb")``, ``io.BytesIO(data)``, ``sys.stdin.buffer``; read upright by
            its EXIF orientation).
        model: a loaded model, a path to an exported ``.onnx`` or ``None`` for the bundled one.
        options: splash options; ``threshold``, ``hard``, ``feather``, ``keep``, ``point``, ``invert``,
            ``refine``, ``edges`` and ``on_empty`` matter here. ``**overrides`` change single options by name.
        max_pixels: the largest picture file read (its header is checked before any pixel is decoded; more
            memory-hungry modes such as 16-bit count as more pixels); ``None``: no limit. Default 100 MP, about
            2.5 GB of working memory. Arrays and Pillow images are not held to it (they are decoded already).

    Returns:
        float32 ``HxW`` in [0, 1], 1 = subject (colour kept), a new writeable NumPy array. No subject found: all
        0 (``on_empty=grey``) or all 1 (``copy``, or ``invert``: all of it is background); :func:`subject_score` or
        :func:`alpha_and_subject` say which. Its ``notes`` (:class:`NotedArray`) say what reading a file noted
        (an animation's first frame used, 16-bit reduced to 8, transparency seen over white...), as the CLI
        prints them; empty for an array or Pillow image.

    Raises:
        NoSubjectError: no subject and ``on_empty="skip"``. OptionError: a bad override.
        ImageReadError: ``image`` is a path that cannot be read as a picture (missing, a folder, a web address,
            not readable, not a picture, or over ``max_pixels``), a closed file object or one that fails to read,
            or a Pillow image whose pixels cannot be read (its file damaged, or closed before they were:
            ``Image.open`` reads them on first use).
        ModelLoadError: ``model`` is a path that is missing, a folder, or not a colorsplash ONNX file.
        TypeError: ``image``, ``model`` or ``options`` of the wrong type (``bytes``: wrap picture data as
            ``io.BytesIO(data)``), or a file object opened in text mode or for writing only.
        ValueError: an empty or malformed image array. All the errors above but ``ModelLoadError`` and ``TypeError`` are
            ``ValueError`` subclasses.
    """
    return alpha_and_subject(image, model, options, max_pixels=max_pixels, **overrides)[0]


def splash(
    image: ImageLike,
    model: Model | str | os.PathLike[str] | None = None,
    options: SplashOptions | None = None,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    **overrides: Any,
) -> np.ndarray:
    """Colour splash of a photo: the subject in colour, the background as ``effect`` (grey by default).

    Args: as :func:`predict_alpha` (``image``, ``model``, ``options``, ``max_pixels``); ``effect`` picks the
    background (keyword options below). ``image`` is RGB, not BGR (a NumPy uint8 ``HxWx3``, ``HxW`` grey or
    ``HxWx4`` RGBA array, a Pillow image, a file path or a binary file object).

    Returns:
        uint8 ``HxWx3`` RGB, or ``HxWx4`` RGBA for ``effect="transparent"``, at the photo's full resolution: a
        new writeable NumPy array (the input is never changed), for a Pillow image too
        (``PIL.Image.fromarray(out)`` makes one). ``quality`` has no effect here (it is for written files).
        ``out.notes`` (:class:`NotedArray`): a tuple of what the user should know, as the CLI prints them (an
        animation's first frame used, CMYK converted, transparency flattened onto white...); empty for an array or
        Pillow image. Nothing about metadata: the array carries none.

    Raises:
        as :func:`predict_alpha`: NoSubjectError, OptionError, ImageReadError, ModelLoadError, TypeError,
        ValueError.
    """
    loaded, opts, max_pixels = _resolve(model, options, overrides, max_pixels)
    planned = _plan(loaded, image, opts, max_pixels)
    alpha = _alpha(loaded, planned, opts)[0]
    written: Written = "cut-out" if opts.effect == "transparent" else "splash"
    return with_notes(composite(planned.rgb, alpha, opts, planned.own_alpha), _notes(planned.photo, written))


def _notes(photo: Photo | None, written: Written) -> list[str]:
    """The notes of a result array made from ``photo`` (``None``: an array or Pillow image, none)."""
    return [] if photo is None else result_notes(photo, written, spelling="python")


def _document_options() -> None:
    """Append the keyword options, generated from :class:`SplashOptions`, to the API docstrings (``help()``)."""
    intro = (
        "\n    Keyword options (``**overrides``, named as the CLI's flags; text is parsed as on the command\n"
        '    line, e.g. ``point="120,80"``):\n\n'
    )
    if splash.__doc__:  # None under python -OO
        splash.__doc__ += intro + describe_options(indent="        ") + "\n"
    if predict_alpha.__doc__:
        predict_alpha.__doc__ += intro + describe_options(MASK_OPTION_NAMES, indent="        ") + "\n"


_document_options()
