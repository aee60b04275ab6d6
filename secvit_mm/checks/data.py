"""Check the datasets of a detection / segmentation config before a run.

``tools/check_data.py`` runs everything here; ``tools/train.py`` / ``tools/test.py`` run the fast
part (``fast=True``) before they build the runner and refuse the run when :func:`has_errors`.
The checks read the annotation files and image headers directly and apply the same rules the
upstream dataset classes and pipeline apply (the rule each check mirrors is named where it is
made), so they are quick and explain *why* something would be lost. Design notes and the full
list of checks with their thresholds: ``docs/robustness.md`` ("Data checks").
"""
from __future__ import annotations

import inspect
import json
import math
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

from secvit_mm.checks.preflight import leaf_datasets
from secvit_mm.errors import ConfigError, DataCheckError

__all__ = [
    'Problem', 'SplitReport', 'check_datasets', 'check_head_classes', 'enforce_data_checks',
    'format_reports', 'has_errors', 'head_class_mismatches', 'write_fix_report', 'FAST_HEADER_SAMPLE',
    'FAST_LABEL_SAMPLE', 'MOST_IMAGES'
]

ERROR, WARNING, INFO = 'error', 'warning', 'info'
#: A split that would lose more than this fraction of its images is refused.
MOST_IMAGES = 0.5
#: Fast mode opens the headers of at most this many images (spread evenly over the split) ...
FAST_HEADER_SAMPLE = 1000
#: ... and decodes at most this many label maps (segmentation) to check their values.
FAST_LABEL_SAMPLE = 200
#: Number of example file names kept per problem in the table (the JSON report keeps all).
EXAMPLES = 3
_EXIF_ORIENTATION = 0x0112
_RESIZE_TYPES = ('Resize', 'RandomResize', 'RandomChoiceResize')


@dataclass
class Problem:
    severity: str
    what: str
    fix: str
    files: list = field(default_factory=list)  # distinct, in order of appearance
    count: int = 0
    _seen: set = field(default_factory=set, repr=False)

    def add(self, name, n: int = 1) -> None:
        self.count += n
        if str(name) not in self._seen:
            self._seen.add(str(name))
            self.files.append(str(name))


@dataclass
class SplitReport:
    split: str
    dataset: str
    images: int = 0
    images_lost: int = 0
    objects: int = 0  # annotations (detection) or label maps (segmentation)
    objects_kept: int = 0
    class_objects: dict = field(default_factory=dict)  # class -> [candidates, kept] (detection)
    problems: dict = field(default_factory=dict)  # what -> Problem
    checked: bool = True
    unit: str = 'objects'
    evaluated: bool = False  # an evaluator scores predictions on this split against its annotations

    def problem(self, severity: str, what: str, fix: str) -> Problem:
        if what not in self.problems:
            self.problems[what] = Problem(severity, what, fix)
        return self.problems[what]

    def add_refusals(self) -> None:
        """The four conditions that make a run pointless, as errors of their own."""
        if self.objects and not self.objects_kept and self.class_objects:
            self.problem(ERROR, f'every {self.unit[:-1]} of the split would be dropped',
                         'fix the problems above; nothing would be learned or measured').add(
                             '-', self.objects)
        elif self.evaluated and self.images and not self.objects_kept:
            # CocoMetric on ground truth without objects: every AP is -1, exit 0, nothing said.
            self.problem(ERROR, f'no {self.unit[:-1]} to score in this evaluated split (every '
                         'metric would be -1)', 'give the split its annotations; a split of images '
                         'only (e.g. test-dev) needs format_only=True in its evaluator').add('-', 0)
        else:
            for name, (candidates, kept) in self.class_objects.items():
                if candidates and not kept:
                    self.problem(ERROR, 'every object of a class would be dropped',
                                 'fix the problems above for that class').add(name, candidates)
        if self.images and self.images_lost > MOST_IMAGES * self.images:
            self.problem(ERROR, f'most images would be lost ({self.images_lost} of {self.images})',
                         'fix the problems above').add('-', self.images_lost)

    def to_dict(self) -> dict:
        return dict(split=self.split, dataset=self.dataset, images=self.images,
                    images_lost=self.images_lost, objects=self.objects,
                    objects_kept=self.objects_kept,
                    problems=[dict(severity=p.severity, what=p.what, count=p.count, fix=p.fix,
                                   files=p.files) for p in self.problems.values()])


def has_errors(reports: Iterable[SplitReport]) -> bool:
    return any(p.severity == ERROR for r in reports for p in r.problems.values())


