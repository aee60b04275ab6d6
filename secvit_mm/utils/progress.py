"""A few lines of progress for long, chatty work: mmcv's compile and a training run.

The full output of the work goes to a log file; the screen gets a status line built here from that
output: files compiled out of the total (ninja's ``[n/N]`` lines in a verbose pip build) or the
training iteration (mmengine's ``Epoch(train) [e][i/n]`` logger lines), the time so far and an
estimate of what remains. On failure, :func:`failure_report` picks the lines that say why.

Pure python, no imports from OpenMMLab or from this package: ``tools/install.sh`` runs it (through
``tools/progress.py``) before mmcv exists, when ``import secvit_mm`` would still fail.
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

__all__ = ['follow', 'failure_report', 'format_duration']

# ninja prints "[done/total] command" as each edge finishes when its output is not a terminal.
_NINJA_STEP = re.compile(r'^\s*\[(\d+)/(\d+)\]\s')
# setuptools' build_ext says this just before torch's BuildExtension starts ninja.
_COMPILE_START = re.compile(r"building '[\w.]+' extension")
_LINK = re.compile(r'\s-shared\s.*\.so\b')
_PACK = re.compile(r"creating '.*\.whl'")
# mmengine's LoggerHook: "Epoch(train)  [3][16/64]  ... eta: 0:05:12  time: 1.8620 ... loss: 1.23"
_TRAIN_EPOCH = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\s*\[\s*(\d+)/(\d+)\]')
_TRAIN_ITER = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
_ETA = re.compile(r'\beta: (?:(\d+) days?, )?(\d+):(\d\d):(\d\d)')
_TIME = re.compile(r'\btime: ([\d.]+)')
_LOSS = re.compile(r'\sloss: ([\d.]+|nan|inf)')
_MAX_EPOCHS = re.compile(r'\bmax_epochs=(\d+)')
# compiler / ninja / setuptools / python errors, for failure_report
# (not -Werror=... in a printed compiler command line)
_ERROR = re.compile(r'(?<![\w=-])([Ff]atal error|[Ee]rror|ERROR)\b|^\s*FAILED: |\w+Error\b|Traceback')
_COMPILER_ERROR = re.compile(r':\d+(:\d+)?: (fatal )?error: ')

Event = Tuple[float, Optional[str]]


def format_duration(seconds: float) -> str:
    """``75`` -> ``'1 min 15 s'``, ``3725`` -> ``'1 h 02 min'``, ``9`` -> ``'9 s'``."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return f'{seconds} s'
    if seconds < 3600:
        return f'{seconds // 60} min {seconds % 60:02d} s'
    return f'{seconds // 3600} h {seconds % 3600 // 60:02d} min'


class _Build:
    """State of a verbose pip build of a torch C++/CUDA extension."""

    def __init__(self, start: float):
        self.start = start
        self.compile_start: Optional[float] = None
        self.done = self.total = 0
        self.last_step: Optional[float] = None
        self.phase = 'preparing the build'

    def read(self, now: float, line: str) -> bool:
        step = _NINJA_STEP.match(line)
        if step:
            if self.compile_start is None:
                self.compile_start = self.start
            self.done, self.total = int(step.group(1)), int(step.group(2))
            self.last_step, self.phase = now, 'compiling'
            return True
        if _COMPILE_START.search(line) and self.compile_start is None:
            self.compile_start, self.phase = now, 'compiling'
            return True
        if self.phase == 'compiling' and self.total and self.done >= self.total and _LINK.search(line):
            self.phase = 'linking'
            return True
        if _PACK.search(line) and self.phase != 'packing the wheel':
            self.phase = 'packing the wheel'
            return True
        return False

    def status(self, now: float) -> str:
        elapsed = format_duration(now - self.start)
        if self.phase != 'compiling':
            return f'{self.phase}, {elapsed} so far'
        if not self.done:
            total = f' {self.total}' if self.total else ''
            return f'compiling{total} files: the first ones in progress, {elapsed} so far'
        # The mean time per file so far (jobs in parallel included), less what has passed since the last.
        per_file = (self.last_step - self.compile_start) / self.done
        left = format_duration(max(per_file * (self.total - self.done) - (now - self.last_step), 0))
        return f'compiled {self.done}/{self.total} files, {elapsed} so far, about {left} left'


