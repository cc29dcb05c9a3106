"""One rank of the distributed tests (test_distributed.py starts WORLD of these as processes).

    python distributed_worker.py RANK WORLD STORE_FILE SOCKET OUT_DIR

Joins a gloo process group through a file store, then runs, each as its own distributed run
reported to the daemon at SOCKET with a DistributedReporter:

- ``healthy``: a tiny MLP on a synthetic 4-class set, DistributedSampler with set_epoch;
- ``straggler``: rank STRAGGLER sleeps in compute every step;
- ``stall``: rank STALLED's data set sleeps in __getitem__ (a slow loader);
- ``epochRepeat``: the DistributedSampler is never told the epoch (every epoch repeats its batches);
- ``curvature``: λ_max, λ_min and the trace of a float64 MLP on a 64-sample set split evenly across the
  ranks, by DistributedCurvature (rank 0 writes the model and data for the daemon to load, and
  sends the evidence with diagnose).

Each rank writes OUT_DIR/rank<R>.json: per scenario the run id, events acknowledged, seconds in the
loop, and the reporting cost (seconds in step(), the sender thread's CPU seconds).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, Dataset, TensorDataset  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

from saddle_bridge import DistributedReporter, export_sequential  # noqa: E402

STEPS_PER_EPOCH = 8  # 256 samples / 4 ranks / batch 8
EPOCHS = 6
STRAGGLER = 1
STALLED = 2
DELAY = 0.03  # seconds per step: far above a step's compute (~1-2 ms) even on a loaded 2-core machine
CLASSES = 4


class SlowDataset(Dataset):
    """A data set whose reads take ``delay`` seconds a batch (spread over its samples): a slow disk."""

    def __init__(self, inner: Dataset, per_sample: float):
        self.inner = inner
        self.per_sample = per_sample

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        time.sleep(self.per_sample)
        return self.inner[index]


def classification_set(seed: int = 0, samples: int = 256):
    """Four overlapping Gaussian clusters in 8 dimensions: the loss keeps falling over the 48 steps."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(CLASSES, 8, generator=g) * 2.0
    y = torch.randint(0, CLASSES, (samples,), generator=g)
    x = centers[y] + 1.0 * torch.randn(samples, 8, generator=g)
    return TensorDataset(x, y)


def train(scenario: str, rank: int, world: int, socket: str) -> dict:
    torch.manual_seed(0)  # the same initial model on every rank
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, CLASSES))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    dataset = classification_set()
    if scenario == "stall" and rank == STALLED:
        dataset = SlowDataset(dataset, DELAY / 8)
    reporter = DistributedReporter(socket, run_name=f"dist-{scenario}", classes=CLASSES, batch_size=16, interval=0.2)
    sampler = reporter.record_indices(DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0))
    loader = DataLoader(dataset, batch_size=8, sampler=sampler)
    step = 0
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        if scenario != "epochRepeat":
            sampler.set_epoch(epoch)
        for x, y in reporter.batches(loader):
            with reporter.compute():
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                if scenario == "straggler" and rank == STRAGGLER:
                    time.sleep(DELAY)
                reporter.allreduce_gradients(model)
                optimizer.step()
            reporter.step(step, loss, epoch=epoch, lr=0.05, labels=y)
            step += 1
    loop_seconds = time.perf_counter() - start
    reporter.close(timeout=60)
    return {"run": reporter.run, "acknowledged": reporter.acknowledged, "steps": step,
            "loopSeconds": loop_seconds, **reporter.overhead()}


def curvature(rank: int, world: int, socket: str, out_dir: str) -> dict:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(64, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (64,), generator=g)
    if rank == 0:
        export_sequential(model, 4, nn.CrossEntropyLoss(), os.path.join(out_dir, "curv"))
        np.save(os.path.join(out_dir, "curv_x.npy"), x.numpy())
        np.save(os.path.join(out_dir, "curv_y.npy"), y.numpy())
    shard = slice(rank * 64 // world, (rank + 1) * 64 // world)
    reporter = DistributedReporter(socket, run_name="dist-curvature")
    for step in range(3):  # a few steps, so the run has a history to merge the evidence with
        reporter.step(step, 1.0 / (step + 1))
    reporter.flush(timeout=60)
    curv = reporter.curvature(model, nn.CrossEntropyLoss(), [(x[shard], y[shard])])
    eigen = curv.eigen(k=1, tolerance=1e-10)
    trace = curv.trace(probes=20, seed=7)
    try:
        diagnosis = curv.diagnose(reporter.run, eigen=eigen, trace=trace)
    except RuntimeError as error:  # recorded, so the numeric comparison stands on its own
        diagnosis = {"error": str(error)}
    reporter.close(timeout=60)
    return {"run": reporter.run, "lambdaMax": eigen.lambda_max, "lambdaMin": eigen.lambda_min,
            "residuals": [eigen.largest[0][1], eigen.smallest[0][1]], "steps": eigen.steps,
            "stopReason": eigen.stop_reason, "ritzSource": eigen.ritz_source, "trace": trace.estimate,
            "traceSamples": trace.samples, "products": curv.products, "diagnosis": diagnosis,
            "eigenSeconds": eigen.seconds, "traceSeconds": trace.seconds}


def main() -> None:
    rank, world, store, socket, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    scenarios = sys.argv[6].split(",") if len(sys.argv) > 6 else ["healthy", "straggler", "stall", "epochRepeat", "curvature"]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    results = {}
    try:
        for scenario in scenarios:
            dist.barrier()  # start each case together: no rank's start-up counts as a stall
            if scenario == "curvature":
                results[scenario] = curvature(rank, world, socket, out_dir)
            else:
                results[scenario] = train(scenario, rank, world, socket)
    finally:
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w", encoding="utf-8") as f:
            json.dump(results, f)
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
