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


def test_a_figure_that_does_not_read_back_is_not_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``curves.png`` and ``overview.png`` were renamed into place unread: a PNG cut short by a failing disk became
    the run's figure. It is decoded again first, else refused naming it; a sound one is published."""
    from matplotlib.figure import Figure

    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_iou": e / 4} for e in (1, 2)]
    plots.plot_curves(history, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    savefig = Figure.savefig

    def cut_short(self: Figure, fname: Any, **kwargs: Any) -> None:
        savefig(self, fname, **kwargs)
        data = Path(fname).read_bytes()
        Path(fname).write_bytes(data[: len(data) // 2])

    monkeypatch.setattr(Figure, "savefig", cut_short)
    out = tmp_path / "run" / "curves.png"
    out.parent.mkdir()
    with pytest.raises(OSError, match=f"cannot write {out}: the figure written does not read back"):
        plots.plot_curves(history, out)
    assert list(out.parent.iterdir()) == []
