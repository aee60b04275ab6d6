"""Every config in configs/ builds and steps, and carries its paper's recipe (SecViT, arXiv 2405.13337,
appendix B for COCO; CeiT, arXiv 2103.11816; ADE20K after Swin / PVT).

* Every config (found by glob, including demo/ and any ablations/) loads, builds, runs one training
  iteration and one test iteration, evaluated by its own metric. Images are shrunk and the data
  pointed at freshly generated demo sets through Config edits here, never in the config files;
  classification configs step on synthetic images instead of ImageNet.
* The recipe numbers of every full config, read off the merged Config.
* The 3x multi-scale pipeline really draws several scales; the ADE20K pipeline reduces the zero label.
* tools/test.py prints mIoU / COCO AP on the demo sets; tools/dist_train.sh trains with 2 gloo
  processes that end with identical weights; mmseg's own Swin UperNet config trains with SecViT.
"""
import copy
import functools
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from PIL import Image

from secvit_mm.apis import build_model, scope_registry
from secvit_mm.datasets import DEMO_COCO_CLASSES, make_ade20k_demo, make_coco_instance_demo

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs')
CONFIGS = sorted(osp.relpath(p, CONFIG_DIR) for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'),
                                                                 recursive=True)
                 if not osp.relpath(p, CONFIG_DIR).startswith('_base_'))  # fragments, not configs
PYTHON = sys.executable

ARCHS = {'t': 'tiny', 's': 'small', 'b': 'base', 'l': 'large'}
DIMS = {'t': [64, 128, 256, 512], 's': [64, 128, 256, 512], 'b': [80, 160, 320, 512],
        'l': [112, 224, 448, 640]}
PAPER_CLUSTERS = (32, 8, 2, None)

DET_RE = re.compile(r'^(retinanet|mask_rcnn|cascade_mask_rcnn)_secvit_([tsbl])_(1x|3x)\.py$')
SEG_RE = re.compile(r'^(upernet|semfpn)_secvit_([tsbl])_(160k|80k)_ade20k\.py$')
CLS_RE = re.compile(r'^(secvit|ceit)_([tsbl])_in1k\.py$')


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def load(name: str) -> Config:
    """The merged config (parsed once per session: parsing is slow; each caller gets a copy)."""
    return copy.deepcopy(_load(name))


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """Small demo sets made for this session: COCO instances and an ADE20K-layout set."""
    root = tmp_path_factory.mktemp('demo_data')
    coco = str(root / 'coco') + '/'
    ade = str(root / 'ade' / 'ADEChallengeData2016')
    make_coco_instance_demo(coco, num_train=4, num_val=2, image_size=(96, 128))
    make_ade20k_demo(ade, num_train=4, num_val=2, image_size=(96, 128))
    return dict(coco=coco, ade=ade)


# ----------------------------------------------------------------------------- tiny versions


def shrink_pipeline(pipeline, scale=(96, 64), crop=(64, 64)):
    for t in pipeline:
        if t['type'] in ('Resize', 'RandomResize') and 'scale' in t:
            t['scale'] = scale
        elif t['type'] == 'RandomChoiceResize':
            t['scales'] = [scale, (80, 48)]
        elif t['type'] == 'RandomCrop':
            t['crop_size'] = crop


def tiny_loader(loader, batch_size):
    loader.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    return loader


def set_num_classes(node, num_classes):
    """Every head of the model (cascade stages included) predicts ``num_classes`` classes."""
    if isinstance(node, dict):
        if 'num_classes' in node:
            node['num_classes'] = num_classes
        for value in node.values():
            set_num_classes(value, num_classes)
    elif isinstance(node, (list, tuple)):
        for value in node:
            set_num_classes(value, num_classes)


