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

from conftest import DEMO_SEG_CONFIG, DET_CONFIG, SEG_CONFIG, broken_copy, edit_coco, options_for
from secvit_mm.datasets import DEMO_COCO_CLASSES, make_ade20k_demo, make_coco_instance_demo
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


def _duplicate_image_id(coco, root):
    coco['images'][1]['id'] = coco['images'][0]['id']


def _picture_listed_twice(coco, root):
    coco['images'][1]['file_name'] = coco['images'][0]['file_name']
    coco['images'][1].update(width=coco['images'][0]['width'], height=coco['images'][0]['height'])


def _duplicate_annotation_id(coco, root):
    coco['annotations'][1]['id'] = coco['annotations'][0]['id']


def _bbox_as_strings(coco, root):
    coco['annotations'][0]['bbox'] = [str(v) for v in coco['annotations'][0]['bbox']]


def _area_as_string(coco, root):
    coco['annotations'][0]['area'] = str(coco['annotations'][0]['area'])


def _polygon_as_strings(coco, root):
    coco['annotations'][0]['segmentation'] = [[str(v) for v in coco['annotations'][0]['segmentation'][0]]]


def _width_as_string(coco, root):
    coco['images'][0]['width'] = str(coco['images'][0]['width'])


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
    ('two images with one id', _duplicate_image_id, 'image id shared by several images', True),
    ('one picture under two ids', _picture_listed_twice, 'picture listed more than once', True),
    ('two annotations with one id', _duplicate_annotation_id, 'annotation id used more than once', True),
    ('bbox as strings', _bbox_as_strings, 'number written as text', True),
    ('area as a string', _area_as_string, 'number written as text', True),
    ('polygon as strings', _polygon_as_strings, 'number written as text', True),
    ('width as a string', _width_as_string, 'number written as text', True),
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


def _label_maps_rgb(root):
    for name in os.listdir(osp.join(root, 'annotations', 'validation')):
        path = osp.join(root, 'annotations', 'validation', name)
        Image.open(path).convert('RGB').save(path)  # same values, three channels


def _label_maps_jpeg(root):
    for name in os.listdir(osp.join(root, 'annotations', 'validation')):
        path = osp.join(root, 'annotations', 'validation', name)
        Image.open(path).save(path, format='JPEG', quality=95)  # still named .png


ADE_CASES = [
    ('label values above the class count', _labels_above_class_count,
     'label values outside 1..150 (0 = ignored, reduce_zero_label) and the ignore index 255'),
    ('label map of another size', _label_map_other_size, 'image size differs from the annotation'),
    ('label map missing', _label_map_missing, 'label map missing'),
    ('3-channel label maps', _label_maps_rgb, 'label map with more than one channel'),
    ('JPEG label maps', _label_maps_jpeg, 'label map in a lossy format'),
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


# ----------------------------------------------------------------------------- issue 20


def test_duplicate_image_ids_in_val_are_refused_where_mmdet_would_keep_one_picture(demo_data, tmp_path, capsys):
    """mmdet's own CocoDataset keeps one image of the shared id (the claim of the check) and test.py refuses."""
    from mmdet.datasets import CocoDataset

    from tools.check_data import main
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('val2017', _duplicate_image_id))
    dataset = CocoDataset(data_root=root + '/', ann_file='annotations/instances_val2017.json',
                          data_prefix=dict(img='val2017/'), metainfo=dict(classes=DEMO_COCO_CLASSES),
                          test_mode=True, pipeline=[])
    assert len(dataset) == 1  # of the 2 val images
    assert main([DET_CONFIG, '--split', 'val', '--cfg-options', *options_for(root, 'coco')]) == 1
    assert 'image id shared by several images' in capsys.readouterr().out
    with pytest.raises(DataCheckError, match='image id shared by several images'):
        enforce_data_checks(config_for(root, 'coco'), ('test', ), 'tools/test.py')


def test_empty_val_annotations_are_refused_instead_of_every_metric_being_minus_one(demo_data, tmp_path, capsys):
    from tools.check_data import main
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('val2017', _no_annotations))
    assert main([DET_CONFIG, '--split', 'val', '--cfg-options', *options_for(root, 'coco')]) == 1
    assert 'no object to score in this evaluated split (every metric would be -1)' in capsys.readouterr().out
    with pytest.raises(DataCheckError, match='no object to score'):
        enforce_data_checks(config_for(root, 'coco'), ('val', ), 'tools/train.py')
    # a split of images only, written out for a server (format_only), is what test-dev is: allowed
    cfg = config_for(root, 'coco')
    cfg.test_evaluator = dict(cfg.test_evaluator, format_only=True, outfile_prefix=str(tmp_path / 'r'))
    assert not has_errors(check_datasets(cfg, ('test', ), fast=True))


def _cut_after_header(path: str) -> None:
    """Keep a JPEG's header (size readable) and drop everything from its first scan on."""
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:data.index(b'\xff\xda')])