def format_reports(reports: Iterable[SplitReport]) -> str:
    lines = []
    for r in reports:
        if not r.checked:
            lines.append(f'[{r.split}] {r.dataset}: not checked (only datasets read like mmdet '
                         "CocoDataset or mmseg BaseSegDataset are)")
            continue
        lines.append(f'[{r.split}] {r.dataset}: {r.images} images, {r.images_lost} lost; '
                     f'{r.objects} {r.unit}, {r.objects_kept} usable')
        if not r.problems:
            lines.append('  no problem found')
            continue
        lines.append(f'  {"severity":8} {"count":>6}  problem  (first files)  -> fix')
        for p in sorted(r.problems.values(), key=lambda p: (p.severity != ERROR, p.severity)):
            shown = [f for f in p.files[:EXAMPLES] if f != '-']
            files = f' ({", ".join(shown)}{", ..." if len(p.files) > EXAMPLES else ""})' if shown else ''
            lines.append(f'  {p.severity:8} {p.count:>6}  {p.what}{files}  -> {p.fix}')
    return '\n'.join(lines)


# ----------------------------------------------------------------------------- config walking


def _dataset_class(scope: Optional[str], type_name):
    if not isinstance(type_name, str):
        return type_name
    try:
        if scope == 'mmseg':
            from mmseg.registry import DATASETS
        elif scope == 'mmdet':
            from mmdet.registry import DATASETS
        else:
            return None
        if scope == 'mmseg':
            import mmseg.datasets  # noqa: F401  (registers them)
        else:
            import mmdet.datasets  # noqa: F401
        return DATASETS.get(type_name)
    except ImportError:
        return None


def _setting(ds_cfg: dict, cls, name: str, default=None):
    """A dataset argument: the config's value, else the class's default, else ``default``."""
    if name in ds_cfg:
        return ds_cfg[name]
    if cls is not None:
        for klass in cls.__mro__:
            init = klass.__dict__.get('__init__')
            if init is None:
                continue
            param = inspect.signature(init).parameters.get(name)
            if param is not None and param.default is not inspect.Parameter.empty:
                return param.default
    return default


def _classes(ds_cfg: dict, cls) -> tuple:
    meta = ds_cfg.get('metainfo') or {}
    classes = meta.get('classes')
    if classes is None and cls is not None:
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return tuple(classes or ())


def _transform(pipeline, types) -> Optional[dict]:
    for t in pipeline or ():
        if isinstance(t, dict) and str(t.get('type', '')).split('.')[-1] in types:
            return t
    return None


def _smallest_short_side(h: int, w: int, resize: Optional[dict]) -> Optional[int]:
    """Short side after the pipeline's first resize at its smallest scale (None: cannot tell)."""
    if resize is None:
        return None
    from mmcv.image.geometric import rescale_size
    kind = str(resize.get('type')).split('.')[-1]
    scales = resize.get('scales') if kind == 'RandomChoiceResize' else [resize.get('scale')]
    if kind == 'RandomResize':
        ratio = resize.get('ratio_range')
        scale = resize.get('scale')
        if ratio and scale is not None:
            scales = [tuple(s * min(ratio) for s in scale)]
    keep = resize.get('keep_ratio', False)
    if not keep:
        return None  # a fixed output size always works
    sides = []
    for scale in scales:
        if not scale:
            return None
        scale = (scale, scale) if isinstance(scale, (int, float)) else tuple(scale)
        if len(scale) != 2 or min(scale) <= 0:
            return None
        new_w, new_h = rescale_size((w, h), scale)  # mmcv's own rounding (what cv2 is given)
        sides.append(min(new_w, new_h))
    return min(sides) if sides else None


def _evenly(items: list, limit: Optional[int]) -> set:
    if limit is None or len(items) <= limit:
        return set(range(len(items)))
    return {int(i) for i in np.linspace(0, len(items) - 1, limit)}


def _applies_exif(pipeline) -> bool:
    """mmcv's ``imfrombytes`` turns by the EXIF tag unless color_type says ``..._ignore_orientation``."""
    load = _transform(pipeline, ('LoadImageFromFile', ))
    return load is None or 'ignore_orientation' not in str(load.get('color_type', 'color'))