def tiny_det(cfg: Config, coco_root: str, demo: bool) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = tiny_loader(cfg[key], 2 if key == 'train_dataloader' else 1).dataset
        dataset.data_root = coco_root
        if not demo:  # the demo configs already name the demo classes and use small images
            dataset.metainfo = dict(classes=DEMO_COCO_CLASSES)
            shrink_pipeline(dataset.pipeline)
    if not demo:
        set_num_classes(cfg.model, len(DEMO_COCO_CLASSES))
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = coco_root + 'annotations/instances_val2017.json'
    # A few objects per tiny image: far fewer proposals and sampled RoIs; every box is kept at test
    # time (score_thr 0) so that the metric has detections to score even with random weights.
    train_cfg, test_cfg = cfg.model.train_cfg, cfg.model.test_cfg
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
        for stage in (train_cfg.rcnn if isinstance(train_cfg.rcnn, list) else [train_cfg.rcnn]):
            stage.sampler.num = 32
        test_cfg.rpn.update(nms_pre=200, max_per_img=50)
        test_cfg.rcnn.update(score_thr=0., max_per_img=20)
    else:
        test_cfg.update(nms_pre=200, score_thr=0., max_per_img=20)


def tiny_seg(cfg: Config, ade_root: str) -> None:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = tiny_loader(cfg[key], 2 if key == 'train_dataloader' else 1).dataset
        dataset.data_root = ade_root
        shrink_pipeline(dataset.pipeline, scale=(128, 64))
    cfg.model.data_preprocessor.size = (64, 64)


def one_batch(loader_cfg):
    return next(iter(Runner.build_dataloader(copy.deepcopy(loader_cfg))))


def train_and_test_once(cfg: Config):
    """One training iteration and one test iteration (evaluated) with the config's own parts."""
    scope_registry(cfg.default_scope)  # the datasets, pipelines and metrics below are built in it
    model = build_model(cfg)  # random init, as the Runner builds it
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    model.train()
    losses = model.train_step(one_batch(cfg.train_dataloader), optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values()), losses

    model.eval()
    loader = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
    evaluator.dataset_meta = loader.dataset.metainfo
    batch = next(iter(loader))
    with torch.no_grad():
        outputs = model.test_step(batch)
    evaluator.process(data_samples=outputs, data_batch=batch)
    return evaluator.evaluate(len(outputs)), outputs


def synthetic_cls_step(cfg: Config, size: int = 64) -> None:
    from mmpretrain.structures import DataSample
    scope_registry('mmpretrain')
    model = build_model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)],
                data_samples=[DataSample().set_gt_label(i % cfg.model.head.num_classes) for i in (3, 7)])
    model.train()
    losses = model.train_step(data, optim_wrapper)
    assert all(torch.isfinite(v).all() for v in losses.values()), losses
    model.eval()
    with torch.no_grad():
        preds = model.test_step(data)
    assert preds[0].pred_score.shape == (cfg.model.head.num_classes, )  # 1000 for ImageNet, 4 for the demo shapes


@pytest.mark.parametrize('name', CONFIGS)
def test_config_trains_and_tests_one_iteration(name, demo_data):
    cfg = load(name)
    # secvit_mm first; the COCO configs also import the mask-aware TTA model (it needs mmdet).
    assert cfg.custom_imports.imports in (['secvit_mm'], ['secvit_mm', 'secvit_mm.models.det_tta'])
    assert cfg.custom_imports.allow_failed_imports is False
    scope = cfg.default_scope
    if scope == 'mmpretrain':
        ceit = osp.basename(name).startswith('ceit')
        synthetic_cls_step(cfg, size=112 if ceit else 64)
        return
    if scope == 'mmdet':
        tiny_det(cfg, demo_data['coco'], demo=name.startswith('demo'))
        metrics, outputs = train_and_test_once(cfg)
        # An untrained detector may keep no box above its score threshold; CocoMetric then has
        # nothing to score and returns no AP (tools/test.py printing AP is tested on the demo set).
        if sum(len(o.pred_instances) for o in outputs):
            assert 'coco/bbox_mAP' in metrics, metrics
    else:
        assert scope == 'mmseg', name
        tiny_seg(cfg, demo_data['ade'])
        metrics, _ = train_and_test_once(cfg)
        assert 'mIoU' in metrics, metrics


# ----------------------------------------------------------------------------- recipes


def scheduler(cfg, type_):
    found = [s for s in cfg.param_scheduler if s['type'] == type_]
    assert len(found) == 1, (type_, cfg.param_scheduler)
    return found[0]


