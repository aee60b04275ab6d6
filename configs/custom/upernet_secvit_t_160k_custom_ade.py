# UperNet SecViT-T (the 160k recipe of upernet_secvit_t_160k_ade20k.py) on your own semantic
# segmentation data in the ADE20K layout. Change the two lines below and nothing else
# (docs/custom_data.md):
#   data_root: a folder with images/{training,validation}/*.jpg and annotations/{training,validation}/*.png
#              (same base names; label PNGs: one uint8 value per pixel, 0 = unlabelled / ignored);
#   classes:   your class names, for the label values 1, 2, ... in that order.
# As shipped, the built-in ADE20K-layout data (python tools/make_demo_data.py) stands in for yours.
_base_ = ['../upernet_secvit_t_160k_ade20k.py']

data_root = 'data/demo/ade/ADEChallengeData2016'
classes = ('wall', 'building', 'sky', 'floor', 'tree', 'ceiling')

# ----------------------------------------------------------------------------- derived from the above
num_classes = len(classes)
# ADE20KDataset only knows ADE20K's 150 names; the generic dataset takes yours (random palette).
dataset = dict(type='BaseSegDataset', data_root=data_root, metainfo=dict(classes=classes),
               img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=True)
model = dict(decode_head=dict(num_classes=num_classes), auxiliary_head=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(
    **dataset, data_prefix=dict(img_path='images/training', seg_map_path='annotations/training')))
val_dataloader = dict(dataset=dict(
    **dataset, data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation')))
test_dataloader = val_dataloader
