"""Run a long command with its whole output in a log file and a short progress display on the screen.

    python tools/progress.py build|train|quiet --log FILE [--prefix TEXT] [--interval S] [--every N] -- CMD ...

``build``: a verbose pip build of mmcv (files compiled / total, time so far, time left); ``train``: an
mmengine training run (iteration, s/it, ETA, loss); ``quiet``: nothing while it runs. In a terminal the
status is one line updated in place, otherwise a line at least every ``--interval`` seconds (build) or
each ``--every`` iterations (train). On failure: the last error from the log, the log's path, and the
command's exit status. The logic is secvit_mm.utils.progress.
"""
import argparse
import importlib.util
import os.path as osp
import queue
import subprocess
import sys
import threading
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _progress_module():
    # By path, not `import secvit_mm...`: install.sh runs this before mmcv is installed, and the
    # package's __init__ checks the OpenMMLab versions.
    spec = importlib.util.spec_from_file_location('_secvit_mm_progress',
                                                  osp.join(ROOT, 'secvit_mm', 'utils', 'progress.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _events(proc: subprocess.Popen, log, tick: float):
    """(time, line) for each line of the command's output, written to the log first; (time, None) each
    ``tick`` seconds without output."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for raw in proc.stdout:
            lines.put(raw)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            raw = lines.get(timeout=tick)
        except queue.Empty:
            yield time.monotonic(), None
            continue
        if raw is None:
            return
        log.write(raw)
        log.flush()
        yield time.monotonic(), raw.rstrip('\n')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('kind', choices=['build', 'train', 'quiet'])
    parser.add_argument('--log', required=True, help='the file that gets the command\'s whole output')
    parser.add_argument('--prefix', default='  ', help='text before each status line (default: two spaces)')
    # 29: the clock ticks each second, so a status comes at least every 30 s.
    parser.add_argument('--interval', type=float, default=29.,
                        help='build: the most seconds between two status lines off a terminal, less one '
                             's (default 29)')
    parser.add_argument('--every', type=int, default=64,
                        help='train: a status line each time this many iterations are passed, off a terminal '
                             '(default 64)')
    argv = sys.argv[1:] if argv is None else list(argv)
    if '--' not in argv or argv.index('--') == len(argv) - 1:
        parser.error('no command given: put it after --')
    split = argv.index('--')
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    progress = _progress_module()
    tty = sys.stdout.isatty()
    start = time.monotonic()
    with open(args.log, 'w', encoding='utf-8', errors='replace') as log:
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    errors='replace', bufsize=1)
        except OSError as e:
            print(f'{args.prefix}cannot run {command[0]}: {e}', file=sys.stderr)
            return 127
        events = _events(proc, log, tick=1.)
        if args.kind == 'quiet':
            for _ in events:
                pass
        else:
            # In a terminal: one line redrawn each second; elsewhere: a line per interval / per N steps.
            if tty:
                interval, every = 1., None
            elif args.kind == 'build':
                interval, every = args.interval, None
            else:
                interval, every = None, args.every
            shown = ''
            try:
                for shown in progress.follow(events, args.kind, interval=interval, every=every, start=start):
                    if tty:
                        sys.stdout.write(f'\r\033[K{args.prefix}{shown}')
                    else:
                        sys.stdout.write(f'{args.prefix}{shown}\n')
                    sys.stdout.flush()
            except KeyboardInterrupt:
                proc.wait()
                print(f'\n{args.prefix}interrupted; the output so far is in {args.log}', file=sys.stderr)
                return 130
            if tty and shown:
                sys.stdout.write('\n')
        rc = proc.wait()
    if rc != 0:
        with open(args.log, encoding='utf-8', errors='replace') as f:
            report = progress.failure_report(f.read().splitlines())
        took = progress.format_duration(time.monotonic() - start)
        what = ' '.join([osp.basename(command[0])] + command[1:]).splitlines()[0]
        what = what if len(what) <= 80 else what[:77] + '...'
        status = f'stopped by signal {-rc}' if rc < 0 else f'exit status {rc}'
        print(f'{args.prefix}failed ({status}) after {took}: {what}', file=sys.stderr)
        for line in report:
            print(f'{args.prefix}  {line}', file=sys.stderr)
        print(f'{args.prefix}the whole output: {args.log}', file=sys.stderr)
    return rc if rc >= 0 else 128 - rc


if __name__ == '__main__':
    sys.exit(main())
