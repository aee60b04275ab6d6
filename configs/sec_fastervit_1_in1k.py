# SEC-FasterViT-1 ImageNet-1k classifier: FasterViT-1 (dim 80, in_dim 32, depths [1, 3, 8, 5],
# heads [2, 4, 8, 16]) with SEC attention in stages 3-4; recipe as sec_fastervit_0_in1k.py.
# Params with the head: 39,068,968 (FasterViT-1: 53.4M).
_base_ = './sec_fastervit_0_in1k.py'

model = dict(backbone=dict(arch='1', drop_path_rate=0.2), head=dict(in_channels=640))
