"""How much a DistributedReporter adds to a training step (the issue's bound: under 1 %).

    SADDLED=.build/release/saddled python3 benchmarks/distributed_reporting.py [STEPS] [ROUNDS]

One process (a world of one), a small MLP trained with SGD on batches of 256, ``torch`` on one
thread. The same loop runs with and without the reporter (``batches``, ``compute``,
``allreduce_gradients``, ``step`` with labels, fingerprints of recorded indices), alternating over
ROUNDS rounds; the best wall time of each is kept (timings on a shared machine are noisy). Prints
the step time, the difference, and the reporter's own accounting (CPU seconds in ``step()`` and in
the sender thread per event).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from saddle_bridge import DistributedReporter, allreduce_gradients, find_daemon  # noqa: E402


def loop(steps: int, socket: str | None) -> tuple:
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(256 * 16, 64), torch.randint(0, 10, (256 * 16,)))
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    reporter = DistributedReporter(socket, run_name="overhead", classes=10) if socket else None
    sampler = torch.utils.data.RandomSampler(data, generator=torch.Generator().manual_seed(0))
    if reporter:
        sampler = reporter.record_indices(sampler)
    loader = DataLoader(data, batch_size=256, sampler=sampler)
    step = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while step < steps:
        for x, y in (reporter.batches(loader) if reporter else loader):
            if step >= steps:
                break
            if reporter:
                with reporter.compute():
                    opt.zero_grad()
                    loss = loss_fn(model(x), y)
                    loss.backward()
                    reporter.allreduce_gradients(model)
                    opt.step()
                reporter.step(step, loss, epoch=0, lr=0.01, labels=y)
            else:
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                allreduce_gradients(model)
                opt.step()
                loss.item()
            step += 1
    seconds = time.perf_counter() - start  # the loop's time; the final flush (one round trip) is not the loop's
    cpu = time.process_time() - cpu_start  # every thread of this process: the loop, the sender, the reader
    if reporter:
        reporter.flush()
    overhead = reporter.overhead() if reporter else None
    if reporter:
        reporter.close()
    return seconds, cpu, overhead


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(1)
    directory = tempfile.mkdtemp(prefix="saddle-")
    path = os.path.join(directory, "s.sock")
    daemon = subprocess.Popen([find_daemon(), "--listen", path, "--store", os.path.join(directory, "runs.sqlite")],
                              stdin=subprocess.DEVNULL)
    try:
        while not os.path.exists(path):
            time.sleep(0.01)
        loop(20, path)  # warm up torch and the daemon
        best = {"off": float("inf"), "on": float("inf")}
        best_cpu = {"off": float("inf"), "on": float("inf")}
        accounting = None
        for _ in range(rounds):
            seconds, cpu, _ = loop(steps, None)
            best["off"], best_cpu["off"] = min(best["off"], seconds), min(best_cpu["off"], cpu)
            seconds, cpu, overhead = loop(steps, path)
            best_cpu["on"] = min(best_cpu["on"], cpu)
            if seconds < best["on"]:
                best["on"], accounting = seconds, overhead
        step_ms = 1e3 * best["off"] / steps
        diff = (best["on"] - best["off"]) / best["off"]
        cpu_diff = (best_cpu["on"] - best_cpu["off"]) / best_cpu["off"]
        print(f"{steps} steps, best of {rounds}: without reporter {best['off']:.3f} s ({step_ms:.2f} ms/step), "
              f"with {best['on']:.3f} s: {100 * diff:+.2f} % wall; process CPU {best_cpu['off']:.3f} s vs "
              f"{best_cpu['on']:.3f} s: {100 * cpu_diff:+.2f} %")
        assert accounting is not None
        events = accounting["events"]
        cpu = accounting["stepCpuSeconds"] + accounting["senderCpuSeconds"]
        print(f"reporter accounting: step() {1e6 * accounting['stepCpuSeconds'] / events:.1f} µs CPU/event, sender "
              f"{1e6 * accounting['senderCpuSeconds'] / events:.1f} µs CPU/event = "
              f"{100 * cpu / best['on']:.2f} % of the loop")
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)


if __name__ == "__main__":
    main()
