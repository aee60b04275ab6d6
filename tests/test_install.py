"""tools/install.sh plans CPU and CUDA installs without a GPU; version ranges are enforced at import."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from secvit_mm.version import REQUIREMENTS, check_requirements

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VENV = sys.prefix  # the venv running the tests (tools/install.sh made it)


def install(*args, env=None):
    full_env = {k: v for k, v in os.environ.items() if k != 'TORCH_CUDA_ARCH_LIST'}
    full_env.update(env or {})
    return subprocess.run(['bash', osp.join(ROOT, 'tools', 'install.sh'), *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


PLAN_KEYS = ('venv', 'python', 'torch', 'flavour', 'CUDA', 'arch list', 'nvcc', 'C++ standard', 'cache key',
             'cache path', 'mmcv', 'pip source')


def plan_of(out: str) -> dict:
    """The dry run's plan lines ('  cache key     torch-...') as a dict."""
    plan = {}
    for line in out.splitlines():
        for key in PLAN_KEYS:
            if line.startswith(f'  {key} '):
                plan[key] = line[len(key) + 2:].strip()
    return plan


needs_cuda_torch = pytest.mark.skipif(not torch.version.cuda, reason='the venv holds a CPU-only torch build')


@needs_cuda_torch
def test_cuda_dry_run_without_a_gpu_names_the_cuda_cache_key_and_the_arch_list():
    proc = install('--cuda', '--dry-run', '--venv', VENV, env=dict(TORCH_CUDA_ARCH_LIST='9.0'))
    assert proc.returncode == 0, proc.stderr
    plan = plan_of(proc.stdout)
    cuda_tag = 'cu' + torch.version.cuda.replace('.', '')
    py = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    assert plan['cache key'] == f"torch-{torch.__version__.split('+')[0]}-{py}-{cuda_tag}-sm90", proc.stdout
    assert plan['arch list'].startswith('9.0 (TORCH_CUDA_ARCH_LIST)'), proc.stdout
    assert plan['flavour'] == 'cuda (--cuda)'


@needs_cuda_torch
@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible: its archs are the default')
def test_cuda_dry_run_without_a_gpu_defaults_to_the_archs_torch_was_built_for():
    proc = install('--cuda', '--dry-run', '--venv', VENV)
    assert proc.returncode == 0, proc.stderr
    plan = plan_of(proc.stdout)
    assert "torch's own list" in plan['arch list'], proc.stdout
    assert '9.0' in plan['arch list'] and '-sm' in plan['cache key'] and '90' in plan['cache key'], proc.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason='with a GPU visible the default flavour is cuda')
def test_default_dry_run_on_a_machine_without_a_gpu_plans_the_cpu_flavour_and_changes_nothing(tmp_path):
    venv = tmp_path / 'venv'
    proc = install('--dry-run', '--venv', str(venv), env=dict(SECVIT_MM_CACHE=str(tmp_path / 'cache')))
    assert proc.returncode == 0, proc.stderr
    plan = plan_of(proc.stdout)
    assert plan['flavour'] == 'cpu (no GPU visible to torch)' and plan['cache key'].endswith('-cpu'), proc.stdout
    assert plan['venv'].endswith('(would be created)') and plan['mmcv'].startswith('would compile mmcv'), proc.stdout
    assert not venv.exists() and not (tmp_path / 'cache').exists(), 'a dry run created files'


def test_install_refuses_an_unknown_option_and_names_the_help():
    proc = install('--gpu')
    assert proc.returncode != 0
    assert 'unknown option --gpu' in proc.stderr and '--help' in proc.stderr


def test_mmcv_ops_check_refuses_a_cpu_only_mmcv_for_the_cuda_flavour():
    from mmcv.ops import get_compiling_cuda_version
    if get_compiling_cuda_version() != 'not available':
        pytest.skip('this mmcv was built with CUDA ops')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'check_mmcv_ops.py'), 'cuda'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert 'WITHOUT CUDA ops' in proc.stderr and 'install.sh --cuda' in proc.stderr


def test_mmcv_ops_check_runs_nms_and_roi_align_for_the_cpu_flavour():
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'check_mmcv_ops.py'), 'cpu'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('mmcv 2.1.0 ops OK on cpu')


def test_requirements_are_ranges_that_admit_the_verified_stack():
    import importlib.metadata as metadata
    for name, spec in REQUIREMENTS.items():
        assert '==' not in spec, f'{name}{spec} is a pin, not a range'
    check_requirements({name: metadata.version(name) for name in REQUIREMENTS})  # the installed stack


@pytest.mark.parametrize('name,version', [('mmengine', '0.11.0'), ('mmengine', '0.9.1'), ('mmcv', '2.2.0'),
                                          ('torch', '2.5.1')])
def test_an_unsupported_version_is_refused_with_the_supported_range(name, version):
    with pytest.raises(ImportError) as err:
        check_requirements({name: version})
    assert f'{name} {version} (supported: {name}{REQUIREMENTS[name]})' in str(err.value)


def test_import_secvit_mm_refuses_an_installed_mmengine_outside_the_range(tmp_path):
    # A distribution record of mmengine 0.11.0 ahead of the real one on sys.path: what
    # importlib.metadata (and pip) would report in an environment with that version.
    meta = tmp_path / 'mmengine-0.11.0.dist-info'
    meta.mkdir()
    (meta / 'METADATA').write_text('Metadata-Version: 2.1\nName: mmengine\nVersion: 0.11.0\n')
    proc = subprocess.run([sys.executable, '-c', 'import secvit_mm'], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT])))
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: secvit-mm') and 'mmengine 0.11.0 (supported: mmengine>=0.10' in last, last
