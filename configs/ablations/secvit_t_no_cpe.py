# Ablation, paper Table 6 row "w/o CPE" (the paper reports CPE = +0.2 top-1): SecViT-T without the
# depthwise 3x3 conditional position encoding at the start of every block.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(use_cpe=False))
