# Mask R-CNN + FPN with SEC-Swin-T, COCO, the 1x recipe of mask_rcnn_secvit_t_1x.py (AdamW 1e-4,
# wd 0.05, 12 epochs, lr x0.1 at 8 and 11, 1000-iter warmup, 1333x800, batch 16).
_base_ = './mask_rcnn_secvit_t_1x.py'

# ImageNet-1k weights of configs/sec_swin_t_in1k.py (a checkpoint of that classifier; keys
# 'backbone.*'). Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/sec_swin_t_in1k.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SECSwin',
        arch='tiny',
        # Swin keeps 7x7 windows at every resolution; the SEC counterpart is 49 tokens per cluster
        # (linear cost in the image size), the last stage global. The ImageNet count form,
        # num_clusters=(64, 16, 4, None), is quadratic at 1333x800.
        cluster_size=49,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,  # mmdet's Swin-T Mask R-CNN value
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