def _check_image_file(report: SplitReport, path: str, name: str, expected_hw, resize,
                      exists: bool, read_header: bool, exif: bool = True,
                      decode: bool = False) -> bool:
    """Existence, readability, EXIF orientation, size vs annotation, resize; False if lost.

    A missing or unreadable image, or one the resize cannot handle, stops the run when it is
    loaded (error); an EXIF-turned image only teaches wrong boxes (warning, counted as lost, so
    a split where most images are turned is refused). ``decode`` (the full check) also decodes
    the pixels: a file cut short after its header has a readable header.
    """
    if not exists:
        report.problem(ERROR, 'image file missing', 'restore the file or remove it from the '
                       'annotations').add(name)
        return False
    if not read_header:
        return True
    try:
        with Image.open(path) as img:
            w, h = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
            if decode:
                img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        report.problem(ERROR, 'image file unreadable (not an image or truncated)',
                       'replace the file or remove it from the annotations').add(name)
        return False
    ok = True
    if exif and orientation not in (None, 0, 1):
        report.problem(WARNING, 'EXIF orientation tag (cv2 loads the image rotated/flipped against '
                       'its annotations)', 'strip the tag, or save the pixels turned with the '
                       'annotations in the same frame (PIL ImageOps.exif_transpose), or load with '
                       "color_type='color_ignore_orientation'").add(name)
        ok = False
    if expected_hw is not None and tuple(expected_hw) != (h, w):
        report.problem(ERROR, 'image size differs from the annotation',
                       'fix width/height (or the label map) to match the image').add(
                           f'{name} (file {w}x{h}, annotation {expected_hw[1]}x{expected_hw[0]})')
        ok = False
    short = _smallest_short_side(h, w, resize)
    if short is not None and short < 1:
        report.problem(ERROR, "extreme aspect ratio: the pipeline's resize makes a side 0 px "
                       '(cv2 fails)', 'crop or drop the image').add(f'{name} ({w}x{h})')
        ok = False
    return ok


def _files_in(directory: str) -> set:
    try:
        return set(os.listdir(directory))
    except OSError:
        return set()


# ----------------------------------------------------------------------------- detection (COCO)


def _is_number(value) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _numbers(values, length: Optional[int] = None) -> bool:
    # type() instead of isinstance: fast enough for COCO's polygons, and a bool is not a number here
    return (isinstance(values, list) and (length is None or len(values) == length)
            and all(type(v) in (int, float) for v in values))


def _non_numeric_fields(ann: dict) -> list:
    """The fields of a COCO annotation that must hold numbers and do not (e.g. the string "44.1").

    mmdet computes with them as they are (``CocoDataset.parse_data_info``: ``x1 + w``,
    ``ann['area'] <= 0``; polygons go to ``PolygonMasks``), so a string is a TypeError mid-run.
    """
    bad = []
    if 'bbox' in ann and not _numbers(ann['bbox'], 4) and isinstance(ann['bbox'], list) \
            and len(ann['bbox']) == 4:
        bad.append(f'bbox {ann["bbox"]}')
    if 'area' in ann and not _is_number(ann['area']):
        bad.append(f'area {ann["area"]!r}')
    seg = ann.get('segmentation')
    if isinstance(seg, list) and not all(_numbers(p) for p in seg):
        bad.append('segmentation ' + str(next(p for p in seg if not _numbers(p)))[:40])
    return bad


def _check_coco_ids(report: SplitReport, images: list, anns: list) -> None:
    """Ids and pictures that must be unique: mmdet's COCO index keys images and annotations by id.

    ``COCO.createIndex`` keeps the last image of an id (the others vanish) and gives it the
    annotations of all of them; ``CocoDataset.load_data_list`` asserts unique annotation ids;
    a picture under two ids is trained twice or scored against half of its objects.
    """
    by_id, by_file = {}, {}
    for info in images:
        by_id.setdefault(info.get('id'), []).append(str(info.get('file_name')))
        by_file.setdefault(info.get('file_name'), []).append(info.get('id'))
    for image_id, names in by_id.items():
        if len(names) > 1:
            report.problem(ERROR, 'image id shared by several images (mmdet keeps one of the pictures '
                           'and gives it the objects of all)', 'give every image its own id and its '
                           'annotations that image_id').add(f'id {image_id}: {", ".join(names[:4])}',
                                                             len(names) - 1)
    for name, ids in by_file.items():
        if len(ids) > 1:
            report.problem(ERROR, 'picture listed more than once in images (trained twice, or scored '
                           'against part of its objects)', 'list each file once, with all its '
                           'annotations under its one id').add(f'{name} (ids {ids[:4]})', len(ids) - 1)
    counts = Counter(ann.get('id') for ann in anns)
    for ann_id, n in counts.items():
        if n > 1:
            report.problem(ERROR, 'annotation id used more than once (mmdet: AssertionError '
                           '"Annotation ids ... are not unique"; COCO evaluation keeps one)',
                           'give every annotation its own id').add(f'id {ann_id}', n - 1)


def _check_image_numbers(report: SplitReport, images: list) -> None:
    for info in images:
        bad = [f'{k} {info.get(k, "missing")!r}' for k in ('width', 'height')
               if not _is_number(info.get(k))]
        if bad:
            report.problem(ERROR, _NON_NUMERIC, _NON_NUMERIC_FIX).add(
                f'{info.get("file_name")} ({", ".join(bad)})')
            info.pop('width', None), info.pop('height', None)  # not compared with the file below


_NON_NUMERIC = ('number written as text or other non-number in bbox / area / segmentation / '
                'width / height (mmdet: TypeError mid-run)')
