"""tools/benchmark.py end to end on a small input: each case runs in its own process, the result
rows carry times, peak memory and the agreement of SecViT with the plain released algorithm, and
the JSON file holds what the table shows. (Speed targets are not tested here: the tool's own
target table reports them from a full run.)"""
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))


def test_benchmark_measures_secvit_against_the_reference(tmp_path, capsys):
    import benchmark
    out = tmp_path / 'bench.json'
    assert benchmark.main(['--cases', 'reference,secvit_paper', '--sizes', '64x96x2', '--detectors', 'none',
                           '--repeats', '1', '--warmup', '0', '--allocator', 'retain', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert "glibc malloc 'retain'" in printed and '| secvit_paper | 64x96x2 |' in printed

    saved = json.loads(out.read_text())
    assert saved['meta']['allocator'] == 'retain'
    rows = {r['case']: r for r in saved['results']}
    assert set(rows) == {'reference', 'secvit_paper'}
    for row in rows.values():
        assert row['fwd_s'] > 0 and row['train_s'] > 0, row
        assert row['fwd_peak_mb'] >= 0 and row['train_peak_mb'] > 0, row
    # Same weights, same input: equal to float64 rounding (float32 may differ at sort near-ties).
    assert rows['secvit_paper']['max_rel_diff_fp64'] < 1e-10


def test_benchmark_refuses_unknown_cases_and_sizes(capsys):
    import benchmark
    import pytest
    with pytest.raises(SystemExit):
        benchmark.main(['--cases', 'secvit_fast'])
    assert "unknown case 'secvit_fast'; choose from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.main(['--sizes', '224by224'])
    assert "size must be HxW or HxWxBATCH, got '224by224'" in capsys.readouterr().err


def test_gpu_targets_judge_each_precision_on_fwd_bwd_time_and_peak_memory():
    import benchmark
    size = benchmark.GPU_SIZE

    def row(case, train_s, mb):
        return dict(case=case, size=size, train_s=train_s, train_peak_mb=mb)

    results = [row('reference', 1.0, 1000.), row('secvit_paper', 0.4, 400.), row('secvit_cs98', 0.3, 300.),
               row('swin_t', 0.25, 350.),  # fp32: cs98 slower than Swin-T
               row('reference+fp16', 0.5, 800.), row('secvit_paper+fp16', 0.3, 500.)]  # fp16: < 2x, > 0.5x
    checks = {c['target']: c for c in benchmark.gpu_targets(results, 'none')}
    assert checks[f'{size} fp32: paper fwd+bwd speed-up vs released']['ok'] is True
    assert checks[f'{size} fp32: paper fwd+bwd peak memory / released']['ok'] is True
    assert checks[f'{size} fp32: cluster_size=98 fwd+bwd time / Swin-T']['ok'] is False
    assert checks[f'{size} fp16 autocast: paper fwd+bwd speed-up vs released']['ok'] is False
    assert checks[f'{size} fp16 autocast: paper fwd+bwd peak memory / released']['value'] == 0.625
    assert not any('bf16' in name for name in checks), 'no bf16 rows were measured'


def test_gpu_benchmark_refuses_to_run_without_a_gpu(capsys):
    import benchmark
    import pytest
    import torch
    if torch.cuda.is_available():
        pytest.skip('a GPU is visible')
    assert benchmark.main(['--gpu']) == 2
    assert 'torch sees no CUDA GPU' in capsys.readouterr().err
def test_seg_test_benchmark_times_whole_and_slide_in_both_cluster_modes(tmp_path, capsys):
    from tools.benchmark_seg_test import main
    out = tmp_path / 'modes.json'
    assert main(['configs/demo/upernet_secvit_t_demo.py', '--size', '64', '96', '--threads', '1',
                 '--out', str(out)]) == 0
    import json
    results = json.loads(out.read_text())
    assert [(r['clusters'], r['test_mode']) for r in results] == [
        ('paper', 'whole'), ('paper', 'slide'), ('cs98', 'whole'), ('cs98', 'slide')]
    for r in results:
        assert r['fwd_s'] > 0 and r['cpu_s'] > 0 and r['peak_mb'] >= 0, r
    assert '| cluster_size=98 | slide | 512x512 stride 341 |' in capsys.readouterr().out
