"""Behaviour of the synthetic demo datasets (secvit_mm.datasets.demo_data, tools/make_demo_data.py).

The datasets are loaded through the real pycocotools / mmdet / mmseg code paths the README demo
uses; nothing is mocked (one test injects an interruption to check the atomic write).
"""
from __future__ import annotations

import importlib.util
import os
import os.path as osp
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from secvit_mm.datasets import demo_data
from secvit_mm.datasets.demo_data import (DEMO_ADE_LABELS, DEMO_COCO_CLASSES, make_ade20k_demo,
                                          make_coco_instance_demo)

REPO = Path(__file__).resolve().parents[1]
# Small but realistic: enough images for every code path, small enough to take about a second.
SMALL = dict(num_train=6, num_val=3, image_size=(96, 128), seed=3)
COCO_SPLITS = ('train2017', 'val2017')
ADE_SPLITS = ('training', 'validation')
# pycocotools 2.0.x + numpy 2 warn inside annToMask; not this project's code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('demo') / 'coco'
    make_coco_instance_demo(str(root), **SMALL)
    return root


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('demo') / 'ade' / 'ADEChallengeData2016'
    make_ade20k_demo(str(root), **SMALL)
    return root


def _coco(root: Path, split: str):
    from pycocotools.coco import COCO
    return COCO(str(root / 'annotations' / f'instances_{split}.json'))


def _child_config(tmp_path: Path, text: str):
    """Load a user config inheriting an OpenMMLab base config, as the README demo does."""
    from mmengine.config import Config
    path = tmp_path / 'demo_cfg.py'
    path.write_text(textwrap.dedent(text))
    return Config.fromfile(str(path))


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


# ----------------------------------------------------------------------------- COCO layout


def test_coco_annotation_files_load_with_pycocotools_with_category_ids_1_to_k(coco_root):
    for split, count in zip(COCO_SPLITS, (SMALL['num_train'], SMALL['num_val'])):
        coco = _coco(coco_root, split)
        assert len(coco.getImgIds()) == count
        cats = coco.loadCats(coco.getCatIds())
        assert [c['id'] for c in cats] == list(range(1, len(DEMO_COCO_CLASSES) + 1))
        assert tuple(c['name'] for c in cats) == DEMO_COCO_CLASSES


def test_every_coco_object_has_a_nonempty_polygon_mask_and_a_bbox_inside_its_image(coco_root):
    for split in COCO_SPLITS:
        coco = _coco(coco_root, split)
        for ann in coco.loadAnns(coco.getAnnIds()):
            img = coco.imgs[ann['image_id']]
            x, y, w, h = ann['bbox']
            assert ann['iscrowd'] == 0
            assert w > 0 and h > 0
            assert 0 <= x and 0 <= y and x + w <= img['width'] and y + h <= img['height']
            assert isinstance(ann['segmentation'], list) and len(ann['segmentation'][0]) >= 6
            mask = coco.annToMask(ann)
            assert mask.shape == (img['height'], img['width'])
            assert mask.sum() > 0
            # The recorded area is the polygon's, which the rasterised mask must agree with.
            assert ann['area'] == pytest.approx(mask.sum(), rel=0.1)
            # The bbox is the polygon's extent.
            xs, ys = ann['segmentation'][0][0::2], ann['segmentation'][0][1::2]
            assert [x, y, x + w, y + h] == pytest.approx(
                [min(xs), min(ys), max(xs), max(ys)], abs=0.02)


def test_each_coco_image_exists_at_its_listed_size_and_holds_one_to_four_objects(coco_root):
    for split in COCO_SPLITS:
        coco = _coco(coco_root, split)
        for img_id, img in coco.imgs.items():
            with Image.open(coco_root / split / img['file_name']) as im:
                assert im.size == (img['width'], img['height'])
                assert im.mode == 'RGB'
            assert 1 <= len(coco.getAnnIds(imgIds=[img_id])) <= 4


