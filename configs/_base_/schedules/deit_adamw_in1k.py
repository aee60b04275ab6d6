# The SecViT / CeiT ImageNet-1k schedule: mmpretrain's Swin AdamW schedule (AdamW 1e-3 at batch
# 1024, wd 0.05, 300 epochs, cosine to 1e-5, grad clip 5.0) with the papers' 5 warmup epochs
# instead of Swin's 20.
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5),
]