def check_backbone(cfg, size):
    backbone = cfg.model.backbone
    assert backbone.type == 'SecViT' and backbone.arch == ARCHS[size]
    assert tuple(backbone.num_clusters) == PAPER_CLUSTERS and backbone.get('cluster_size') is None
    assert tuple(backbone.out_indices) == (0, 1, 2, 3)
    assert 0 < backbone.drop_path_rate <= 0.5
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=f'checkpoints/secvit_{size}_in1k.pth',
                                     prefix='backbone.')


def pipeline_step(pipeline, type_):
    found = [t for t in pipeline if t['type'] == type_]
    assert len(found) == 1, (type_, pipeline)
    return found[0]


DET_CONFIGS = [c for c in CONFIGS if DET_RE.match(c)]
SEG_CONFIGS = [c for c in CONFIGS if SEG_RE.match(c)]
CLS_CONFIGS = [c for c in CONFIGS if CLS_RE.match(c)]


@pytest.mark.parametrize('name', CONFIGS)
def test_every_trainable_config_saves_crash_safe_checkpoints_and_resumes_exactly(name):
    cfg = load(name)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook', name
    assert [h['type'] for h in cfg.custom_hooks].count('RNGStateHook') == 1, name


def test_the_model_zoo_is_complete():
    assert len(DET_CONFIGS) == 3 * 4 * 2 and len(SEG_CONFIGS) == 2 * 4


@pytest.mark.parametrize('name', DET_CONFIGS)
def test_coco_recipe(name):
    model_kind, size, schedule = DET_RE.match(name).groups()
    cfg = load(name)
    check_backbone(cfg, size)
    assert list(cfg.model.neck.in_channels) == DIMS[size]
    if model_kind == 'retinanet':  # pyramid-transformer RetinaNet (mmdet's PVT configs)
        assert (cfg.model.neck.start_level, cfg.model.neck.add_extra_convs, cfg.model.neck.num_outs) == \
            (1, 'on_input', 5)
    optim = cfg.optim_wrapper
    assert optim.type == 'OptimWrapper'
    assert optim.optimizer == dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                                   weight_decay=1e-4 if model_kind == 'retinanet' else 0.05)
    assert optim.paramwise_cfg.norm_decay_mult == 0.
    warmup = scheduler(cfg, 'LinearLR')
    assert (warmup.by_epoch, warmup.begin, warmup.end, warmup.start_factor) == (False, 0, 1000, 0.001)
    steps = scheduler(cfg, 'MultiStepLR')
    epochs, milestones = (12, [8, 11]) if schedule == '1x' else (36, [27, 33])
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert (steps.by_epoch, steps.end, list(steps.milestones), steps.gamma) == (True, epochs, milestones, 0.1)
    assert cfg.train_dataloader.batch_size * 8 == 16 and cfg.auto_scale_lr.base_batch_size == 16

    train = cfg.train_dataloader.dataset.pipeline
    if schedule == '1x':
        resize = pipeline_step(train, 'Resize')
        assert tuple(resize.scale) == (1333, 800) and resize.keep_ratio
    else:
        resize = pipeline_step(train, 'RandomChoiceResize')
        assert [tuple(s) for s in resize.scales] == [(1333, short) for short in range(480, 801, 32)]
        assert resize.keep_ratio
    test_resize = pipeline_step(cfg.test_dataloader.dataset.pipeline, 'Resize')
    assert tuple(test_resize.scale) == (1333, 800)
    with_mask = model_kind != 'retinanet'
    assert pipeline_step(train, 'LoadAnnotations').get('with_mask', False) == with_mask
    assert cfg.val_evaluator.type == 'CocoMetric'
    metric = cfg.val_evaluator.metric
    assert (list(metric) if isinstance(metric, (list, tuple)) else [metric]) == \
        (['bbox', 'segm'] if with_mask else ['bbox'])
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'


