# Mask R-CNN SecViT-T (the 1x recipe of mask_rcnn_secvit_t_1x.py) on your own COCO-format
# instance segmentation data. Change the two lines below and nothing else (docs/custom_data.md):
#   data_root: a folder with annotations/instances_{train,val}2017.json, train2017/ and val2017/;
#   classes:   your category names, exactly as in the json's "categories" (their order sets the labels).
# As shipped, the built-in data (python tools/make_demo_data.py) stands in for yours.
_base_ = ['../mask_rcnn_secvit_t_1x.py']

data_root = 'data/demo/coco/'
classes = ('circle', 'square', 'triangle', 'star')

# ----------------------------------------------------------------------------- derived from the above
num_classes = len(classes)
metainfo = dict(classes=classes)
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)))
train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train2017.json',
    data_prefix=dict(img='train2017/')))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val2017.json',
    data_prefix=dict(img='val2017/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