class _Train:
    """State of an mmengine training run, from its logger lines."""

    def __init__(self, start: float):
        self.start = start
        self.max_epochs: Optional[int] = None
        self._in_train_cfg = False
        self.done = 0
        self.text = 'starting (building the model and the data loaders)'

    def read(self, now: float, line: str) -> bool:
        if self.max_epochs is None and not self.done:
            # From the config dump at the start: train_cfg's, which --cfg-options changes (a top-level
            # `max_epochs = N` of the config file would not follow it). It may span lines.
            if line.startswith('train_cfg = dict('):
                self._in_train_cfg = True
            elif line[:1] not in (' ', ')'):
                self._in_train_cfg = False
            found = _MAX_EPOCHS.search(line) if self._in_train_cfg else None
            if found:
                self.max_epochs = int(found.group(1))
        epoch_step = _TRAIN_EPOCH.search(line)
        iter_step = _TRAIN_ITER.search(line)
        if not (epoch_step or iter_step):
            return False
        if epoch_step:
            epoch, i, per_epoch = (int(g) for g in epoch_step.groups())
            self.done = (epoch - 1) * per_epoch + i
            total = self.max_epochs * per_epoch if self.max_epochs else None
            where = f'epoch {epoch}' + (f'/{self.max_epochs}' if self.max_epochs else '')
        else:
            self.done, total = (int(g) for g in iter_step.groups())
            where = ''
        parts = [f'iteration {self.done}' + (f'/{total}' if total else '') + (f' ({where})' if where else '')]
        step_time = _TIME.search(line)
        if step_time:
            parts.append(f'{float(step_time.group(1)):.2f} s/it')
        eta = _ETA.search(line)
        if eta:
            days, h, m, s = (int(g) if g else 0 for g in eta.groups())
            parts.append(f'about {format_duration(((days * 24 + h) * 60 + m) * 60 + s)} left')
        loss = _LOSS.search(line)
        if loss:
            parts.append(f'loss {loss.group(1)}')
        self.text = ', '.join(parts)
        return True

    def status(self, now: float) -> str:
        return f'{self.text} [{format_duration(now - self.start)} so far]'


def follow(events: Iterable[Event], kind: str = 'build', interval: Optional[float] = 30.,
           every: Optional[int] = None, start: Optional[float] = None) -> Iterator[str]:
    """Status lines for a stream of output lines, at least every ``interval`` seconds.

    Args:
        events (Iterable[tuple[float, str | None]]): ``(time, line)`` in the order the work printed
            them, times in seconds (``time.monotonic()`` or a log's own clock); ``line`` None is a
            clock tick, which lets a status come out while the work prints nothing (one long compile).
        kind (str): ``'build'`` (a verbose pip build of a torch extension: ninja's ``[n/N]`` lines)
            or ``'train'`` (an mmengine training run: its ``Epoch(train)`` / ``Iter(train)`` lines).
            Defaults to ``'build'``.
        interval (float | None): the most seconds between two status lines; a status also comes at
            the first progress and when the phase changes. None: only on progress (see ``every``).
            Defaults to 30.
        every (int | None): also a status each time the steps done (files, iterations) pass a
            multiple of ``every``; None: every new step when ``interval`` is None, else only by time.
            Defaults to None.
        start (float | None): the time the work started. Defaults to the first event's time.

    Yields:
        str: one status line, e.g. ``'compiled 12/77 files, 4 min 10 s so far, about 22 min 37 s left'``.
    """
    if kind not in ('build', 'train'):
        raise ValueError(f"kind must be 'build' or 'train', got {kind!r}")
    state = None
    last_time = last_phase = None
    last_done = 0
    for now, line in events:
        if state is None:
            state = (_Build if kind == 'build' else _Train)(now if start is None else start)
            last_time = state.start
        changed = line is not None and state.read(now, line)
        phase = getattr(state, 'phase', None)
        new_steps = state.done - last_done if changed else 0
        due = ((interval is not None and now - last_time >= interval)
               or (changed and phase != last_phase)  # also the first status of a training run
               or (new_steps > 0 and not last_done)  # the first file / iteration done
               or (new_steps > 0 and every is not None and state.done // every > last_done // every)
               or (new_steps > 0 and every is None and interval is None))
        if due:
            yield state.status(now)
            last_time, last_phase, last_done = now, phase, state.done


def failure_report(lines: Sequence[str], context: int = 12) -> List[str]:
    """The lines of a failed run's output that say why: the last compiler error, else the last error.

    Args:
        lines (Sequence[str]): the run's whole output (the log), without line ends.
        context (int): how many lines to give from the error on. Defaults to 12.

    Returns:
        list[str]: the last ``file:line:col: error:`` line of a compiler and the lines after it (up to
        ``context``, stopping at ninja's next command), else the last ``context`` lines from the last
        line that looks like an error (``error``, ``FAILED:``, ``Traceback``), else the last lines.
    """
    lines = [line.rstrip('\n') for line in lines]
    found = [i for i, line in enumerate(lines) if _COMPILER_ERROR.search(line)]
    if found:
        first = found[-1]
        block = [lines[first]]
        for line in lines[first + 1:first + context]:
            if _NINJA_STEP.match(line) or line.lstrip().startswith(('ninja: ', 'FAILED: ')):
                break
            block.append(line)
        return block
    found = [i for i, line in enumerate(lines) if line.strip() and _ERROR.search(line)]
    if found:
        # A Python traceback: from its start, so the raising line and the message are both there.
        tracebacks = [i for i in found if 'Traceback' in lines[i]]
        first = tracebacks[-1] if tracebacks and found[-1] - tracebacks[-1] < 60 else found[-1]
        block = lines[first:]
        return block if len(block) <= context else block[:2] + ['...'] + block[-(context - 3):]
    return [line for line in lines if line.strip()][-context:]
