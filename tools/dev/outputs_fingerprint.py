"""Bitwise fingerprint of the backbones, to show a refactor changes no number.

    python tools/dev/outputs_fingerprint.py save DIR      # on the code before the change
    python tools/dev/outputs_fingerprint.py compare DIR   # on the code after it

``save`` builds each model below with a fixed seed, runs ``init_weights()`` and stores its state dict
and its eval-mode outputs on a fixed input. ``compare`` checks, with ``torch.equal`` on every tensor:

* same weights: a model built now (another seed) loads the stored state dict strictly (key names
  unchanged) and gives the stored outputs;
* same init: built with the stored seed and ``init_weights()``, it holds the stored weights
  (the random init draws the same numbers in the same order).

Exits 1 and names every difference otherwise. Run from the repository root with PYTHONPATH=$PWD.
"""
import logging
import os
import os.path as osp
import sys

import torch

SEED = 0
# name -> (registered type, keyword arguments, input size)
MODELS = {
    'secvit_t': ('SecViT', dict(arch='tiny'), (2, 3, 72, 100)),
    'secvit_s': ('SecViT', dict(arch='small'), (1, 3, 64, 96)),
    'secvit_b': ('SecViT', dict(arch='base'), (1, 3, 64, 96)),
    'secvit_l': ('SecViT', dict(arch='large'), (1, 3, 64, 96)),
    'secvit_t_patch_window_size98': ('SecViT', dict(arch='tiny', stem_type='patch', attn_type='window',
                                                    cluster_size=98), (1, 3, 64, 96)),
    'ceit_t': ('CeiT', dict(arch='tiny'), (2, 3, 64, 80)),
    'ceit_s': ('CeiT', dict(arch='small'), (1, 3, 64, 80)),
    'ceit_b': ('CeiT', dict(arch='base'), (1, 3, 64, 80)),
    'ceit_t_featmap': ('CeiT', dict(arch='tiny', out_type='featmap'), (1, 3, 70, 90)),
    'sec_swin_t': ('SECSwin', dict(arch='tiny', out_indices=(0, 1, 2, 3)), (2, 3, 72, 100)),
    'sec_fastervit_0': ('SECFasterViT', dict(arch='0', out_indices=(0, 1, 2, 3)), (2, 3, 72, 100)),
}


def build(name: str, seed: int):
    from mmengine.registry import MODELS as REGISTRY
    import secvit_mm  # noqa: F401
    kind, kwargs, _ = MODELS[name]
    torch.manual_seed(seed)
    model = REGISTRY.build(dict(type=kind, **kwargs))
    model.init_weights()
    return model.eval()


def fixed_input(name: str) -> torch.Tensor:
    return torch.randn(*MODELS[name][2], generator=torch.Generator().manual_seed(1234))


@torch.no_grad()
def outputs(model, x):
    return [t.clone() for t in model(x)]


def differences(expected: dict, got: dict, what: str) -> list:
    if list(expected) != list(got):
        return [f'{what}: keys differ (missing {sorted(set(expected) - set(got))[:5]}, '
                f'unexpected {sorted(set(got) - set(expected))[:5]})']
    return [f'{what}: {k}' for k in expected if not torch.equal(expected[k], got[k])]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in ('save', 'compare'):
        print(__doc__)
        return 2
    mode, folder, names = argv[0], argv[1], argv[2:] or list(MODELS)
    torch.set_num_threads(1)
    logging.disable(logging.INFO)  # mmengine's per-tensor init report
    os.makedirs(folder, exist_ok=True)
    failed = []
    for name in names:
        path = osp.join(folder, f'{name}.pt')
        if mode == 'save':
            model = build(name, SEED)
            torch.save(dict(state_dict=model.state_dict(), outputs=outputs(model, fixed_input(name))), path)
            print(f'{name}: saved')
            continue
        stored = torch.load(path, weights_only=True)
        model = build(name, SEED + 1)
        model.load_state_dict(stored['state_dict'], strict=True)
        problems = differences(dict(enumerate(stored['outputs'])), dict(enumerate(outputs(model, fixed_input(name)))),
                               'outputs with the stored weights')
        same_seed = build(name, SEED)
        problems += differences(stored['state_dict'], same_seed.state_dict(), 'weights from the same seed')
        print(f'{name}: ' + ('bitwise equal (outputs with stored weights; init from the same seed)'
                             if not problems else 'DIFFERENT: ' + '; '.join(problems[:6])))
        failed += problems
    return 1 if failed else 0


if __name__ == '__main__':
    from secvit_mm.cli import run_cli
    sys.exit(run_cli(main))
