# Cascade Mask R-CNN + FPN with SecViT-T, COCO, the paper's 1x recipe (appendix B): AdamW lr 1e-4,
# weight decay 0.05 (none on norms), 12 epochs, lr x0.1 at 8 and 11, 1000-iteration linear warmup,
# single scale 1333x800, batch 16 (8 GPUs x 2; --auto-scale-lr adapts the lr to other totals).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/schedules/secvit_adamw_coco_1x.py',  # AdamW, warmup, lr steps, batch 16
    './_base_/secvit_coco_runtime.py',  # hooks, --tta, custom_imports
]

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
        drop_path_rate=0.1,  # not stated for detection: the ImageNet rate (PVT practice; Swin-T uses 0.2)
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
