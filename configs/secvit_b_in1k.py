# SecViT-B ImageNet-1k classifier: the recipe of secvit_t_in1k.py with the base arch.
_base_ = ['./secvit_t_in1k.py']

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.4),
    neck=dict(in_channels=512))
