# Ablation, paper Table 6 row "w/o LCE" (the paper reports LCE = +0.2 top-1): SecViT-T without the
# depthwise 5x5 local enhancement (LePE) of v in every attention. Everything else as secvit_t_in1k.py.
_base_ = '../secvit_t_in1k.py'
model = dict(backbone=dict(use_lepe=False))
