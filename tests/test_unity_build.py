"""The unity build of mmcv's CPU ops (secvit_mm.utils.unity_build through tools/mmcv_unity.py): files that
would change each other's meaning never share a translation unit, and the built code computes what the
file-by-file build computes."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from secvit_mm.utils.unity_build import UnitySource, apply_unity_build, plan_units, top_level_names

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# The CPU-only branch of mmcv 2.1.0's setup.py, with the DIOPI branch before it (same two globs).
SETUP_PY = '''\
import glob
def get_extensions():
    if os.getenv('DIOPI') == '1':
        if True:
            op_files = glob.glob('./mmcv/ops/csrc/pytorch/*.cpp') + \\
                glob.glob('./mmcv/ops/csrc/pytorch/cpu/*.cpp')
            extension = CppExtension
        else:
            print(f'Compiling {ext_name} only with CPU')
            op_files = glob.glob('./mmcv/ops/csrc/pytorch/*.cpp') + \\
                glob.glob('./mmcv/ops/csrc/pytorch/cpu/*.cpp')
            extension = CppExtension
    return op_files
'''

# Two files whose helpers share a name with other parameter types: in one translation unit, b.cpp's
# `helper(1)` would call a.cpp's `helper(int)` (b's own takes a double) and return 2 instead of 11.
SOURCES = {
    'mmcv/ops/csrc/pytorch/a.cpp': '''\
#include "helper.hpp"
static int helper(int x) { return x + 1; }
int a_value() { return helper(1); }
''',
    'mmcv/ops/csrc/pytorch/cpu/b.cpp': '''\
#include "helper.hpp"
static int helper(double x) { return int(x) + 10; }
int b_value() { return helper(1); }
''',
    # psamask.cpp does this: its macros must not reach the files after it.
    'mmcv/ops/csrc/pytorch/cpu/c.cpp': '''\
#include <algorithm>
#define min(a, b) (((a) < (b)) ? (a) : (b))
int c_value() { return min(3, 4); }
''',
    'mmcv/ops/csrc/pytorch/d.cpp': '''\
#include <algorithm>
int d_value() { return std::min(7, 5); }
''',
    'mmcv/ops/csrc/pytorch/e.cpp': '''\
#include <string>
using namespace std;
int e_value() { return int(string("abc").size()); }
''',
}
MAIN = '''\
#include <cstdio>
int a_value(); int b_value(); int c_value(); int d_value(); int e_value();
int main() { std::printf("%d %d %d %d %d\\n", a_value(), b_value(), c_value(), d_value(), e_value()); }
'''


def _sdist(tmp_path) -> str:
    root = tmp_path / 'mmcv-2.1.0'
    for rel, text in SOURCES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / 'mmcv/ops/csrc/common').mkdir(parents=True)
    (root / 'mmcv/ops/csrc/common/helper.hpp').write_text('#pragma once\n')
    (root / 'setup.py').write_text(SETUP_PY)
    return str(root)


def _tree(root: str) -> dict:
    out = {}
    for base, _, names in os.walk(root):
        for name in names:
            with open(osp.join(base, name)) as f:
                out[osp.relpath(osp.join(base, name), root)] = f.read()
    return out


def test_top_level_names_lists_definitions_types_and_variables_but_not_prototypes_or_macro_calls():
    code = '''
        template <typename T, int N> T interpolate(const T* x, int n) { return x[0]; }
        struct PreCalc { int pos1; };
        static const int kLanes[] = {1, 2};
        using Index = long;
        Tensor nms(Tensor boxes, float iou);
        REGISTER_DEVICE_IMPL(nms_impl, CPU, nms_cpu);
        namespace functor { void fill(int* x) { x[0] = 0; } }
        void launcher(int n) { int local = n; { int deeper = local; } }
    '''
    names, using_namespace = top_level_names(code)
    assert names == {'interpolate', 'PreCalc', 'kLanes', 'Index', 'fill', 'launcher'}
    assert not using_namespace
    assert top_level_names('using namespace std; int f() { return 1; }') == ({'f'}, True)


def test_files_defining_a_common_name_never_share_a_unit_and_using_namespace_comes_last():
    sources = [UnitySource(rel, text) for rel, text in SOURCES.items()]
    for units in (1, 2, 3):
        plan = plan_units(sources, units)
        assert sorted(s.path for unit in plan for s in unit) == sorted(SOURCES)
        for unit in plan:
            paths = [s.path for s in unit]
            assert not ('mmcv/ops/csrc/pytorch/a.cpp' in paths and 'mmcv/ops/csrc/pytorch/cpu/b.cpp' in paths)
            if 'mmcv/ops/csrc/pytorch/e.cpp' in paths:
                assert paths[-1] == 'mmcv/ops/csrc/pytorch/e.cpp'
    assert len(plan_units(sources, 1)) == 2  # one unit asked for; the conflict needs a second


def test_apply_unity_build_points_the_cpu_branch_at_the_units_and_leaves_the_sources_and_other_branches(tmp_path):
    root = _sdist(tmp_path)
    before = _tree(root)
    plan = apply_unity_build(root, units=2)
    after = _tree(root)
    assert sorted(sum(plan, [])) == sorted(SOURCES)
    for rel in SOURCES:
        assert after[rel] == before[rel]  # the wheel ships mmcv's sources as they were
    setup = after['setup.py']
    assert setup.count("op_files = sorted(glob.glob('./secvit_mm_unity/*.cpp'))") == 1
    # the DIOPI branch keeps its globs; the CPU branch's message stays before its new list
    assert setup.count("glob.glob('./mmcv/ops/csrc/pytorch/cpu/*.cpp')") == 1
    assert "only with CPU')\n            op_files = sorted(" in setup
    units = sorted(k for k in after if k.startswith('secvit_mm_unity/'))
    assert len(units) == len(plan) >= 2
    assert '#undef min' in ''.join(after[k] for k in units)


def test_a_second_apply_or_another_setup_py_is_refused_and_changes_nothing(tmp_path):
    root = _sdist(tmp_path)
    apply_unity_build(root)
    before = _tree(root)
    with pytest.raises(ValueError, match='CPU-only source lists of the expected form'):
        apply_unity_build(root)
    assert _tree(root) == before
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'mmcv_unity.py'), str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith('no unity build:') and 'setup.py' in proc.stderr


@pytest.mark.skipif(shutil.which('g++') is None, reason='needs g++ (the compiler mmcv builds with)')
def test_the_unity_build_computes_what_the_file_by_file_build_computes(tmp_path):
    root = _sdist(tmp_path)
    (tmp_path / 'main.cpp').write_text(MAIN)
    include = ['-I', osp.join(root, 'mmcv/ops/csrc/common')]

    def run(sources, name):
        exe = str(tmp_path / name)
        subprocess.run(['g++', '-std=c++17', '-O1', *include, *sources, str(tmp_path / 'main.cpp'), '-o', exe],
                       check=True, capture_output=True, text=True)
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout

    file_by_file = run([osp.join(root, rel) for rel in SOURCES], 'file_by_file')
    assert file_by_file == '2 11 3 5 3\n'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'mmcv_unity.py'), root, '--units', '1'],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('unity build: 5 files of CPU ops in 2 translation units')
    units = sorted(osp.join(root, 'secvit_mm_unity', n) for n in os.listdir(osp.join(root, 'secvit_mm_unity')))
    assert run(units, 'unity') == file_by_file
