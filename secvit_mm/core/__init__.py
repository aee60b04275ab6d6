"""The models of secvit-mm in plain PyTorch (torch and einops only; no OpenMMLab, no timm).

SecViT, CeiT, SEC-Swin and SEC-FasterViT with the SEC attention and 2D RoPE. The OpenMMLab
backbones (``secvit_mm.models``) and the timm models (``secvit_mm.timm_models``) are thin shells
over these classes. Each released-checkpoint converter sits in the file of the model it serves.
"""
from .backbone import Backbone, PyramidBackbone, init_transformer_weights, take_indices
from .blocks import SECBlock, Stage
from .ceit import CeiT, convert_ceit_checkpoint, is_released_ceit_layout, resize_pos_embed
from .checks import KeywordCheck, check_finite, describe_state_dict_mismatch, per_stage
from .layers import ConvFFN, DropPath, LayerNorm2d, pad_to_multiple
from .sec_attention import (ClusterLayout, RotaryEmbedding2d, SECAttention, apply_rope2d, cluster_layout,
                            sec_attention, semantic_order, spatial_order)
from .sec_fastervit import SECFasterViT
from .sec_swin import SECSwin
from .secvit import (SecViT, SecViTHead, convert_secvit_checkpoint, infer_secvit_arch, is_released_secvit_layout,
                     match_secvit_arch)
from .tracing import static_shapes

__all__ = [
    'Backbone', 'PyramidBackbone', 'init_transformer_weights', 'take_indices', 'SECBlock', 'Stage', 'CeiT',
    'convert_ceit_checkpoint', 'is_released_ceit_layout', 'resize_pos_embed', 'KeywordCheck', 'check_finite',
    'describe_state_dict_mismatch', 'per_stage', 'ConvFFN', 'DropPath', 'LayerNorm2d', 'pad_to_multiple',
    'ClusterLayout', 'RotaryEmbedding2d', 'SECAttention', 'apply_rope2d', 'cluster_layout', 'sec_attention',
    'semantic_order', 'spatial_order', 'SECFasterViT', 'SECSwin', 'SecViT', 'SecViTHead',
    'convert_secvit_checkpoint', 'infer_secvit_arch', 'is_released_secvit_layout', 'match_secvit_arch',
    'static_shapes'
]
