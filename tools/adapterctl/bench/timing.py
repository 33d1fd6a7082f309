"""Medians of repeated, interleaved measurements, so a case and its floor share the machine's noise."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Counts every instruction the process runs, all threads (run one at a time), not the kernel's.
CALLGRIND = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")


def cpu_per_call(cases: dict[str, Callable[[], object]], *, repeats: int, block_seconds: float = 0.05) -> dict[str, float]:
    """Median CPU seconds per call of each case, measured in alternating blocks of calls.

    CPU time of this process, not wall time: other processes on a shared machine then change the
    figures much less. Every thread counts: a large webhook's sends run on the queue's threads.
    """
    calls = {name: _calls_per_block(fn, block_seconds) for name, fn in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            n = calls[name]
            start = time.process_time()
            for _ in range(n):
                fn()
            samples[name].append((time.process_time() - start) / n)
    return {name: statistics.median(values) for name, values in samples.items()}


def _calls_per_block(fn: Callable[[], object], block_seconds: float) -> int:
    fn()  # warm: caches, first-call imports
    start = time.process_time()
    fn()
    once = max(time.process_time() - start, 1e-6)
    return max(1, int(block_seconds / once))


def wall_median(fn: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def stdout_bytes(fn: Callable[[], object]) -> int:
    """Bytes `fn` writes to file descriptor 1: on Lambda, what CloudWatch Logs ingests."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 1)
        try:
            fn()
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        return os.fstat(captured.fileno()).st_size


def has_callgrind() -> bool:
    return shutil.which("valgrind") is not None


def instructions(argv: list[str], *, env: dict[str, str], cwd: Path) -> int:
    """Instructions a fresh interpreter runs for `argv` (after `python`), counted by callgrind: the
    same count every run with the hash seed fixed, whatever else the shared machine is doing."""
    done = subprocess.run([*CALLGRIND, sys.executable, *argv], capture_output=True, text=True, env={**env, "PYTHONHASHSEED": "0"}, cwd=cwd, check=False)  # noqa: S603 - our own code
    counted = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or counted is None:
        raise RuntimeError(f"callgrind run failed: {done.stderr.strip()[-500:]}")
    return int(counted.group(1).replace(",", ""))
