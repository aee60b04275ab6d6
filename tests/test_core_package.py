"""The pure-torch core: what it imports, no import cycles, and secvit_mm without OpenMMLab."""
import ast
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CORE = osp.join(ROOT, 'secvit_mm', 'core')
MM_PACKAGES = ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')


def module_imports(package_dir: str, package: str) -> dict:
    """module -> the absolute names it imports (relative imports resolved), for every file of a package."""
    graph = {}
    for name in sorted(os.listdir(package_dir)):
        if not name.endswith('.py'):
            continue
        module = package if name == '__init__.py' else f'{package}.{name[:-3]}'
        parent = package.split('.')
        imports = set()
        with open(osp.join(package_dir, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = parent[:len(parent) - node.level + 1] if node.level else []
                target = '.'.join(base + ([node.module] if node.module else []))
                imports.add(target)
                if not node.module:  # from . import x
                    imports.update(f'{target}.{alias.name}' for alias in node.names)
        graph[module] = imports
    return graph


def test_the_core_imports_only_the_standard_library_torch_and_einops():
    allowed = set(sys.stdlib_module_names) | {'torch', 'einops', 'secvit_mm'}
    for module, imports in module_imports(CORE, 'secvit_mm.core').items():
        outside = sorted(i for i in imports if i.split('.')[0] not in allowed)
        assert not outside, f'{module} imports {outside}'
        leaving = sorted(i for i in imports if i.startswith('secvit_mm.') and not i.startswith('secvit_mm.core'))
        assert not leaving, f'{module} imports {leaving} from outside the core'


def _cycle(graph: dict):
    state = {}

    def visit(node, path):
        state[node] = 'open'
        for dep in sorted(graph.get(node, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 'open':
                return path + [node, dep]
            if dep not in state:
                found = visit(dep, path + [node])
                if found:
                    return found
        state[node] = 'done'
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_no_import_cycle_inside_the_core_or_the_mm_models():
    graph = module_imports(CORE, 'secvit_mm.core')
    models = osp.join(ROOT, 'secvit_mm', 'models')
    for sub in ('', 'backbones', 'converters', 'layers', 'necks'):
        package = 'secvit_mm.models' + (f'.{sub}' if sub else '')
        graph.update(module_imports(osp.join(models, sub), package))
    # a package's own __init__ importing its modules is how packages work, not a cycle
    # (and ``from . import x`` names the package itself: not an edge either)
    edges = {m: {d for d in deps if d != m and not m.startswith(d + '.')} for m, deps in graph.items()}
    assert _cycle(edges) is None, f'import cycle: {" -> ".join(_cycle(edges))}'


BLOCK_MM = f'''
import sys
class BlockOpenMMLab:
    """Makes the OpenMMLab packages unimportable, as in an environment without them."""
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {MM_PACKAGES!r}:
            raise ImportError(f'No module named {{name!r}}', name=name)
        return None
sys.meta_path.insert(0, BlockOpenMMLab())
'''


def run_without_mm(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-c', BLOCK_MM + code], capture_output=True, text=True, timeout=300,
                          env=env, cwd=osp.dirname(ROOT))


def test_without_openmmlab_secvit_mm_imports_and_timm_builds_a_features_only_secvit():
    proc = run_without_mm('''
import torch, timm, secvit_mm
assert not secvit_mm.mm_available()
model = timm.create_model('secvit_tiny', features_only=True).eval()
with torch.no_grad():
    maps = model(torch.randn(1, 3, 64, 96))
print([tuple(m.shape) for m in maps])
print(sorted(m for m in sys.modules if m.split('.')[0] in ('mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain')))
''')
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines == ['[(1, 64, 16, 24), (1, 128, 8, 12), (1, 256, 4, 6), (1, 512, 2, 3)]', '[]'], proc.stdout


def test_without_openmmlab_asking_for_the_mm_backbones_says_what_to_install():
    proc = run_without_mm('import secvit_mm.models')
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    # MissingDependencyError is an ImportError (secvit_mm/errors.py).
    assert last == ("secvit_mm.errors.MissingDependencyError: secvit_mm.models needs the OpenMMLab stack (mmcv is not importable): "
                    "pip install 'secvit-mm[mm]' (the OpenMMLab stack; or bash tools/install.sh for the verified one)"), last
