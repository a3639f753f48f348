"""Audited photos not to use: the package's ``excluded.tsv`` lists, per data set, photos whose labels were found
wrong (or pet-free photos that show an unlabelled pet), with the reason (docs/model-card.md, "Audit of the
unseen-breed and breed labels"); every reader of the shared sets drops them
(:func:`colorsplash.evaluation.datasets.drop_excluded`)."""

from __future__ import annotations

from importlib import resources


def excluded_reasons() -> dict[tuple[str, str], str]:
    """``{(set, photo name): reason}`` from the package's ``excluded.tsv`` (audited photos not to use)."""
    text = (resources.files("colorsplash.evaluation") / "excluded.tsv").read_text()
    out: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] and not line.startswith("#") and parts[0] != "set":
            out[(parts[0], parts[1])] = parts[2].strip() if len(parts) > 2 else ""
    return out


def excluded_names() -> dict[str, set[str]]:
    """``{set: {photo names}}`` from the package's ``excluded.tsv`` (see :func:`excluded_reasons`)."""
    out: dict[str, set[str]] = {}
    for dataset, name in excluded_reasons():
        out.setdefault(dataset, set()).add(name)
    return out
