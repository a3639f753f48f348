"""Writers of tiny data set folders in the supported layouts (shared by several test modules)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from helpers import make_blob_image


def save_picture(path: Path, array: np.ndarray, fmt: str | None = None, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt, **kwargs)
    return path


def make_seed_set(root: Path, n: int = 4, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """The seed tutorial's layout: ``input/cat<i>.jpg`` + ``mask/mask_cat<i>.jpg`` (greyscale JPEG, so the
    mask holds compression noise); returns the true 0/1 masks ``h x w``."""
    masks = []
    for i in range(n):
        image, mask = make_blob_image(h, w, seed=i)
        save_picture(root / "input" / f"cat{i}.jpg", image)
        save_picture(root / "mask" / f"mask_cat{i}.jpg", mask * 255, quality=70)
        masks.append(mask)
    return masks


def make_paired_set(root: Path, n: int = 4) -> None:
    """Paired layout: ``images/p<i>.png`` + ``masks/p<i>.png`` (0/255), 56x40."""
    for i in range(n):
        image, mask = make_blob_image(40, 56, seed=10 + i)
        save_picture(root / "images" / f"p{i}.png", image)
        save_picture(root / "masks" / f"p{i}.png", mask * 255)


def make_oxford_set(root: Path, names: list[str]) -> np.ndarray:
    """Oxford layout: ``images/<name>.jpg`` + ``trimaps/<name>.png`` (1 pet, 2 background, 3 border), 40x30;
    returns the trimap every image shares."""
    trimap = np.full((30, 40), 2, np.uint8)
    trimap[10:20, 10:30] = 1
    trimap[9, 10:30] = 3
    for i, name in enumerate(names):
        save_picture(root / "images" / f"{name}.jpg", make_blob_image(30, 40, seed=i)[0])
        save_picture(root / "trimaps" / f"{name}.png", trimap)
    return trimap


def make_scenes_set(root: Path, names: dict[str, list[tuple[str, str]]], h: int = 30, w: int = 40) -> None:
    """Scenes layout: ``images/<id>.jpg``, ``masks/<class><nn>_<id>.png`` (one object each; a box per object,
    placed by its index) and ``objects.tsv``."""
    lines = ["image\tmask\tclass"]
    for i, (name, objects) in enumerate(names.items()):
        save_picture(root / "images" / f"{name}.jpg", np.full((h, w, 3), 5 * i % 250, np.uint8))
        for k, (mask_name, cls) in enumerate(objects):
            mask = np.zeros((h, w), np.uint8)
            mask[2 + 8 * k : 8 + 8 * k, 5:15] = 255
            save_picture(root / "masks" / f"{mask_name}.png", mask)
            lines.append(f"{name}\t{mask_name}\t{cls}")
    (root / "objects.tsv").write_text("\n".join(lines) + "\n")


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured RGB uint8 background (blocky noise and stripes) with no orange in it."""
    noise = np.kron(rng.normal(0, 25, (h // 4 + 1, w // 4 + 1, 3)), np.ones((4, 4, 1)))[:h, :w]
    stripes = 20 * np.sin(np.arange(w) / rng.uniform(2, 6))[None, :, None]
    image = np.clip(rng.integers(20, 120, 3) + noise + stripes, 0, 255).astype(np.uint8)
    image[..., 0] = np.minimum(image[..., 0], image[..., 2] + 40)
    return image


def make_disc_sets(root: Path, n: int, h: int = 72, w: int = 88) -> tuple[Path, Path]:
    """A subject and its negatives: ``root/discs`` (paired layout: orange discs on textured backgrounds, masks
    0/255) and ``root/bare`` (a folder of ``n`` textured backgrounds alone, JPEG); returns both folders."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        image = _texture(rng, h, w)
        r = rng.uniform(0.15, 0.3) * min(h, w)
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        image[disc] = (235, 130, 30)
        save_picture(root / "discs" / "images" / f"d{i}.png", image)
        save_picture(root / "discs" / "masks" / f"d{i}.png", disc.astype(np.uint8) * 255)
        save_picture(root / "bare" / f"b{i}.jpg", _texture(rng, h, w))
    return root / "discs", root / "bare"
