"""Measurement pieces shared by the benchmark tools (tools/benchmark.py, tools/benchmark_seg_test.py).

* Peak memory of a phase: resident memory above its start on the CPU (the kernel's VmHWM, reset
  through /proc/self/clear_refs; ru_maxrss where that is not available), or peak CUDA memory
  allocated by torch on a GPU.
* ``timed``: best of repeated runs after warm-up, synchronised on a GPU.
* ``run_subprocess``: one measurement in a fresh process (``SCRIPT --worker SPEC``), its result the
  line tagged :data:`RESULT_TAG`, with the thread count and glibc malloc settings of ``spec``.
"""
import gc
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Dict, Optional

__all__ = ['ALLOCATORS', 'RESULT_TAG', 'PeakMemory', 'CudaPeakMemory', 'peak_memory', 'available_memory_bytes',
           'timed', 'run_subprocess']

# glibc serves blocks above its mmap threshold (at most 32 MB) with a fresh mmap and unmaps them on
# free, so every large activation is page-faulted and zeroed by the kernel again on each forward: a
# cost that grows faster than the pixels once feature maps outgrow the threshold. 'retain' keeps
# freed memory in the heap for reuse (the effect of jemalloc / tcmalloc, which PyTorch's CPU tuning
# guide recommends); both need to be set before the process starts.
ALLOCATORS = {
    'default': {},
    'retain': dict(MALLOC_MMAP_MAX_='0', MALLOC_TRIM_THRESHOLD_=str(2**62)),
}
RESULT_TAG = 'BENCHMARK_RESULT '


def _status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakMemory:
    """Peak RSS of a phase above the RSS at its start, in MB."""

    def __init__(self) -> None:
        gc.collect()
        self.base_kb = _status_kb('VmRSS')
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current RSS
            self.method = 'VmHWM'
        except OSError:
            self.method = 'ru_maxrss'

    def peak_mb(self) -> float:
        if self.method == 'VmHWM':
            peak = _status_kb('VmHWM')
        else:
            import resource
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
        return round(max(0, peak - self.base_kb) / 1024, 1)


class CudaPeakMemory:
    """Peak CUDA memory allocated by torch during a phase above the allocation at its start, in MB."""
    method = 'cuda.max_memory_allocated'

    def __init__(self) -> None:
        import torch
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        self.base = torch.cuda.memory_allocated()

    def peak_mb(self) -> float:
        import torch
        torch.cuda.synchronize()
        return round((torch.cuda.max_memory_allocated() - self.base) / 2**20, 1)


def peak_memory(device: str):
    return CudaPeakMemory() if device == 'cuda' else PeakMemory()


def available_memory_bytes(device: str = 'cpu') -> int:
    if device == 'cuda':
        import torch
        return torch.cuda.mem_get_info()[0]
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def timed(fn: Callable[[], None], warmup: int, repeats: int, budget: float,
          device: str = 'cpu') -> Dict[str, float]:
    if device == 'cuda':  # CUDA calls return before the GPU is done: time up to the end of its work
        import torch
        body = fn

        def fn():
            body()
            torch.cuda.synchronize()
    start = time.perf_counter()
    first = None
    for _ in range(max(warmup, 0)):
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0 if first is None else first
    times = []
    timed_start = time.perf_counter()
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - timed_start > budget:
            break
    return dict(best=min(times), runs=len(times), first=first, total=time.perf_counter() - start)


def run_subprocess(spec: dict, timeout: float, script: str, cwd: Optional[str] = None) -> dict:
    """Run ``script --worker SPEC`` in a fresh process; its result is the line tagged RESULT_TAG."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(spec['threads']), MKL_NUM_THREADS=str(spec['threads']))
    env.update(ALLOCATORS[spec['allocator']])
    cmd = [sys.executable, osp.abspath(script), '--worker', json.dumps(spec)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        return dict(skipped=f'timeout after {timeout:.0f} s')
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
            result['wall_s'] = round(time.perf_counter() - start, 1)
            return result
    if proc.returncode < 0:
        why = f'killed by signal {-proc.returncode}' + (' (out of memory?)' if proc.returncode == -9 else '')
    else:
        why = f'exit {proc.returncode}'
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return dict(error=f'{why}: ' + ' | '.join(tail))
