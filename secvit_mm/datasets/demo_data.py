"""Small synthetic datasets for the README demo and the tests.

Three generators, each writing one dataset whose directory is exactly the ``data_root`` an
OpenMMLab base config expects, so only ``data_root`` (and, for COCO, ``metainfo``) changes:

* :func:`make_coco_instance_demo` - COCO-format instance segmentation of geometric shapes,
  for ``mmdet::_base_/datasets/coco_instance.py`` with ``metainfo=dict(classes=DEMO_COCO_CLASSES)``.
* :func:`make_ade20k_demo` - ADE20K-layout semantic segmentation (label 0 = "other", 1..150 =
  classes) for ``mmseg::_base_/datasets/ade20k.py`` with ``reduce_zero_label=True``.
* :func:`make_shape_crops_demo` - square crops of single shapes in an ImageNet-style folder per
  class, to pretrain a backbone as a classifier (mmpretrain ``CustomDataset``) before detection.

Only numpy and Pillow are needed. Output is deterministic for a given seed (and Pillow version,
since the images are JPEG encoded). Each dataset is built in a hidden sibling directory and renamed
into place when finished, so an interrupted run never leaves a half-made dataset behind.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from secvit_mm.errors import OutputExistsError, UsageError

__all__ = [
    'DEMO_COCO_CLASSES', 'DEMO_ADE_LABELS', 'DemoDataSummary', 'make_coco_instance_demo',
    'make_ade20k_demo', 'coco_demo_is_complete', 'ade20k_demo_is_complete', 'make_shape_crops_demo',
    'crops_demo_is_complete'
]

#: Class names of the COCO demo set, in category-id order (category id = index + 1).
DEMO_COCO_CLASSES: tuple[str, ...] = ('circle', 'square', 'triangle', 'star')

#: Label values painted in the ADE20K demo set, with their ADE20K class names. Real ADE20K values
#: are reused so ``ADE20KDataset``'s metainfo (names, palette) applies unchanged; 0 is "other".
DEMO_ADE_LABELS: dict[int, str] = {
    1: 'wall', 2: 'building', 3: 'sky', 4: 'floor', 5: 'tree', 6: 'ceiling'
}

COCO_SPLITS = ('train2017', 'val2017')
ADE_SPLITS = ('training', 'validation')
_JPEG_QUALITY = 92
ImageSize = int | Sequence[int]


@dataclass(frozen=True)
class DemoDataSummary:
    """What a generator did: where the dataset is, its size, and whether it was already there."""

    name: str
    root: str
    num_train: int
    num_val: int
    num_objects: int  # annotated instances (COCO) or painted regions (ADE)
    seconds: float
    skipped: bool
    moved_aside: str | None = None  # where --force put what was at ``root`` before


    def line(self) -> str:
        """One human-readable summary line for the CLI."""
        sizes = f'{self.num_train} train / {self.num_val} val images'
        if self.skipped:
            return (f'{self.name}: {self.root} is already complete ({sizes}); skipped '
                    '(use --force to regenerate)')
        unit = {'coco': 'objects', 'crops': 'crops'}.get(self.name, 'regions')
        aside = (f'; what was there before is now in {self.moved_aside} (delete it when not '
                 'needed)') if self.moved_aside else ''
        return (f'{self.name}: wrote {sizes} ({self.num_objects} {unit}) to {self.root} '
                f'in {self.seconds:.1f} s{aside}')


# ----------------------------------------------------------------------------- shared helpers


def _as_hw(image_size: ImageSize) -> tuple[int, int]:
    if isinstance(image_size, int):
        h = w = image_size
    else:
        h, w = (int(v) for v in image_size)
    if min(h, w) < 32:
        # mmdet's default filter_cfg drops images smaller than 32 px.
        raise UsageError(f'image_size must be at least 32x32, got {h}x{w}')
    return h, w


def _sample_hw(rng: np.random.Generator, base: tuple[int, int]) -> tuple[int, int]:
    """Jitter the base size per image (and sometimes go portrait) so aspect ratios vary."""
    h = int(round(base[0] * rng.uniform(0.8, 1.0)))
    w = int(round(base[1] * rng.uniform(0.8, 1.0)))
    if rng.random() < 0.25:
        h, w = w, h
    return max(h, 32), max(w, 32)


def _split_rng(seed: int, split_index: int, dataset_tag: int) -> np.random.Generator:
    # Independent streams per split and dataset: the val set does not change when num_train does.
    return np.random.default_rng([seed, dataset_tag, split_index])


def _textured_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Gradient + oriented stripes + noise, in random colours: clutter that is not a shape."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.uniform(0, 255, size=(2, 3)).astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    t = (xx * np.cos(theta) + yy * np.sin(theta))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    for _ in range(rng.integers(1, 3)):
        phi = rng.uniform(0, np.pi)
        period = rng.uniform(6, 40)
        amp = rng.uniform(10, 45)
        stripes = np.sin(2 * np.pi * (xx * np.cos(phi) + yy * np.sin(phi)) / period)
        img += amp * stripes[..., None] * rng.uniform(-1, 1, size=3).astype(np.float32)
    img += rng.normal(0, rng.uniform(4, 18), size=(h, w, 3)).astype(np.float32)
    return img


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def _save_jpg(img: np.ndarray, path: str) -> None:
    Image.fromarray(_to_uint8(img), 'RGB').save(path, quality=_JPEG_QUALITY)


def _publish(root: str, force: bool, build: Callable[[str], DemoDataSummary],
             is_complete: Callable[[str], bool]) -> DemoDataSummary | None:
    """Build the dataset in a temp dir next to ``root`` and rename it into place.

    Returns ``None`` when a complete dataset is already at ``root`` (idempotent). An empty
    directory is simply used; anything else already there is somebody's data and is only
    replaced with ``force``, which moves it aside to ``<root>.replaced-<time>`` (never deletes).
    """
    if osp.isdir(root) and not os.listdir(root):
        os.rmdir(root)  # e.g. a `mkdir -p` ahead of time: nothing to lose
    if osp.exists(root) and not force:
        if is_complete(root):
            return None
        raise OutputExistsError(
            f'{root} exists but is not a complete demo dataset; not touching it '
            '(pass force=True / --force to replace it)')
    parent = osp.dirname(root)
    os.makedirs(parent, exist_ok=True)
    # Same parent => same filesystem => os.rename is atomic.
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.partial-', dir=parent)
    try:
        summary = build(tmp)
        if osp.exists(root):  # only reachable with force
            aside = f'{root}.replaced-{time.strftime("%Y%m%d-%H%M%S")}'
            n = 1
            while osp.exists(aside):
                aside, n = f'{root}.replaced-{time.strftime("%Y%m%d-%H%M%S")}-{n}', n + 1
            os.rename(root, aside)
            os.rename(tmp, root)
            summary = replace(summary, moved_aside=aside)
        else:
            os.rename(tmp, root)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return summary


# ----------------------------------------------------------------------------- COCO shapes


def _shape_polygon(rng: np.random.Generator, kind: str, cx: float, cy: float,
                   r: float) -> np.ndarray:
    """Vertices (N, 2) of a shape of circumradius ``r`` at a random rotation."""
    rot = rng.uniform(0, 2 * np.pi)
    if kind == 'circle':
        # Many vertices so the polygon mask is visually a circle.
        angles = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        radii = np.full_like(angles, r)
    elif kind == 'square':
        angles = rot + np.arange(4) * np.pi / 2
        radii = np.full(4, r)
    elif kind == 'triangle':
        angles = rot + np.arange(3) * 2 * np.pi / 3
        radii = np.full(3, r)
    elif kind == 'star':
        angles = rot + np.arange(10) * np.pi / 5
        inner = r * rng.uniform(0.38, 0.5)
        radii = np.where(np.arange(10) % 2 == 0, r, inner)
    else:
        raise AssertionError(f'unknown shape {kind!r}')  # SHAPES and this function disagree
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


def _polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _distinct_colour(rng: np.random.Generator, avoid: np.ndarray) -> np.ndarray:
    """A random colour clearly different from ``avoid`` so every object stays visible."""
    colour = rng.uniform(0, 255, size=3)
    for _ in range(20):
        if np.linalg.norm(colour - avoid) > 90:
            break
        colour = rng.uniform(0, 255, size=3)
    return colour


def _draw_coco_image(rng: np.random.Generator, h: int,
                     w: int) -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """One image and its objects as (category_id, polygon) pairs, objects never overlapping."""
    img = _textured_background(rng, h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    objects: list[tuple[int, np.ndarray]] = []
    boxes: list[tuple[float, float, float, float]] = []
    short = min(h, w)
    for _ in range(int(rng.integers(1, 5))):
        label = int(rng.integers(len(DEMO_COCO_CLASSES)))
        kind = DEMO_COCO_CLASSES[label]
        # Non-overlapping placement keeps each polygon equal to the visible object (no occlusion).
        for _attempt in range(30):
            r = rng.uniform(0.09, 0.22) * short
            cx, cy = rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)
            poly = _shape_polygon(rng, kind, cx, cy, r)
            x0, y0 = poly.min(0)
            x1, y1 = poly.max(0)
            if all(x1 + 4 < b[0] or b[2] + 4 < x0 or y1 + 4 < b[1] or b[3] + 4 < y0
                   for b in boxes):
                break
        else:
            continue
        boxes.append((x0, y0, x1, y1))
        poly = np.clip(np.round(poly, 2), 0, [w, h])
        mask_img = Image.new('L', (w, h), 0)
        ImageDraw.Draw(mask_img).polygon([tuple(p) for p in poly], fill=255)
        mask = np.asarray(mask_img) > 0
        # Fill: a random colour (independent of class) with its own gradient and noise, so
        # colour/texture never identify the class; only the outline does.
        colour = _distinct_colour(rng, img[mask].mean(0))
        shade = 1 + 0.25 * ((xx - cx) * rng.uniform(-1, 1) + (yy - cy) * rng.uniform(-1, 1)) / r
        fill = colour * shade[..., None] + rng.normal(0, 6, size=(h, w, 3))
        img[mask] = fill[mask]
        objects.append((label + 1, poly))
    return img, objects


def _build_coco(tmp: str, num_train: int, num_val: int, base_hw: tuple[int, int],
                seed: int) -> DemoDataSummary:
    start = time.perf_counter()
    os.makedirs(osp.join(tmp, 'annotations'))
    categories = [dict(id=i + 1, name=n, supercategory='shape')
                  for i, n in enumerate(DEMO_COCO_CLASSES)]
    # Ids run on across splits so image/annotation ids and file names are unique overall.
    image_id = 0
    ann_id = 0
    for split_index, (split, count) in enumerate(zip(COCO_SPLITS, (num_train, num_val))):
        rng = _split_rng(seed, split_index, dataset_tag=0)
        os.makedirs(osp.join(tmp, split))
        images, annotations = [], []
        for _ in range(count):
            image_id += 1
            h, w = _sample_hw(rng, base_hw)
            img, objects = _draw_coco_image(rng, h, w)
            file_name = f'{image_id:012d}.jpg'  # COCO's own naming scheme
            _save_jpg(img, osp.join(tmp, split, file_name))
            images.append(dict(id=image_id, file_name=file_name, height=h, width=w))
            for category_id, poly in objects:
                ann_id += 1
                x0, y0 = poly.min(0)
                x1, y1 = poly.max(0)
                annotations.append(dict(
                    id=ann_id, image_id=image_id, category_id=category_id,
                    segmentation=[[round(float(v), 2) for v in poly.reshape(-1)]],
                    area=round(_polygon_area(poly), 2),
                    bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                    iscrowd=0))
        coco = dict(
            info=dict(description=f'secvit-mm synthetic shapes ({split})', version='1.0',
                      year=2024, contributor='secvit-mm', date_created=''),
            licenses=[], images=images, annotations=annotations, categories=categories)
        with open(osp.join(tmp, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)
    return DemoDataSummary('coco', '', num_train, num_val, ann_id,
                           time.perf_counter() - start, skipped=False)


def coco_demo_is_complete(root: str) -> bool:
    """True if both annotation files parse and every image they list exists."""
    try:
        for split in COCO_SPLITS:
            with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
                coco = json.load(f)
            if not coco['images']:
                return False
            for image in coco['images']:
                if not osp.isfile(osp.join(root, split, image['file_name'])):
                    return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _coco_counts(root: str) -> tuple[int, int, int]:
    counts = []
    num_anns = 0
    for split in COCO_SPLITS:
        with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
            coco = json.load(f)
        counts.append(len(coco['images']))
        num_anns += len(coco['annotations'])
    return counts[0], counts[1], num_anns


def make_coco_instance_demo(root: str, num_train: int = 64, num_val: int = 16,
                            image_size: ImageSize = (256, 320), seed: int = 0,
                            force: bool = False) -> DemoDataSummary:
    """Write a COCO-format instance segmentation set of shapes to ``root``.

    Layout (mmdet ``CocoDataset`` / ``coco_instance.py``)::

        root/annotations/instances_{train2017,val2017}.json
        root/{train2017,val2017}/<12-digit id>.jpg

    Each image (size jittered to 80-100% of ``image_size`` = (h, w), sometimes portrait) holds 1-4
    non-overlapping objects from :data:`DEMO_COCO_CLASSES` (category ids 1..K) with a polygon
    segmentation, area, xywh bbox and ``iscrowd=0``, on a textured background. Colours are
    random per object, so the class is only recognisable from the shape.

    Args:
        root: Dataset root (the config's ``data_root``).
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Base (height, width), or an int for a square base.
        seed: Random seed; same seed, same dataset.
        force: Replace whatever is at ``root``. Without it a complete dataset is kept and
            anything else there raises ``OutputExistsError`` (a ``FileExistsError``).

    Returns:
        A :class:`DemoDataSummary`, with ``skipped=True`` if a complete set was already there.
    """
    if num_train < 1 or num_val < 1:
        raise UsageError('num_train and num_val must be at least 1')
    base_hw = _as_hw(image_size)
    root = osp.abspath(root)
    summary = _publish(root, force,
                       lambda tmp: _build_coco(tmp, num_train, num_val, base_hw, seed),
                       coco_demo_is_complete)
    if summary is None:
        return DemoDataSummary('coco', root, *_coco_counts(root), seconds=0.0, skipped=True)
    return replace(summary, root=root)


# ----------------------------------------------------------------------------- ADE20K regions


def _class_texture(rng: np.random.Generator, label: int, h: int, w: int) -> np.ndarray:
    """A full-size texture whose look (pattern + colour family) is specific to ``label``.

    Parameters are jittered per image, so a model has to learn the texture family, while the
    families stay distinct enough for a small model to separate them.
    """
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    jitter = rng.uniform(-25, 25, size=3)
    noise = rng.normal(0, 6, size=(h, w, 3))
    if label == 0:  # "other": anything goes - random colour, blotchy noise
        base = rng.uniform(0, 255, size=3)
        blob = np.asarray(Image.fromarray(
            rng.uniform(0, 255, size=(max(h // 16, 2), max(w // 16, 2))).astype(np.uint8)
        ).resize((w, h), Image.BILINEAR), np.float32) - 128
        return base + 0.4 * blob[..., None] + noise
    if label == 1:  # wall: beige, horizontal bricks
        period = rng.uniform(10, 18)
        pattern = (np.sin(2 * np.pi * yy / period) > 0.8) * -60.0
        return np.array([200, 180, 150]) + jitter + pattern[..., None] + noise
    if label == 2:  # building: grey, window grid
        p = rng.uniform(12, 22)
        grid = ((xx % p) < p * 0.45) & ((yy % p) < p * 0.55)
        return np.array([120, 120, 130]) + jitter + (grid * -50.0)[..., None] + noise
    if label == 3:  # sky: smooth blue vertical gradient
        t = yy / max(h - 1, 1)
        top = np.array([70, 130, 230]) + jitter
        bottom = np.array([170, 210, 250]) + jitter
        return top * (1 - t[..., None]) + bottom * t[..., None] + noise * 0.5
    if label == 4:  # floor: brown, diagonal planks
        period = rng.uniform(14, 26)
        stripes = np.sin(2 * np.pi * (xx + yy) / period)
        return np.array([140, 90, 50]) + jitter + (25 * stripes)[..., None] + noise
    if label == 5:  # tree: green foliage noise
        leaves = rng.normal(0, 35, size=(h, w))
        return np.array([40, 130, 40]) + jitter + leaves[..., None] * [0.5, 1.0, 0.5]
    if label == 6:  # ceiling: near-white, vertical panels
        period = rng.uniform(20, 34)
        panels = ((xx % period) < 2) * -70.0
        return np.array([230, 228, 220]) + jitter * 0.5 + panels[..., None] + noise
    raise AssertionError(f'no texture for label {label}')  # the labels and this function disagree


def _random_region(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """A binary ('L') mask of a random ellipse, rectangle or polygon blob."""
    mask = Image.new('L', (w, h), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    rx, ry = rng.uniform(0.08, 0.3) * w, rng.uniform(0.08, 0.3) * h
    kind = rng.integers(3)
    if kind == 0:
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    elif kind == 1:
        draw.rectangle([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    else:
        n = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(0.5, 1.0, n)
        draw.polygon([(float(cx + rx * r * np.cos(a)), float(cy + ry * r * np.sin(a)))
                      for a, r in zip(angles, radii)], fill=255)
    return mask


def _draw_ade_image(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One image, its uint8 label map (0 = other, 1..6) and the number of painted regions."""
    labels = np.zeros((h, w), np.uint8)
    # Scene: an upper and a lower layer split by a wavy horizon, then foreground regions.
    upper = int(rng.choice([3, 6, 2]))
    lower = int(rng.choice([4, 1]))
    horizon = rng.uniform(0.35, 0.65) * h
    wave = rng.uniform(2, 12) * np.sin(np.arange(w) / rng.uniform(15, 60) + rng.uniform(0, 6))
    labels[:] = upper
    labels[np.arange(h)[:, None] > (horizon + wave)[None, :]] = lower
    num_regions = 2
    for _ in range(int(rng.integers(2, 6))):
        labels[np.asarray(_random_region(rng, h, w)) > 0] = int(rng.integers(1, 7))
        num_regions += 1
    # Always some "other" (0) so reduce_zero_label's ignore value 255 really occurs.
    for _ in range(int(rng.integers(1, 3))):
        labels[np.asarray(_random_region(rng, h, w)) > 0] = 0
        num_regions += 1
    img = np.zeros((h, w, 3), np.float32)
    for label in np.unique(labels):
        sel = labels == label
        img[sel] = _class_texture(rng, int(label), h, w)[sel]
    return img, labels, num_regions


def _build_ade(tmp: str, num_train: int, num_val: int, base_hw: tuple[int, int],
               seed: int) -> DemoDataSummary:
    start = time.perf_counter()
    num_regions = 0
    for split_index, (split, count) in enumerate(zip(ADE_SPLITS, (num_train, num_val))):
        rng = _split_rng(seed, split_index, dataset_tag=1)
        img_dir = osp.join(tmp, 'images', split)
        ann_dir = osp.join(tmp, 'annotations', split)
        os.makedirs(img_dir)
        os.makedirs(ann_dir)
        tag = 'train' if split == 'training' else 'val'
        for i in range(count):
            h, w = _sample_hw(rng, base_hw)
            img, labels, n = _draw_ade_image(rng, h, w)
            num_regions += n
            name = f'ADE_{tag}_{i + 1:08d}'  # ADE20K's naming; split tag keeps names disjoint
            _save_jpg(img, osp.join(img_dir, name + '.jpg'))
            Image.fromarray(labels, 'L').save(osp.join(ann_dir, name + '.png'))
    return DemoDataSummary('ade', '', num_train, num_val, num_regions,
                           time.perf_counter() - start, skipped=False)


def _ade_pairs(root: str, split: str) -> list[str]:
    img_dir = osp.join(root, 'images', split)
    return sorted(f[:-4] for f in os.listdir(img_dir) if f.endswith('.jpg'))


def ade20k_demo_is_complete(root: str) -> bool:
    """True if both splits have images and every image has its label map (and vice versa)."""
    try:
        for split in ADE_SPLITS:
            images = _ade_pairs(root, split)
            ann_dir = osp.join(root, 'annotations', split)
            labels = sorted(f[:-4] for f in os.listdir(ann_dir) if f.endswith('.png'))
            if not images or images != labels:
                return False
    except OSError:
        return False
    return True


def make_ade20k_demo(root: str, num_train: int = 32, num_val: int = 8,
                     image_size: ImageSize = (256, 320), seed: int = 0,
                     force: bool = False) -> DemoDataSummary:
    """Write an ADE20K-layout semantic segmentation set to ``root``.

    Layout (mmseg ``ADE20KDataset`` / ``ade20k.py``; ``root`` plays ``ADEChallengeData2016``)::

        root/images/{training,validation}/ADE_{train,val}_<8 digits>.jpg
        root/annotations/{training,validation}/<same basename>.png

    Label maps are single-channel uint8 with ADE20K's convention: 0 = other (ignored after
    ``reduce_zero_label``), 1..150 = classes; the values used are the keys of
    :data:`DEMO_ADE_LABELS`, each painted with its own texture family.

    Args:
        root: Dataset root (the config's ``data_root``).
        num_train: Number of training images.
        num_val: Number of validation images.
        image_size: Base (height, width), or an int for a square base.
        seed: Random seed; same seed, same dataset.
        force: Replace whatever is at ``root``. Without it a complete dataset is kept and
            anything else there raises ``OutputExistsError`` (a ``FileExistsError``).

    Returns:
        A :class:`DemoDataSummary`, with ``skipped=True`` if a complete set was already there.
    """
    if num_train < 1 or num_val < 1:
        raise UsageError('num_train and num_val must be at least 1')
    base_hw = _as_hw(image_size)
    root = osp.abspath(root)
    summary = _publish(root, force,
                       lambda tmp: _build_ade(tmp, num_train, num_val, base_hw, seed),
                       ade20k_demo_is_complete)
    if summary is None:
        counts = [len(_ade_pairs(root, split)) for split in ADE_SPLITS]
        return DemoDataSummary('ade', root, counts[0], counts[1], 0, seconds=0.0, skipped=True)
    return replace(summary, root=root)


# ----------------------------------------------------------------------------- shape crops (pretraining)

CROP_SPLITS = ('train', 'val')


def _build_crops(tmp: str, num_train: int, num_val: int, crop: int, margin: float,
                 seed: int) -> DemoDataSummary:
    start = time.perf_counter()
    for split_index, (split, count) in enumerate(zip(CROP_SPLITS, (num_train, num_val))):
        # Own random streams (dataset_tag 2): the crops never come from the detection val images.
        rng = _split_rng(seed, split_index, dataset_tag=2)
        for name in DEMO_COCO_CLASSES:
            os.makedirs(osp.join(tmp, split, name))
        made = 0
        while made < count:
            h, w = _sample_hw(rng, (256, 320))
            img, objects = _draw_coco_image(rng, h, w)
            picture = Image.fromarray(_to_uint8(img), 'RGB')
            for category_id, poly in objects[:count - made]:
                (x0, y0), (x1, y1) = poly.min(0), poly.max(0)
                half = max(x1 - x0, y1 - y0) * (0.5 + margin)
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                # Outside the image, PIL's crop fills black; the shape itself is always inside.
                patch = picture.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
                patch.resize((crop, crop), Image.BILINEAR).save(
                    osp.join(tmp, split, DEMO_COCO_CLASSES[category_id - 1], f'{made:06d}.jpg'),
                    quality=_JPEG_QUALITY)
                made += 1
    return DemoDataSummary('crops', '', num_train, num_val, num_train + num_val,
                           time.perf_counter() - start, skipped=False)


def _crop_counts(root: str) -> list[int]:
    return [sum(len(os.listdir(osp.join(root, split, name))) for name in DEMO_COCO_CLASSES)
            for split in CROP_SPLITS]


def crops_demo_is_complete(root: str) -> bool:
    """True if both splits have a folder per class and hold images."""
    try:
        return all(_crop_counts(root))
    except OSError:
        return False


def make_shape_crops_demo(root: str, num_train: int = 1024, num_val: int = 128, crop: int = 64,
                          margin: float = 0.25, seed: int = 0, force: bool = False) -> DemoDataSummary:
    """Write square crops of single shapes, one folder per class (mmpretrain ``CustomDataset``)::

        root/{train,val}/{circle,square,triangle,star}/<6 digits>.jpg

    The shapes are drawn as in :func:`make_coco_instance_demo` (same classes, colours, textures),
    on images of their own, each crop the shape's box squared and widened by ``margin`` on every
    side, resized to ``crop`` x ``crop``. For pretraining a backbone to tell the outlines apart.
    """
    if num_train < 1 or num_val < 1:
        raise UsageError('num_train and num_val must be at least 1')
    root = osp.abspath(root)
    summary = _publish(root, force,
                       lambda tmp: _build_crops(tmp, num_train, num_val, crop, margin, seed),
                       crops_demo_is_complete)
    if summary is None:
        counts = _crop_counts(root)
        return DemoDataSummary('crops', root, counts[0], counts[1], sum(counts), seconds=0.0, skipped=True)
    return replace(summary, root=root)