def test_coco_objects_of_one_class_do_not_share_a_colour_so_shape_is_the_cue(tmp_path):
    make_coco_instance_demo(str(tmp_path / 'coco'), num_train=24, num_val=1, image_size=96, seed=0)
    coco = _coco(tmp_path / 'coco', 'train2017')
    colours: dict[int, list[np.ndarray]] = {}
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.imgs[ann['image_id']]
        pixels = np.asarray(Image.open(tmp_path / 'coco' / 'train2017' / img['file_name']))
        colours.setdefault(ann['category_id'], []).append(pixels[coco.annToMask(ann) > 0].mean(0))
    for cat_colours in colours.values():
        if len(cat_colours) >= 3:
            assert np.std(np.stack(cat_colours), axis=0).mean() > 25


def test_coco_train_and_val_share_no_file_names_image_ids_or_annotation_ids(coco_root):
    train, val = _coco(coco_root, 'train2017'), _coco(coco_root, 'val2017')
    assert not {i['file_name'] for i in train.imgs.values()} & {
        i['file_name'] for i in val.imgs.values()}
    assert not set(train.imgs) & set(val.imgs)
    assert not set(train.anns) & set(val.anns)
    assert sorted(os.listdir(coco_root / 'train2017')) == sorted(
        i['file_name'] for i in train.imgs.values())


def test_coco_generation_is_deterministic_for_a_seed_and_differs_between_seeds(tmp_path):
    kwargs = dict(num_train=2, num_val=1, image_size=64)
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        make_coco_instance_demo(str(tmp_path / name), seed=seed, **kwargs)
    assert _tree_bytes(tmp_path / 'a') == _tree_bytes(tmp_path / 'b')
    assert _tree_bytes(tmp_path / 'a') != _tree_bytes(tmp_path / 'c')


def test_coco_set_loads_through_mmdet_cocodataset_with_a_mask_per_instance(coco_root):
    from mmdet.datasets import CocoDataset
    from mmdet.structures.mask import BitmapMasks
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = CocoDataset(
            data_root=str(coco_root),
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            metainfo=dict(classes=DEMO_COCO_CLASSES),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='PackDetInputs'),
            ])
        assert len(dataset) == SMALL['num_train']
        for i in range(len(dataset)):
            sample = dataset[i]
            gt = sample['data_samples'].gt_instances
            assert sample['inputs'].shape[0] == 3
            assert 1 <= len(gt) <= 4
            assert isinstance(gt.masks, BitmapMasks)
            assert len(gt.masks) == len(gt.bboxes) == len(gt.labels)
            assert (gt.masks.areas > 0).all()
            assert set(gt.labels.tolist()) <= set(range(len(DEMO_COCO_CLASSES)))


def test_mmdet_coco_instance_base_config_works_with_only_data_root_and_classes_changed(
        coco_root, tmp_path):
    """Train/val datasets from the stock config load, and its CocoMetric scores GT as AP 1.0."""
    import torch
    from mmengine.registry import DefaultScope
    from mmdet.registry import DATASETS, METRICS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    data_root = str(coco_root) + '/'
    cfg = _child_config(tmp_path, f"""
        _base_ = 'mmdet::_base_/datasets/coco_instance.py'
        data_root = {data_root!r}
        metainfo = dict(classes={DEMO_COCO_CLASSES!r})
        train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
        val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
        val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
        """)
    with DefaultScope.overwrite_default_scope('mmdet'):
        for loader, count in ((cfg.train_dataloader, SMALL['num_train']),
                              (cfg.val_dataloader, SMALL['num_val'])):
            dataset = DATASETS.build(loader.dataset)
            assert len(dataset) == count
            assert len(dataset[0]['data_samples'].gt_instances.masks) > 0

        metric = METRICS.build(cfg.val_evaluator)
        metric.dataset_meta = dict(classes=DEMO_COCO_CLASSES)
        val = _coco(coco_root, 'val2017')
        for img_id in val.imgs:
            anns = val.loadAnns(val.getAnnIds(imgIds=[img_id]))
            x, y, w, h = np.array([a['bbox'] for a in anns], np.float32).T
            pred = dict(
                bboxes=torch.from_numpy(np.stack([x, y, x + w, y + h], 1)),
                scores=torch.ones(len(anns)),
                labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                masks=torch.from_numpy(np.stack([val.annToMask(a) for a in anns]).astype(bool)))
            metric.process({}, [dict(img_id=img_id, ori_shape=(val.imgs[img_id]['height'],
                                                                val.imgs[img_id]['width']),
                                     pred_instances=pred)])
        results = metric.evaluate(len(val.imgs))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0, abs=0.01)
    assert results['coco/segm_mAP'] == pytest.approx(1.0, abs=0.01)


