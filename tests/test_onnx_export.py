"""tools/deploy/export_onnx.py: SecViT backbone with dynamic height/width agrees with PyTorch in
onnxruntime at the export size and at a size not divisible by the cluster counts (rel. diff <= 1e-4).
"""
import os.path as osp

import pytest

pytest.importorskip('onnxruntime')
pytest.importorskip('onnxscript')
from tools.deploy.export_onnx import dynamic_export_supported  # noqa: E402

needs_dynamic_export = pytest.mark.skipif(
    not dynamic_export_supported(), reason='this torch has no torch.export.Dim.DYNAMIC(min, max) (torch 2.6 lacks it)')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

TINY_CONFIG = '''
_base_ = [{base!r}]
model = dict(backbone=dict(
    arch=dict(_delete_=True, embed_dims=[16, 32, 32, 32], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 4]),
    out_indices=(0, 1, 2, 3), {extra}))
'''


@needs_dynamic_export
@pytest.mark.parametrize('extra', ['num_clusters=(32, 8, 2, None)', 'cluster_size=20'],
                         ids=['paper_clusters', 'cluster_size'])
def test_secvit_backbone_exports_with_dynamic_size(tmp_path, extra):
    from tools.deploy.export_onnx import main
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(base=osp.join(ROOT, 'configs', 'secvit_t_in1k.py'), extra=extra))
    out = tmp_path / 'secvit.onnx'
    report = main([str(config), str(out), '--shape', '96', '128', '--verify'])
    assert out.is_file()
    sizes = {r['size'] for r in report}
    assert sizes == {(96, 128), (133, 99)}  # 133x99: 34x25 = 850 stage-1 tokens, 850 % 32 != 0
    assert len(report) == 8
    assert max(r['max_rel_diff'] for r in report) <= 1e-4


def test_eager_layout_is_unchanged_by_the_symbolic_path():
    from secvit_mm.models.layers.sec_attention import cluster_layout
    assert tuple(cluster_layout(9, 4)) == (9, 3, 3)
    assert tuple(cluster_layout(850, 32)) == (850, 32, 27)
    assert tuple(cluster_layout(850, cluster_size=98)) == (850, 9, 95)
    assert tuple(cluster_layout(49)) == (49, 1, 49)


CEIT_CONFIG = '''
_base_ = [{base!r}]
model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=4, num_heads=2), {extra}))
'''


@needs_dynamic_export
@pytest.mark.parametrize('extra', ["out_type='cls'", "out_type='featmap', out_indices=(0, 1, 2, 3)"],
                         ids=['cls', 'featmap'])
def test_ceit_exports_with_dynamic_size_resizing_the_position_embedding(tmp_path, extra):
    """The 224 export must not freeze the position embedding to the 14x14 grid: the second size
    (261x195, padded to a 17x13 grid) has to go through the on-the-fly resize in the graph."""
    from tools.deploy.export_onnx import main
    config = tmp_path / 'tiny_ceit.py'
    config.write_text(CEIT_CONFIG.format(base=osp.join(ROOT, 'configs', 'ceit_t_in1k.py'), extra=extra))
    out = tmp_path / 'ceit.onnx'
    report = main([str(config), str(out), '--shape', '224', '224', '--verify'])
    assert {r['size'] for r in report} == {(224, 224), (261, 195)}
    assert max(r['max_rel_diff'] for r in report) <= 1e-4


OTHER_SEC_BACKBONES = {
    'sec_swin': ('sec_swin_t_in1k.py',
                 "arch=dict(_delete_=True, embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2]), "
                 "out_indices=(0, 1, 2, 3)"),
    'sec_fastervit': ('sec_fastervit_0_in1k.py',
                      "arch=dict(_delete_=True, dim=16, in_dim=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2]), "
                      "out_indices=(0, 1, 2, 3)"),
}


@needs_dynamic_export
@pytest.mark.parametrize('name', sorted(OTHER_SEC_BACKBONES))
def test_other_sec_backbones_export_with_dynamic_size(tmp_path, name):
    from tools.deploy.export_onnx import main
    base, backbone = OTHER_SEC_BACKBONES[name]
    config = tmp_path / f'tiny_{name}.py'
    config.write_text(f'_base_ = [{osp.join(ROOT, "configs", base)!r}]\n'
                      f'model = dict(backbone=dict({backbone}))\n')
    report = main([str(config), str(tmp_path / f'{name}.onnx'), '--shape', '96', '128', '--verify'])
    assert {r['size'] for r in report} == {(96, 128), (133, 99)}
    assert len(report) == 8
    assert max(r['max_rel_diff'] for r in report) <= 1e-4


def test_export_on_a_torch_without_bounded_dynamic_dims_is_refused_with_the_way_out(monkeypatch):
    import torch

    from tools.deploy import export_onnx
    monkeypatch.setattr(torch.export.Dim, 'DYNAMIC', object(), raising=False)  # torch 2.6's kind: not callable
    with pytest.raises(SystemExit) as err:
        export_onnx.require_onnx_packages(verify=False, legacy=False)
    assert 'needs a newer torch' in str(err.value) and '--legacy' in str(err.value)
