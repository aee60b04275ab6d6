# CeiT-S on ImageNet-1k: same recipe as CeiT-T.
_base_ = './ceit_t_in1k.py'

model = dict(backbone=dict(arch='small'), head=dict(in_channels=384))
