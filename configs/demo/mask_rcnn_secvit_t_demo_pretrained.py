# The main job's detector (mask_rcnn_secvit_t_demo.py) with its backbone initialised from the
# demo shapes classifier (secvit_t_shapes_cls_demo.py) instead of at random: the papers'
# ImageNet-then-COCO workflow in miniature. tools/demo.sh sets the checkpoint of its own run:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/demo/<run>/pretrain/epoch_5.pth
_base_ = ['./mask_rcnn_secvit_t_demo.py']

model = dict(backbone=dict(init_cfg=dict(
    _delete_=True, type='Pretrained', checkpoint='work_dirs/demo/shapes_cls.pth', prefix='backbone.')))
