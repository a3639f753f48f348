"""JPEG encoding in bands stitched by restart markers (runtime/pictures/jpeg_bands.py): the same file as one encode."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from PIL import Image

from colorsplash.runtime.pictures import jpeg_bands
from colorsplash.runtime.pictures.photo_write import encode_image


def _photo(h: int, w: int) -> np.ndarray:
    image = cv2.resize(make_blob_image(120, 160, seed=2)[0], (w, h), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(1536, 1440), (1601, 1337), (4100, 600), (8192, 320)])  # aligned, ragged, tall
# (8192 rows: bands start after 256 restart intervals, where the renumbering once overflowed uint8)
@pytest.mark.parametrize("full_chroma", [False, True], ids=["420", "444"])
def test_bands_give_the_bytes_of_one_encode_with_the_same_restart_interval(
    size: tuple[int, int], full_chroma: bool
) -> None:
    rgb = _photo(*size)
    assert len(jpeg_bands.band_rows(*size, cores=2)) >= 2
    stitched = jpeg_bands.encode_jpeg(rgb, 90, cores=2, full_chroma=full_chroma)
    mcu = jpeg_bands.MCU // 2 if full_chroma else jpeg_bands.MCU
    whole = jpeg_bands._encode(rgb, 90, -(-size[1] // mcu), full_chroma)
    assert stitched == whole
    with Image.open(io.BytesIO(stitched)) as img:
        img.load()
        assert img.size == (size[1], size[0])
        assert np.abs(np.asarray(img).astype(int) - rgb).mean() < 6


def test_band_rows_cut_on_mcu_rows_and_cover_the_picture() -> None:
    for h, w, cores in [(3000, 4000, 2), (3000, 4000, 8), (1001, 1403, 2), (500, 500, 2), (3000, 4000, 1)]:
        bands = jpeg_bands.band_rows(h, w, cores)
        assert bands[0].start == 0 and bands[-1].stop == h
        assert all(a.stop == b.start for a, b in zip(bands[:-1], bands[1:], strict=True))
        assert all(b.stop % jpeg_bands.MCU == 0 for b in bands[:-1])
        assert len(bands) == 1 or all((b.stop - b.start) * w >= jpeg_bands.MIN_BAND_PIXELS // 2 for b in bands)
    assert len(jpeg_bands.band_rows(3000, 4000, 2)) == 4 and len(jpeg_bands.band_rows(3000, 4000, 1)) == 1


def test_prepare_runs_on_each_band_in_order_before_it_is_encoded() -> None:
    rgb = _photo(2048, 1500)
    seen: list[slice] = []

    def prepare(rows: slice) -> None:
        seen.append(rows)
        rgb[rows] = 255 - rgb[rows]  # the encoded picture must show every band changed

    original = rgb.copy()
    data = encode_image(rgb, "JPEG", 92, prepare=prepare)
    assert len(seen) >= 2 and seen[0].start == 0 and seen[-1].stop == 2048
    assert all(a.stop == b.start for a, b in zip(seen[:-1], seen[1:], strict=True))
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # IMREAD_COLOR_RGB: OpenCV >= 4.11
    assert decoded is not None
    decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    assert np.abs(decoded.astype(int) - (255 - original)).mean() < 6


def test_banded_jpeg_keeps_exif_and_icc() -> None:
    exif = Image.Exif()
    exif[0x010F] = "colorsplash-test"
    icc = b"\x00" * 128 + b"acsp" + b"\x00" * 300  # spliced verbatim; Pillow reads it back
    data = encode_image(_photo(2048, 1500), "JPEG", 90, exif.tobytes(), icc)
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.getexif()[0x010F] == "colorsplash-test" and img.info["icc_profile"] == icc


def test_stitch_refuses_a_cut_off_band() -> None:
    rgb = _photo(1536, 1440)
    restart = -(-1440 // jpeg_bands.MCU)
    pieces = [jpeg_bands._encode(rgb[:768], 90, restart), jpeg_bands._encode(rgb[768:], 90, restart)[:-10]]
    with pytest.raises(ValueError, match="end-of-image"):
        jpeg_bands.stitch(pieces, [768, 768])
