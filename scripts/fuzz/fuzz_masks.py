"""Fuzz mask and trimap reading for ``evaluate`` and ``train``: :func:`read_labels` of each layout kind and
:func:`read_grey` on a file holding the input (alone in its folder: a folder of Oxford trimaps is told from its
files). Allowed: ``ImageReadError``; anything else is a finding, as are labels other than uint8 ``HxW`` of 0, 1 and
``IGNORE``.

Run: as ``fuzz_photos.py`` (see README.md); ``python scripts/fuzz/fuzz_masks.py FILE...`` replays files.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import main  # noqa: E402

_REPLAY = any(Path(a).is_file() for a in sys.argv[1:] if not a.startswith("-"))
# Not mask_read: atheris's tracing of its NumPy comparisons keeps the arrays compared (1 GB in a minute).
_TRACED = {"include": ["colorsplash", "PIL"], "exclude": ["colorsplash.evaluation.mask_read"]}
with contextlib.nullcontext() if _REPLAY else __import__("atheris").instrument_imports(**_TRACED):
    import numpy as np

    from colorsplash.evaluation.mask_read import read_grey, read_labels
    from colorsplash.evaluation.metrics import IGNORE
    from colorsplash.runtime.pictures import photo_io
    from colorsplash.runtime.pictures.photo_io import ImageReadError

# Masks are read at the package's default pixel limit (100 MP); a smaller one keeps each input fast, same rules.
photo_io.open_oriented.__defaults__ = photo_io.open_image.__defaults__ = (4_000_000,)
_FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-masks-"))


def check(data: bytes) -> None:
    path = _FOLDER / "mask.png"
    path.write_bytes(data)
    grey = read_grey(path)
    assert grey.dtype == np.uint8 and grey.ndim == 2, (grey.dtype, grey.shape)
    for kind in ("seed", "paired", "oxford"):
        read = read_labels(path, kind)
        labels = read.labels
        assert labels.dtype == np.uint8 and labels.shape == grey.shape, (labels.dtype, labels.shape, grey.shape)
        assert set(np.unique(labels).tolist()) <= {0, 1, IGNORE}, np.unique(labels)
        assert read.orientation in range(1, 9), read.orientation


if __name__ == "__main__":
    main(check, (ImageReadError,))
