"""A picture's colour meaning as an ICC profile, for pictures tagged by numbers instead (HEIC's ``nclx`` box).

Phones tag wide-gamut photos either with an ICC profile (iPhones' HEIC: ``colr`` box type ``prof``) or with the
numbers of ITU-T H.273 (``nclx``: colour primaries, transfer characteristics, matrix), as many Android phones and
encoders do. Pillow and libheif hand over the ICC profile as ``info["icc_profile"]``, which results copy; the
numbers come as pillow-heif's ``info["nclx_profile"]``, which nothing carries. A Display P3 photo tagged only by
numbers would so come out untagged, and be shown as sRGB: duller and shifted. :func:`picture_icc` returns an
equivalent ICC profile (v4, matrix/TRC, a few hundred bytes) built from those numbers: the pixels are kept as they
are (no gamut is lost, nothing is computed per pixel) and the result means what the photo meant.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from colorsplash.runtime.pictures.png_text import UNREAD_PROFILE

__all__ = ["icc_space", "nclx_icc", "picture_icc", "to_srgb"]

# H.273 colour primaries that are sRGB's own (BT.709) or say nothing (2: unspecified): no profile needed.
_SRGB_PRIMARIES = (1, 2)
# H.273 transfer characteristics shown as sRGB's curve: sRGB itself, unspecified, and the BT.709 camera curve
# (1, 6, 14, 15), which viewers show with sRGB's curve; a profile would change what the photo looked like.
_SRGB_TRANSFERS = (1, 2, 6, 13, 14, 15)
_HDR_TRANSFERS = {16: "PQ", 18: "HLG"}
# ICC ``para`` functions: type 3 (Y = (aX+b)^g for X >= d, else cX) for sRGB's curve, type 0 (Y = X^g) else.
_SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
_CURVES: dict[int, tuple[float, ...]] = {4: (2.2,), 5: (2.8,), 8: (1.0,)} | dict.fromkeys(_SRGB_TRANSFERS, _SRGB_CURVE)
_PRIMARY_NAMES = {9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
_D50 = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def picture_icc(info: Mapping[Any, Any], name: str, notes: list[str]) -> bytes | None:
    """The ICC profile of a picture from Pillow's ``info``: its own (``icc_profile``), else one built from
    pillow-heif's ``nclx_profile`` numbers when they say other than sRGB (:func:`nclx_icc`), else ``None``.
    HDR transfers (PQ, HLG), which an ICC profile cannot describe for an 8-bit result, give a note to ``notes``;
    so does a PNG's profile left out so that the picture could be read (``info[UNREAD_PROFILE]``, see
    :mod:`colorsplash.runtime.pictures.png_text`)."""
    unread = info.get(UNREAD_PROFILE)
    if unread:
        notes.append(
            f"{name}: ICC colour profile not read: {unread}; the result has no profile, so its colours may look "
            "different in colour-managed viewers"
        )
    icc = info.get("icc_profile")
    if icc:
        return bytes(icc)
    nclx = info.get("nclx_profile")
    if not isinstance(nclx, Mapping):
        return None
    transfer = nclx.get("transfer_characteristics")
    if transfer in _HDR_TRANSFERS:
        notes.append(
            f"{name}: HDR ({_HDR_TRANSFERS[transfer]}) picture; shown and written as SDR without tone-mapping, "
            "so its colours may look flat"
        )
        return None
    return nclx_icc(nclx)


def icc_space(icc: bytes | None) -> str | None:
    """Colour space of an ICC profile (``RGB``, ``CMYK``, ``GRAY``...) from its header, ``None`` if absent."""
    if not icc or len(icc) < 20:
        return None
    return icc[16:20].decode("ascii", "replace").strip()


def to_srgb(pixels: np.ndarray, icc: bytes) -> np.ndarray:
    """``pixels`` (uint8 RGB ``HxWx3`` or RGBA ``HxWx4``, alpha kept as is) whose numbers mean what the RGB ICC
    profile ``icc`` says, converted to sRGB's numbers (perceptual intent; colours outside sRGB are clipped), for a
    result in a format that holds no profile (BMP, GIF). ``pixels`` unchanged when the profile cannot be used."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        rgb = Image.fromarray(np.ascontiguousarray(pixels[..., :3]))
        converted = ImageCms.profileToProfile(rgb, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return pixels
    if converted is None:
        return pixels
    out = np.asarray(converted)
    return np.dstack([out, pixels[..., 3]]) if pixels.shape[2] == 4 else out


def nclx_icc(nclx: Mapping[str, Any]) -> bytes | None:
    """An ICC v4 RGB display profile (bytes) equivalent to an ``nclx`` colour box as pillow-heif reports it (H.273
    ``color_primaries``, ``transfer_characteristics``, and the primaries' and white's CIE ``x, y`` as
    ``color_primary_red_x`` ...); ``None`` when it says sRGB (or nothing), or its transfer or chromaticities are
    unknown or unusable."""
    primaries, transfer = nclx.get("color_primaries"), nclx.get("transfer_characteristics")
    if primaries in _SRGB_PRIMARIES and transfer in _SRGB_TRANSFERS:
        return None
    curve = _CURVES.get(transfer)  # type: ignore[arg-type]
    keys = [f"color_primary_{c}_{a}" for c in ("red", "green", "blue", "white") for a in ("x", "y")]
    try:
        xy = np.array([float(nclx[k]) for k in keys], np.float64).reshape(4, 2)
    except (KeyError, TypeError, ValueError):
        return None
    if curve is None or not np.all(np.isfinite(xy)) or np.any(xy[:, 1] <= 0):
        return None
    colorants = _d50_colorants(xy)
    if colorants is None:
        return None
    label = _PRIMARY_NAMES.get(primaries, "RGB")  # type: ignore[arg-type]
    return _icc_bytes(colorants, curve, f"{label} (from the picture's nclx colour tags)")


def _d50_colorants(xy: np.ndarray) -> np.ndarray | None:
    """The red, green and blue colorants (rows, XYZ) of primaries ``xy`` (4x2: red, green, blue, white), adapted
    from their white to D50 (Bradford) as an ICC profile holds them; ``None`` for degenerate primaries."""
    xyz = np.column_stack([xy[:, 0] / xy[:, 1], np.ones(4), (1 - xy[:, 0] - xy[:, 1]) / xy[:, 1]])
    rgb, white = xyz[:3].T, xyz[3]
    if abs(np.linalg.det(rgb)) < 1e-9:
        return None
    to_xyz = rgb * np.linalg.solve(rgb, white)  # columns: each primary scaled so that R=G=B=1 is the white
    cone = _BRADFORD @ white, _BRADFORD @ _D50
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cone[1] / cone[0]) @ _BRADFORD
    return np.asarray((adapt @ to_xyz).T)


