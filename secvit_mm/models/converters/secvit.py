"""Released SecViT checkpoints (``KClusterFormerSimpleNew``) -> this package's keys.

The released model names its modules ``patch_embed.proj``, ``layers.{i}.blocks.{j}``, ``proj`` /
``norm`` / ``head``; :func:`convert_secvit_checkpoint` maps them to an mmpretrain
``ImageClassifier`` holding :class:`~secvit_mm.models.backbones.SecViT` and checks every key and
shape against a SecViT of the checkpoint's arch (built on the ``meta`` device: shapes only).
"""
import re
from typing import Dict, Optional

import torch
from torch import Tensor

from ...utils.checkpoint import describe_state_dict_mismatch

__all__ = ['convert_secvit_checkpoint', 'infer_secvit_arch', 'is_released_secvit_layout', 'match_secvit_arch']

_RELEASED_RULES = [
    (r'^patch_embed\.proj\.', 'backbone.stem.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.pos\.', r'backbone.stages.\1.blocks.\2.cpe.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.norm([12])\.norm\.', r'backbone.stages.\1.blocks.\2.norm\3.'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.gamma_([12])$', r'backbone.stages.\1.blocks.\2.layer_scale_\3'),
    (r'^layers\.(\d+)\.blocks\.(\d+)\.(attn|ffn)\.', r'backbone.stages.\1.blocks.\2.\3.'),
    (r'^layers\.(\d+)\.downsample\.reduction\.', r'backbone.stages.\1.downsample.conv.'),
    (r'^layers\.(\d+)\.downsample\.norm\.', r'backbone.stages.\1.downsample.norm.'),
    (r'^proj\.', 'neck.proj.'),
    (r'^norm\.', 'neck.norm.'),
    (r'^head\.', 'head.fc.'),
]


def is_released_secvit_layout(state_dict: Dict[str, Tensor]) -> bool:
    return any(k.startswith('patch_embed.proj.') for k in state_dict) and \
        any(k.startswith('layers.') for k in state_dict)


def infer_secvit_arch(state_dict: Dict[str, Tensor]) -> dict:
    """embed_dims / depths / num_heads / layer_scale read off a released-layout state dict."""
    from ..backbones.secvit import SecViT
    try:
        embed_dims, depths, num_heads, layer_scale = [], [], [], []
        for i in range(SecViT.num_stages):
            blocks = {int(m.group(1)) for k in state_dict
                      for m in [re.match(rf'layers\.{i}\.blocks\.(\d+)\.', k)] if m}
            depths.append(len(blocks))
            embed_dims.append(state_dict[f'layers.{i}.blocks.0.pos.weight'].shape[0])
            angle = state_dict.get(f'layers.{i}.RoPE.angle')
            head_dim = 2 * angle.numel() if angle is not None else None
            num_heads.append(embed_dims[-1] // head_dim if head_dim else None)
            layer_scale.append(f'layers.{i}.blocks.0.gamma_1' in state_dict)
    except KeyError as err:
        raise ValueError(f'Not a released SecViT checkpoint: missing key {err}') from None
    return dict(embed_dims=embed_dims, depths=depths, num_heads=num_heads, layer_scale=layer_scale)


def match_secvit_arch(settings: dict) -> Optional[str]:
    """Name of the arch_zoo entry with these dims/depths (heads when known), else None."""
    from ..backbones.secvit import SecViT
    for name in ('tiny', 'small', 'base', 'large'):
        zoo = SecViT.arch_zoo[name]
        if zoo['embed_dims'] == list(settings['embed_dims']) and zoo['depths'] == list(settings['depths']) \
                and all(h is None or h == z for h, z in zip(settings['num_heads'], zoo['num_heads'])):
            return name
    return None


def convert_secvit_checkpoint(state_dict: Dict[str, Tensor], arch: Optional[str] = None) -> Dict[str, Tensor]:
    """Released SecViT state dict -> mmpretrain ``ImageClassifier`` keys (``backbone.``, ``neck.``, ``head.fc.``).

    Args:
        state_dict: the released ``model`` (or ``model_ema``) state dict.
        arch: if given, the checkpoint must be this arch; otherwise it is inferred.

    Raises:
        ValueError: the dict is not in the released layout, is of another arch than ``arch``, or
            any key is missing, unexpected or of the wrong shape for its arch (all named).
    """
    from ..backbones.secvit import SecViT
    if not is_released_secvit_layout(state_dict):
        raise ValueError('Not a released SecViT checkpoint: expected keys starting with '
                         f"'patch_embed.proj.' and 'layers.', got e.g. {sorted(state_dict)[:5]}")
    settings = infer_secvit_arch(state_dict)
    found = match_secvit_arch(settings)
    if arch is not None:
        wanted = SecViT.resolve_arch(arch)
        if found is None or SecViT.arch_zoo[found]['embed_dims'] != wanted['embed_dims'] or \
                SecViT.arch_zoo[found]['depths'] != wanted['depths']:
            raise ValueError(f'Checkpoint arch mismatch: expected SecViT {arch!r} (embed_dims '
                             f"{wanted['embed_dims']}, depths {wanted['depths']}), the checkpoint has "
                             f"embed_dims {settings['embed_dims']}, depths {settings['depths']}"
                             + (f' (= {found!r})' if found else ''))
    if found is None:
        raise ValueError(f"Checkpoint matches no SecViT arch: embed_dims {settings['embed_dims']}, "
                         f"depths {settings['depths']}, heads {settings['num_heads']}")

    converted: Dict[str, Tensor] = {}
    unknown = []
    for key, value in state_dict.items():
        if re.match(r'^layers\.\d+\.RoPE\.angle$', key):
            continue  # regenerated from head_dim
        for pattern, repl in _RELEASED_RULES:
            new_key, hits = re.subn(pattern, repl, key)
            if hits:
                if new_key == 'head.fc.weight' and value.dim() == 4:
                    value = value.flatten(1)  # 1x1 conv classifier -> Linear
                converted[new_key] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'Unexpected keys in the released SecViT checkpoint: {unknown[:10]}'
                         + (f' (+{len(unknown) - 10} more)' if len(unknown) > 10 else ''))
    # Check every backbone key against a model of that arch, so a damaged file never half-loads.
    with torch.device('meta'):  # shapes only: no memory, no init cost
        reference = SecViT(arch=found).state_dict()
    got = {k[len('backbone.'):]: v for k, v in converted.items() if k.startswith('backbone.')}
    problems = describe_state_dict_mismatch(reference, got)
    if problems:
        raise ValueError(f'Released SecViT-{found} checkpoint does not match the model: {problems}')
    return converted
