"""The one no-subject policy: when a photo holds no subject (:func:`no_subject_reason`, the gate that ``splash``,
evaluation and validation apply; the threshold's calibration uses its score comparison, :func:`under_gate`), what
it then becomes (``on_empty``), and the words that say so — for ``splash``, ``mask``, ``video``, the Python API and
the HTTP API alike."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from colorsplash.runtime.wording import PYTHON_WORDS, Wording, option_name, option_use

if TYPE_CHECKING:  # alpha.py applies the gate below: a type only here, no import cycle
    from colorsplash.runtime.edges.alpha import AlphaResult

__all__ = [
    "NoSubjectError",
    "apply_on_empty",
    "gate_text",
    "no_subject_reason",
    "score_text",
    "shown_against",
    "under_gate",
]

NoSubjectReason = Literal["score", "cutoff"]


def under_gate(score: float, threshold: float) -> bool:
    """The photo-level gate's one comparison: whether a subject score in [0, 1] is under ``threshold`` (the
    model's ``presence_threshold``): no subject there. A score equal to the threshold passes."""
    return bool(score < threshold)


def score_text(score: float, places: int = 2) -> str:
    """A subject score in [0, 1] as the no-subject line (two decimals) and the HTTP API's score header (four) show
    it: rounded down, so that a score just under its threshold never reads as the threshold itself (0.4994 under
    0.5 read "0.50", as if it had passed). The web page rounds the same way (``words.js``). A score that is not a
    number (a broken model's) is shown as it is ("nan"), not an error."""
    if not math.isfinite(score):
        return str(score)
    scale = 10**places
    return f"{math.floor(score * scale + 1e-9) / scale:.{places}f}"


def gate_text(score: float, threshold: float) -> str:
    """The subject score (in [0, 1]) against the model's ``threshold`` as the no-subject line says it: "subject
    score 0.29, under the model's 0.38", or "..., passing the model's 0.38" (the cut-off then left the photo
    empty), shown as :func:`shown_against` shows them. The web page says the same (``words.js``)."""
    shown_score, shown_threshold = shown_against(score, threshold)
    word = "under" if under_gate(score, threshold) else "passing"
    return f"subject score {shown_score}, {word} the model's {shown_threshold}"


def shown_against(value: float, threshold: float) -> tuple[str, str]:
    """``value`` and the ``threshold`` it is held against (both in [0, 1]) as the no-subject line shows them: the
    value rounded down (:func:`score_text`), the threshold to the nearest (halves up), both to two decimals, or
    three or four where two would read the wrong way round (0.652 under 0.6554 read "0.65" under "0.66"; 0.656
    passing 0.6554 reads "0.656" passing "0.655"; a highest probability of 0.99995 under a cut-off of 0.99999 read
    "1.00" under "1.00")."""
    under = under_gate(value, threshold)
    for places in (2, 3, 4):
        shown_value, shown_threshold = float(score_text(value, places)), _nearest(threshold, places)
        if (shown_value < shown_threshold) == under:
            break
    else:  # still the wrong way round at four places: the threshold rounded away from the value
        step = 1e4
        shown_threshold = (math.ceil if under else math.floor)(threshold * step + (-1e-9 if under else 1e-9)) / step
    return score_text(value, places), f"{shown_threshold:.{places}f}"


def _nearest(value: float, places: int) -> float:
    """``value`` (>= 0) rounded to ``places`` decimals, halves up, as the page's ``Math.round`` does (Python's
    ``round`` takes halves to even: a threshold of 0.625 read "0.62" here and "0.63" on the page)."""
    scaled = value * 10**places
    whole = math.floor(scaled)
    return (whole + (scaled - whole >= 0.5)) / 10**places