def _s15(values: np.ndarray | tuple[float, ...]) -> bytes:
    return b"".join(struct.pack(">i", round(float(v) * 65536)) for v in values)


def _mluc(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded


def _para(curve: tuple[float, ...]) -> bytes:
    kind = 0 if len(curve) == 1 else 3
    return b"para" + bytes(4) + struct.pack(">HH", kind, 0) + _s15(curve)


def _icc_bytes(colorants: np.ndarray, curve: tuple[float, ...], description: str) -> bytes:
    """A display-class RGB -> XYZ matrix/TRC ICC v4.3 profile: description, D50 white, ``colorants`` (3x3 rows
    red, green, blue; D50-adapted), one ``para`` tone curve for all three channels."""
    xyz = [b"XYZ " + bytes(4) + _s15(c) for c in colorants]
    trc = _para(curve)
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _mluc(description)),
        (b"cprt", _mluc("No copyright, use freely")),
        (b"wtpt", b"XYZ " + bytes(4) + _s15(_D50)),
        (b"rXYZ", xyz[0]),
        (b"gXYZ", xyz[1]),
        (b"bXYZ", xyz[2]),
        (b"rTRC", trc),
        (b"gTRC", trc),  # the same data: one tag block shared by all three curves
        (b"bTRC", trc),
    ]
    table, data, offsets = bytearray(struct.pack(">I", len(tags))), bytearray(), {}
    start = 128 + 4 + 12 * len(tags)
    for sig, body in tags:
        if body not in offsets:
            offsets[body] = start + len(data)
            data += body + bytes(-len(body) % 4)  # each tag starts on a 4-byte boundary
        table += sig + struct.pack(">II", offsets[body], len(body))
    size = start + len(data)
    header = struct.pack(
        ">I4sI4s4s4s12s4s4sI4s4sQI",
        size,
        bytes(4),
        0x04300000,
        b"mntr",
        b"RGB ",
        b"XYZ ",
        bytes(12),
        b"acsp",
        bytes(4),
        0,
        bytes(4),
        bytes(4),
        0,
        0,
    )
    header += _s15(_D50) + bytes(4) + bytes(16) + bytes(28)  # illuminant, creator, profile ID (unset), reserved
    return bytes(header) + bytes(table) + bytes(data)