_NON_NUMERIC_FIX = 'write plain JSON numbers (44.1, not "44.1")'


def _check_coco(report: SplitReport, ds_cfg: dict, cls, fast: bool, test_mode: bool) -> None:
    root = ds_cfg.get('data_root') or ''
    ann_file = osp.join(root, ds_cfg.get('ann_file', ''))
    try:
        with open(ann_file) as f:
            coco = json.load(f)
        images, anns, cats = coco['images'], coco.get('annotations', []), coco['categories']
    except (OSError, ValueError, KeyError, TypeError) as err:
        report.problem(ERROR, f'annotation file unreadable ({type(err).__name__}: {err})',
                       'regenerate or fix the JSON file').add(ann_file)
        return
    classes = _classes(ds_cfg, cls)
    prefix = (ds_cfg.get('data_prefix') or {}).get('img', '')
    img_dir = osp.join(root, prefix)
    pipeline = ds_cfg.get('pipeline') or []
    load_ann = _transform(pipeline, ('LoadAnnotations', ))
    with_mask = bool(load_ann and load_ann.get('with_mask', False))
    resize = _transform(pipeline, _RESIZE_TYPES)
    filter_cfg = {} if test_mode else (ds_cfg.get('filter_cfg') or {})

    # CocoDataset.load_data_list: cat_ids = get_cat_ids(cat_names=classes), an exact name match.
    class_of_cat = {}
    lower = {c.lower(): c for c in classes}
    cat_names = {}
    for cat in cats:
        cat_names[cat['id']] = cat['name']
        if cat['name'] in classes:
            class_of_cat[cat['id']] = cat['name']
    report.class_objects = {c: [0, 0] for c in classes}
    cat_lower = {str(n).lower() for n in cat_names.values()}
    for name in classes:
        if name.lower() not in cat_lower:
            report.problem(WARNING, 'class of the config that matches no category name (it gets '
                           'no example)', 'fix metainfo.classes or the categories').add(name)
    if not class_of_cat:
        report.problem(ERROR, 'no category name matches a class of the config (mmengine would '
                       "fail with 'need at least one array to concatenate')",
                       f'set metainfo.classes to the category names '
                       f'{sorted(cat_names.values())[:6]}').add(ann_file, 0)

    images = [dict(im) for im in images]  # width/height may be set aside below
    _check_coco_ids(report, images, anns)
    _check_image_numbers(report, images)
    image_by_id = {im.get('id'): im for im in images}
    report.images = len(images)
    if not images:
        report.problem(ERROR, 'annotation file lists no image', 'fix the file or ann_file').add(ann_file, 0)
    elif not anns and not test_mode:  # a test split may be images only (e.g. test-dev)
        report.problem(ERROR, 'annotation file has an empty annotation list (nothing to learn)',
                       'fix the file or ann_file').add(ann_file, 0)
    kept_per_image = Counter()
    with_class_ann = set()
    for ann in anns:
        report.objects += 1
        name = image_by_id.get(ann.get('image_id'), {}).get('file_name', f"image_id {ann.get('image_id')}")
        cat = ann.get('category_id')
        if cat not in cat_names:
            report.problem(ERROR, 'category_id matches no category of the annotation file '
                           '(object dropped)', 'fix category_id or add the category').add(
                               f'{name} (category_id {cat})')
            continue
        cls_name = class_of_cat.get(cat)
        if cls_name is None:
            typo = lower.get(str(cat_names[cat]).lower())
            if typo is not None:
                report.class_objects[typo][0] += 1
                report.problem(ERROR, 'category name differs from a class only in case (likely '
                               'typo; objects dropped)', 'make the names identical').add(
                                   f"{cat_names[cat]!r} vs class {typo!r}")
            else:
                report.problem(INFO, 'objects of categories not in the config classes (dropped '
                               'by design)', 'nothing to do if intended').add(cat_names[cat])
            continue
        report.class_objects[cls_name][0] += 1
        with_class_ann.add(ann.get('image_id'))
        info = image_by_id.get(ann.get('image_id'))
        if info is None:
            report.problem(WARNING, 'annotation of an image id not in images (dropped)',
                           'fix image_id').add(name)
            continue
        non_numeric = _non_numeric_fields(ann)
        if non_numeric:
            report.problem(ERROR, _NON_NUMERIC, _NON_NUMERIC_FIX).add(f'{name} ({"; ".join(non_numeric)})')
            continue
        # CocoDataset.parse_data_info: box clipped to the image must have an area; w, h >= 1.
        if not _numbers(ann.get('bbox'), 4):
            report.problem(ERROR, 'annotation without a valid bbox [x, y, w, h]', 'fix bbox').add(name)
            continue
        if 'area' not in ann:
            report.problem(ERROR, "annotation without 'area' (mmdet: KeyError mid-run)",
                           'add the area of each object (w * h of its box will do)').add(name)
            continue
        x1, y1, w, h = ann['bbox']
        inter_w = max(0.0, min(x1 + w, info.get('width', x1 + w)) - max(x1, 0.0))
        inter_h = max(0.0, min(y1 + h, info.get('height', y1 + h)) - max(y1, 0.0))
        if inter_w * inter_h == 0 or ann['area'] <= 0 or w < 1 or h < 1:
            report.problem(WARNING, 'degenerate box (width or height < 1 px, zero area, or '
                           'outside the image; dropped by the dataset)', 'fix or remove the '
                           'box').add(f'{name} (bbox {ann["bbox"]})')
            continue
        if ann.get('iscrowd', 0):
            continue  # an ignore region, as intended
        # mmdet LoadAnnotations._process_masks: polygons need >= 3 points, else the object is
        # marked ignore_flag=1 and trains as nothing.
        seg = ann.get('segmentation')
        if with_mask and isinstance(seg, list) and not any(
                isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in seg):
            report.problem(WARNING, 'polygon with fewer than 3 points (object ignored by '
                           'LoadAnnotations with_mask)', 'fix the segmentation or the '
                           'polygon').add(name)
            continue
        report.class_objects[cls_name][1] += 1
        report.objects_kept += 1
        kept_per_image[ann.get('image_id')] += 1

    files = _files_in(img_dir)
    headers = _evenly(images, FAST_HEADER_SAMPLE if fast else None)
    min_size = filter_cfg.get('min_size', 0) or 0
    for i, info in enumerate(images):
        name = str(info.get('file_name'))
        path = osp.join(img_dir, name)
        exists = (name in files) if osp.dirname(name) == '' else osp.isfile(path)
        recorded_hw = (info['height'], info['width']) if 'height' in info and 'width' in info else None
        if not _check_image_file(report, path, name, recorded_hw, resize, exists, i in headers,
                                 _applies_exif(pipeline), decode=not fast):
            report.images_lost += 1
            continue
        # CocoDataset.filter_data: filter_empty_gt drops images without an object of a class;
        # min_size drops small images.
        if filter_cfg.get('filter_empty_gt', False) and info['id'] not in with_class_ann:
            report.images_lost += 1
            report.problem(INFO, 'image without an object of a class (skipped by filter_empty_gt)',
                           'nothing to do if intended').add(name)
        elif recorded_hw is not None and min(recorded_hw) < min_size:
            report.images_lost += 1
            report.problem(WARNING, f'image smaller than filter_cfg.min_size={min_size} (skipped)',
                           'nothing to do if intended').add(name)
        elif not test_mode and info['id'] in with_class_ann and not kept_per_image[info['id']]:
            report.problem(WARNING, 'image kept with no usable object (trains as background only)',
                           'fix its annotations').add(name)


