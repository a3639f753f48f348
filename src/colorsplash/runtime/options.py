"""The splash options: one definition serving the Python API, the CLI (argparse) and HTTP (query/form).

Each field of :class:`SplashOptions` carries its parser and help text in ``metadata``. The parsers take text
(``"0.4"``, ``"12,30"``) or typed values (``0.4``, ``(12, 30)``) and raise ``ValueError`` with a message for a
person. :meth:`SplashOptions.__post_init__` runs them on every field, so every way of making options (the Python
API, :func:`options_from_mapping` for HTTP form fields, :func:`colorsplash.cli.option_flags.add_arguments` for
CLI flags, :meth:`SplashOptions.replace`) refuses the same bad values with the same :class:`OptionError`, which
each caller words its own way (:meth:`OptionError.spelt`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import operator
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from colorsplash.runtime.wording import Spelling, option_name

EFFECTS = ("grey", "blur", "dim", "sepia", "color", "transparent")
MAX_FEATHER = 200.0  # pixels
MAX_BLUR_RADIUS = 1000.0  # pixels; the blur runs on a reduced copy, so its cost does not grow with the radius
EFFECT_HELP = (
    "grey[:AMOUNT] (AMOUNT 0..1 of desaturation, 1 = fully grey), blur[:RADIUS] (Gaussian sigma in "
    "pixels; plain blur scales with the photo), dim[:AMOUNT] (0..1 of darkening, 1 = black; plain dim "
    "= 0.6), sepia, color:#RRGGBB[AA] (a colour, AA its opacity over the grey background), "
    "transparent (PNG cut-out)"
)
EFFECT_CHOICES = "grey[:AMOUNT], blur[:RADIUS], dim[:AMOUNT], sepia, color:#RRGGBB[AA] or transparent"
_COLOR_RE = re.compile(r"^#?([0-9a-f]{6}|[0-9a-f]{8})$")


class OptionError(ValueError):
    """A bad option: ``name`` (Python's, ``on_empty``), ``reason``; the message names it in ``spelling``'s words,
    and so the options ``known`` listed after the reason (an unknown option's alternatives)."""

    def __init__(self, name: str, message: str, spelling: Spelling = "python", known: Sequence[str] = ()) -> None:
        listed = f"; known: {', '.join(option_name(k, spelling) for k in known)}" if known else ""
        super().__init__(f"{option_name(name, spelling)}: {message}{listed}")
        self.name, self.reason, self.spelling, self.known = name, message, spelling, tuple(known)

    def __reduce__(self) -> tuple[type[OptionError], tuple[str, str, Spelling, tuple[str, ...]]]:
        """Pickled as its parts: a worker process's refusal reaches its pool (Python's default, the message alone,
        failed to unpickle, and the pool broke: "A process in the process pool was terminated abruptly")."""
        return OptionError, (self.name, self.reason, self.spelling, self.known)

    def spelt(self, spelling: Spelling) -> OptionError:
        """This error in the words of ``spelling``'s caller (the CLI's, the HTTP API's)."""
        return OptionError(self.name, self.reason, spelling, self.known)


# ------------------------------------------------------------------------------------------------ value parsers


def _number(value: Any, what: str = "a number") -> float:
    """A finite float from text or a real number (not a bool). Raises ``ValueError`` naming the value."""
    if isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            raise ValueError(f"expected {what}, got {value!r}") from None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            v = float(value)
        except OverflowError:
            raise ValueError(f"expected {what}, got {value!r} (too large)") from None
    else:
        raise ValueError(f"expected {what}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(v):
        raise ValueError(f"expected {what}, got {value!r} (not finite)")
    return v


def _in_range(value: Any, low: float, high: float, unit: str = "") -> float:
    v = _number(value, f"a number from {low:g} to {high:g}{unit}")
    if not low <= v <= high:
        raise ValueError(f"must be between {low:g} and {high:g}{unit}, got {value}")
    return v


@dataclass(frozen=True)
class Effect:
    """A background effect, parsed: ``name`` is one of :data:`EFFECTS`.

    ``amount``: ``grey`` 0..1 desaturation, ``dim`` 0..1 darkening, ``blur`` Gaussian sigma in pixels of the
    full-resolution photo; ``None`` = the effect's usual look. ``rgba``: the ``color`` effect's colour and its
    opacity (``A`` 0..255) over the grey background. ``str(effect)`` is the canonical text form.
    """

    name: str
    amount: float | None = None
    rgba: tuple[int, int, int, int] | None = None

    def __str__(self) -> str:
        if self.rgba is not None:
            r, g, b, a = self.rgba
            return f"color:#{r:02x}{g:02x}{b:02x}" + ("" if a == 255 else f"{a:02x}")
        return self.name if self.amount is None else f"{self.name}:{self.amount:g}"


def parse_effect_spec(value: Any) -> Effect:
    """``grey``, ``grey:0.5``, ``blur``, ``blur:12``, ``dim:0.3``, ``sepia``, ``color:#ff8000[80]``,
    ``transparent`` (case-insensitive; ``gray`` and ``colour`` also) -> :class:`Effect`. Raises ``ValueError``."""
    if isinstance(value, Effect):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected text such as 'grey' or 'blur:8', got {value!r}")
    name, sep, arg = value.strip().lower().partition(":")
    name = {"gray": "grey", "colour": "color"}.get(name.strip(), name.strip())
    arg = arg.strip()
    if name not in EFFECTS:
        raise ValueError(f"unknown effect {value!r}; choose {EFFECT_CHOICES}")
    if name == "color":
        if not arg:  # in a URL's query string '#' starts the fragment: the client never sends the colour
            raise ValueError(
                f"{value!r} names no colour; write it as color:#RRGGBB or color:#RRGGBBAA (in a URL, '#' ends "
                "the query and what follows is not sent: write it as %23, e.g. effect=color:%23ff8000)"
            )
        match = _COLOR_RE.match(arg)
        if not match:
            raise ValueError(f"{value!r}: write the colour as color:#RRGGBB or color:#RRGGBBAA (hex digits)")
        digits = match.group(1) + ("" if len(match.group(1)) == 8 else "ff")
        r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return Effect("color", rgba=(r, g, b, a))
    if not sep:
        return Effect(name)
    if name in ("grey", "dim"):
        try:
            return Effect(name, _in_range(arg, 0.0, 1.0))
        except ValueError as err:
            raise ValueError(f"{name}:AMOUNT: {err}") from None
    if name == "blur":
        radius = _number(arg, "a radius in pixels")
        if not 0.0 < radius <= MAX_BLUR_RADIUS:
            raise ValueError(f"blur:RADIUS must be more than 0 and at most {MAX_BLUR_RADIUS:g} pixels, got {arg}")
        return Effect(name, radius)
    raise ValueError(f"{name} takes no strength, got {value!r}")


def parse_effect(value: Any) -> str:
    """An effect in its canonical text form (see :func:`parse_effect_spec`)."""
    return str(parse_effect_spec(value))


def parse_point(value: Any) -> tuple[int, int]:
    """``"X,Y"`` or a pair of numbers (a tuple, a list, a NumPy array of two) -> whole, non-negative pixel
    coordinates (fractions are dropped)."""
    if getattr(value, "ndim", None) == 1 and callable(getattr(value, "tolist", None)):  # a NumPy array, not numpy here
        value = value.tolist()
    parts = value.split(",") if isinstance(value, str) else value
    if isinstance(parts, (str, bytes)) or not isinstance(parts, Sequence) or len(parts) != 2:
        raise ValueError(f"expected X,Y in pixels, got {value!r}")
    try:
        x, y = (_number(p) for p in parts)
    except ValueError:
        raise ValueError(f"expected X,Y as finite pixel positions, got {value!r}") from None
    if x < 0 or y < 0:
        raise ValueError(f"X and Y must not be negative, got {value!r}")
    return int(x), int(y)


def parse_unit_float(value: Any) -> float:
    return _in_range(value, 0.0, 1.0)


def parse_feather(value: Any) -> float:
    return _in_range(value, 0.0, MAX_FEATHER, " pixels")


def parse_quality(value: Any) -> int:
    what = "a whole number from 1 to 100"
    try:
        v = int(value.strip()) if isinstance(value, str) else operator.index(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected {what}, got {value!r}") from None
    if isinstance(value, bool) or not 1 <= v <= 100:
        raise ValueError(f"expected {what}, got {value!r}")
    return v


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return bool(value)
    v = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        v = value.strip().lower() if isinstance(value, str) else value
        if v not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}, got {value!r}")
        return str(v)

    parse.choices = choices  # type: ignore[attr-defined]
    return parse


def _opt(
    default: Any, parse: Callable[[Any], Any], help: str, metavar: str | None = None, mask_help: str | None = None
) -> Any:
    return field(
        default=default, metadata={"parse": parse, "help": help, "metavar": metavar, "mask_help": mask_help or help}
    )


# --------------------------------------------------------------------------------------------------- the options


@dataclass(frozen=True)
class SplashOptions:
    """How a splash is made from a photo and its predicted alpha (see :func:`colorsplash.splash`).

    Every field is checked (and text parsed) on creation: a bad value raises :class:`OptionError` naming it.
    """

    effect: str = _opt("grey", parse_effect, "background effect: " + EFFECT_HELP, "EFFECT")
    threshold: float | None = _opt(
        None,
        parse_unit_float,
        "where the subject's edge lies, 0..1: the soft alpha is remapped so that P becomes half colour (0 and 1 stay; "
        "lower P colours more, higher less), or with hard cut to colour or grey at P; also the level some pixel "
        "must reach for a subject to be found (the model's subject-score threshold stays), and at which keep and "
        "point tell the subjects apart (default: none: the soft alpha as is, 0.5 for those)",
        "P",
        mask_help="where the subject's edge lies, 0..1: the soft mask is remapped so that P becomes 128 (0 and 255 "
        "stay; lower P marks more, higher less), or with hard cut to 0 or 255 at P; also the level some pixel must "
        "reach for a subject to be found (the model's subject-score threshold stays), and at which keep and point "
        "tell the subjects apart (default: none: the soft mask as is, 0.5 for those)",
    )
    feather: float = _opt(0.0, parse_feather, "extra edge softness in pixels (Gaussian blur of the alpha)", "PX")
    hard: bool = _opt(
        False,
        parse_bool,
        "binary alpha: no soft edges (a feather softens the cut's edge again)",
        mask_help="binary mask: 0 or 255 only (a feather softens its edge again)",
    )
    invert: bool = _opt(
        False,
        parse_bool,
        "subject grey, background in colour",
        mask_help="255 marks the background instead of the subject",
    )
    keep: str = _opt(
        "all", _choice("all", "largest"), "keep every subject or only the largest (a point given chooses instead)"
    )
    point: tuple[int, int] | None = _opt(
        None,
        parse_point,
        "keep only the subject under this pixel, or the nearest one when it is on the background (X, Y of the "
        "orientation-corrected photo; default: every subject); also colours a photo the model judged to hold no "
        "subject",
        "X,Y",
        mask_help="keep only the subject under this pixel, or the nearest one when it is on the background (X, Y of "
        "the orientation-corrected photo; default: every subject); also masks it in a photo the model judged to "
        "hold no subject",
    )
    on_empty: str = _opt(
        "grey",
        _choice("grey", "copy", "skip"),
        "when no subject is found: write all grey (with invert the whole photo is background and stays in colour), "
        "copy the photo, or skip the file",
        mask_help="when no subject is found: write an all-0 mask (grey; all 255 with invert: all of it is "
        "background), an all-255 mask (copy), or skip the file",
    )
    refine: bool = _opt(
        True,
        parse_bool,
        "refine the edges on the full-resolution photo with the edges stage (off: the model's probability, upsampled)",
    )
    quality: int = _opt(
        95, parse_quality, "JPEG/WebP quality 1..100 of written files (a lossless WebP gives a lossless one)", "Q"
    )
    edges: str = _opt(
        "auto",
        _choice("auto", "fast", "matte"),
        "edge stage: matte (closed-form matting in the band around the subject's edge and colour "
        "decontamination: soft fur, no background colour on the edge), fast (guided filter; 13-29 % less "
        "time on a 12 MP photo), or auto (matte for photos, fast for video frames)",
        "MODE",
        mask_help="edge stage: matte (closed-form matting in the band around the subject's edge: soft fur), fast "
        "(guided filter; less time), or auto (matte for photos)",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            try:
                parsed = f.metadata["parse"](value)
            except ValueError as err:
                raise OptionError(f.name, str(err)) from None
            object.__setattr__(self, f.name, parsed)  # frozen: the parsed, canonical value replaces the given

    def replace(self, **changes: Any) -> SplashOptions:
        return dataclasses.replace(self, **changes)

    @property
    def matte_edges(self) -> bool:
        """Whether the matte edge stage runs: ``edges`` is ``matte``, or ``auto`` (photos; the video pipeline turns
        ``auto`` into ``fast`` before it gets here, see
        :func:`colorsplash.runtime.video.video_frames.video_options`)."""
        return self.edges in ("auto", "matte")

    @property
    def effect_spec(self) -> Effect:
        """The effect, parsed."""
        return parse_effect_spec(self.effect)


OPTION_FIELDS: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(SplashOptions)
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in OPTION_FIELDS)
# A mask is the alpha itself: the options about the picture (effect, quality) do not apply.
MASK_OPTION_NAMES: tuple[str, ...] = tuple(n for n in OPTION_NAMES if n not in ("effect", "quality"))


def option_help(f: dataclasses.Field[Any], mask: bool = False, text: str | None = None) -> str:
    """The option's help (``text``: a verb's own words for it) with its default: ``... largest (default: all)``."""
    text = text or f.metadata["mask_help" if mask else "help"]
    if f.default is None:
        return text
    default = ("on" if f.default else "off") if isinstance(f.default, bool) else f.default
    return f"{text} (default: {default})"


def choices(f: dataclasses.Field[Any]) -> tuple[str, ...] | None:
    """The option's allowed values when it is a choice (``keep``, ``on_empty``), else ``None``."""
    return getattr(f.metadata["parse"], "choices", None)


def describe_options(
    names: Iterable[str] | None = None, mask: bool = False, indent: str = "    ", width: int = 110
) -> str:
    """One line per option (``name: help (default: ...)``), for docstrings and help pages."""
    wanted = set(OPTION_NAMES if names is None else names)
    lines = []
    for f in OPTION_FIELDS:
        if f.name in wanted:
            plain = f.metadata["metavar"] or ("True|False" if f.type in ("bool", bool) else "")
            kind = "|".join(choices(f) or ()) or plain
            lines.append(
                textwrap.fill(
                    f"{f.name} ({kind}): {option_help(f, mask)}",
                    width,
                    initial_indent=indent,
                    subsequent_indent=indent + "    ",
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines)


if SplashOptions.__doc__:  # None under python -OO
    SplashOptions.__doc__ += "\n    Fields:\n\n" + describe_options(indent="        ") + "\n"


def options_from_mapping(
    values: Mapping[str, Any], base: SplashOptions | None = None, *, known: Sequence[str] = OPTION_NAMES
) -> SplashOptions:
    """``base`` (default: the defaults) with ``values`` applied: text (a query string, form fields) or typed
    values (Python keywords); names in CLI (``on-empty``) or Python (``on_empty``) spelling. An empty text for
    ``threshold`` or ``point`` means none. ``known``: the names an unknown one is told of (a caller that takes
    other fields beside the options, or fewer of them, lists its own).

    Raises:
        OptionError: naming the first unknown option or bad value.
    """
    changes: dict[str, Any] = {}
    for raw_name, value in values.items():
        name = raw_name.replace("-", "_")
        if name not in OPTION_NAMES:
            raise OptionError(name, "unknown option", known=known)
        optional = name in ("threshold", "point")
        changes[name] = None if optional and isinstance(value, str) and not value.strip() else value
    return dataclasses.replace(base or SplashOptions(), **changes)
