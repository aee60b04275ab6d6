"""Dataset helpers of secvit-mm."""
from .demo_data import DEMO_COCO_CLASSES, make_ade20k_demo, make_coco_instance_demo, make_shape_crops_demo

__all__ = ['DEMO_COCO_CLASSES', 'make_ade20k_demo', 'make_coco_instance_demo', 'make_shape_crops_demo']
