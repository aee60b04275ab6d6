"""The authors' released CeiT key layout, for tests: :func:`to_released` maps this package's
classifier keys back to it (the inverse of :func:`secvit_mm.core.ceit.convert_ceit_checkpoint`,
written from the released key list in spec ceit.md)."""
import re

__all__ = ['MMPRETRAIN_TO_RELEASED', 'to_released']

MMPRETRAIN_TO_RELEASED = [
    (r'backbone\.cls_token', 'cls_token'),
    (r'backbone\.pos_embed', 'pos_embed'),
    (r'backbone\.lca\.layer_embed', 'pos_layer_embed'),
    (r'backbone\.i2t\.(conv|bn)\.(.+)', r'i2t.backbone.\1.\2'),
    (r'backbone\.i2t\.proj\.(.+)', r'i2t.proj.\1'),
    (r'backbone\.layers\.(\d+)\.ln1\.(.+)', r'blocks.\1.norm1.\2'),
    (r'backbone\.layers\.(\d+)\.ln2\.(.+)', r'blocks.\1.norm2.\2'),
    (r'backbone\.layers\.(\d+)\.attn\.(.+)', r'blocks.\1.attn.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.expand\.conv\.(.+)', r'blocks.\1.leff.conv1.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.expand\.bn\.(.+)', r'blocks.\1.leff.bn1.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.depthwise\.conv\.(.+)', r'blocks.\1.leff.conv2.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.depthwise\.bn\.(.+)', r'blocks.\1.leff.bn2.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.reduce\.conv\.(.+)', r'blocks.\1.leff.conv3.\2'),
    (r'backbone\.layers\.(\d+)\.leff\.reduce\.bn\.(.+)', r'blocks.\1.leff.bn3.\2'),
    (r'backbone\.lca\.ln1\.(.+)', r'lca.norm1.\1'),
    (r'backbone\.lca\.ln2\.(.+)', r'lca.norm2.\1'),
    (r'backbone\.lca\.attn\.(.+)', r'lca.attn.\1'),
    (r'backbone\.lca\.ffn\.(.+)', r'lca.feedforward.\1'),
    (r'backbone\.final_norm\.(.+)', r'norm.\1'),
    (r'head\.fc\.(.+)', r'head.\1'),
]


def to_released(state_dict: dict) -> dict:
    """An mmpretrain CeiT classifier state dict (``backbone.*``, ``head.fc.*``) in the released layout."""
    released = {}
    for key, value in state_dict.items():
        for pattern, target in MMPRETRAIN_TO_RELEASED:
            if re.fullmatch(pattern, key):
                released[re.sub(pattern, target, key)] = value.clone()
                break
        else:
            raise KeyError(f'no released name for {key}')
    return released
