"""Torch helpers: timing, fingerprints, label histograms, gradient norms. No daemon needed."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch", reason="the torch helpers need torch (torch CPU is installed in CI)")
nn = torch.nn

from saddle_bridge import StepTimer, batch_fingerprint, grad_norm, label_histogram, timed_loader  # noqa: E402


def test_importing_the_package_does_not_import_torch():
    code = "import sys, saddle_bridge; import saddle_bridge.torch_utils, saddle_bridge.exporter; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.strip() == "False"


def test_timed_loader_measures_each_wait():
    def slow():
        for delay in (0.0, 0.05, 0.0, 0.1):
            time.sleep(delay)
            yield delay

    loader = timed_loader(slow())
    waits = []
    for delay in loader:
        waits.append((delay, loader.last_wait))
        time.sleep(0.15)  # compute time must not count as wait
    assert loader.batches == 4
    for delay, wait in waits:
        # At least the sleep; at most the sleep plus 100 ms of scheduling noise on a loaded 2-core box,
        # which still fails if the 150 ms of compute were counted as wait.
        assert delay <= wait < delay + 0.1, (delay, wait)
    assert abs(loader.total_wait - sum(w for _, w in waits)) < 1e-12


def test_step_timer():
    with StepTimer() as timer:
        time.sleep(0.05)
    assert 0.05 <= timer.seconds < 0.5  # generous upper bound for a loaded CI box
    t = StepTimer(synchronize=False).start()
    assert t.stop() >= 0
    with pytest.raises(RuntimeError):
        t.stop()


def test_batch_fingerprint_is_stable_and_content_sensitive():
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    fp = batch_fingerprint(x)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert batch_fingerprint(x.clone()) == fp
    assert batch_fingerprint(x.t().contiguous().t()) == fp  # layout does not matter, content does
    assert batch_fingerprint(x.reshape(4, 3)) != fp  # shape matters
    assert batch_fingerprint(x.double()) != fp  # dtype matters
    y = x.clone()
    y[2, 3] += 1
    assert batch_fingerprint(y) != fp
    assert batch_fingerprint([3, 1, 2]) == batch_fingerprint((3, 1, 2)) != batch_fingerprint([1, 2, 3])
    assert batch_fingerprint((x, torch.tensor([0, 1, 2]))) != batch_fingerprint((x, torch.tensor([0, 1, 1])))
    # Stable across processes (no per-process hash seed).
    code = ("import sys, torch; sys.path.insert(0, '.'); from saddle_bridge import batch_fingerprint; "
            "print(batch_fingerprint(torch.arange(12, dtype=torch.float32).reshape(3, 4)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.strip() == fp


def test_label_histogram():
    assert label_histogram(torch.tensor([0, 2, 2, 1, 2]), 4) == [1, 1, 3, 0]
    assert label_histogram([1, 1], 2) == [0, 2]
    with pytest.raises(ValueError, match="label 3 is outside 0..2"):
        label_histogram(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError):
        label_histogram([0], 0)


def test_grad_norm_matches_a_hand_sum():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert grad_norm(model) == 0.0  # no gradients yet
    model(torch.randn(5, 3)).pow(2).mean().backward()
    want = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in model.parameters()))
    assert abs(grad_norm(model) - want) <= 1e-12 * want  # float64 accumulation on both sides
    assert abs(grad_norm(model.parameters()) - want) <= 1e-12 * want
    model[0].weight.grad[0, 0] = float("nan")
    assert math.isnan(grad_norm(model))
