# SecViT-S ImageNet-1k classifier: the recipe of secvit_t_in1k.py with the small arch.
_base_ = ['./secvit_t_in1k.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.15),
    neck=dict(in_channels=512))
