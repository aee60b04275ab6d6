# Cascade Mask R-CNN + FPN (mmdet's r50 model) with the SecViT-T backbone of mask_rcnn_secvit_t.py
# (its weights, clusters and drop path, explained there).
_base_ = 'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py'

pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    backbone=dict(_delete_=True, type='SecViT', arch='tiny', num_clusters=(32, 8, 2, None),
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
