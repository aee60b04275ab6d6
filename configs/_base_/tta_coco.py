# Test-time augmentation for the COCO configs (tools/test.py --tta, tools/infer.py --tta): each
# image at three scales (mmdet's retinanet_tta.py scales: the test scale, half and 1.5x), each
# also flipped; the six predictions are merged by class-wise NMS. DetTTAModelWithMasks is mmdet's
# DetTTAModel that also keeps the merged instances' masks (mmdet's refuses masks).
tta_model = dict(
    type='DetTTAModelWithMasks',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))

tta_scales = [(1333, 800), (666, 400), (2000, 1200)]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=s, keep_ratio=True) for s in tta_scales],
            [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
            [dict(type='LoadAnnotations', with_bbox=True)],
            [dict(type='PackDetInputs',
                  meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                             'flip', 'flip_direction'))],
        ]),
]