def no_subject_reason(
    score: float | None, threshold: float, max_probability: float, cutoff: float = 0.5, point: bool = False
) -> NoSubjectReason | None:
    """The one rule of "is there a subject in this photo?", as ``splash`` and ``mask`` show it
    (:func:`~colorsplash.runtime.edges.alpha.plan_alpha`), evaluation scores it
    (:func:`~colorsplash.training.predictors.gated`) and validation counts it.

    Args:
        score: the photo's subject score in [0, 1] (the presence output's); ``None``: a model without one, whose
            score is then ``max_probability``.
        threshold: the score from which a photo holds a subject (the model's ``presence_threshold``).
        max_probability: the model's highest pixel probability in the photo, in [0, 1].
        cutoff: the pixel probability a subject pixel reaches (``--threshold``, 0.5 by default).
        point: a point was given (``--point``): the user's word that a subject is there, which the score's gate
            yields to (the cut-off still applies).

    Returns: ``None`` when the photo holds a subject; ``"score"`` when the score is under ``threshold`` (and no
    point was given); ``"cutoff"`` when the score passed but no pixel reaches ``cutoff``.
    """
    if under_gate(max_probability if score is None else score, threshold) and not point:
        return "score"
    if max_probability < cutoff:
        return "cutoff"
    return None


class NoSubjectError(ValueError):
    """The model found no subject and ``on_empty`` is ``skip``; the message names the photo (its file, or "the
    photo" for an array) and gives the subject score, and so do :attr:`score` (in [0, 1], see
    :class:`AlphaResult`) and :attr:`max_probability` (``None``: not known)."""

    def __init__(self, message: str, score: float | None = None, max_probability: float | None = None) -> None:
        super().__init__(message)
        self.score = score
        self.max_probability = max_probability


def apply_on_empty(
    result: AlphaResult, on_empty: str, name: str, mask: bool = False, words: Wording = PYTHON_WORDS
) -> str | None:
    """The one no-subject policy: what happens when the model finds no subject in ``name``.

    ``grey`` keeps the alpha of no subject: all 0 (background effect everywhere), or all 1 when inverted (the
    whole photo is background, which invert keeps in colour: a mask of the background is all 255); ``copy`` sets
    it to all 1 (the photo unchanged), ``skip`` raises. Returns the line to tell the user (worded for a mask when
    the result written is the ``mask`` itself), or ``None`` when a subject was found; ``words``: the model's word
    for what it finds and how the caller names options (:class:`~colorsplash.runtime.wording.Wording`).

    Raises: NoSubjectError: ``on_empty == "skip"`` and no subject was found.
    """
    if not result.empty:
        return None
    gate = gate_text(result.score, result.score_threshold)
    if result.cutoff is not None and under_gate(result.score, result.score_threshold):  # a point passes the gate
        gate = f"subject score {score_text(result.score)}, not needed with {option_name('point', words.spelling)}"
    text = f"no {words.subject} found in {name} ({gate})"
    if result.cutoff is not None:  # the score passed (or a point skipped it): the cut-off alone left it empty
        top, cut = shown_against(result.max_probability, result.cutoff)
        threshold = option_name("threshold", words.spelling)
        text = f"{text[:-1]}; no pixel reaches the cut-off {cut} (highest {top}), lower {threshold})"
    if on_empty == "skip":
        raise NoSubjectError(f"{text}; skipped", result.score, result.max_probability)
    if result.inverted:
        result.alpha.fill(1.0)
        done = "wrote an all-255 mask" if mask else "kept in full colour"
        return f"{text}; all of it is background ({option_name('invert', words.spelling)}): {done}"
    if on_empty == "copy":
        result.alpha.fill(1.0)
        return f"{text}; {'wrote an all-subject mask' if mask else 'kept in full colour'}"
    if mask:
        return f"{text}; wrote an empty mask"
    point, copy = option_use("point", "X,Y", words.spelling), option_use("on_empty", "copy", words.spelling)
    hint = f"{copy} keeps the {words.item}"
    if result.cutoff is None:  # a point passes the score's gate only: no help where the cut-off left it empty
        hint = f"{point} colours the {words.subject} there, {hint}"
    return f"{text}; background effect everywhere ({hint})"
