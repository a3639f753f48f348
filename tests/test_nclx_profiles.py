"""Profiles built from a picture's ``nclx`` colour numbers (:mod:`colorsplash.runtime.pictures.colour_profile`) beyond
Display P3: the plain power-law transfers, degenerate or unusable numbers, an RGBA picture converted to sRGB, and what a
picture's own profile or a PNG's unread one give."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from colorsplash.runtime.pictures.colour_profile import icc_space, nclx_icc, picture_icc, to_srgb

BT709 = (0.640, 0.330, 0.300, 0.600, 0.150, 0.060, 0.3127, 0.3290)
KEYS = [f"color_primary_{c}_{a}" for c in ("red", "green", "blue", "white") for a in ("x", "y")]


def nclx(primaries: int, transfer: int, xy: tuple[float, ...] = BT709) -> dict[str, object]:
    return {"color_primaries": primaries, "transfer_characteristics": transfer, **dict(zip(KEYS, xy, strict=True))}


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.round(255 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055))


@pytest.mark.parametrize(("transfer", "gamma"), [(4, 2.2), (5, 2.8), (8, 1.0)])
def test_power_law_transfers_show_their_greys(transfer: int, gamma: float) -> None:
    """BT.709 primaries with H.273 transfer 4 (gamma 2.2), 5 (2.8) or 8 (linear): greys shown through the built
    profile are the ones that curve means, converted to sRGB."""
    icc = nclx_icc(nclx(1, transfer))
    assert icc is not None and icc_space(icc) == "RGB"
    levels = np.array([32, 64, 128, 192], np.float64)
    grey = np.repeat(levels.astype(np.uint8)[None, :, None], 3, axis=2)
    shown = to_srgb(grey, icc)[0, :, 1].astype(np.float64)
    want = srgb_encode((levels / 255) ** gamma)
    assert np.abs(shown - want).max() <= 2, (shown, want)


def test_srgb_numbers_and_unusable_ones_give_no_profile() -> None:
    """sRGB primaries with sRGB's curve need no profile; primaries in a line (no gamut) or a white with y = 0
    cannot make one."""
    assert nclx_icc(nclx(1, 13)) is None
    assert nclx_icc(nclx(2, 2)) is None
    assert nclx_icc(nclx(12, 13, (0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.3127, 0.3290))) is None
    assert nclx_icc(nclx(12, 13, (*BT709[:6], 0.3127, 0.0))) is None


def test_bt709_primaries_with_a_gamma_curve_still_get_a_profile() -> None:
    """sRGB's primaries with another curve (2.2): a profile is needed, or the picture is shown with sRGB's."""
    assert nclx_icc(nclx(1, 4)) is not None


def test_an_rgba_picture_converted_to_srgb_keeps_its_alpha() -> None:
    icc = nclx_icc(nclx(12, 13, (0.680, 0.320, 0.265, 0.690, 0.150, 0.060, 0.3127, 0.3290)))
    assert icc is not None
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[..., 3] = [[0, 128, 255], [7, 9, 11]]
    out = to_srgb(rgba, icc)
    assert out.shape == (2, 3, 4) and np.array_equal(out[..., 3], rgba[..., 3])
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    want = ImageCms.profileToProfile(
        Image.fromarray(rgba[..., :3]), profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
    )
    assert want is not None and np.array_equal(out[..., :3], np.asarray(want))


def test_a_pictures_own_profile_wins_and_an_unread_one_is_noted() -> None:
    own = b"own profile bytes"
    notes: list[str] = []
    assert picture_icc({"icc_profile": own, "nclx_profile": nclx(12, 13)}, "a.heic", notes) == own and not notes
    from colorsplash.runtime.pictures.png_text import UNREAD_PROFILE

    assert picture_icc({UNREAD_PROFILE: "its zlib data is broken"}, "b.png", notes) is None
    assert len(notes) == 1 and "b.png" in notes[0] and "its zlib data is broken" in notes[0]


def test_a_profiles_colour_space_is_read_from_its_header() -> None:
    assert icc_space(bytes(16) + b"CMYK" + bytes(108)) == "CMYK"
    assert icc_space(b"short") is None and icc_space(None) is None


def test_an_unusable_profile_leaves_the_pixels_as_they_are() -> None:
    """A broken profile (not ICC) cannot say what the numbers mean: the pixels are written unchanged, no error."""
    pixels = np.random.default_rng(0).integers(0, 256, (3, 4, 3), np.uint8)
    assert np.array_equal(to_srgb(pixels, b"not an ICC profile"), pixels)
