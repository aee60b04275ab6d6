"""Progress of long work: mmcv's compile in tools/install.sh and training in the main job
(secvit_mm.utils.progress through tools/progress.py), and the main job's short output (tools/demo.sh)."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

from conftest import options_for

from secvit_mm.utils.progress import failure_report, follow, format_duration

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# A verbose pip build of a torch extension, as tools/install.sh runs it (recorded from `pip wheel -v`
# of a small CppExtension with one broken file; the flags shortened).
FAILED_BUILD = '''\
  running build_ext
  building 'tiny._ext' extension
  [1/4] c++ -MMD -MF build/src/a.o.d -DNDEBUG -g -O3 -fPIC -c src/a.cpp -o build/src/a.o -g0
  [2/4] c++ -MMD -MF build/src/b.o.d -DNDEBUG -g -O3 -fPIC -c src/b.cpp -o build/src/b.o -g0
  [3/4] c++ -MMD -MF build/src/bad.o.d -DNDEBUG -g -O3 -fPIC -c src/bad.cpp -o build/src/bad.o -g0
  FAILED: [code=1] build/src/bad.o
  c++ -MMD -MF build/src/bad.o.d -DNDEBUG -g -O3 -fPIC -c src/bad.cpp -o build/src/bad.o -g0
  src/bad.cpp: In function 'int bad()':
  src/bad.cpp:2:10: error: 'undeclared_name' was not declared in this scope
      2 |   return undeclared_name;
        |          ^~~~~~~~~~~~~~~
  [4/4] c++ -MMD -MF build/src/c.o.d -DNDEBUG -g -O3 -fPIC -c src/c.cpp -o build/src/c.o -g0
  ninja: build stopped: subcommand failed.
  Traceback (most recent call last):
    File "torch/utils/cpp_extension.py", line 2906, in _run_ninja_build
      subprocess.run(
  subprocess.CalledProcessError: Command '['ninja', '-v', '-j', '2']' returned non-zero exit status 1.
  RuntimeError: Error compiling objects for extension
  error: subprocess-exited-with-error
  ERROR: Failed building wheel for tiny
'''


def simulated_build(files=77, seed=0):
    """(time, line) of a pip build of `files` files, 2 jobs, 20-75 s per file, a tick each second."""
    import random
    rng = random.Random(seed)
    events, now = [], 0.
    for line in ('Processing ./mmcv', '  running build_ext', "  building 'mmcv._ext' extension"):
        now += 3
        events.append((now, line))
    finish = sorted(now + rng.uniform(20, 75) * (i // 2 + 1) for i in range(files))
    for i, done_at in enumerate(finish, 1):
        events.append((done_at, f'  [{i}/{files}] c++ -MMD -c mmcv/ops/csrc/f{i}.cpp -o f{i}.o -g0'))
    now = finish[-1] + 40  # the link, silent for 40 s
    events.append((now, '  c++ -shared build/f1.o build/f2.o -o build/lib/mmcv/_ext.cpython-311-x86_64-linux-gnu.so'))
    events.append((now + 20, "  creating '/tmp/pip-wheel/mmcv-2.1.0-cp311-cp311-linux_x86_64.whl' and adding ..."))
    ticks = [(float(t), None) for t in range(int(now + 25))]
    return sorted(events + ticks, key=lambda e: (e[0], e[1] is None))


def statuses_with_times(events, **kwargs):
    """follow()'s status lines, each with the time of the event that brought it."""
    clock = []

    def timed():
        for event in events:
            clock.append(event[0])
            yield event

    return [(clock[-1], status) for status in follow(timed(), **kwargs)]


def test_build_progress_reports_files_done_and_time_left_at_least_every_30_s_of_log_time():
    events = simulated_build()
    # tools/progress.py's default for install.sh: 29 s, as its clock ticks each second.
    shown = statuses_with_times(events, kind='build', interval=29.)
    times = [t for t, _ in shown]
    gaps = [b - a for a, b in zip([0.] + times, times + [events[-1][0]])]
    assert max(gaps) <= 30., max(gaps)
    texts = [s for _, s in shown]
    assert any(re.fullmatch(r'compiled \d+/77 files, .* so far, about .* left', s) for s in texts)
    done = [int(m.group(1)) for m in (re.match(r'compiled (\d+)/77', s) for s in texts) if m]
    assert done == sorted(done) and done[0] >= 1 and done[-1] == 77
    assert any(s.startswith('linking') for s in texts) and texts[-1].startswith('packing the wheel')
    # Far fewer lines than the log: about one per 29 s (and per phase), not one per file and tick.
    assert len(shown) <= events[-1][0] / 29 + 5


def test_build_progress_estimates_the_time_left_from_the_mean_time_per_file():
    events = [(0., "  building 'mmcv._ext' extension")] + [
        (60. * i, f'  [{i}/10] c++ -c f{i}.cpp') for i in range(1, 5)] + [(250., None)]
    shown = list(follow(events, kind='build', interval=10.))
    assert shown[-2] == 'compiled 4/10 files, 4 min 00 s so far, about 6 min 00 s left'
    assert shown[-1] == 'compiled 4/10 files, 4 min 10 s so far, about 5 min 50 s left'


def test_a_failed_build_is_reported_with_its_last_compiler_error():
    lines = FAILED_BUILD.splitlines()
    report = failure_report(lines)
    assert report[0].strip() == "src/bad.cpp:2:10: error: 'undeclared_name' was not declared in this scope"
    assert report[1].strip() == '2 |   return undeclared_name;'
    assert not any('[4/4]' in line or 'ninja:' in line for line in report)
    # Without a compiler error: the Python error from its traceback on.
    report = failure_report(['  running build', 'Traceback (most recent call last):',
                             '  File "setup.py", line 3', 'ModuleNotFoundError: No module named torch'])
    assert report[0] == 'Traceback (most recent call last):' and report[-1].startswith('ModuleNotFoundError')


