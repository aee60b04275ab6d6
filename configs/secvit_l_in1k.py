# SecViT-L ImageNet-1k classifier: the recipe of secvit_t_in1k.py with the large arch.
_base_ = ['./secvit_t_in1k.py']

model = dict(
    backbone=dict(arch='large', drop_path_rate=0.5),
    neck=dict(in_channels=640))
