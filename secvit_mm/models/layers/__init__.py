"""The building blocks, re-exported from :mod:`secvit_mm.core` (pure torch) under their old path."""
from ...core.blocks import SECBlock, Stage
from ...core.layers import ConvFFN, DropPath, LayerNorm2d
from ...core.sec_attention import (ClusterLayout, RotaryEmbedding2d, SECAttention, apply_rope2d, cluster_layout,
                                   sec_attention, semantic_order, spatial_order)
from ...core.tracing import static_shapes

__all__ = [
    'ConvFFN', 'DropPath', 'LayerNorm2d', 'ClusterLayout', 'RotaryEmbedding2d', 'SECAttention', 'SECBlock',
    'apply_rope2d', 'cluster_layout', 'sec_attention', 'semantic_order', 'spatial_order', 'static_shapes', 'Stage'
]