@pytest.mark.parametrize('name', SEG_CONFIGS)
def test_ade20k_recipe(name):
    head_kind, size, iters, = SEG_RE.match(name).groups()
    cfg = load(name)
    check_backbone(cfg, size)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_dataloader.batch_size * 8 == 16 and cfg.auto_scale_lr.base_batch_size == 16
    optimizer = cfg.optim_wrapper.optimizer
    poly = scheduler(cfg, 'PolyLR')
    assert poly.eta_min == 0 and not poly.by_epoch
    if head_kind == 'upernet':
        assert cfg.train_cfg.max_iters == 160000
        assert optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
        assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.
        warmup = scheduler(cfg, 'LinearLR')
        assert (warmup.by_epoch, warmup.begin, warmup.end, warmup.start_factor) == (False, 0, 1500, 1e-6)
        assert (poly.power, poly.begin, poly.end) == (1.0, 1500, 160000)
        head, aux = cfg.model.decode_head, cfg.model.auxiliary_head
        assert head.type == 'UPerHead' and list(head.in_channels) == DIMS[size] and head.channels == 512
        assert aux.type == 'FCNHead' and aux.in_index == 2 and aux.in_channels == DIMS[size][2]
        assert aux.loss_decode.loss_weight == 0.4 and aux.num_classes == 150
    else:
        assert cfg.train_cfg.max_iters == 80000
        assert optimizer.type == 'AdamW' and optimizer.lr == 1e-4 and optimizer.weight_decay == 1e-4
        assert not [s for s in cfg.param_scheduler if s['type'] != 'PolyLR']  # no warmup
        assert (poly.power, poly.begin, poly.end) == (0.9, 0, 80000)
        assert cfg.model.neck.type == 'FPN' and list(cfg.model.neck.in_channels) == DIMS[size]
        head = cfg.model.decode_head
        assert head.type == 'FPNHead' and cfg.model.get('pretrained') is None
    assert head.num_classes == 150
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    train = cfg.train_dataloader.dataset.pipeline
    assert tuple(pipeline_step(train, 'RandomCrop').crop_size) == (512, 512)
    assert pipeline_step(train, 'LoadAnnotations').reduce_zero_label
    assert tuple(pipeline_step(cfg.test_dataloader.dataset.pipeline, 'Resize').scale) == (2048, 512)
    assert cfg.val_evaluator.type == 'IoUMetric' and list(cfg.val_evaluator.iou_metrics) == ['mIoU']
    assert cfg.train_dataloader.dataset.data_root == 'data/ade/ADEChallengeData2016'


@pytest.mark.parametrize('name', CLS_CONFIGS)
def test_imagenet_recipe(name):
    cfg = load(name)
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'AdamW' and optimizer.weight_decay == 0.05
    assert optimizer.lr / cfg.auto_scale_lr.base_batch_size == pytest.approx(5e-4 / 512)
    # 300 epochs; CeiT-B 100 (the CeiT paper, docs: ceit.md)
    assert cfg.train_cfg.max_epochs == (100 if name == 'ceit_b_in1k.py' else 300)
    warmup = scheduler(cfg, 'LinearLR')
    assert warmup.by_epoch and warmup.end == 5
    cosine = scheduler(cfg, 'CosineAnnealingLR')
    assert cosine.begin == 5 and cosine.eta_min == 1e-5


def test_cluster_size_is_one_override():
    from mmdet.registry import MODELS
    scope_registry('mmdet')
    cfg = load('mask_rcnn_secvit_t_1x.py')
    cfg.merge_from_dict({'model.backbone.cluster_size': 98})
    cfg.model.backbone.init_cfg = None
    backbone = MODELS.build(cfg.model.backbone)
    assert backbone.cluster_size[:3] == (98, 98, 98) and backbone.num_clusters == (None, ) * 4


# ----------------------------------------------------------------------------- pipelines


