from .common import ConvFFN, LayerNorm2d
from .stage import Stage
from .sec_attention import (ClusterLayout, RotaryEmbedding2d, SECAttention, apply_rope2d,
                            cluster_layout, sec_attention, semantic_order, spatial_order,
                            static_shapes)

__all__ = [
    'ConvFFN', 'LayerNorm2d', 'ClusterLayout', 'RotaryEmbedding2d', 'SECAttention', 'apply_rope2d',
    'cluster_layout', 'sec_attention', 'semantic_order', 'spatial_order',
    'static_shapes', 'Stage'
]
