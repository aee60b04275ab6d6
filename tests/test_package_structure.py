"""The package's shape, read from its source with ``ast``: no import cycles, one error module, one exit.

Nothing here imports the package; the rules are checked on the files, so a new module, tool or
``raise`` that breaks one fails here with its file and line.
"""
import ast
import builtins
import os
import os.path as osp
from typing import Dict, Iterator, List, Set, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = 'secvit_mm'

# Builtin exceptions a ``raise`` may still name, each only where it is a programming error or a
# protocol with other code, never a refusal a user is meant to read as one line.
ALLOWED_BUILTINS = {
    # An internal invariant broke: a bug of ours, a traceback is what a bug report needs.
    'AssertionError': ('',),
    # An abstract method.
    'NotImplementedError': ('',),
    # Raised while ``import secvit_mm`` runs (the version check), before the errors could matter;
    # Python and pip report it as the ImportError it has to be.
    'ImportError': ('secvit_mm/version.py',),
    # Raised inside torch's weights-only unpickler, which expects exactly this type.
    'pickle.UnpicklingError': ('secvit_mm/utils/safe_load.py',),
    # Argument errors of the Python model API (SecViT(arch='huge'), a typo in a keyword): the
    # caller's programming error; mmengine's registry re-raises them naming the class when a config
    # builds the model. secvit_mm/core/ is the pure-torch model core (timm users get the builtins
    # torch modules raise), secvit_mm/models/ its mm shells.
    # secvit_mm/utils/progress.py is loaded by file path by tools/progress.py while mmcv is being
    # built, so it cannot import secvit_mm.errors; its ValueError is a caller's bad `kind`. Likewise
    # secvit_mm/utils/unity_build.py (tools/mmcv_unity.py): its ValueError says the sdist is not one it
    # was made for, and install.sh then builds mmcv file by file.
    'ValueError': ('secvit_mm/core/', 'secvit_mm/models/', 'secvit_mm/testing/', 'secvit_mm/utils/progress.py',
                   'secvit_mm/utils/unity_build.py'),
    'TypeError': ('secvit_mm/core/', 'secvit_mm/models/', 'secvit_mm/testing/'),
    # A test helper's lookup of a key the released layout must have.
    'KeyError': ('secvit_mm/testing/',),
}
# Import edges left out of the cycle check, and why (none: the converters sit beside their models).
EXEMPT_EDGES = set()
# Tools that cannot go through secvit_mm.cli, and why.
NOT_THROUGH_RUN_CLI = {
    # Run by tools/install.sh to check mmcv before the package can be imported at all.
    'tools/check_mmcv_ops.py',
    # Run by tools/install.sh while mmcv is being built; it exits with the status of the command it
    # wraps (a failed build's report is its own output, not an error of secvit_mm.errors).
    'tools/progress.py',
    # Run by tools/install.sh on mmcv's source before mmcv is installed; exit 1 tells install.sh to
    # build file by file.
    'tools/mmcv_unity.py',
    # Snapshots the configs of any checkout, also one whose package has no secvit_mm.cli yet.
    'tools/dev/config_snapshot.py',
}


def _python_files(*tops: str) -> Iterator[str]:
    for top in tops:
        for root, _, names in os.walk(osp.join(ROOT, top)):
            for name in sorted(names):
                if name.endswith('.py'):
                    yield osp.relpath(osp.join(root, name), ROOT)


def _module_name(path: str) -> str:
    parts = path[:-3].split(os.sep)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(path: str, modules: Set[str]) -> Iterator[Tuple[str, int]]:
    """(module of the package, line) for every import in ``path``, also inside functions."""
    name = _module_name(path)
    package = name if path.endswith('__init__.py') else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(open(osp.join(ROOT, path)).read(), path)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            # ``from pkg import sub`` imports the submodule ``pkg.sub``.
            targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            if target == PACKAGE or not target.startswith(PACKAGE + '.'):
                continue
            # Importing a.b.c runs a/b/__init__.py too, unless it is being imported already (an
            # ancestor of the importing module).
            parts = target.split('.')
            for i in range(2, len(parts) + 1):
                prefix = '.'.join(parts[:i])
                if prefix in modules and not (name + '.').startswith(prefix + '.'):
                    yield prefix, node.lineno