def test_3x_pipeline_draws_several_scales(demo_data):
    from mmengine.dataset import Compose as Pipeline
    scope_registry('mmdet')
    cfg = load('mask_rcnn_secvit_t_3x.py')
    pipeline = Pipeline(cfg.train_dataloader.dataset.pipeline)
    from mmdet.datasets import CocoDataset
    dataset = CocoDataset(data_root=demo_data['coco'], ann_file='annotations/instances_train2017.json',
                          data_prefix=dict(img='train2017/'), metainfo=dict(classes=DEMO_COCO_CLASSES),
                          test_mode=True, pipeline=[])
    info = dataset.get_data_info(0)
    shapes = set()
    for _ in range(30):
        out = pipeline(copy.deepcopy(info))
        h, w = out['inputs'].shape[-2:]
        assert max(h, w) <= 1333 and min(h, w) <= 800
        shapes.add((h, w))
    assert len(shapes) >= 4, shapes
    shorts = {min(s) for s in shapes}
    assert min(shorts) >= 480 and max(shorts) <= 800


def test_ade20k_pipeline_reduces_the_zero_label(demo_data):
    scope_registry('mmseg')
    from mmengine.dataset import Compose as Pipeline
    cfg = load('upernet_secvit_t_160k_ade20k.py')
    train = cfg.train_dataloader.dataset.pipeline
    loading = Pipeline([t for t in train if t['type'] in ('LoadImageFromFile', 'LoadAnnotations')])
    ann_dir = osp.join(demo_data['ade'], 'annotations', 'training')
    png = sorted(os.listdir(ann_dir))[0]
    raw = np.array(Image.open(osp.join(ann_dir, png)))
    assert (raw == 0).any() and (raw > 0).any()
    # reduce_zero_label=True is what ADE20KDataset hands the pipeline; LoadAnnotations checks it.
    out = loading(dict(img_path=osp.join(demo_data['ade'], 'images', 'training', png[:-4] + '.jpg'),
                       seg_map_path=osp.join(ann_dir, png), reduce_zero_label=True, seg_fields=[]))
    expected = raw.astype(np.int64) - 1
    expected[raw == 0] = 255
    assert (out['gt_seg_map'].astype(np.int64) == expected).all()


# ----------------------------------------------------------------------------- tools


