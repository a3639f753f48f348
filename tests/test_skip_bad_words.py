"""Under ``--skip-bad`` the list of the photos left out does not advise passing ``--skip-bad`` (it was passed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.layouts import make_paired_set
from PIL import Image

from colorsplash.evaluation.datasets import discover, iter_pairs


def test_skipped_pairs_are_listed_without_the_advice_to_skip_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_paired_set(tmp_path / "set", n=3)
    masks = sorted((tmp_path / "set" / "masks").iterdir())
    Image.fromarray(np.zeros((40, 90), np.uint8)).save(masks[0])  # another shape than its photo
    masks[1].write_bytes(b"not a picture")
    with caplog.at_level("WARNING"):
        kept = list(iter_pairs(discover(tmp_path / "set"), skip_bad=True, show_progress=False))
    assert len(kept) == 1
    said = caplog.text
    assert masks[0].name in said and masks[1].name in said and "skipped 2 photo(s)" in said
    assert "--skip-bad)" in said and "pass --skip-bad" not in said
