"""Test-time augmentation for instance segmentation (Mask R-CNN, Cascade Mask R-CNN).

mmdet's ``DetTTAModel`` merges boxes only and refuses predictions that carry masks. Here each
view's masks (already at the original image size, since the detectors predict with
``rescale=True``) are flipped back with its boxes, and the instances that survive mmdet's own
box merge (class-wise NMS over all views) keep their masks. Imported through the detection
configs' ``custom_imports``, so ``import secvit_mm`` does not pull in mmdet.
"""
from typing import List

import torch
from mmcv.ops import batched_nms
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.structures import DetDataSample
from mmengine.registry import MODELS
from mmengine.structures import InstanceData

_FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


def _unflip_masks(masks: torch.Tensor, meta: dict) -> torch.Tensor:
    if not meta.get('flip', False):
        return masks
    return masks.flip(_FLIP_DIMS[meta['flip_direction']])


@MODELS.register_module()
class DetTTAModelWithMasks(DetTTAModel):
    """``DetTTAModel`` (flip / multi-scale box merge by NMS) that also keeps the kept boxes' masks.

    Without masks in the predictions it behaves exactly as ``DetTTAModel``.
    """

    def _merge_single_sample(self, data_samples: List[DetDataSample]) -> DetDataSample:
        if data_samples[0].pred_instances.get('masks', None) is None:
            return super()._merge_single_sample(data_samples)
        metas = [s.metainfo for s in data_samples]
        bboxes, scores = self.merge_aug_bboxes([s.pred_instances.bboxes for s in data_samples],
                                               [s.pred_instances.scores for s in data_samples], metas)
        labels = torch.cat([s.pred_instances.labels for s in data_samples])
        masks = torch.cat([_unflip_masks(s.pred_instances.masks, m)
                           for s, m in zip(data_samples, metas)])
        merged = data_samples[0]
        if bboxes.numel() == 0:
            return merged
        dets, keep = batched_nms(bboxes, scores, labels, self.tta_cfg.nms)
        keep = keep[:self.tta_cfg.max_per_img]
        results = InstanceData()
        results.bboxes = dets[:len(keep), :-1]
        results.scores = dets[:len(keep), -1]
        results.labels = labels[keep]
        results.masks = masks[keep]
        merged.pred_instances = results
        return merged
