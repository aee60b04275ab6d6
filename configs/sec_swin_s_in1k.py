# SEC-Swin-S ImageNet-1k classifier: sec_swin_t_in1k.py (Swin's mmpretrain recipe, the same clusters)
# with the small arch and Swin-S's drop path. Params with the head: 49,558,600 (Swin-S 49,606,258
# minus 47,658 relative-position entries).
_base_ = './sec_swin_t_in1k.py'

model = dict(backbone=dict(arch='small', drop_path_rate=0.3))
