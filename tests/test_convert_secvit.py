"""tools/convert_secvit.py: released checkpoints become mmpretrain checkpoints with the same logits."""
import re

import pytest
import torch

from secvit_mm.models.backbones import SecViT, convert_secvit_checkpoint
from secvit_mm.testing.released_secvit import ReleasedSecViT
from tools import convert_secvit

# The released key layout of the tiny model, from the spec ({i} stage, {j} block).
RELEASED_KEY_PATTERNS = [
    r'patch_embed\.proj\.(0|3|6|9)\.(weight|bias)',
    r'patch_embed\.proj\.(1|4|7|10)\.(weight|bias|running_mean|running_var|num_batches_tracked)',
    r'layers\.\d\.RoPE\.angle',
    r'layers\.\d\.blocks\.\d+\.pos\.(weight|bias)',
    r'layers\.\d\.blocks\.\d+\.norm[12]\.norm\.(weight|bias)',
    r'layers\.\d\.blocks\.\d+\.attn\.(qkv|lepe|out_proj)\.(weight|bias)',
    r'layers\.\d\.blocks\.\d+\.ffn\.(fc1|dwconv|fc2)\.(weight|bias)',
    r'layers\.[012]\.downsample\.reduction\.(weight|bias)',
    r'layers\.[012]\.downsample\.norm\.(weight|bias|running_mean|running_var|num_batches_tracked)',
    r'proj\.(weight|bias)', r'norm\.(weight|bias|running_mean|running_var|num_batches_tracked)',
    r'head\.(weight|bias)',
]


def released_model(arch='tiny', seed=0):
    torch.manual_seed(seed)
    model = ReleasedSecViT.from_arch(arch)
    for m in model.modules():  # non-trivial BN statistics and layer scales, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    return model.eval()


def test_reference_model_has_exactly_the_released_keys():
    keys = released_model().state_dict().keys()
    for key in keys:
        assert any(re.fullmatch(p, key) for p in RELEASED_KEY_PATTERNS), key
    assert sum(p.numel() for p in released_model().parameters()) == 14_981_800


def test_converted_checkpoint_loads_in_mmpretrain_with_the_same_logits(tmp_path, repo_root):
    from mmpretrain.apis import init_model

    released = released_model()
    src, dst = tmp_path / 'released.pth', tmp_path / 'secvit_t_in1k.pth'
    ema = {k: v + 0.01 if v.is_floating_point() else v for k, v in released.state_dict().items()}
    torch.save({'model': released.state_dict(), 'model_ema': ema}, src)
    convert_secvit.main([str(src), str(dst)])

    state_dict = torch.load(dst, weights_only=True)['state_dict']
    classifier = init_model(f'{repo_root}/configs/secvit_t_in1k.py', str(dst), device='cpu')
    classifier.load_state_dict(state_dict, strict=True)  # no missing or unexpected keys
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(classifier(x, mode='tensor'), released(x), atol=1e-4, rtol=1e-4)

    # The dense configs' way: Pretrained init_cfg with prefix='backbone.'.
    backbone = SecViT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
    backbone.init_weights()
    backbone.eval()
    with torch.no_grad():
        for ours, theirs in zip(backbone(x), released.forward_features(x)):
            torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


def test_ema_weights_are_converted_with_the_flag(tmp_path):
    released = released_model()
    ema = {k: v * 2 if v.is_floating_point() else v for k, v in released.state_dict().items()}
    src = tmp_path / 'r.pth'
    torch.save({'model': released.state_dict(), 'model_ema': ema}, src)
    convert_secvit.main([str(src), str(tmp_path / 'ema.pth'), '--ema'])
    got = torch.load(tmp_path / 'ema.pth', weights_only=True)['state_dict']
    torch.testing.assert_close(got['backbone.stem.0.weight'], ema['patch_embed.proj.0.weight'])


def test_released_checkpoint_loads_directly_through_pretrained_init(tmp_path):
    released = released_model()
    src = tmp_path / 'released.pth'
    torch.save({'model': released.state_dict()}, src)
    backbone = SecViT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(src), prefix='backbone.'))
    backbone.init_weights()
    torch.testing.assert_close(backbone.stages[2].blocks[3].attn.qkv.weight,
                               released.layers[2].blocks[3].attn.qkv.weight)


def test_wrong_arch_is_refused_naming_the_mismatch(tmp_path):
    small = released_model('small').state_dict()
    with pytest.raises(ValueError, match=r"expected SecViT 'tiny'.*depths \[3, 4, 18, 4\].*'small'"):
        convert_secvit_checkpoint(small, arch='tiny')
    src = tmp_path / 'small.pth'
    torch.save({'model': small}, src)
    with pytest.raises(SystemExit, match='arch mismatch'):
        convert_secvit.main([str(src), str(tmp_path / 'out.pth'), '--arch', 'tiny'])
    assert not (tmp_path / 'out.pth').exists()


def test_converted_checkpoint_of_another_arch_is_refused_by_the_backbone(tmp_path):
    torch.save({'model': released_model('small').state_dict()}, tmp_path / 'small.pth')
    convert_secvit.main([str(tmp_path / 'small.pth'), str(tmp_path / 'small_mm.pth')])
    backbone = SecViT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'small_mm.pth'),
                                            prefix='backbone.'))
    with pytest.raises(ValueError, match=r'does not fit this SecViT.*unexpected keys: stages\.0\.blocks\.2'):
        backbone.init_weights()


def test_damaged_layouts_are_refused():
    state = released_model().state_dict()
    del state['layers.2.blocks.4.attn.qkv.weight']
    with pytest.raises(ValueError, match=r'missing keys: stages\.2\.blocks\.4\.attn\.qkv\.weight'):
        convert_secvit_checkpoint(state)
    with pytest.raises(ValueError, match='Not a released SecViT checkpoint'):
        convert_secvit_checkpoint({'backbone.stem.0.weight': torch.zeros(1)})


def test_existing_output_is_never_overwritten_without_force(tmp_path):
    torch.save({'model': released_model().state_dict()}, tmp_path / 'r.pth')
    (tmp_path / 'out.pth').write_bytes(b'precious')
    with pytest.raises(SystemExit, match='exists'):
        convert_secvit.main([str(tmp_path / 'r.pth'), str(tmp_path / 'out.pth')])
    assert (tmp_path / 'out.pth').read_bytes() == b'precious'


def test_missing_pretrained_file_says_how_to_get_it(tmp_path):
    backbone = SecViT('tiny', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'nope.pth')))
    with pytest.raises(FileNotFoundError, match='convert_secvit.py.*init_cfg=None'):
        backbone.init_weights()
