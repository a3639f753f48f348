"""A picture's counted pixels against the limit: what the server admits by its header is what the decoder takes.
(Moved out of ``test_media.py``, which had grown past 400 lines.)"""

from __future__ import annotations

import pytest
from PIL import Image


@pytest.mark.parametrize("mode", ["1", "P", "RGB", "LA", "RGBA", "I;16", "F"])
def test_a_pictures_count_is_over_the_limit_exactly_when_opening_refuses_it(mode: str) -> None:
    """The server admits a photo by :func:`counted_pixels` (rounded up) and the decoder refuses it by its decode
    cost: one pixel of RGBA costs 44 bytes, more than one RGB pixel's 31, so it counts as 2, not 1."""
    from colorsplash.runtime.pictures.picture_open import PixelLimitError, _check_limits, cost_mode, counted_pixels

    for width, height in ((1, 1), (7, 3), (10, 10)):
        count = counted_pixels(width, height, cost_mode(Image.new(mode, (width, height))))
        _check_limits(Image.new(mode, (width, height)), "x.png", count)  # at its count: taken
        with pytest.raises(PixelLimitError):
            _check_limits(Image.new(mode, (width, height)), "x.png", count - 1)


def test_a_palette_with_a_transparent_colour_costs_as_rgba() -> None:
    from colorsplash.runtime.pictures.picture_open import cost_mode

    palette = Image.new("P", (4, 4))
    assert cost_mode(palette) == "P"
    palette.info["transparency"] = 0
    assert cost_mode(palette) == "RGBA"
