"""The blur background's reach on a wide photo, and the server's check between a matted splash's two halves
(:mod:`colorsplash.runtime.effects`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from colorsplash.runtime.effects import EDGE_COLOURS_STEP, blurred_background, composite
from colorsplash.runtime.options import SplashOptions


def test_blur_background_is_round_on_a_wide_photo() -> None:
    """``blur:8`` on a 48x240 photo with no subject: a Gaussian of 8 px both ways, as OpenCV's (within a few
    levels: it is made at reduced size), not stretched along the long side."""
    image = np.zeros((48, 240, 3), np.uint8)
    image[:, 118:122] = 255
    image[22:26, :] = 255
    got = blurred_background(image, np.zeros((48, 240), np.float32), 8.0).astype(float)
    want = cv2.GaussianBlur(image, (0, 0), 8.0, borderType=cv2.BORDER_REFLECT).astype(float)
    assert np.abs(got - want).mean() < 2.0, np.abs(got - want).mean()


class Stop(Exception):
    pass


def test_a_matted_splash_stops_between_its_halves_when_told() -> None:
    """The server's departure check is asked between the edge colour estimates and the effect; what it raises
    stops the splash there (a client gone mid-photo costs no second half)."""
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), np.uint8)
    alpha = np.zeros((40, 60), np.float32)
    alpha[:, 30:] = 1.0
    alpha[:, 29] = 0.5
    asked: list[str] = []

    def check(step: str) -> None:
        asked.append(step)
        raise Stop

    with pytest.raises(Stop):
        composite(image, alpha, SplashOptions(effect="blur", edges="matte"), check=check)
    assert asked == [EDGE_COLOURS_STEP]
