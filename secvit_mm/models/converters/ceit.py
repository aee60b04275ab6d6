"""Released CeiT checkpoints -> this package's keys (an mmpretrain ``ImageClassifier`` holding
:class:`~secvit_mm.models.backbones.CeiT`), checked key by key against a CeiT built on the ``meta``
device."""
import math
import re
from collections import OrderedDict
from typing import Dict, Optional, Union

import torch

from ...utils.checkpoint import describe_state_dict_mismatch

__all__ = ['convert_ceit_checkpoint', 'is_released_ceit_layout']


def is_released_ceit_layout(state_dict: Dict[str, torch.Tensor]) -> bool:
    return 'cls_token' in state_dict and any(k.startswith('blocks.') for k in state_dict)


# Released key (regex, full match) -> key of an mmpretrain ImageClassifier holding CeiT.
_RELEASED_TO_MMPRETRAIN = [
    (r'cls_token', r'backbone.cls_token'),
    (r'pos_embed', r'backbone.pos_embed'),
    (r'pos_layer_embed', r'backbone.lca.layer_embed'),
    (r'i2t\.backbone\.(conv|bn)\.(.+)', r'backbone.i2t.\1.\2'),
    (r'i2t\.proj\.(.+)', r'backbone.i2t.proj.\1'),
    (r'blocks\.(\d+)\.norm1\.(.+)', r'backbone.layers.\1.ln1.\2'),
    (r'blocks\.(\d+)\.norm2\.(.+)', r'backbone.layers.\1.ln2.\2'),
    (r'blocks\.(\d+)\.attn\.(qkv|proj)\.(.+)', r'backbone.layers.\1.attn.\2.\3'),
    (r'blocks\.(\d+)\.leff\.conv1\.(.+)', r'backbone.layers.\1.leff.expand.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn1\.(.+)', r'backbone.layers.\1.leff.expand.bn.\2'),
    (r'blocks\.(\d+)\.leff\.conv2\.(.+)', r'backbone.layers.\1.leff.depthwise.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn2\.(.+)', r'backbone.layers.\1.leff.depthwise.bn.\2'),
    (r'blocks\.(\d+)\.leff\.conv3\.(.+)', r'backbone.layers.\1.leff.reduce.conv.\2'),
    (r'blocks\.(\d+)\.leff\.bn3\.(.+)', r'backbone.layers.\1.leff.reduce.bn.\2'),
    (r'lca\.norm1\.(.+)', r'backbone.lca.ln1.\1'),
    (r'lca\.norm2\.(.+)', r'backbone.lca.ln2.\1'),
    (r'lca\.attn\.(qkv|proj)\.(.+)', r'backbone.lca.attn.\1.\2'),
    (r'lca\.feedforward\.(fc1|fc2)\.(.+)', r'backbone.lca.ffn.\1.\2'),
    (r'norm\.(.+)', r'backbone.final_norm.\1'),
    (r'head\.(.+)', r'head.fc.\1'),
]
_RELEASED_TO_MMPRETRAIN = [(re.compile(src), dst) for src, dst in _RELEASED_TO_MMPRETRAIN]


def _infer_arch(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Arch settings read off a released checkpoint (head_dim is 64 in every CeiT)."""
    D = state_dict['cls_token'].shape[-1]
    depth = len({int(m.group(1)) for k in state_dict if (m := re.match(r'blocks\.(\d+)\.', k))})
    conv1 = state_dict.get('blocks.0.leff.conv1.weight')
    expansion = conv1.shape[0] // D if conv1 is not None else 4
    return dict(embed_dims=D, num_layers=depth, num_heads=max(D // 64, 1),
                leff_expansion=expansion)


def convert_ceit_checkpoint(state_dict: Dict[str, torch.Tensor],
                            arch: Optional[Union[str, dict]] = None
                            ) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a released CeiT state dict to the keys of an mmpretrain ``ImageClassifier``.

    Released ``cls_token``, ``blocks.*``, ``lca.*``, ``norm.*`` ... become ``backbone.*`` and
    ``head.{weight,bias}`` becomes ``head.fc.*``. Every key and shape is checked against a CeiT
    of ``arch`` (a name from ``CeiT.arch_zoo`` or a dict; by default the arch read off the
    checkpoint). The position embedding may have any square grid (the backbone resizes it on
    load) and the head any number of classes; a checkpoint without ``head.*`` converts to the
    backbone keys only. A leading ``module.`` (DDP) is stripped; missing BatchNorm
    ``num_batches_tracked`` buffers are filled with 0.

    Raises:
        ValueError: naming the missing / unexpected keys or the mismatching shapes when the
            checkpoint has another layout or belongs to another arch.
    """
    from ..backbones.ceit import CeiT
    sd = dict(state_dict)
    if sd and all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    if any(k.startswith('backbone.') for k in sd):
        raise ValueError('convert_ceit_checkpoint: the state dict already has mmpretrain keys '
                         '(backbone.*); it needs no conversion')
    if 'cls_token' not in sd:
        raise ValueError('convert_ceit_checkpoint: not a released CeiT state dict (no cls_token); '
                         f'first keys: {sorted(sd)[:6]}')

    settings = CeiT.resolve_arch(arch) if arch is not None else _infer_arch(sd)
    described = ', '.join(f'{k}={v}' for k, v in settings.items() if k != 'img_size')
    arch_name = (f'arch {arch!r} ({described})' if isinstance(arch, str) else
                 f'arch ({described}){" read off the checkpoint" if arch is None else ""}')
    with torch.device('meta'):  # shapes only: no memory, no init cost
        reference = CeiT(arch={k: v for k, v in settings.items() if k != 'img_size'})
    expected = {f'backbone.{k}': tuple(v.shape) for k, v in reference.state_dict().items()}
    head_w = sd.get('head.weight')
    if head_w is not None:
        num_classes = head_w.shape[0]
        expected['head.fc.weight'] = (num_classes, settings['embed_dims'])
        expected['head.fc.bias'] = (num_classes, )
    if 'pos_embed' in sd and sd['pos_embed'].dim() == 3:
        n = sd['pos_embed'].shape[1] - 1
        if math.isqrt(n) ** 2 == n:  # any square grid loads (resized by the backbone)
            expected['backbone.pos_embed'] = (1, n + 1, settings['embed_dims'])

    converted, sources = {}, {}
    for key, value in sd.items():
        for pattern, target in _RELEASED_TO_MMPRETRAIN:
            if pattern.fullmatch(key):
                new_key = pattern.sub(target, key)
                converted[new_key], sources[new_key] = value, key
                break
        else:
            converted[key] = value  # no rule: reported as unexpected under its own name
    for key in expected:
        if key.endswith('num_batches_tracked') and key not in converted:
            converted[key] = torch.tensor(0, dtype=torch.long)
    problems = describe_state_dict_mismatch(expected, converted, sources)
    if problems:
        raise ValueError(f'convert_ceit_checkpoint: checkpoint does not match CeiT {arch_name}: {problems}')
    return OrderedDict((k, converted[k]) for k in expected if k in converted)
