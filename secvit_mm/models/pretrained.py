"""Loading pretrained backbone weights strictly, with errors that name what does not match.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs mismatches, so a checkpoint of
another arch silently half-loads. Backbones of this package route ``init_cfg=dict(type='Pretrained')``
here instead: released checkpoints are converted on the fly, and any missing, unexpected or mis-shaped
key stops the run before training starts.
"""
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn

from ..errors import CheckpointContentError, CheckpointNotFoundError, ConfigError
from ..families import family_of_type
from ..utils.checkpoint import extract_state_dict, load_state_dict_strictly

__all__ = ['load_pretrained_backbone', 'pretrained_init_cfg']


def pretrained_init_cfg(init_cfg, name: str = 'backbone') -> Optional[dict]:
    """The ``type='Pretrained'`` init config this package loads strictly, or None when there is none.

    A list holding a ``Pretrained`` entry is refused: mmengine would run it through its own
    ``PretrainedInit`` (``strict=False``, mismatches only logged), silently bypassing the strict
    loader below.

    Args:
        init_cfg (dict | list[dict] | None): a backbone's ``init_cfg``.
        name (str): how to name the backbone in the error. Defaults to ``'backbone'``.

    Returns:
        dict | None: ``init_cfg`` when it is a ``Pretrained`` dict, else None.

    Raises:
        ConfigError: ``init_cfg`` is a list with a ``type='Pretrained'`` entry.
    """
    if isinstance(init_cfg, dict):
        return init_cfg if init_cfg.get('type') == 'Pretrained' else None
    if isinstance(init_cfg, (list, tuple)) and any(
            isinstance(c, dict) and c.get('type') == 'Pretrained' for c in init_cfg):
        raise ConfigError(
            f"{name} init_cfg is a list holding type='Pretrained': mmengine would load that checkpoint "
            "non-strictly (mismatching keys only logged); give it alone, init_cfg=dict(type='Pretrained', "
            "checkpoint=...), so every key is checked")
    return None


def load_pretrained_backbone(module: nn.Module,
                             init_cfg: dict,
                             converter: Optional[Callable[[Dict[str, Tensor]], Dict[str, Tensor]]] = None,
                             is_released: Optional[Callable[[Dict[str, Tensor]], bool]] = None,
                             adapt: Optional[Callable[[Dict[str, Tensor]], None]] = None,
                             new_modules: Sequence[str] = ()) -> None:
    """Load ``init_cfg['checkpoint']`` into ``module`` strictly.

    Args:
        module: the backbone.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH, prefix='backbone.', map_location='cpu')``.
        converter: maps a released-layout state dict to this package's classifier keys.
        is_released: tells whether a state dict is in the released layout.
        adapt: edits the selected state dict in place before it is checked (e.g. resizing a position
            embedding, dropping the keys of classification-only parts a dense backbone does not build).
        new_modules: key prefixes of parts that ImageNet pretraining does not have (e.g. a feature
            pyramid added for dense prediction); they keep their own initialisation. Every other key
            must match exactly.
    """
    path = init_cfg.get('checkpoint')
    prefix = init_cfg.get('prefix')
    name = type(module).__name__
    if not path:
        raise ConfigError(f"{name} init_cfg type='Pretrained' needs a 'checkpoint' path")
    script = getattr(family_of_type(name), 'converter', None)
    if '://' not in str(path) and not osp.isfile(path) and (converter is None or script is None):
        # No released weights to convert (e.g. SEC-Swin, SEC-FasterViT): the own classifier's checkpoint.
        raise CheckpointNotFoundError(
            f'{name} pretrained checkpoint not found: {path!r}. Train the ImageNet-1k classifier config of '
            f'this {name} first and put its checkpoint (keys backbone.*) there; or train from random init '
            "with --cfg-options model.backbone.init_cfg=None")
    if '://' not in str(path) and not osp.isfile(path):
        raise CheckpointNotFoundError(
            f'{name} pretrained checkpoint not found: {path!r}. Get the released ImageNet-1k checkpoint '
            f'and convert it (README, "Pretrained weights"): python {script} '
            f'RELEASED.pth {path}; or train from random init with '
            "--cfg-options model.backbone.init_cfg=None")
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location=init_cfg.get('map_location', 'cpu'))
    state_dict = extract_state_dict(checkpoint, path)
    if is_released is not None and converter is not None and is_released(state_dict):
        state_dict = converter(state_dict)
        prefix = 'backbone.'
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        selected = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        if not selected:
            raise CheckpointContentError(f'No key of {path!r} starts with prefix {prefix!r}; keys look like '
                                         f'{sorted(state_dict)[:5]}')
        state_dict = selected
    if adapt is not None:
        adapt(state_dict)
    missing = load_state_dict_strictly(module, state_dict, path, keep_init=new_modules)
    kept = f' ({len(missing)} tensors of {", ".join(new_modules)} keep their init)' if missing else ''
    print_log(f'{name}: loaded {len(state_dict)} tensors from {path}{kept}', logger='current')