# ----------------------------------------------------------------------------- ADE20K layout


def test_ade_images_and_label_maps_pair_by_basename_and_splits_have_disjoint_names(ade_root):
    names = {}
    for split, count in zip(ADE_SPLITS, (SMALL['num_train'], SMALL['num_val'])):
        images = sorted(p.stem for p in (ade_root / 'images' / split).glob('*.jpg'))
        labels = sorted(p.stem for p in (ade_root / 'annotations' / split).glob('*.png'))
        assert images == labels and len(images) == count
        names[split] = set(images)
    assert not names['training'] & names['validation']


def test_ade_label_maps_are_single_channel_uint8_with_0_and_a_few_ade_classes(ade_root):
    seen: set[int] = set()
    for split in ADE_SPLITS:
        for png in (ade_root / 'annotations' / split).glob('*.png'):
            with Image.open(png) as label_img:
                assert label_img.mode == 'L'
                labels = np.asarray(label_img)
            with Image.open(ade_root / 'images' / split / (png.stem + '.jpg')) as im:
                assert im.mode == 'RGB' and im.size == label_img.size
            assert labels.dtype == np.uint8
            values = set(np.unique(labels).tolist())
            assert 0 in values  # every image has some "other" region
            assert values <= {0, *DEMO_ADE_LABELS}
            seen |= values
    assert len(seen) >= 4


def test_ade_set_loads_through_mmseg_ade20kdataset_with_labels_reduced_to_0_149_or_255(ade_root):
    from mmengine.registry import DefaultScope
    from mmseg.datasets import ADE20KDataset
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = ADE20KDataset(
            data_root=str(ade_root),
            data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='PackSegInputs'),
            ])
        assert len(dataset) == SMALL['num_train']
        seen: set[int] = set()
        for i in range(len(dataset)):
            sample = dataset[i]
            seg = sample['data_samples'].gt_sem_seg.data
            assert seg.shape[-2:] == sample['inputs'].shape[-2:]
            values = set(seg.unique().tolist())
            assert values <= set(range(150)) | {255}
            assert 255 in values  # label 0 ("other") became the ignore index
            seen |= values
    assert seen - {255} <= {v - 1 for v in DEMO_ADE_LABELS}


def test_mmseg_ade20k_base_config_works_with_only_data_root_changed(ade_root, tmp_path):
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    cfg = _child_config(tmp_path, f"""
        _base_ = 'mmseg::_base_/datasets/ade20k.py'
        data_root = {str(ade_root)!r}
        train_dataloader = dict(dataset=dict(data_root=data_root))
        val_dataloader = dict(dataset=dict(data_root=data_root))
        """)
    with DefaultScope.overwrite_default_scope('mmseg'):
        for loader, count in ((cfg.train_dataloader, SMALL['num_train']),
                              (cfg.val_dataloader, SMALL['num_val'])):
            dataset = DATASETS.build(loader.dataset)
            assert len(dataset) == count
            seg = dataset[0]['data_samples'].gt_sem_seg.data
            assert set(seg.unique().tolist()) <= set(range(150)) | {255}


def test_ade_generation_is_deterministic_for_a_seed(tmp_path):
    for name in ('a', 'b'):
        make_ade20k_demo(str(tmp_path / name), num_train=2, num_val=1, image_size=64, seed=1)
    assert _tree_bytes(tmp_path / 'a') == _tree_bytes(tmp_path / 'b')


# ----------------------------------------------------------------------------- safety and CLI


@pytest.mark.parametrize('make', [make_coco_instance_demo, make_ade20k_demo])
def test_generating_again_skips_a_complete_dataset_without_rewriting_it(tmp_path, make):
    root = tmp_path / 'set'
    first = make(str(root), num_train=2, num_val=1, image_size=64)
    before = {p: p.stat().st_mtime_ns for p in root.rglob('*')}
    again = make(str(root), num_train=5, num_val=5, image_size=64)
    assert not first.skipped and again.skipped
    assert (again.num_train, again.num_val) == (2, 1)  # reports what is there
    assert {p: p.stat().st_mtime_ns for p in root.rglob('*')} == before


