# Mask R-CNN + FPN (mmdet's r50 model) with the SecViT-T backbone at its four stage maps.
# Drop path is not stated for detection; the configs use, per size: T 0.1 and S 0.15, the ImageNet
# rates (PVT practice; mmdet's Swin-T / Swin-S detectors use 0.2), B and L 0.3 (Swin-B / Swin-L's
# detection rate; ImageNet: 0.4 / 0.5).
# cascade_mask_rcnn_secvit_t.py and retinanet_secvit_t.py repeat this backbone: two bases of one
# config cannot both set `model`, so each detector's piece states it.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'

# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        # The paper's clusters (32, 8, 2, global). Fixed-size clusters, linear in the image size:
        # --cfg-options model.backbone.cluster_size=98
        num_clusters=(32, 8, 2, None),
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
