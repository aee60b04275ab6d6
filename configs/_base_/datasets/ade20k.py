# ADE20K as the paper configs train on it: mmseg's ADE20K data (data/ade/ADEChallengeData2016,
# 512x512 crops, test image resized to (2048, 512)), 2 images per GPU (8 GPUs x 2 = batch 16).
# A piece of its own, apart from the model and schedule, so the demo configs can put
# ade20k_demo.py in its place.
_base_ = 'mmseg::_base_/datasets/ade20k.py'

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