def test_a_jpeg_cut_after_its_header_is_named_by_the_full_check_though_the_fast_one_passes(demo_data, tmp_path,
                                                                                           capsys):
    from tools.check_data import main

    def cut_first(coco, root):
        _cut_after_header(osp.join(root, 'val2017', coco['images'][0]['file_name']))
    root = broken_copy(demo_data, tmp_path, 'coco', edit_coco('val2017', cut_first))
    assert not has_errors(enforce_data_checks(config_for(root, 'coco'), ('test', ), 'tools/test.py'))
    assert main([DET_CONFIG, '--split', 'val', '--cfg-options', *options_for(root, 'coco')]) == 1
    assert 'image file unreadable (not an image or truncated)' in capsys.readouterr().out


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_truncated_image_met_by_a_run_ends_it_in_one_line_naming_the_file(demo_data, tmp_path, tool, capsys):
    """The fast checks read headers only; the run meets the file in a DataLoader worker."""
    from secvit_mm.cli import run_cli
    from secvit_mm.errors import EXIT_USER, ToolExit
    split = 'train2017' if tool == 'train' else 'val2017'
    with open(demo_data / 'coco' / 'annotations' / f'instances_{split}.json') as f:
        first = json.load(f)['images'][0]['file_name']
    root = broken_copy(demo_data, tmp_path, 'coco',
                       lambda root: _cut_after_header(osp.join(root, split, first)))
    argv = [DET_CONFIG, '--work-dir', str(tmp_path / 'work'), '--cfg-options', *options_for(root, 'coco')]
    if tool == 'train':
        from tools.train import main
        argv += ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4']
    else:
        from tools.test import main
        argv.insert(1, 'random')
    with pytest.raises(ToolExit) as info:
        run_cli(main, argv)
    assert info.value.code == EXIT_USER
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and err[0].count(first) == 1, err
    assert 'cannot read or decode this file' in err[0] and 'check_data.py' in err[0]


HEAD_CASES = [
    ('detection box head narrower', 'coco', ['model.roi_head.bbox_head.num_classes=3'],
     'model.roi_head.bbox_head.num_classes=3, but the train and val data has 4 classes'),
    ('detection box and mask heads narrower', 'coco',
     ['model.roi_head.bbox_head.num_classes=3', 'model.roi_head.mask_head.num_classes=3'],
     'model.roi_head.bbox_head.num_classes=3, model.roi_head.mask_head.num_classes=3, but the'),
    ('detection mask head wider', 'coco', ['model.roi_head.mask_head.num_classes=5'],
     'model.roi_head.mask_head.num_classes=5, but the'),
    ('segmentation decode head narrower', 'ade', ['model.decode_head.num_classes=149'],
     'model.decode_head.num_classes=149, but the'),
    ('segmentation auxiliary head wider', 'ade', ['model.auxiliary_head.num_classes=151'],
     'model.auxiliary_head.num_classes=151, but the'),
    ('val classes in another order', 'coco',
     ['val_dataloader.dataset.metainfo.classes=[circle,square,star,triangle]'],
     "the train and val data name different classes (label 2 is 'triangle' in one, 'star' in the other)"),
]


@pytest.mark.parametrize('kind, options, named', [c[1:] for c in HEAD_CASES], ids=[c[0] for c in HEAD_CASES])
def test_heads_and_classes_that_disagree_are_refused_by_check_data_and_before_training(
        demo_data, tmp_path, kind, options, named, capsys):
    from secvit_mm.cli import run_cli
    from secvit_mm.errors import EXIT_USAGE, ToolExit
    from tools.check_data import main as check_main
    from tools.train import main as train_main
    config = DET_CONFIG if kind == 'coco' else DEMO_SEG_CONFIG
    opts = [*options_for(str(demo_data / kind), kind), *options]
    assert check_main([config, '--cfg-options', *opts]) == 1
    out = capsys.readouterr().out
    assert 'head num_classes differs from the' in out or 'classes differ from those of the first split' in out
    work = tmp_path / 'work'
    with pytest.raises(ToolExit) as info:
        run_cli(train_main, [config, '--work-dir', str(work), '--cfg-options', *opts])
    assert info.value.code == EXIT_USAGE  # a config that cannot work
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0] and 'metainfo.classes' in err[0], err
    assert not work.exists()  # refused before anything was built or written


def test_cascade_stages_and_single_stage_heads_are_checked_against_the_dataset(repo_root):
    from secvit_mm.checks.data import head_class_mismatches
    cascade = Config.fromfile(osp.join(repo_root, 'configs/cascade_mask_rcnn_secvit_t_1x.py'))
    cascade.model.roi_head.bbox_head[1].num_classes = 79
    found = head_class_mismatches(cascade, ('train', ))
    assert len(found) == 1 and found[0].startswith(
        'model.roi_head.bbox_head.1.num_classes=79, but the train data has 80 classes (person, ')
    retinanet = Config.fromfile(osp.join(repo_root, 'configs/retinanet_secvit_t_1x.py'))
    retinanet.model.bbox_head.num_classes = 81
    assert 'model.bbox_head.num_classes=81, but the' in head_class_mismatches(retinanet, ('val', ))[0]


def test_the_shipped_configs_of_each_head_family_fit_their_datasets(repo_root):
    """One config per head family and dataset (all configs take 100 s to read on 2 cores)."""
    from secvit_mm.checks.data import head_class_mismatches
    names = ['mask_rcnn_secvit_t_1x', 'cascade_mask_rcnn_secvit_t_1x', 'retinanet_secvit_t_1x',
             'upernet_secvit_t_160k_ade20k', 'semfpn_secvit_t_80k_ade20k', 'demo/mask_rcnn_secvit_t_demo',
             'demo/upernet_secvit_t_demo', 'custom/mask_rcnn_secvit_t_1x_custom_coco',
             'custom/upernet_secvit_t_160k_custom_ade']
    wrong = {name: head_class_mismatches(Config.fromfile(osp.join(repo_root, 'configs', name + '.py')))
             for name in names}
    assert not any(wrong.values()), wrong