# ----------------------------------------------------------------------------- segmentation

_LOSSY_FORMATS = ('JPEG', 'MPO', 'WEBP')


def _label_map_storage_problem(report: SplitReport, seg, seg_name: str) -> bool:
    """True (and an error) if a label map is not one channel of class indices, stored losslessly.

    mmseg's ``LoadAnnotations`` reads it with ``flag='unchanged'`` and ``.squeeze()``: 3 channels
    stay 3 (the metric fails after the whole test), and JPEG compression changes the class index
    of the pixels along every edge (wrong labels, no error).
    """
    bands = seg.getbands()
    if len(bands) != 1:
        report.problem(ERROR, 'label map with more than one channel (a colour picture, not class '
                       'indices; mmseg fails at the metric)', 'save one channel of class indices '
                       '(PIL mode L or P), e.g. map each colour to its index').add(
                           f'{seg_name} ({seg.mode}, {len(bands)} channels)')
        return True
    # WebP may be lossless; PIL says so only as the VP8L chunk, so WebP is refused as a whole.
    if seg.format in _LOSSY_FORMATS:
        report.problem(ERROR, 'label map in a lossy format (compression changes the class of '
                       'pixels along every edge)', 'save label maps as PNG (seg_map_suffix='
                       "'.png')").add(f'{seg_name} ({seg.format})')
        return True
    return False


