# CeiT-B on ImageNet-1k: same recipe as CeiT-T, trained for 100 epochs (paper: 81.9 top-1).
_base_ = './ceit_t_in1k.py'

model = dict(backbone=dict(arch='base'), head=dict(in_channels=768))
train_cfg = dict(max_epochs=100)
