"""Unity build of mmcv's C++ ops: many source files compiled as a few translation units.

Why: with debug info off, about 85% of an mmcv op file's compile time is g++ parsing torch's headers
(``torch/extension.h``), again for each of the 77 files of a CPU build (docs/install.md). Including
the files into a few "unity" sources parses the headers once per unity source instead.

What can go wrong when files share a translation unit, and what this module does about it:

- Two files define the same name (a helper template, a struct, a constant): a redefinition error,
  or worse, two overloads of which a call picks the other file's. The files' top-level definitions
  are read here (:func:`top_level_names`) and two files defining a common name never share a unity
  source.
- A file's macros leak into the files after it (``cpu/psamask.cpp`` defines ``min`` / ``max``):
  each macro a file defines is ``#undef``-ed right after it.
- A ``using namespace`` directive leaks the same way: such a file goes last in its unity source.
- A ``#define`` before an ``#include`` would be silently lost once an earlier file included that
  header: such a file goes first in its unity source.

The plan depends only on the sources and the number of unity sources, so every machine builds the
same wheel from the same sdist. Pure python, no imports from this package or OpenMMLab:
``tools/install.sh`` runs it (through ``tools/mmcv_unity.py``) before mmcv exists.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from typing import List, Sequence, Set

__all__ = ['top_level_names', 'plan_units', 'apply_unity_build', 'UnitySource']

# the sources setup.py of mmcv 2.x globs for a CPU build, relative to the sdist's root
CPU_SOURCE_DIRS = ('mmcv/ops/csrc/pytorch', 'mmcv/ops/csrc/pytorch/cpu')
# outside the mmcv package, so the wheel does not ship the unity sources
UNIT_DIR = 'secvit_mm_unity'
# mmcv 2.1.0 setup.py, CPU-only branch: its message, then `op_files = glob(pytorch/*.cpp) +
# glob(pytorch/cpu/*.cpp)` (the DIOPI, MPS and NPU branches have the same two globs)
_CPU_SOURCE_LIST = re.compile(
    r"(print\(f'Compiling \{ext_name\} only with CPU'\)\n)"
    r"([ \t]*)op_files = glob\.glob\('\./mmcv/ops/csrc/pytorch/\*\.cpp'\) \+ \\\n"
    r"[ \t]*glob\.glob\('\./mmcv/ops/csrc/pytorch/cpu/\*\.cpp'\)\n")

_COMMENTS_AND_LITERALS = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_DEFINE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+(\w+)', re.M)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include\b', re.M)
_DIRECTIVE = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)
_USING_NAMESPACE = re.compile(r'\busing\s+namespace\b')
_TYPE_HEAD = re.compile(r'\b(?:struct|class|union|enum(?:\s+class)?)\s+(\w+)')
_IDENT = re.compile(r'[A-Za-z_]\w*')
_KEYWORDS = {'const', 'constexpr', 'static', 'inline', 'extern', 'volatile', 'unsigned', 'signed',
             'operator', 'template', 'typename', 'return', 'namespace', 'using', 'typedef'}


class UnitySource:
    """What a unity build needs to know of one source file.

    Args:
        path (str): the file, relative to the sdist's root.
        text (str): its contents.
    """

    def __init__(self, path: str, text: str):
        self.path = path
        self.size = len(text)
        code = _COMMENTS_AND_LITERALS.sub(lambda m: ' ' if m.group(0)[0] == '/' else '""', text)
        self.macros = sorted(set(_DEFINE.findall(code)))
        includes = [m.start() for m in _INCLUDE.finditer(code)]
        defines = [m.start() for m in _DEFINE.finditer(code)]
        # a define that headers included after it may read: it must see the headers first
        self.define_before_include = bool(defines and includes and min(defines) < max(includes))
        body = _DIRECTIVE.sub(' ', code)
        self.names, self.using_namespace = top_level_names(body)
        self.names |= set(self.macros)


def _strip_template_heads(text: str) -> str:
    """``template <typename T, int N> T f(...)`` -> ``T f(...)`` (angle brackets balanced)."""
    out, i = [], 0
    while True:
        m = re.search(r'\btemplate\s*<', text[i:])
        if not m:
            out.append(text[i:])
            return ''.join(out)
        out.append(text[i:i + m.start()])
        j, depth = i + m.end(), 1
        while j < len(text) and depth:
            depth += {'<': 1, '>': -1}.get(text[j], 0)
            j += 1
        i = j


def _declared_name(head: str, definition: bool) -> str:
    """The name a top-level declaration introduces, or '' when it introduces none of interest."""
    head = _strip_template_heads(head).strip()
    if not head or head.startswith(('using namespace', 'namespace', 'extern "')):
        return ''
    if head.startswith('using '):  # using Alias = ...;
        m = re.match(r'using\s+(\w+)\s*=', head)
        return m.group(1) if m else ''
    if head.startswith('typedef'):
        idents = _IDENT.findall(head)
        return idents[-1] if idents else ''
    paren, equal = head.find('('), head.find('=')
    if equal != -1 and (paren == -1 or equal < paren):  # a variable: T name[...] = ...
        idents = [w for w in _IDENT.findall(head[:equal]) if w not in _KEYWORDS]
        return idents[-1] if idents else ''
    m = _TYPE_HEAD.search(head)
    if m and (paren == -1 or m.start() < paren):
        return m.group(1)
    if paren != -1:
        if not definition:
            return ''  # a prototype or a macro call (REGISTER_DEVICE_IMPL(...);), defined elsewhere
        idents = [w for w in _IDENT.findall(head[:paren]) if w not in _KEYWORDS]
        return idents[-1] if idents else ''
    idents = [w for w in _IDENT.findall(head) if w not in _KEYWORDS]  # int counter;
    return idents[-1] if len(idents) >= 2 else ''


def top_level_names(code: str):
    """The names a C++ file defines at namespace scope, and whether it has a ``using namespace``.

    Namespace bodies count as top level (conservative: the same name in two namespaces of two files
    is also kept apart).

    Args:
        code (str): the file with its comments, string literals and preprocessor lines removed.

    Returns:
        tuple[set[str], bool]: the names (functions, types, variables, aliases), and whether a
        ``using namespace`` directive stands at namespace scope.
    """
    names: Set[str] = set()
    using_namespace = False
    depth, head, opened = 0, [], []  # opened: for each open brace, whether it is a namespace's
    for ch in code:
        if depth == sum(opened):  # at namespace scope (namespace braces are transparent)
            if ch == ';':
                stmt = ''.join(head)
                if _USING_NAMESPACE.search(stmt):
                    using_namespace = True
                name = _declared_name(stmt, definition=False)
                if name:
                    names.add(name)
                head = []
                continue
            if ch == '{':
                stmt = ''.join(head).strip()
                is_namespace = bool(re.match(r'(namespace\b|extern\s*""\s*$)', stmt))
                if not is_namespace:
                    name = _declared_name(stmt, definition=True)
                    if name:
                        names.add(name)
                opened.append(is_namespace)
                depth += 1
                head = []
                continue
            if ch == '}':  # closes a namespace
                opened.pop()
                depth -= 1
                head = []
                continue
            head.append(ch)
            continue
        if ch == '{':
            opened.append(False)
            depth += 1
        elif ch == '}':
            opened.pop()
            depth -= 1
            if depth == sum(opened):
                head = []  # `struct X {...} x;` and `= {...};` end at the next ';', harmless
    return names, using_namespace


def plan_units(sources: Sequence[UnitySource], units: int) -> List[List[UnitySource]]:
    """Share the sources out among ``units`` unity sources.

    Largest first, each to the least loaded unity source holding no file that defines one of its
    names (a new unity source past ``units`` when every one conflicts). Within a unity source, a file
    with a ``#define`` before an ``#include`` comes first and one with ``using namespace`` last; two
    such files never share one.

    Args:
        sources (Sequence[UnitySource]): the files.
        units (int): how many unity sources to aim for (at least 1).

    Returns:
        list[list[UnitySource]]: the unity sources, each a list of files in inclusion order.
    """
    bins: List[List[UnitySource]] = [[] for _ in range(max(1, units))]
    for src in sorted(sources, key=lambda s: (-s.size, s.path)):
        def fits(b):
            return not any(src.names & other.names for other in b) and not (
                src.using_namespace and any(o.using_namespace for o in b)) and not (
                src.define_before_include and any(o.define_before_include for o in b))
        candidates = [k for k, b in enumerate(bins) if fits(b)]
        if not candidates:
            bins.append([])
            candidates = [len(bins) - 1]
        bins[min(candidates, key=lambda k: (sum(s.size for s in bins[k]), k))].append(src)
    order = []
    for b in bins:
        if b:
            order.append(sorted(b, key=lambda s: (not s.define_before_include, s.using_namespace, s.path)))
    return order


def _unit_text(unit_dir: str, files: Sequence[UnitySource]) -> str:
    lines = ['// Made by secvit_mm/utils/unity_build.py: these files of mmcv compile as one translation',
             '// unit (torch\'s headers parsed once); each file\'s own macros end with it.']
    for src in files:
        lines.append(f'#include "{osp.relpath(src.path, unit_dir).replace(os.sep, "/")}"')
        lines += [f'#undef {name}' for name in src.macros]
    return '\n'.join(lines) + '\n'


def _patch_setup(text: str, unit_dir: str) -> str:
    """setup.py with its CPU-only source list replaced by the unity sources."""
    found = _CPU_SOURCE_LIST.findall(text)
    if len(found) != 1:
        raise ValueError(f'setup.py has {len(found)} CPU-only source lists of the expected form, not 1: '
                         'not the mmcv 2.1.0 setup.py this unity build was made for')
    return _CPU_SOURCE_LIST.sub(
        lambda m: f"{m.group(1)}{m.group(2)}op_files = sorted(glob.glob('./{unit_dir}/*.cpp'))"
                  "  # secvit_mm unity build\n", text)


def apply_unity_build(root: str, units: int = 4, dirs: Sequence[str] = CPU_SOURCE_DIRS) -> List[List[str]]:
    """Turn an unpacked mmcv sdist's CPU-only build into a unity build, in place.

    Writes ``<root>/secvit_mm_unity/unity_<k>.cpp``, each including some of the ``*.cpp`` of ``dirs``,
    and points the CPU-only branch of setup.py at them. The original sources stay where they are:
    the wheel ships the same files (mmcv packages its C++ sources), only the library is built
    differently. The CUDA and other branches of setup.py are untouched.

    Args:
        root (str): the sdist's root (holds setup.py).
        units (int): how many unity sources to aim for. Default: 4 (2 cores: 69 s against 90 s for 8;
            the unit with pybind.cpp takes most of the time either way).
        dirs (Sequence[str]): the source directories, relative to ``root``. Default: mmcv's CPU ops.

    Returns:
        list[list[str]]: the files of each unity source, relative to ``root``.

    Raises:
        ValueError: setup.py or a directory of ``dirs`` is missing, there is no ``*.cpp``, or setup.py
            is not of the form this was written for; the sdist is left unchanged.
    """
    setup_py = osp.join(root, 'setup.py')
    if not osp.isfile(setup_py):
        raise ValueError(f'{setup_py} does not exist: not an unpacked mmcv sdist')
    sources = []
    for d in dirs:
        full = osp.join(root, d)
        if not osp.isdir(full):
            raise ValueError(f'{full} is not a directory: not an mmcv 2.x sdist?')
        for name in sorted(os.listdir(full)):
            if name.endswith('.cpp'):
                with open(osp.join(full, name), encoding='utf-8', errors='replace') as f:
                    sources.append(UnitySource(f'{d}/{name}', f.read()))
    if not sources:
        raise ValueError(f'no *.cpp under {", ".join(dirs)} of {root}: not an mmcv 2.x sdist?')
    with open(setup_py, encoding='utf-8') as f:
        patched = _patch_setup(f.read(), UNIT_DIR)
    plan = plan_units(sources, units)
    os.makedirs(osp.join(root, UNIT_DIR), exist_ok=True)
    for k, files in enumerate(plan):
        with open(osp.join(root, UNIT_DIR, f'unity_{k}.cpp'), 'w', encoding='utf-8') as f:
            f.write(_unit_text(UNIT_DIR, files))
    tmp = setup_py + '.secvit_mm.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(patched)
    os.replace(tmp, setup_py)
    return [[s.path for s in files] for files in plan]