def _check_seg(report: SplitReport, ds_cfg: dict, cls, fast: bool) -> None:
    root = ds_cfg.get('data_root') or ''
    prefix = ds_cfg.get('data_prefix') or {}
    img_dir = osp.join(root, prefix.get('img_path', ''))
    seg_dir = osp.join(root, prefix.get('seg_map_path', ''))
    img_suffix = _setting(ds_cfg, cls, 'img_suffix', '.jpg')
    seg_suffix = _setting(ds_cfg, cls, 'seg_map_suffix', '.png')
    reduce_zero = _setting(ds_cfg, cls, 'reduce_zero_label', False)
    ignore = _setting(ds_cfg, cls, 'ignore_index', 255)
    pipeline = ds_cfg.get('pipeline') or []
    load_ann = _transform(pipeline, ('LoadAnnotations', ))
    if load_ann is not None and load_ann.get('reduce_zero_label') is not None:
        reduce_zero = load_ann['reduce_zero_label']
    resize = _transform(pipeline, _RESIZE_TYPES)
    num_classes = len(_classes(ds_cfg, cls))
    ann_file = ds_cfg.get('ann_file') or ''
    # BaseSegDataset.load_data_list: names from ann_file lines, else every img_suffix file.
    if ann_file:
        with open(osp.join(root, ann_file)) as f:
            names = [line.strip() + img_suffix for line in f if line.strip()]
    else:
        names = sorted(osp.relpath(osp.join(d, f), img_dir) for d, _, fs in os.walk(img_dir)
                       for f in fs if f.endswith(img_suffix))
    report.images = report.objects = len(names)
    report.unit = 'label maps'
    report.class_objects = {'labelled pixels': [len(names), 0]}  # all maps ignored: refused
    if not names:
        report.problem(ERROR, f'no {img_suffix} image in {img_dir}', 'fix data_root / '
                       'data_prefix / img_suffix').add(img_dir, 0)
        return
    # LoadAnnotations(reduce_zero_label): 0 -> 255 (ignored), v -> v - 1; so raw 1..num_classes.
    valid_max = num_classes if reduce_zero else num_classes - 1
    valid_desc = (f'1..{num_classes} (0 = ignored, reduce_zero_label)' if reduce_zero
                  else f'0..{num_classes - 1}')
    headers = _evenly(names, FAST_HEADER_SAMPLE if fast else None)
    decode = _evenly(names, FAST_LABEL_SAMPLE if fast else None)
    for i, name in enumerate(names):
        img_path = osp.join(img_dir, name)
        seg_name = name[:-len(img_suffix)] + seg_suffix
        seg_path = osp.join(seg_dir, seg_name)
        if not osp.isfile(seg_path):
            report.images_lost += 1
            report.problem(ERROR, 'label map missing', 'add the label map or remove the '
                           'image').add(seg_name)
            continue
        seg_hw = None
        if i in headers or i in decode:
            try:
                with Image.open(seg_path) as seg:
                    seg_hw = seg.size[::-1]
                    stored_wrong = _label_map_storage_problem(report, seg, seg_name)
                    values = np.unique(np.asarray(seg)) if i in decode and not stored_wrong else None
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                report.images_lost += 1
                report.problem(ERROR, 'label map unreadable', 'replace the file').add(seg_name)
                continue
            if stored_wrong:
                report.images_lost += 1
                continue
            if values is not None:
                bad = values[(values > valid_max) & (values != ignore)]
                if reduce_zero:
                    bad = bad[bad != 255]
                if bad.size:
                    report.problem(ERROR, f'label values outside {valid_desc} and the ignore '
                                   f'index {ignore} (training: IndexError, testing: wrong mIoU)',
                                   'fix the label maps or num_classes / metainfo.classes').add(
                                       f'{seg_name} (values {bad[:5].tolist()})')
                    report.images_lost += 1
                    continue
                ignored = {ignore, 255, 0} if reduce_zero else {ignore}
                if not set(values.tolist()) - ignored:
                    report.problem(WARNING, 'label map with no labelled pixel (all ignored)',
                                   'fix the label map (with reduce_zero_label, 0 is ignored)').add(
                                       seg_name)
                    continue
        if not _check_image_file(report, img_path, name, seg_hw, resize, osp.isfile(img_path),
                                 i in headers, _applies_exif(pipeline), decode=not fast):
            report.images_lost += 1
            continue
        report.objects_kept += 1
        report.class_objects['labelled pixels'][1] += 1


# ----------------------------------------------------------------------------- entry points


def _reads_like(cls, scope, want_scope: str, base_name: str, methods) -> bool:
    """True if ``cls`` reads its annotations with ``base_name``'s own methods (the rules mirrored here).

    Subclasses that read differently (e.g. COCO panoptic, LVIS) are not checked rather than
    checked wrongly.
    """
    if scope != want_scope or not isinstance(cls, type):
        return False
    base = _dataset_class(want_scope, base_name)
    return (base is not None and issubclass(cls, base)
            and all(getattr(cls, m) is getattr(base, m) for m in methods))


def _splits_of(cfg, splits):
    """(split label, leaf dataset cfg, test_mode) of each distinct dataset of the splits."""
    seen = {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        for ds in leaf_datasets(loader.get('dataset')):
            key = json.dumps([ds.get('type'), ds.get('data_root'), ds.get('ann_file'),
                              ds.get('data_prefix')], sort_keys=True, default=str)
            if key in seen:
                seen[key][0].append(split)
            else:
                seen[key] = ([split], ds, ds.get('test_mode', split != 'train'))
    return [('/'.join(s), ds, tm) for s, ds, tm in seen.values()]


def _evaluated(cfg, split_label: str) -> bool:
    """True if an evaluator of the split(s) scores predictions against ground truth (not format_only)."""
    for split in split_label.split('/'):
        if split == 'train':
            continue
        evaluator = cfg.get(f'{split}_evaluator')
        metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        if any(isinstance(m, dict) and not m.get('format_only', False) for m in metrics):
            return True
    return False


#: Heads whose num_classes is not the dataset's by design: class-agnostic proposals (RPN) and
#: HTC's semantic (stuff) head.
_NOT_CLASS_HEADS = ('rpn_head', 'semantic_head')


def _class_heads(node, path: str = 'model'):
    """(config path, num_classes) of each part of a model config that predicts the dataset's classes.

    Every ``num_classes`` counts: mmdet's single-stage ``bbox_head``, ``roi_head.bbox_head`` /
    ``mask_head`` (lists in cascades), mmseg's ``decode_head`` / ``auxiliary_head`` (lists too).
    """
    if isinstance(node, dict):
        if isinstance(node.get('num_classes'), int) and not node.get('class_agnostic', False):
            yield path, node['num_classes']
        for key, value in node.items():
            if key not in _NOT_CLASS_HEADS:
                yield from _class_heads(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _class_heads(value, f'{path}.{i}')


def _short(names, limit: int = 6) -> str:
    names = [str(n) for n in names]
    return ', '.join(names[:limit]) + (', ...' if len(names) > limit else '')


def _split_classes(cfg, splits) -> list:
    """[(split labels, classes)] of each distinct dataset of the splits (``()``: classes unknown)."""
    scope = cfg.get('default_scope')
    return [(label, _classes(ds_cfg, _dataset_class(scope, ds_cfg.get('type'))))
            for label, ds_cfg, _ in _splits_of(cfg, splits)]


def _head_class_groups(cfg, split_classes) -> list:
    """[(split labels, classes, [(head path, num_classes) that differ])], one per distinct class list."""
    heads = list(_class_heads(cfg.get('model')))
    groups = {}
    for label, classes in split_classes:
        wrong = [(path, n) for path, n in heads if classes and n != len(classes)]
        if wrong:
            groups.setdefault(classes, ([], wrong))[0].append(label)
    return [(labels, classes, wrong) for classes, (labels, wrong) in groups.items()]


def _head_class_message(labels, classes, wrong) -> str:
    m = len(classes)
    heads = ', '.join(f'{path}.num_classes={n}' for path, n in wrong)
    return (f'{heads}, but the {" and ".join(labels)} data has {m} classes ({_short(classes)}): a head '
            'with fewer classes learns the others as background (mmdet) or fails mid-run (mmseg), '
            f'one with more predicts classes that do not exist; set num_classes={m} in '
            f'{"each" if len(wrong) > 1 else "it"}, or metainfo.classes to the classes the heads '
            'should learn')


def _split_class_differences(split_classes) -> list:
    """[(labels of the first class list, labels of another, where they differ)]: splits whose
    datasets name different classes (known ones only)."""
    lists = {}
    for label, classes in split_classes:
        if classes:
            lists.setdefault(classes, []).append(label)
    (first, first_labels), *others = list(lists.items()) or [((), [])]
    found = []
    for classes, labels in others:
        at = next((i for i, (a, b) in enumerate(zip(first, classes)) if a != b), None)
        found.append((first_labels, labels, f'label {at} is {first[at]!r} in one, {classes[at]!r} in '
                      'the other' if at is not None else f'{len(first)} vs {len(classes)} classes'))
    return found


def head_class_mismatches(cfg, splits=('train', 'val', 'test')) -> list:
    """One line per way the model's heads and the splits' datasets disagree about the classes.

    A head's ``num_classes`` that differs from a dataset's number of classes, and datasets of
    the splits whose class lists differ (in names or order: the head is trained on one label
    order and scored in another).

    Args:
        cfg (Config): The run's config (``model`` and ``*_dataloader``).
        splits (Sequence[str]): The splits the run uses. Defaults to all three.

    Returns:
        list[str]: Empty when every head fits every dataset whose classes are known.
    """
    split_classes = _split_classes(cfg, splits)
    lines = [_head_class_message(*group) for group in _head_class_groups(cfg, split_classes)]
    for first_labels, labels, where in _split_class_differences(split_classes):
        lines.append(f'the {" and ".join(first_labels)} and {" and ".join(labels)} data name different '
                     f'classes ({where}): the heads would learn one label order and be scored in '
                     'another; give every split the same metainfo.classes, in the same order')
    return lines


def check_head_classes(cfg, splits=('train', 'val', 'test')) -> None:
    """ConfigError when the heads and the splits' datasets disagree about the classes.

    mmdet would train a narrower head with the extra classes as its background index (exit 0)
    and fail mid-run in the mask head or the metric; found here before anything is built.

    Args:
        cfg (Config): The run's config.
        splits (Sequence[str]): The splits the run uses. Defaults to all three.
    """
    wrong = head_class_mismatches(cfg, splits)
    if wrong:
        raise ConfigError('; '.join(wrong))


def check_datasets(cfg, splits=('train', 'val', 'test'), fast: bool = False) -> list:
    """One :class:`SplitReport` per distinct dataset of ``splits`` (val and test often share one)."""
    from mmengine.config import ConfigDict
    scope = cfg.get('default_scope')
    reports = []
    for label, ds_cfg, test_mode in _splits_of(cfg, splits):
        ds_cfg = ds_cfg.to_dict() if isinstance(ds_cfg, ConfigDict) else dict(ds_cfg)
        cls = _dataset_class(scope, ds_cfg.get('type'))
        desc = f"{getattr(cls, '__name__', ds_cfg.get('type'))} at {ds_cfg.get('data_root')}"
        report = SplitReport(label, desc, evaluated=_evaluated(cfg, label))
        if _reads_like(cls, scope, 'mmdet', 'CocoDataset', ('load_data_list', 'parse_data_info')):
            _check_coco(report, ds_cfg, cls, fast, test_mode)
        elif _reads_like(cls, scope, 'mmseg', 'BaseSegDataset', ('load_data_list', )):
            _check_seg(report, ds_cfg, cls, fast)
        else:
            report.checked = False
        if report.checked:
            report.add_refusals()
        reports.append(report)
    split_classes = _split_classes(cfg, splits)
    for labels, classes, wrong in _head_class_groups(cfg, split_classes):
        for report in reports:
            if report.checked and report.split in labels:
                report.problem(ERROR, f'head num_classes differs from the {len(classes)} classes of '
                               'the data (classes outside the head are learned as background or '
                               'fail mid-run)', f'set num_classes={len(classes)} in each head named, '
                               'or metainfo.classes').add(
                                   ', '.join(f'{p}.num_classes={n}' for p, n in wrong), len(wrong))
    for _, labels, where in _split_class_differences(split_classes):
        for report in reports:
            if report.checked and report.split in labels:
                report.problem(ERROR, 'classes differ from those of the first split (labels mean '
                               'other classes than the heads learn)', 'give every split the same '
                               'metainfo.classes, in the same order').add(where)
    return reports


def enforce_data_checks(cfg, splits, tool: str) -> list:
    """The fast checks of tools/train.py and tools/test.py: DataCheckError with the table."""
    reports = check_datasets(cfg, splits, fast=True)
    if has_errors(reports):
        raise DataCheckError(
            f'{tool}: the data would waste this run:\n{format_reports(reports)}\n'
            f'Full check: python tools/check_data.py CONFIG; run anyway with --skip-data-check.')
    return reports


def write_fix_report(reports, path: str) -> None:
    with open(path, 'w') as f:
        json.dump([r.to_dict() for r in reports], f, indent=1)



def dataset_metainfo(cfg, split: str = 'test') -> dict:
    """The metainfo (``classes``, ``palette`` ...) the first dataset of ``split`` has.

    The dataset is built with ``lazy_init=True`` (no annotation is read; what mmdet's
    ``DetInferencer`` does for the palette), so the class's own rules apply (``METAINFO`` updated by
    the config's ``metainfo``; mmseg fills in a palette). ``{}`` when the split has no dataset.

    Args:
        cfg (Config): a detection or segmentation config.
        split (str): 'train', 'val' or 'test'. Defaults to 'test'.
    """
    loader = cfg.get(f'{split}_dataloader')
    datasets = list(leaf_datasets(loader.get('dataset'))) if isinstance(loader, dict) else []
    if not datasets:
        return {}
    ds_cfg = dict(datasets[0])
    scope = cfg.get('default_scope')
    cls = _dataset_class(scope, ds_cfg.get('type'))
    if cls is not None:
        try:
            kwargs = {k: v for k, v in ds_cfg.items() if k not in ('type', 'pipeline', 'lazy_init')}
            return dict(cls(**kwargs, pipeline=[], lazy_init=True).metainfo)
        except Exception:  # noqa: BLE001 - e.g. a missing data folder; the class's own names then
            pass
    meta = dict(getattr(cls, 'METAINFO', None) or {})
    meta.update(ds_cfg.get('metainfo') or {})
    return meta
