# RetinaNet + FPN (mmdet's r50 model) with the SecViT-T backbone of mask_rcnn_secvit_t.py (its
# weights, clusters and drop path, explained there). The stage maps feed the FPN the way mmdet's
# pyramid-transformer RetinaNets do (pvt/retinanet_pvt-t_fpn_1x_coco.py): 4 backbone levels,
# start_level=1, extra convs on the input.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

pretrained = 'checkpoints/secvit_t_in1k.pth'
model = dict(
    backbone=dict(_delete_=True, type='SecViT', arch='tiny', num_clusters=(32, 8, 2, None),
                  out_indices=(0, 1, 2, 3), drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512], start_level=1, add_extra_convs='on_input', num_outs=5))
