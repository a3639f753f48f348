"""``curves.png`` of a run: its epoch axes mark whole epochs (a 3-epoch run was drawn with ticks at 1.5 and 2.5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("cv2")

from colorsplash.training import plots  # noqa: E402


def test_the_curves_mark_whole_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures: list[Any] = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_iou": e / 4} for e in (1, 2, 3)]
    plots.plot_curves(history, tmp_path / "curves.png")
    (fig,) = figures
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plots.plt.close(fig)
