# Semantic FPN (mmseg's fpn_r50 model: FPN 256 channels + FPNHead) on the four stage maps of
# SecViT-T. Drop path is not stated for ADE20K; the Semantic FPN configs use, per size: T 0.1 and
# S 0.15, the ImageNet rates (PVT practice), B and L 0.3 (Swin-B's dense-prediction rate).
_base_ = 'mmseg::_base_/models/fpn_r50.py'

# ImageNet-1k weights converted by tools/convert_secvit.py (README, "Pretrained weights").
# Train from scratch instead with: --cfg-options model.backbone.init_cfg=None
pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='SecViT',
        arch='tiny',
        num_clusters=(32, 8, 2, None),  # the paper's; linear cost: --cfg-options model.backbone.cluster_size=98
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