@pytest.mark.parametrize('make', [make_coco_instance_demo, make_ade20k_demo])
def test_existing_incomplete_directory_is_kept_unless_forced_and_then_moved_aside(tmp_path, make):
    root = tmp_path / 'set'
    root.mkdir()
    (root / 'user_file.txt').write_text('precious')
    with pytest.raises(FileExistsError):
        make(str(root), num_train=2, num_val=1, image_size=64)
    assert (root / 'user_file.txt').read_text() == 'precious'

    summary = make(str(root), num_train=2, num_val=1, image_size=64, force=True)
    assert not summary.skipped
    assert not (root / 'user_file.txt').exists()
    # --force never deletes: the user's file is moved aside, and the summary line says where.
    aside = Path(summary.moved_aside)
    assert (aside / 'user_file.txt').read_text() == 'precious'
    assert str(aside) in summary.line()
    assert make(str(root), num_train=2, num_val=1, image_size=64).skipped
    assert sorted(os.listdir(tmp_path)) == ['set', aside.name]  # no temp dirs left behind


@pytest.mark.parametrize('make', [make_coco_instance_demo, make_ade20k_demo])
def test_interrupted_generation_leaves_no_partial_dataset(tmp_path, monkeypatch, make):
    real_save = demo_data._save_jpg
    calls = []

    def save_then_interrupt(img: np.ndarray, path: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C arrived mid-run
        real_save(img, path)

    monkeypatch.setattr(demo_data, '_save_jpg', save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        make(str(tmp_path / 'set'), num_train=3, num_val=1, image_size=64)
    assert os.listdir(tmp_path) == []


def _load_cli():
    """tools/ is not a package: load the script as a module (in-process, so torch is not
    re-imported by a subprocess)."""
    spec = importlib.util.spec_from_file_location('make_demo_data',
                                                  REPO / 'tools' / 'make_demo_data.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_the_requested_dataset_and_skips_it_on_a_second_run(tmp_path, capsys):
    cli = _load_cli()
    argv = ['--out', str(tmp_path), '--which', 'ade', '--num-train', '2', '--num-val', '1',
            '--seed', '7']
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith('ade: wrote 2 train / 1 val images')
    root = tmp_path / 'ade' / 'ADEChallengeData2016'
    assert len(list((root / 'images' / 'training').glob('*.jpg'))) == 2
    assert not (tmp_path / 'coco').exists()

    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert 'already complete' in out and 'skipped' in out


def test_cli_refuses_to_overwrite_foreign_data_without_force_and_exits_nonzero(tmp_path, capsys):
    cli = _load_cli()
    (tmp_path / 'coco').mkdir()
    (tmp_path / 'coco' / 'mine.json').write_text('{}')
    assert cli.main(['--out', str(tmp_path), '--which', 'coco', '--num-train', '1',
                     '--num-val', '1']) == 1
    assert 'not touching it' in capsys.readouterr().err
    assert (tmp_path / 'coco' / 'mine.json').exists()


def test_shape_crops_are_one_folder_per_class_and_the_same_for_the_same_seed(tmp_path):
    from secvit_mm.datasets import make_shape_crops_demo
    first = make_shape_crops_demo(str(tmp_path / 'a'), num_train=12, num_val=4, crop=32)
    again = make_shape_crops_demo(str(tmp_path / 'b'), num_train=12, num_val=4, crop=32)
    assert (first.num_train, first.num_val) == (12, 4)
    for split, count in (('train', 12), ('val', 4)):
        files = sorted(osp.relpath(osp.join(d, f), tmp_path / 'a' / split)
                       for d, _, fs in os.walk(tmp_path / 'a' / split) for f in fs)
        assert len(files) == count and {f.split('/')[0] for f in files} <= set(DEMO_COCO_CLASSES)
        for name in files:
            a = np.asarray(Image.open(tmp_path / 'a' / split / name))
            b = np.asarray(Image.open(tmp_path / 'b' / split / name))
            assert a.shape == (32, 32, 3) and np.array_equal(a, b)
    assert make_shape_crops_demo(str(tmp_path / 'a'), num_train=12, num_val=4).skipped
