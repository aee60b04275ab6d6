# Ablation, paper Table 6 row "w/o conv stem" (the paper reports the conv stem = +0.3 top-1): SecViT-T
# with a ViT/Swin patch embedding (4x4 stride-4 conv + LayerNorm) instead of the four-conv stem.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(stem_type='patch'))
