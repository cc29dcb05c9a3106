"""CPU pinning shared by the benchmarks that compare Saddle with JAX and PyTorch "one thread each"."""
from __future__ import annotations

import os


def pin_to_one_cpu(cpu: int | None) -> int | None:
    """Pins this process, and every thread and process it starts later, to one CPU (default: the highest one
    allowed), so "one thread each" holds for every runtime: XLA's CPU runtime was seen using a second core
    (process CPU time above wall time) despite its single-thread flags. -1 leaves the affinity alone."""
    if cpu == -1 or not hasattr(os, "sched_setaffinity"):
        return None
    chosen = max(os.sched_getaffinity(0)) if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen
