"""Data checks (secvit_mm.checks.data, tools/check_data.py, the fast part in tools/train.py and
tools/test.py): the clean built-in data passes, and each broken copy of it is named and refused.

Every broken case is a small changed copy of the built-in demo data (one helper, ``broken_copy``).
"""
import json
import os
import os.path as osp
import time

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from conftest import DET_CONFIG, SEG_CONFIG, broken_copy, edit_coco, options_for
from secvit_mm.datasets import make_ade20k_demo, make_coco_instance_demo
from secvit_mm.checks.data import check_datasets, enforce_data_checks, format_reports, has_errors
from secvit_mm.errors import DataCheckError



def config_for(root: str, kind: str) -> Config:
    """The demo config of ``kind`` pointed at ``root`` (all splits)."""
    cfg = Config.fromfile(DET_CONFIG if kind == 'coco' else SEG_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root + '/'
    if kind == 'coco':
        for split in ('val', 'test'):
            cfg[f'{split}_evaluator'].ann_file = osp.join(root, 'annotations/instances_val2017.json')
    return cfg


def problems(cfg, splits=('train', 'val', 'test'), fast=False):
    reports = check_datasets(cfg, splits, fast=fast)
    return reports, {p.what: p for r in reports for p in r.problems.values()}


# ----------------------------------------------------------------------------- clean data


@pytest.mark.parametrize('kind', ['coco', 'ade'])
def test_clean_built_in_data_has_no_problem_and_check_data_exits_0_in_seconds(demo_data, kind, capsys):
    from tools.check_data import main
    root = str(demo_data / kind)
    start = time.perf_counter()
    code = main([DET_CONFIG if kind == 'coco' else SEG_CONFIG, '--cfg-options', *options_for(root, kind)])
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'no problem found' in out and 'error' not in out
    assert seconds < 10


def test_check_data_on_the_default_built_in_data_takes_a_few_seconds(tmp_path, capsys):
    """The full-size built-in sets (64 + 16 COCO, 32 + 8 ADE images), all splits, both configs."""
    from tools.check_data import main
    make_coco_instance_demo(str(tmp_path / 'coco'))
    make_ade20k_demo(str(tmp_path / 'ade'))
    start = time.perf_counter()
    codes = [main([DET_CONFIG, '--cfg-options', *options_for(str(tmp_path / 'coco'), 'coco')]),
             main([SEG_CONFIG, '--cfg-options', *options_for(str(tmp_path / 'ade'), 'ade')])]
    seconds = time.perf_counter() - start
    assert codes == [0, 0], capsys.readouterr().out
    assert seconds < 10, seconds


# ----------------------------------------------------------------------------- broken COCO copies


def _every_polygon_two_points(coco, root):
    for ann in coco['annotations']:
        ann['segmentation'] = [ann['segmentation'][0][:4]]


def _every_box_zero_width(coco, root):
    for ann in coco['annotations']:
        ann['bbox'][2] = 0


def _every_box_negative_width(coco, root):
    for ann in coco['annotations']:
        ann['bbox'][2] = -5


def _unknown_category_id(coco, root):
    for ann in coco['annotations']:
        ann['category_id'] = 99


def _star_capitalised(coco, root):
    coco['categories'][3]['name'] = 'Star'


def _all_names_capitalised(coco, root):
    for cat in coco['categories']:
        cat['name'] = cat['name'].upper()


def _exif_rotated(coco, root):
    for info in coco['images']:
        path = osp.join(root, 'train2017', info['file_name'])
        img = Image.open(path)
        exif = img.getexif()
        exif[0x0112] = 6  # "rotate 90 CW to display": cv2 applies it, annotations do not
        img.save(path, exif=exif, quality=92)


def _one_image_missing(coco, root):
    os.remove(osp.join(root, 'train2017', coco['images'][0]['file_name']))


def _one_image_unreadable(coco, root):
    with open(osp.join(root, 'train2017', coco['images'][0]['file_name']), 'wb') as f:
        f.write(b'not a jpeg')


def _wrong_recorded_size(coco, root):
    coco['images'][0]['width'] += 17


def _extreme_aspect_ratio(coco, root):
    info = coco['images'][0]
    Image.fromarray(np.full((10, 4000, 3), 128, np.uint8)).save(osp.join(root, 'train2017', info['file_name']))
    info['width'], info['height'] = 4000, 10


def _no_annotations(coco, root):
    coco['annotations'] = []


def _most_images_missing(coco, root):
    for info in coco['images'][:3]:
        os.remove(osp.join(root, 'train2017', info['file_name']))


# (id, change, substring of the problem that must be named, refused by train.py)
COCO_CASES = [
    ('polygons < 3 points', _every_polygon_two_points, 'polygon with fewer than 3 points', True),
    ('zero-width boxes', _every_box_zero_width, 'degenerate box', True),
    ('negative-width boxes', _every_box_negative_width, 'degenerate box', True),
    ('category_id matches no category', _unknown_category_id, 'category_id matches no category', True),
    ("'Star' vs 'star'", _star_capitalised, "differs from a class only in case", True),
    ('all names differ', _all_names_capitalised, 'no category name matches a class', True),
    ('EXIF orientation', _exif_rotated, 'EXIF orientation tag', True),
    ('missing image', _one_image_missing, 'image file missing', True),
    ('unreadable image', _one_image_unreadable, 'image file unreadable', True),
    ('recorded size differs', _wrong_recorded_size, 'image size differs from the annotation', True),
    ('4000x10 image', _extreme_aspect_ratio, 'extreme aspect ratio', True),
    ('most images missing', _most_images_missing, 'most images would be lost', True),
    ('empty annotation list', _no_annotations, 'empty annotation list', True),
]


@pytest.mark.parametrize('change, what, refused', [c[1:] for c in COCO_CASES], ids=[c[0] for c in COCO_CASES])
def test_check_data_names_each_broken_coco_copy_and_train_refuses_it(demo_data, tmp_path, change, what,
                                                                      refused, capsys):
    from tools.check_data import main
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', change))
    code = main([DET_CONFIG, '--split', 'train', '--fix-report', str(tmp_path / 'report.json'),
                 '--cfg-options', *options_for(root, 'coco')])
    out = capsys.readouterr().out
    assert what in out, out
    assert code == 1
    with open(tmp_path / 'report.json') as f:
        assert any(what in p['what'] for r in json.load(f) for p in r['problems'])
    # the same, fast, before training: refused with the table, before anything is built
    with pytest.raises(DataCheckError, match='--skip-data-check') as info:
        enforce_data_checks(config_for(root, 'coco'), ('train', ), 'tools/train.py')
    assert what in str(info.value)


def test_a_typo_in_one_class_name_names_both_spellings_and_the_lost_class(demo_data, tmp_path):
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', _star_capitalised))
    reports, found = problems(config_for(root, 'coco'), ('train', ))
    assert "'Star' vs class 'star'" in found['category name differs from a class only in case '
                                         '(likely typo; objects dropped)'].files
    assert found['every object of a class would be dropped'].files == ['star']


def test_some_degenerate_boxes_are_a_warning_not_a_refusal(demo_data, tmp_path):
    def one_box(coco, root):
        coco['annotations'][0]['bbox'][3] = 0.5
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', one_box))
    reports, found = problems(config_for(root, 'coco'), ('train', ))
    assert not has_errors(reports)
    assert [p.severity for w, p in found.items() if 'degenerate box' in w] == ['warning']
    assert 'degenerate box' in format_reports(reports)


def test_train_tool_refuses_broken_data_before_building_and_skip_data_check_overrides(demo_data, tmp_path):
    from tools.train import main
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', _every_box_zero_width))
    argv = [DET_CONFIG, '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options_for(root, 'coco')]
    with pytest.raises(DataCheckError, match='every object of the split would be dropped'):
        main(argv)
    assert not osp.exists(tmp_path / 'work')  # refused before anything was built or written


# ----------------------------------------------------------------------------- broken ADE copies


def _labels_above_class_count(root):
    for name in os.listdir(osp.join(root, 'annotations', 'validation')):
        path = osp.join(root, 'annotations', 'validation', name)
        labels = np.asarray(Image.open(path)).copy()
        labels[:4, :4] = 200  # ADE20K has 150 classes (+ 0 = other); 200 is neither
        Image.fromarray(labels).save(path)


def _label_map_other_size(root):
    name = sorted(os.listdir(osp.join(root, 'annotations', 'validation')))[0]
    path = osp.join(root, 'annotations', 'validation', name)
    Image.open(path).resize((20, 20)).save(path)


def _label_map_missing(root):
    name = sorted(os.listdir(osp.join(root, 'annotations', 'validation')))[0]
    os.remove(osp.join(root, 'annotations', 'validation', name))


ADE_CASES = [
    ('label values above the class count', _labels_above_class_count,
     'label values outside 1..150 (0 = ignored, reduce_zero_label) and the ignore index 255'),
    ('label map of another size', _label_map_other_size, 'image size differs from the annotation'),
    ('label map missing', _label_map_missing, 'label map missing'),
]


@pytest.mark.parametrize('change, what', [c[1:] for c in ADE_CASES], ids=[c[0] for c in ADE_CASES])
def test_check_data_names_each_broken_ade_copy_and_test_refuses_it(demo_data, tmp_path, change, what, capsys):
    from tools.check_data import main
    root = broken_copy(demo_data, tmp_path, 'ade', change)
    code = main([SEG_CONFIG, '--split', 'val', '--cfg-options', *options_for(root, 'ade')])
    out = capsys.readouterr().out
    assert what in out, out
    assert code == 1
    from tools.test import main as test_main
    with pytest.raises(DataCheckError, match='tools/test.py: the data would waste this run') as info:
        test_main([SEG_CONFIG, 'random', '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *options_for(root, 'ade')])
    assert what in str(info.value)


def test_clean_ade_copy_passes_the_fast_check_of_test_py(demo_data):
    reports = enforce_data_checks(config_for(str(demo_data / 'ade'), 'ade'), ('test', ), 'tools/test.py')
    assert not has_errors(reports) and reports[0].images == 2


def test_one_exif_turned_image_is_a_warning_and_ignoring_orientation_silences_it(demo_data, tmp_path):
    def first_only(coco, root):
        _exif_rotated(dict(images=coco['images'][:1]), root)
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('train2017', first_only))
    cfg = config_for(root, 'coco')
    reports, found = problems(cfg, ('train', ))
    assert not has_errors(reports) and reports[0].images_lost == 1
    assert found[next(w for w in found if w.startswith('EXIF'))].severity == 'warning'
    cfg.train_dataloader.dataset.pipeline[0]['color_type'] = 'color_ignore_orientation'
    reports, found = problems(cfg, ('train', ))
    assert not any(w.startswith('EXIF') for w in found)


def test_datasets_read_otherwise_are_listed_as_not_checked(demo_data):
    cfg = config_for(str(demo_data / 'coco'), 'coco')
    cfg.train_dataloader.dataset.type = 'CocoPanopticDataset'  # reads segments_info, not boxes
    reports = check_datasets(cfg, ('train', ))
    assert not reports[0].checked and 'not checked' in format_reports(reports)


def test_a_config_class_without_any_category_is_named(demo_data):
    cfg = config_for(str(demo_data / 'coco'), 'coco')
    cfg.train_dataloader.dataset.metainfo = dict(classes=('circle', 'square', 'triangle', 'star', 'hexagon'))
    reports, found = problems(cfg, ('train', ))
    assert found['class of the config that matches no category name (it gets no example)'].files == ['hexagon']
