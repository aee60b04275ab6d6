"""Measure every config's parameters and FLOPs and write the model-zoo table of docs/model_zoo.md.

    python tools/model_zoo.py [--cache benchmark_results/model_zoo.json] [--only REGEX] [--dry-run]

Each config in ``configs/`` (flat; demo and ablation configs are left out) is analysed with
``tools/get_flops.py``'s ``analyze`` at the papers' input size (1280x800 COCO, 2048x512 ADE20K,
224x224 ImageNet), each model in its own subprocess. Configs that build the same model (1x / 3x)
are measured once. Results go to a JSON cache keyed by the model's config text, so an interrupted
run picks up where it stopped and a changed model is measured again. The table between the
``<!-- model-zoo:begin -->`` / ``<!-- model-zoo:end -->`` markers of docs/model_zoo.md is rewritten
(and the same table in README.md) from the cache; configs not measured yet are listed as such.
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools import quiet  # noqa: E402,F401  (first: hides known third-party warnings)
from secvit_mm.cli import run_cli  # noqa: E402
from secvit_mm.errors import InputError, ToolFailedError  # noqa: E402
from secvit_mm.families import FAMILIES, family_of_config, family_of_type  # noqa: E402

DOCS = (osp.join(ROOT, 'docs', 'model_zoo.md'), osp.join(ROOT, 'README.md'))
BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'
MODEL_NAMES = {'RetinaNet': 'RetinaNet', 'MaskRCNN': 'Mask R-CNN', 'CascadeRCNN': 'Cascade Mask R-CNN',
               'ImageClassifier': 'classifier'}
# Task configs first, then the classifier configs of each backbone family (secvit_mm.families).
FAMILY_ORDER = ('retinanet', 'mask_rcnn', 'cascade_mask_rcnn', 'upernet', 'semfpn') + tuple(f.name for f in FAMILIES)
SIZE_ORDER = {'t': 0, 's': 1, 'b': 2, 'l': 3, '0': 0, '1': 1}


def _order(config: str):
    name = osp.basename(config)[:-3]
    family = max((f for f in FAMILY_ORDER if name.startswith(f + '_')), key=len, default='')
    backbone = getattr(family_of_config(name), 'name', 'secvit')
    size = re.search(r'_([tsbl01])_', name + '_')
    return (FAMILY_ORDER.index(family) if family else 99, backbone != 'secvit', backbone,
            SIZE_ORDER.get(size.group(1), 9) if size else 9, name)


def list_configs() -> List[str]:
    return sorted((osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '*.py'))), key=_order)


def _num(x: float) -> str:
    """1e-4, 6e-5, 0.05: the way the papers write learning rates and weight decays."""
    if x and abs(x) < 1e-2:
        mantissa, exponent = f'{x:.0e}'.split('e')
        return f'{mantissa}e-{int(exponent[1:])}'
    return f'{x:g}'


def model_key(cfg) -> str:
    """Same key for configs that build the same model (e.g. a 1x and a 3x schedule)."""
    model = cfg.model.copy()
    if 'backbone' in model:
        model.backbone.pop('init_cfg', None)
    return hashlib.sha1(repr(sorted(model.to_dict().items(), key=str)).encode()).hexdigest()[:16]


def describe(cfg, path: str) -> Dict[str, str]:
    """Model, backbone and recipe in words, read off the config."""
    from secvit_mm.apis.config import config_scope
    scope = config_scope(cfg)
    backbone = cfg.model.get('backbone', {})
    arch = backbone.get('arch', '')
    arch = arch if isinstance(arch, str) else 'custom'
    family = family_of_type(backbone.get('type'))
    bb = family.arch_name(arch) if family else f"{backbone.get('type')}-{str(arch)[:1].upper()}"
    optim = cfg.optim_wrapper.get('optimizer', {})
    opt = f"{optim.get('type', '?')} {_num(optim.get('lr', 0))} wd {_num(optim.get('weight_decay', 0))}"
    if scope == 'mmdet':
        name = MODEL_NAMES.get(cfg.model.type, cfg.model.type)
        if cfg.model.type == 'CascadeRCNN' and 'mask_head' not in cfg.model.roi_head:
            name = 'Cascade R-CNN'
        steps = next((s.get('milestones') for s in cfg.param_scheduler if s.get('type') == 'MultiStepLR'), [])
        pipeline = cfg.train_dataloader.dataset.get('pipeline', [])
        ms = any(t.get('type') in ('RandomChoiceResize', 'RandomResize', 'RandomChoice') for t in pipeline)
        scales = '1333x800' if not ms else 'MS 480-800'
        recipe = (f"{cfg.train_cfg.max_epochs} ep, steps {'/'.join(map(str, steps))}, {scales}, {opt}")
        return dict(model=f'{name} (COCO)', backbone=bb, recipe=recipe)
    if scope == 'mmseg':
        name = 'UperNet' if cfg.model.decode_head.type == 'UPerHead' else 'Semantic FPN'
        poly = next((s for s in cfg.param_scheduler if s.get('type') == 'PolyLR'), {})
        warm = next((s for s in cfg.param_scheduler if s.get('type') == 'LinearLR'), None)
        sched = (f"warmup {warm['end']} + " if warm else '') + f"poly {poly.get('power', 1.0):g}"
        crop = 'x'.join(map(str, cfg.get('crop_size', (512, 512))))
        recipe = f"{cfg.train_cfg.max_iters // 1000}k it, {crop}, {opt}, {sched}"
        return dict(model=f'{name} (ADE20K)', backbone=bb, recipe=recipe)
    epochs = cfg.train_cfg.get('max_epochs', '?')
    return dict(model='classifier (ImageNet-1k)', backbone=bb, recipe=f'{epochs} ep, 224x224, {opt}')


def measure(config: str) -> dict:
    """Runs ``tools/get_flops.py --json`` in a fresh process (frees each model's memory)."""
    start = time.time()
    proc = subprocess.run([sys.executable, osp.join('tools', 'get_flops.py'), config, '--json'], cwd=ROOT,
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('{')]
    if proc.returncode or not lines:
        raise ToolFailedError(f'{config}: get_flops failed:\n{proc.stderr[-3000:]}')
    result = json.loads(lines[-1])
    result['seconds'] = round(time.time() - start, 1)
    return result


def render(rows: List[dict]) -> str:
    def g(x: Optional[float]) -> str:
        if x is None:
            return 'not measured'
        return f'{x / 1e9:.2f}G' if x < 100e9 else f'{x / 1e9:.0f}G'

    out = ['| config | model | backbone | recipe | input | params | FLOPs | FLOPs incl. attention matmuls |',
           '|---|---|---|---|---|---|---|---|']
    for r in rows:
        m = r.get('measured')
        params = f"{m['params'] / 1e6:.1f}M" if m else 'not measured'
        shape = f"{m['shape'][1]}x{m['shape'][0]}" if m else ''
        without = g(m['total'] - m['attention']) if m else 'not measured'
        with_attn = g(m['total']) if m else 'not measured'
        out.append(f"| `{r['config']}` | {r['model']} | {r['backbone']} | {r['recipe']} | {shape} | {params} "
                   f"| {without} | {with_attn} |")
    return '\n'.join(out)


def write_doc(table: str, doc: str) -> None:
    """Replace what stands between the markers of ``doc`` (written to a temp file, then renamed)."""
    text = open(doc).read()
    if BEGIN not in text or END not in text:
        raise InputError(f'{doc}: markers {BEGIN} / {END} not found')
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    tmp = doc + '.tmp'
    with open(tmp, 'w') as f:
        f.write(f'{head}{BEGIN}\n{table}\n{END}{tail}')
    os.replace(tmp, doc)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cache', default=osp.join(ROOT, 'benchmark_results', 'model_zoo.json'))
    parser.add_argument('--only', help='measure only configs matching this regex (others keep their cache)')
    parser.add_argument('--dry-run', action='store_true', help='print the table, measure nothing, write nothing')
    args = parser.parse_args(argv)

    import secvit_mm  # noqa: F401
    from secvit_mm.apis.config import load_config
    cache = json.load(open(args.cache)) if osp.isfile(args.cache) else {}
    rows = []
    for config in list_configs():
        cfg = load_config(osp.join(ROOT, config))
        key = model_key(cfg)
        row = dict(config=config, key=key, **describe(cfg, config))
        wanted = not args.only or re.search(args.only, config)
        if key not in cache and wanted and not args.dry_run:
            print(f'measuring {config} ...', flush=True)
            cache[key] = measure(config)
            print(f"  {cache[key]['params']:,} params, {cache[key]['total'] / 1e9:.2f} GFLOPs "
                  f"({cache[key]['seconds']} s)", flush=True)
            os.makedirs(osp.dirname(args.cache), exist_ok=True)
            with open(args.cache + '.tmp', 'w') as f:
                json.dump(cache, f, indent=1)
            os.replace(args.cache + '.tmp', args.cache)
        row['measured'] = cache.get(key)
        rows.append(row)
    table = render(rows)
    print(table)
    if not args.dry_run:
        for doc in DOCS:
            write_doc(table, doc)
            print(f'wrote the table to {osp.relpath(doc, ROOT)}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