def mmengine_log(max_epochs=3, per_epoch=64, interval=16, seconds_per_it=1.9):
    """(time, line) of an mmengine training run's console output, as LoggerHook prints it."""
    # The config file's own `max_epochs = 10`, changed by --cfg-options train_cfg.max_epochs=3.
    events = [(0., '12/01 10:00:00 - mmengine - INFO - Config:'), (0.1, 'max_epochs = 10'),
              (0.2, 'train_cfg = dict('),
              (0.3, f"    max_epochs={max_epochs}, type='EpochBasedTrainLoop', val_interval=3)"),
              (0.4, "val_cfg = dict(type='ValLoop')")]
    total = max_epochs * per_epoch
    for epoch in range(1, max_epochs + 1):
        for i in range(interval, per_epoch + 1, interval):
            done = (epoch - 1) * per_epoch + i
            eta = round((total - done) * seconds_per_it)
            events.append((5 + done * seconds_per_it,
                           f'12/01 10:00:00 - mmengine - INFO - Epoch(train)  [{epoch}][{i:2d}/{per_epoch}]  '
                           f'base_lr: 4.0000e-04 lr: 4.0000e-04  eta: {eta // 3600}:{eta % 3600 // 60:02d}:'
                           f'{eta % 60:02d}  time: {seconds_per_it:.4f}  data_time: 0.0100  memory: 0  '
                           f'loss: {2.0 / done ** 0.2:.4f}  loss_rpn_cls: 0.5000'))
    return events


def test_training_progress_gives_iteration_eta_and_one_line_per_n_iterations_off_a_terminal():
    shown = list(follow(mmengine_log(), kind='train', interval=None, every=64))
    assert len(shown) == 4  # the first logged iteration, then 64, 128 and 192
    assert shown[0].startswith('iteration 16/192 (epoch 1/3), 1.90 s/it, about 5 min 34 s left, loss ')
    assert shown[1].startswith('iteration 64/192 (epoch 1/3), 1.90 s/it, about 4 min 03 s left, loss ')
    assert shown[-1].startswith('iteration 192/192 (epoch 3/3), 1.90 s/it, about 0 s left, loss ')
    assert all(s.endswith(' so far]') for s in shown)


def test_format_duration_reads_as_minutes_and_seconds():
    assert [format_duration(s) for s in (9.4, 75, 3725)] == ['9 s', '1 min 15 s', '1 h 02 min']


def run_progress_tool(tmp_path, script: str, kind='build'):
    log = tmp_path / 'work.log'
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'progress.py'), kind, '--log', str(log),
                           '--', sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
    return proc, log


def test_progress_tool_keeps_the_whole_output_in_the_log_and_shows_only_the_status(tmp_path):
    script = ("print(\"  building 'x._ext' extension\")\n"
              "for i in range(1, 4): print(f'  [{i}/3] c++ -c f{i}.cpp -o f{i}.o', flush=True)\n")
    proc, log = run_progress_tool(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].strip().startswith('compiled 3/3 files') or 'compiled' in proc.stdout
    assert 'c++ -c' not in proc.stdout and log.read_text().count('c++ -c') == 3


def test_progress_tool_ends_a_failed_command_with_its_last_error_the_log_path_and_its_status(tmp_path):
    script = f'import sys\nprint({FAILED_BUILD!r})\nsys.exit(3)'
    proc, log = run_progress_tool(tmp_path, script)
    assert proc.returncode == 3
    err = proc.stderr.splitlines()
    assert 'failed (exit status 3)' in err[0]
    assert "src/bad.cpp:2:10: error: 'undeclared_name' was not declared in this scope" in err[1]
    assert err[-1].strip() == f'the whole output: {log}'
    assert log.read_text().strip() == FAILED_BUILD.strip()


def test_main_job_prints_at_most_80_lines_a_header_per_stage_and_ends_with_the_table(demo_data, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(demo_data / 'coco', data / 'coco')
    options = options_for(str(data / 'coco'), 'coco') + ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    env = dict(os.environ, DEMO_SKIP_INSTALL='1', DEMO_DATA=str(data), DEMO_WORK_DIR=str(tmp_path / 'work'),
               DEMO_CFG_OPTIONS=' '.join(options), OMP_NUM_THREADS='1')
    env.pop('SECVIT_MM_VERBOSE', None)
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'demo.sh')], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(proc.stdout.splitlines() + proc.stderr.splitlines()) <= 80, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    headers = [line for line in lines if line.startswith('== ')]
    assert [h.split(':')[0] for h in headers] == [
        '== 1/5 data', '== 2/5 baseline', '== 3/5 training', '== 4/5 evaluation', '== 5/5 pictures']
    assert any(line.strip().startswith('iteration 1/1 (epoch 1/1)') for line in lines)
    table = lines.index(next(line for line in lines if line.split() == ['metric', 'untrained', 'trained']))
    assert [line.split()[0] for line in lines[table + 1:table + 5]] == [
        'bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'segm_mAP_50']
    work = next(iter((tmp_path / 'work').iterdir()))
    assert re.fullmatch(rf'\d+ prediction pictures in {re.escape(str(work))}/pictures', lines[-2].strip())
    assert lines[-1].startswith(f'work dir: {work} ')
    # Everything the tools printed is in the work dir.
    train_log = (work / 'train.log').read_text()
    assert 'Epoch(train)' in train_log and 'Config:' in train_log
