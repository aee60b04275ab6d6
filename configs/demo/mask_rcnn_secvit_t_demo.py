# The README's main job: Mask R-CNN SecViT-T (the 1x config) trained from scratch on the built-in
# demo COCO set (tools/make_demo_data.py: 4 shape classes on textured backgrounds): small images,
# half-width heads, 640 iterations, minutes on a CPU. Everything else is mask_rcnn_secvit_t_1x.py.
_base_ = ['../mask_rcnn_secvit_t_1x.py']

data_root = 'data/demo/coco/'
metainfo = dict(
    classes=('circle', 'square', 'triangle', 'star'),
    palette=[(220, 20, 60), (0, 128, 255), (0, 200, 0), (255, 170, 0)])
num_classes = 4
image_scale = (128, 96)  # (w, h) bound: small images keep a CPU step under a second (issue 18)

# Heads at half width: 128-channel FPN / RPN / RoI heads and a 512-wide box head instead of 256 /
# 1024. A training step then costs half the CPU time (0.71 instead of 1.4 CPU-seconds at 160x128,
# batch 4; the backbone's forward + backward is 0.4 of them either way), so twice the iterations
# fit in the same minutes; four shape classes need far less than COCO's 80.
channels = 128
model = dict(
    backbone=dict(init_cfg=None, drop_path_rate=0.),  # no ImageNet weights on a fresh machine
    neck=dict(out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=512, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=channels),
        mask_head=dict(in_channels=channels, conv_out_channels=channels, num_classes=num_classes)),
    # A few objects per image: far fewer proposals and sampled RoIs than COCO needs, which is
    # most of a CPU step (the mask head's convs and RoIAlign run per RoI).
    train_cfg=dict(
        # 100 proposals, 32 sampled RoIs: 0.72x the CPU time of 200 / 64 per step (docs/main_job.md)
        rpn_proposal=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# tools/test.py --tta: configs/_base_/tta_coco.py's flips and scales, at this config's size.
tta_scales = [image_scale, (120, 96), (240, 192)]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='TestTimeAug',
         transforms=[
             [dict(type='Resize', scale=s, keep_ratio=True) for s in tta_scales],
             [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
             [dict(type='LoadAnnotations', with_bbox=True)],
             [dict(type='PackDetInputs',
                   meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                              'flip_direction'))],
         ]),
]
train_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train2017.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val2017.json',
                 data_prefix=dict(img='val2017/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# 9 epochs of the 256 training images (tools/make_demo_data.py's default) = 576 iterations at
# batch 4; the lr drops tenfold for the last epoch. Fewer iterations cost AP fast (384: bbox mAP
# 0.20), and 640 over 64 images (40 epochs) overfit (0.24); docs/main_job.md has the measurements.
max_epochs = 9
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=4e-4))  # from scratch: a larger step than the 1x config's 1e-4
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[max_epochs - 1], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=16),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)  # the same run every time (initial weights, data order, augmentation)
