"""Background effects (no model): the grey blend and its colour order, dim, sepia, colour and blur, their
strengths and one spelling of their names, cut-outs, and blending large pictures in threads."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from helpers import make_blob_image
from helpers.composite import two_blobs

from colorsplash.runtime.edges.alpha import luma
from colorsplash.runtime.effects import SEPIA, apply_effect
from colorsplash.runtime.options import SplashOptions


def test_luma_is_rec601_on_rgb_order() -> None:
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)
    assert luma(px).tolist() == [[76, 150, 29]]  # 0.299, 0.587, 0.114 of 255: red counts as red, not blue


def test_grey_blend_formula_and_colour_order() -> None:
    image, _ = make_blob_image(40, 50, seed=1)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    for a in (0.0, 0.3, 1.0):
        alpha = np.full(image.shape[:2], a, np.float32)
        out = apply_effect(image, alpha, "grey").astype(np.float32)
        expected = a * image + (1 - a) * grey
        assert np.abs(out - expected).max() <= 1.0
    # Subject (alpha 1) keeps its colour exactly, channel order included.
    out = apply_effect(image, np.ones(image.shape[:2], np.float32), "grey")
    assert np.array_equal(out, image)


@pytest.mark.parametrize("effect", ["dim", "sepia", "color:#ff8000", "blur"])
def test_background_effects_at_alpha_zero(effect: str) -> None:
    image, _ = make_blob_image(60, 80, seed=2)
    out = apply_effect(image, np.zeros((60, 80), np.float32), effect).astype(np.float32)
    if effect == "dim":
        assert np.abs(out - 0.4 * image).max() <= 1.0
    elif effect == "sepia":
        expected = np.clip(image.astype(np.float32) @ SEPIA.T, 0, 255)
        assert np.abs(out - expected).max() <= 1.0
    elif effect.startswith("color"):
        assert (out == (255, 128, 0)).all()
    else:  # blurred: much smoother than the noisy photo
        assert np.abs(np.diff(out, axis=1)).mean() < 0.3 * np.abs(np.diff(image.astype(np.float32), axis=1)).mean()


@pytest.mark.parametrize("effect", ["blur", "blur:8"])
def test_blur_does_not_bleed_subject_colour(effect: str) -> None:
    """The ring was 7 px wide with a bound of 30 levels: a plain blur that glows orange there (24) passed."""
    image, big, _ = two_blobs()
    out = apply_effect(image, big.astype(np.float32), effect).astype(int)
    ring = cv2.dilate(big.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~big
    # Background just outside the orange disc stays dark grey-ish (R - B near 0) instead of glowing orange (60+).
    assert np.abs(out[ring][:, 0] - out[ring][:, 2]).mean() < 10


@pytest.mark.parametrize("effect", ["blur", "blur:3", "blur:7.3"])
def test_blur_keeps_a_uniform_background_its_colour(effect: str) -> None:
    image = np.full((50, 70, 3), (200, 100, 37), np.uint8)
    alpha = np.zeros((50, 70), np.float32)
    alpha[10:30, 10:30] = 1
    assert (apply_effect(image, alpha, effect) == (200, 100, 37)).all()  # rounded, not cut to 199, 99, 36


def test_mismatched_alpha_or_colour_estimates_are_refused() -> None:
    image = np.zeros((6, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="alpha"):
        apply_effect(image, np.zeros((8, 6), np.float32))
    with pytest.raises(ValueError, match="foreground"):
        apply_effect(image, np.zeros((6, 8), np.float32), "dim", np.zeros((6, 8, 4), np.uint8))


@pytest.mark.parametrize("edges", ["fast", "matte"])
def test_a_cutout_keeps_the_pictures_own_transparency(edges: str) -> None:
    """The cut-out's alpha is the subject's times the picture's own, on both edge stages."""
    from colorsplash.runtime.effects import composite

    image, mask = make_blob_image(40, 60, seed=2)
    own = np.full((40, 60), 255, np.uint8)
    own[:, :30] = 100
    out = composite(image, mask.astype(np.float32), SplashOptions(effect="transparent", edges=edges), own)
    assert np.abs(out[..., 3].astype(int) - mask * own.astype(int)).max() <= 1


def test_large_images_blend_in_threads_with_the_same_result() -> None:
    rng = np.random.default_rng(6)
    image = rng.integers(0, 255, (1100, 1000, 3)).astype(np.uint8)  # over the one-megapixel threshold
    alpha = rng.random((1100, 1000)).astype(np.float32)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    expected = alpha[..., None] * image + (1 - alpha[..., None]) * grey
    assert np.abs(apply_effect(image, alpha, "grey") - expected).max() <= 1.0


