"""Fuzz what every photo goes through before the model, and the metadata its result carries.

Per input, as ``splash`` and ``serve`` read a photo: the server's pixel estimate (``photo_pixels``: never raises),
the planning probe (``probe_picture``), the upright size and reduced JPEG copy of the overlapped decode
(``upright_size``, ``reduced_jpeg``: ``None`` or a value, never raise), the decode with EXIF orientation, ICC,
XMP, IPTC and PNG text (``decode_image_bytes``), the result's notes, and the result encoded with the metadata it
carries in each format written with metadata, read back as ``write_image`` checks it. Allowed: ``ImageReadError``
(and its subclasses) from the probe and the decode; anything else is a finding, as are wrong shapes or dtypes.

Run: ``PYTHONPATH=src python scripts/fuzz/fuzz_photos.py CORPUS SEEDS -max_total_time=600 -timeout=5
-rss_limit_mb=1024`` (see README.md); ``python scripts/fuzz/fuzz_photos.py FILE...`` replays files.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import main  # noqa: E402

_REPLAY = any(Path(a).is_file() for a in sys.argv[1:] if not a.startswith("-"))
with contextlib.nullcontext() if _REPLAY else __import__("atheris").instrument_imports(include=["colorsplash", "PIL"]):
    import numpy as np

    from colorsplash.runtime.pictures.photo_io import ImageReadError, decode_image_bytes, probe_picture
    from colorsplash.runtime.pictures.photo_write import MAX_SIDE, check_encoded, encode_image, output_format
    from colorsplash.runtime.pipeline import reduced_jpeg, upright_size
    from colorsplash.runtime.result_notes import result_notes
    from colorsplash.server.limits import PhotoSize, photo_pixels

LIMIT = 4_000_000  # pixels: the rules are those of any limit; a small one keeps each input fast
NAME = "fuzz.bin"
SMALL = 100_000  # pixels under which the result is also written in every format with metadata


def check(data: bytes) -> None:
    size = photo_pixels(data)
    assert size is None or isinstance(size, PhotoSize), size
    probed = None
    with contextlib.suppress(ImageReadError):
        probed = probe_picture(data, NAME, LIMIT)
    hw = upright_size(data)
    photo = decode_image_bytes(data, LIMIT, NAME)
    rgb = photo.rgb
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size, (rgb.dtype, rgb.shape)
    assert photo.alpha is None or photo.alpha.shape == rgb.shape[:2], (photo.alpha.shape, rgb.shape)
    assert probed is not None, "decoded, but the planning probe refused it"
    if hw is not None and hw[0] * hw[1] <= LIMIT:
        small = reduced_jpeg(data, (max(1, hw[0] // 2), max(1, hw[1] // 2)))
        assert small is None or small.shape == (max(1, hw[0] // 2), max(1, hw[1] // 2), 3), small.shape
    fmt, _ = output_format(photo.format, ".bin")
    formats = {fmt, "JPEG", "PNG", "WEBP", "TIFF"} if rgb.shape[0] * rgb.shape[1] <= SMALL else {fmt}
    for out in sorted(f for f in formats if max(rgb.shape[:2]) <= MAX_SIDE.get(f, LIMIT)):  # else refused in words
        result_notes(photo, "splash", out, "cli")
        body = encode_image(
            rgb, out, 90, photo.exif, photo.icc, full_chroma=photo.full_chroma, xmp=photo.xmp, iptc=photo.iptc
        )
        check_encoded(body, out, (rgb.shape[1], rgb.shape[0]), f"result.{out.lower()}", body)
        if out != "JPEG":
            continue
        check_encoded(body, out, (rgb.shape[1], rgb.shape[0]), f"result.{out.lower()}")  # decoded in full
        decode_image_bytes(body, LIMIT, "result.jpg")  # a result reads back (its spliced metadata too)


if __name__ == "__main__":
    main(check, (ImageReadError,))
