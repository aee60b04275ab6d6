# SEC-FasterViT-0 ImageNet-1k classifier: FasterViT-0 (dim 64, in_dim 64, depths [2, 3, 6, 5],
# heads [2, 4, 8, 16]) with convolutional stages 1-2 and SEC attention in stages 3-4
# (secvit_mm/models/backbones/sec_fastervit.py). The SEC models' DeiT-style recipe of
# secvit_t_in1k.py (300 epochs, AdamW 5e-4 x batch / 512, wd 0.05, 5 warmup epochs, cosine to 1e-5,
# RandAugment, Mixup/CutMix, label smoothing, EMA), with FasterViT's head: BatchNorm (in the
# backbone, norm3) + global average pooling + Linear. Params with the head: 23,637,800
# (FasterViT-0: 31.4M).
_base_ = './secvit_t_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='SECFasterViT',
        arch='0',
        num_clusters=(4, None),  # stage 3: 196 / 4 = 49 tokens (a 7x7 window) at 224; stage 4 global
        out_indices=(3, ),
        drop_path_rate=0.2),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(in_channels=512))
