"""Test-time augmentation: tools/test.py --tta on the demo sets (detection with masks, segmentation),
and the mask-aware merge that mmdet's DetTTAModel lacks."""
import pickle
import re
import sys

import pytest
import torch
from conftest import DET_CONFIG as DET_CFG
from conftest import DEMO_SEG_CONFIG as SEG_CFG
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from test_configs import demo_data, run_tool  # noqa: F401  (the session's demo sets, the tool runner)

PYTHON = sys.executable


def test_mask_tta_flips_masks_back_and_keeps_the_masks_of_the_merged_boxes():
    from mmdet.structures import DetDataSample
    from secvit_mm.models.det_tta import DetTTAModelWithMasks
    h, w = 20, 30
    mask = torch.zeros(1, h, w, dtype=torch.bool)
    mask[0, 5:10, 2:8] = True
    views = []
    for flip, score in ((False, 0.9), (True, 0.8)):
        sample = DetDataSample(metainfo=dict(ori_shape=(h, w), flip=flip, flip_direction='horizontal'))
        inst = InstanceData()
        inst.bboxes = torch.tensor([[2., 5., 8., 10.]])
        inst.masks = mask.clone()
        if flip:  # what the model predicts on the flipped image
            inst.bboxes = torch.tensor([[w - 8., 5., w - 2., 10.]])
            inst.masks = mask.flip(-1)
        inst.scores = torch.tensor([score])
        inst.labels = torch.tensor([1])
        sample.pred_instances = inst
        views.append(sample)
    class Detector(torch.nn.Module):  # the merge never calls the wrapped model
        def test_step(self, data):
            raise AssertionError

    tta = DetTTAModelWithMasks(module=Detector(),
                               tta_cfg=ConfigDict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    merged = tta._merge_single_sample(views).pred_instances
    assert len(merged) == 1  # the two views of one object merge into one
    assert merged.scores.tolist() == pytest.approx([0.9])
    assert torch.equal(merged.masks, mask)
    assert merged.bboxes.tolist() == [[2., 5., 8., 10.]]


def run_test_tool(args, tmp_path):
    return run_tool([PYTHON, 'tools/test.py', *args, '--work-dir', str(tmp_path)])


def test_tools_test_tta_evaluates_the_detection_demo_with_flips_and_scales(demo_checkpoints, demo_data,  # noqa: F811
                                                                           tmp_path):
    coco = demo_data['coco']
    out = run_test_tool([DET_CFG, demo_checkpoints['det'], '--tta', '--out', str(tmp_path / 'preds.pkl'),
                         '--cfg-options', f'test_dataloader.dataset.data_root={coco}',
                         f'test_evaluator.ann_file={coco}annotations/instances_val2017.json',
                         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
                         'model.test_cfg.rcnn.score_thr=0.0'], tmp_path)
    assert re.search(r'coco/bbox_mAP: -?\d+\.\d+', out) and re.search(r'coco/segm_mAP: -?\d+\.\d+', out), out[-2000:]
    preds = pickle.load(open(tmp_path / 'preds.pkl', 'rb'))
    assert len(preds) == 2
    for pred in preds:  # merged at the original image size, with masks
        inst = pred['pred_instances']
        assert len(inst['bboxes']) == len(inst['masks']) > 0
        assert inst['masks'][0]['size'] == list(pred['ori_shape'])


def test_tools_test_tta_evaluates_the_segmentation_demo_with_flips_and_scales(demo_checkpoints, demo_data,  # noqa: F811
                                                                              tmp_path):
    out = run_test_tool([SEG_CFG, demo_checkpoints['seg'], '--tta', '--cfg-options',
                         f'test_dataloader.dataset.data_root={demo_data["ade"]}',
                         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'], tmp_path)
    assert re.search(r'mIoU: \d+\.\d+', out), out[-2000:]


def test_tta_views_of_the_demo_configs_are_flips_at_several_scales():
    from mmengine.dataset import Compose
    init_default_scope('mmdet')
    cfg = Config.fromfile(DET_CFG)
    tta = cfg.tta_pipeline[1]['transforms']
    assert len(tta[0]) * len(tta[1]) == 6
    init_default_scope('mmseg')
    cfg = Config.fromfile(SEG_CFG)
    tta = cfg.tta_pipeline[1]['transforms']
    assert len(tta[0]) * len(tta[1]) == 12
    assert Compose(cfg.tta_pipeline) is not None