def _import_graph() -> Dict[str, Set[str]]:
    files = list(_python_files(PACKAGE))
    modules = {_module_name(f) for f in files}
    graph = {}
    for f in files:
        name = _module_name(f)
        graph[name] = {t for t, _ in _imports(f, modules)
                       if t != name and not any(name == a and t.startswith(b) for a, b in EXEMPT_EDGES)}
    return graph


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 'open':
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    graph = _import_graph()
    assert 'secvit_mm.checks.data' in graph and 'secvit_mm.apis.runner' in graph  # the walk sees the package
    assert 'secvit_mm.checks.preflight' in graph['secvit_mm.checks.data']
    cycles = _cycles(graph)
    assert not cycles, '\n'.join(' -> '.join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle_through_a_package_init():
    graph = {'p.a': {'p'}, 'p': {'p.b'}, 'p.b': {'p.a'}, 'p.c': set()}
    assert _cycles(graph) == [['p', 'p.b', 'p.a', 'p']]


def _error_classes() -> Set[str]:
    tree = ast.parse(open(osp.join(ROOT, PACKAGE, 'errors.py')).read())
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def _raised(path: str) -> Iterator[Tuple[str, int]]:
    for node in ast.walk(ast.parse(open(osp.join(ROOT, path)).read(), path)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            yield ast.unparse(node.exc.func), node.lineno


def test_every_exception_raised_on_purpose_is_defined_in_the_errors_module():
    defined = _error_classes()
    assert {'SecvitError', 'ConfigError', 'DataCheckError', 'CheckpointReadError', 'ToolExit'} <= defined
    wrong = []
    for path in _python_files(PACKAGE, 'tools'):
        for name, line in _raised(path):
            if name in defined:
                continue
            where = ALLOWED_BUILTINS.get(name)
            if where is not None and any(path.startswith(prefix) for prefix in where):
                continue
            kind = 'a builtin not allowed here' if hasattr(builtins, name) or name in ALLOWED_BUILTINS else 'not in errors.py'
            wrong.append(f'{path}:{line}: raise {name}(...) ({kind})')
    assert not wrong, 'define the class in secvit_mm/errors.py (see its docstring):\n' + '\n'.join(wrong)


def test_every_error_class_names_its_exit_code_through_its_base():
    errors = {}
    exec(compile(open(osp.join(ROOT, PACKAGE, 'errors.py')).read(), 'errors.py', 'exec'), errors)
    codes = {errors[name] for name in errors if name.startswith('EXIT_')}
    for name in _error_classes():
        cls = errors[name]
        if cls is errors['ToolExit']:
            continue
        assert issubclass(cls, errors['SecvitError']), name
        assert cls.exit_code in codes, name
        assert cls.__doc__, f'{name} has no docstring saying when it is raised'


def _main_block(tree: ast.Module):
    for node in tree.body:
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
                and ast.unparse(node.test) in ("__name__ == '__main__'", '__name__ == "__main__"')):
            return node
    return None


def test_every_tool_exits_through_the_one_cli_wrapper():
    tools = [p for p in _python_files('tools') if not p.endswith('__init__.py')]
    checked = []
    for path in tools:
        tree = ast.parse(open(osp.join(ROOT, path)).read(), path)
        block = _main_block(tree)
        if block is None:
            continue  # a helper module (tools/quiet.py), not a tool
        if path in NOT_THROUGH_RUN_CLI:
            continue
        last = ast.unparse(block.body[-1])
        assert last == 'sys.exit(run_cli(main))', f'{path}: the tool ends with {last!r}'
        checked.append(path)
    assert {'tools/train.py', 'tools/test.py', 'tools/infer.py', 'tools/make_demo_data.py',
            'tools/convert_secvit.py', 'tools/deploy/export_onnx.py'} <= set(checked)
