"""What the tools print: a known third-party warning is hidden (and nothing else), and a missing
optional package names the extra that brings it."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

SCRIPT = '''
import subprocess, sys, warnings
{quiet}
from mmengine.utils import is_installed
is_installed('mmdet')  # reloads pkg_resources, which warns each time
child = subprocess.run([sys.executable, '-c', 'from mmengine.utils import is_installed; is_installed("mmdet")'],
                       capture_output=True, text=True)
sys.stderr.write(child.stderr)
warnings.warn('an unrelated warning')
'''


def run_script(quiet: bool) -> str:
    code = SCRIPT.format(quiet='from tools import quiet' if quiet else '')
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop('PYTHONWARNINGS', None)
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stderr


def test_tools_hide_the_pkg_resources_warning_in_their_own_and_child_processes_only():
    assert run_script(quiet=False).count('pkg_resources is deprecated') >= 2  # the warning is real here
    quiet = run_script(quiet=True)
    assert 'pkg_resources is deprecated' not in quiet
    assert 'an unrelated warning' in quiet


def test_every_tool_that_imports_openmmlab_imports_the_filter_first():
    for tool in ('train.py', 'test.py', 'infer.py', 'get_flops.py', 'visualize_clusters.py', 'convert_secvit.py',
                 'benchmark.py', 'model_zoo.py', 'deploy/export_onnx.py'):
        text = open(osp.join(ROOT, 'tools', tool)).read()
        heavy = [text.find(s) for s in ('\nfrom mmengine', '\nimport torch', '\nfrom secvit_mm') if s in text]
        quiet = text.find('\nfrom tools import quiet')
        assert quiet > 0 and all(quiet < pos for pos in heavy), tool


def test_export_onnx_names_the_extra_to_install_when_an_onnx_package_is_missing(monkeypatch):
    from tools.deploy import export_onnx
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'onnxscript' else real(name, *a) or object())
    with pytest.raises(SystemExit) as exit_info:
        export_onnx.main(['configs/secvit_t_in1k.py', 'never_written.onnx'])
    message = str(exit_info.value)
    assert 'needs onnxscript' in message and 'pip install -e .[onnx]' in message
    assert 'tools/install.sh --with-onnx' in message
    assert not osp.exists('never_written.onnx')
    export_onnx.require_onnx_packages(verify=False, legacy=True)  # the TorchScript path needs no onnxscript


def test_demo_summary_prints_untrained_trained_and_tta_columns(tmp_path, capsys, monkeypatch):
    from tools import demo_summary
    logs = {}
    for name, ap in (('untrained', 0.01), ('trained', 0.3), ('tta', 0.4)):
        logs[name] = tmp_path / f'{name}.log'
        logs[name].write_text(f'Epoch(test) [4/4]    coco/bbox_mAP: {ap:.4f}  coco/bbox_mAP_50: {ap + 0.2:.4f}  '
                              f'coco/segm_mAP: {ap - 0.01:.4f}  coco/segm_mAP_50: {ap + 0.1:.4f}\n')
    monkeypatch.setattr(sys, 'argv', ['demo_summary.py', str(logs['untrained']), str(logs['trained']),
                                      '--tta-log', str(logs['tta'])])
    demo_summary.main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ['metric', 'untrained', 'trained', 'trained+TTA']
    assert lines[1].split() == ['bbox_mAP', '0.010', '0.300', '0.400']
    assert lines[2].split() == ['bbox_mAP_50', '0.210', '0.500', '0.600']