def test_row_strips_use_only_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pinned to one CPU (taskset, a container's cpuset) of a many-core machine blends serially: the strip
    loop counted os.cpu_count(), every CPU of the machine, instead of cpu.usable_cores(), the thread-count owner."""
    import os
    import threading

    from colorsplash.runtime.edges.strips import in_row_strips

    monkeypatch.setattr(cv2, "getNumThreads", lambda: 8)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    threads: set[str] = set()
    in_row_strips((2048, 1024), lambda rows: threads.add(threading.current_thread().name), parallel_pixels=1)
    assert threads == {threading.current_thread().name}


def test_transparent_gives_rgba_with_alpha_channel() -> None:
    image, mask = make_blob_image(30, 40)
    out = apply_effect(image, mask.astype(np.float32), "transparent")
    assert out.shape == (30, 40, 4) and out.dtype == np.uint8
    subject = mask.astype(bool)
    assert np.array_equal(out[subject, :3], image[subject])
    assert not out[~subject, :3].any()  # no trace of the background under alpha 0 (visual audit)
    assert np.array_equal(out[..., 3], mask * 255)


def at_alpha_zero(image: np.ndarray, effect: str) -> np.ndarray:
    return apply_effect(image, np.zeros(image.shape[:2], np.float32), effect).astype(np.float32)


def test_grey_amount_is_partial_desaturation() -> None:
    image, _ = make_blob_image(40, 60, seed=4)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    for amount in (0.0, 0.25, 0.7):
        expected = amount * grey + (1 - amount) * image
        assert np.abs(at_alpha_zero(image, f"grey:{amount}") - expected).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "grey:1"), at_alpha_zero(image, "grey"))  # plain grey: today's look
    assert np.array_equal(at_alpha_zero(image, "grey:0"), image)


def test_dim_amount_darkens_and_plain_dim_keeps_its_look() -> None:
    image, _ = make_blob_image(40, 60, seed=5)
    for amount in (0.0, 0.3, 1.0):
        assert np.abs(at_alpha_zero(image, f"dim:{amount}") - (1 - amount) * image).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "dim"), at_alpha_zero(image, "dim:0.6"))


def test_blur_radius_is_the_gaussian_sigma_and_plain_blur_scales_with_the_photo() -> None:
    image, _ = make_blob_image(60, 80, seed=6)
    roughness = [np.abs(np.diff(at_alpha_zero(image, f"blur:{r}"), axis=1)).mean() for r in (0.5, 2, 8)]
    assert roughness[0] > roughness[1] > roughness[2]  # a larger radius, a smoother background
    assert np.array_equal(at_alpha_zero(image, "blur"), at_alpha_zero(image, "blur:2"))  # 80 px: sigma max(2, 1.2)
    big = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)  # 320 px long side: plain blur = sigma 4.8
    assert np.array_equal(at_alpha_zero(big, "blur"), at_alpha_zero(big, "blur:4.8"))


def test_color_alpha_is_the_colour_opacity_over_the_grey() -> None:
    image, _ = make_blob_image(40, 60, seed=7)
    grey = np.repeat(luma(image)[..., None], 3, axis=2).astype(np.float32)
    colour = np.array([255, 128, 0], np.float32)
    half = at_alpha_zero(image, "color:#FF800080")
    assert np.abs(half - (128 / 255 * colour + (1 - 128 / 255) * grey)).max() <= 1.0
    assert np.array_equal(at_alpha_zero(image, "color:#ff8000ff"), at_alpha_zero(image, "color:#ff8000"))
    assert np.array_equal(at_alpha_zero(image, "color:#ff800000"), grey)  # fully see-through: the grey


def test_effect_names_are_parsed_once_the_same_everywhere() -> None:
    from colorsplash.runtime.options import options_from_mapping, parse_effect_spec

    assert SplashOptions(effect=" Gray:0.5 ").effect == "grey:0.5"
    assert options_from_mapping({"effect": "colour:FF8000"}).effect == "color:#ff8000"
    assert options_from_mapping({"effect": "color:#FF800080"}).effect == "color:#ff800080"
    assert SplashOptions(effect="blur:12").effect_spec == parse_effect_spec("blur:12")
    assert parse_effect_spec("dim:0.25").amount == 0.25 and parse_effect_spec("dim").amount is None
    for bad in ("grey:2", "dim:-0.1", "blur:0", "blur:nan", "sepia:0.5", "transparent:1", "color:red", "purple"):
        with pytest.raises(ValueError):
            apply_effect(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.float32), bad)


def test_blend_uses_given_subject_and_background_colours() -> None:
    image, _ = make_blob_image(40, 50, seed=4)
    fg = np.zeros_like(image)
    fg[...] = (200, 100, 50)
    bg = np.zeros_like(image)
    bg[..., 0] = 100
    grey_photo = luma(image).astype(np.float32)[..., None]
    fg_chroma = np.array([200, 100, 50], np.float32) - (0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    for a in (0.0, 0.25, 1.0):
        alpha = np.full(image.shape[:2], a, np.float32)
        out = apply_effect(image, alpha, "grey", fg, bg).astype(np.float32)
        # Grey: the photo's own brightness plus alpha of F's colour (B is not read: grey_keeping_luma)
        assert np.abs(out - np.clip(grey_photo + a * fg_chroma, 0, 255)).max() <= 1.0
        dimmed = apply_effect(image, alpha, "dim:0.5", fg, bg).astype(np.float32)
        expected = a * np.array([200, 100, 50], np.float32) + (1 - a) * np.array([50, 0, 0], np.float32)
        assert np.abs(dimmed - expected).max() <= 1.0  # other effects: alpha F + (1 - alpha) effect(B)
    cutout = apply_effect(image, np.full(image.shape[:2], 0.5, np.float32), "transparent", fg, bg)
    assert np.array_equal(cutout[..., :3], fg) and np.all(np.abs(cutout[..., 3].astype(int) - 128) <= 1)
    with pytest.raises(ValueError, match="foreground"):
        apply_effect(image, np.zeros(image.shape[:2], np.float32), "grey", fg[:10], bg)