def run_tool(args, cwd=ROOT, env=None, timeout=400):
    full_env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    full_env.update(env or {})
    proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def test_tools_test_prints_miou_on_the_demo_ade20k_set(demo_data, tmp_path):
    out = run_tool([PYTHON, 'tools/test.py', 'configs/demo/upernet_secvit_t_demo.py', 'random',
                    '--work-dir', str(tmp_path), '--cfg-options',
                    f'test_dataloader.dataset.data_root={demo_data["ade"]}',
                    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'])
    assert re.search(r'mIoU: \d+\.\d+', out), out[-2000:]


def test_tools_test_prints_coco_ap_on_the_demo_coco_set(demo_data, tmp_path):
    coco = demo_data['coco']
    out = run_tool([PYTHON, 'tools/test.py', 'configs/demo/mask_rcnn_secvit_t_demo.py', 'random',
                    '--work-dir', str(tmp_path), '--cfg-options',
                    f'test_dataloader.dataset.data_root={coco}',
                    f'test_evaluator.ann_file={coco}annotations/instances_val2017.json',
                    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'])
    assert re.search(r'coco/bbox_mAP: -?\d+\.\d+', out), out[-2000:]
    assert re.search(r'coco/segm_mAP: -?\d+\.\d+', out), out[-2000:]


HASH_HOOK = '''
import hashlib
import os.path as osp

import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankWeightHash(Hook):
    """Writes, per rank, the number of training steps taken and a hash of the weights after them."""

    def __init__(self):
        self.steps = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.steps += 1

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        digest = hashlib.sha256()
        # Parameters only: BN running statistics are per rank (DDP runs with broadcast_buffers=False).
        for name, value in sorted(model.named_parameters()):
            digest.update(name.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
        rank = dist.get_rank()
        with open(osp.join(runner.work_dir, f'rank{rank}.txt'), 'w') as f:
            f.write(f'{dist.get_world_size()} {self.steps} {digest.hexdigest()}')
'''


def test_dist_train_two_gloo_processes(demo_data, tmp_path):
    (tmp_path / 'rank_weight_hash.py').write_text(HASH_HOOK)
    coco = demo_data['coco']
    config = tmp_path / 'dist_demo.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = ['{ROOT}/configs/demo/mask_rcnn_secvit_t_demo.py']
        custom_imports = dict(imports=['secvit_mm', 'rank_weight_hash'], allow_failed_imports=False)
        custom_hooks = [dict(type='RankWeightHash')]
        train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                                dataset=dict(data_root='{coco}', indices=2))
        val_dataloader = dict(dataset=dict(data_root='{coco}'))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file='{coco}annotations/instances_val2017.json')
        test_evaluator = val_evaluator
        train_cfg = dict(max_epochs=1, val_interval=100)
        default_hooks = dict(checkpoint=dict(interval=1))
        '''))
    work_dir = tmp_path / 'work'
    port = str(29500 + os.getpid() % 1000)
    run_tool(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work_dir)],
             env=dict(PYTHON=PYTHON, PORT=port, PYTHONPATH=f'{ROOT}:{tmp_path}'), timeout=500)
    ranks = [(work_dir / f'rank{r}.txt').read_text().split() for r in (0, 1)]
    assert ranks[0][:2] == ['2', '1'] and ranks[1][:2] == ['2', '1']  # world size 2, one step each
    assert ranks[0][2] == ranks[1][2]  # DDP kept the replicas identical
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['epoch_1.pth']


def test_unmodified_mmseg_swin_upernet_config_trains_with_secvit(tmp_path):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    path = tmp_path / 'cfg.py'
    path.write_text(textwrap.dedent('''
        _base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'
        custom_imports = dict(imports=['secvit_mm'], allow_failed_imports=False)
        model = dict(
            backbone=dict(_delete_=True, type='SecViT', arch='tiny'),
            decode_head=dict(in_channels=[64, 128, 256, 512]),
            auxiliary_head=dict(in_channels=256))
        '''))
    cfg = Config.fromfile(str(path))
    cfg.model.data_preprocessor.size = (64, 64)  # tiny inputs; the rest is mmseg's config
    registry = scope_registry('mmseg')
    model = revert_sync_batchnorm(registry.build(cfg.model))  # what the Runner does on one process
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
        samples.append(sample)
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)
    model.train()
    losses = model.train_step(data, optim_wrapper)
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())


# ----------------------------------------------------------------------------- your own data (configs/custom)


def with_user_data(name: str, tmp_path, data_root: str, classes: tuple) -> Config:
    """The config with only its ``data_root`` and ``classes`` lines changed, as docs/custom_data.md says."""
    text = open(osp.join(CONFIG_DIR, name)).read()
    text, found_root = re.subn(r'^data_root = .*$', f'data_root = {data_root!r}', text, flags=re.M)
    text, found_classes = re.subn(r'^classes = .*$', f'classes = {classes!r}', text, flags=re.M)
    assert found_root == found_classes == 1
    path = tmp_path / osp.basename(name)
    path.write_text(text.replace("_base_ = ['../", f"_base_ = ['{CONFIG_DIR}/"))
    return Config.fromfile(str(path))


def make_small(cfg: Config) -> None:
    """Small images and batches, for speed only; the data settings stay the user's."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = tiny_loader(cfg[key], 2 if key == 'train_dataloader' else 1).dataset
        shrink_pipeline(dataset.pipeline, scale=(128, 96))
    cfg.model.backbone.init_cfg = None


def test_custom_coco_config_trains_on_its_own_classes_after_changing_only_data_root_and_classes(tmp_path):
    root = str(tmp_path / 'my_coco') + '/'
    make_coco_instance_demo(root, num_train=2, num_val=2, image_size=(96, 128))
    own = ('ball', 'box', 'wedge')  # the user's names for ids 1-3; id 4 is not one of their classes
    for split in ('train2017', 'val2017'):
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        coco = json.load(open(path))
        coco['categories'] = [dict(id=i + 1, name=n, supercategory='thing') for i, n in enumerate(own)]
        coco['annotations'] = [a for a in coco['annotations'] if a['category_id'] <= len(own)]
        json.dump(coco, open(path, 'w'))
    cfg = with_user_data('custom/mask_rcnn_secvit_t_1x_custom_coco.py', tmp_path, root, own)
    assert cfg.model.roi_head.bbox_head.num_classes == cfg.model.roi_head.mask_head.num_classes == 3
    assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val2017.json'
    make_small(cfg)
    cfg.model.test_cfg.rcnn.score_thr = 0.
    dataset = Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader)).dataset
    assert dataset.metainfo['classes'] == own
    labels = {inst['bbox_label'] for i in range(len(dataset)) for inst in dataset.get_data_info(i)['instances']}
    assert labels and labels <= {0, 1, 2}
    metrics, _ = train_and_test_once(cfg)
    assert 'coco/bbox_mAP' in metrics and 'coco/segm_mAP' in metrics, metrics


def test_custom_ade_config_trains_on_its_own_classes_after_changing_only_data_root_and_classes(tmp_path):
    root = str(tmp_path / 'my_ade')
    make_ade20k_demo(root, num_train=2, num_val=1, image_size=(96, 128))
    own = ('brick', 'concrete', 'air', 'ground', 'leaves', 'roof')  # label values 1-6
    cfg = with_user_data('custom/upernet_secvit_t_160k_custom_ade.py', tmp_path, root, own)
    assert cfg.model.decode_head.num_classes == cfg.model.auxiliary_head.num_classes == 6
    make_small(cfg)
    cfg.model.data_preprocessor.size = (64, 64)
    dataset = Runner.build_dataloader(copy.deepcopy(cfg.test_dataloader)).dataset
    assert dataset.metainfo['classes'] == own and len(dataset) == 1
    metrics, _ = train_and_test_once(cfg)
    assert 'mIoU' in metrics, metrics


# ----------------------------------------------------------------------------- whole vs slide test


@pytest.mark.parametrize('name', [c for c in CONFIGS if c.endswith('_ade20k.py')])
def test_ade20k_configs_test_whole_images_and_offer_512_windows(name):
    test_cfg = load(name).model.test_cfg
    assert test_cfg == dict(mode='whole', crop_size=(512, 512), stride=(341, 341))


def test_slide_mode_predicts_the_whole_image_from_windows(demo_data):
    cfg = load('demo/upernet_secvit_t_demo.py')
    cfg.model.test_cfg.update(mode='slide', crop_size=(64, 64), stride=(48, 48))
    model = build_model(cfg).eval()
    seen = []
    original = model.encode_decode
    model.encode_decode = lambda inputs, metas: seen.append(tuple(inputs.shape[2:])) or original(inputs, metas)
    from mmseg.structures import SegDataSample
    img = torch.randint(0, 256, (3, 96, 160), dtype=torch.uint8)
    meta = dict(img_shape=(96, 160), ori_shape=(96, 160), pad_shape=(96, 160))
    with torch.no_grad():
        pred = model.test_step(dict(inputs=[img], data_samples=[SegDataSample(metainfo=meta)]))[0]
    assert pred.pred_sem_seg.data.shape[1:] == (96, 160)
    assert seen and set(seen) == {(64, 64)} and len(seen) == 2 * 3  # rows (96: 0, 32) x cols (160: 0, 48, 96)


# ----------------------------------------------------------------------------- the main job's pretraining


def test_demo_detector_fine_tunes_from_the_shapes_classifier_backbone(tmp_path):
    cls_cfg = load('demo/secvit_t_shapes_cls_demo.py')
    classifier = build_model(cls_cfg)
    path = str(tmp_path / 'classifier.pth')
    torch.save(dict(state_dict=classifier.state_dict(), meta=dict()), path)
    det_cfg = load('demo/mask_rcnn_secvit_t_demo_pretrained.py')
    det_cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': path})  # what tools/demo.sh passes
    registry = scope_registry('mmdet')
    detector = registry.build(det_cfg.model)
    detector.init_weights()
    cls_state = classifier.backbone.state_dict()
    det_state = detector.backbone.state_dict()
    assert cls_state.keys() == det_state.keys()
    assert all(torch.equal(cls_state[k], det_state[k]) for k in cls_state)
    assert not torch.equal(classifier.head.fc.weight[:1, :1], detector.roi_head.bbox_head.fc_cls.weight[:1, :1])
