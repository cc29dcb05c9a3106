"""Reporter against the real daemon: a toy PyTorch loop's 1,000 steps ingested and read back,
metrics.jsonl, malformed events, non-finite losses, and persistence across a daemon restart."""

from __future__ import annotations

import json
import math
import time

import pytest

from conftest import needs
from saddle_bridge import Client, Reporter, ReporterError, RPCError, real
from saddle_bridge.client import ProcessTransport

torch = pytest.importorskip("torch", reason="the toy training loop needs torch (torch CPU is installed in CI)")
nn = torch.nn

from saddle_bridge import StepTimer, batch_fingerprint, grad_norm, label_histogram, timed_loader  # noqa: E402

pytestmark = needs("run/ingest", "run/history", "run/list")


class CountingClient(Client):
    """Counts requests per method, to see that the reporter batches."""

    def __init__(self, transport):
        self.counts = {}
        super().__init__(transport)

    def request(self, method, params=None, *, timeout=None):
        self.counts[method] = self.counts.get(method, 0) + 1
        return super().request(method, params, timeout=timeout)


def toy_loop(reporter: Reporter, steps: int):
    """A 3-class softmax regression trained by SGD on random data, reporting every step."""
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = torch.randint(0, 3, (64,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8, shuffle=True)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    events, step_call_seconds = [], 0.0
    step, epoch = 0, 0
    while step < steps:
        batches = timed_loader(loader)
        for xb, yb in batches:
            if step >= steps:
                break
            with StepTimer() as timer:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                norm = grad_norm(model)
                optimizer.step()
            event = dict(step=step, loss=loss.item(), grad_norm=norm, lr=0.1, data_wait=batches.last_wait,
                         compute=timer.seconds, epoch=epoch, fingerprint=batch_fingerprint(xb),
                         label_histogram=label_histogram(yb, 3))
            start = time.perf_counter()
            reporter.step(**event)
            step_call_seconds += time.perf_counter() - start
            events.append(event)
            step += 1
        epoch += 1
    return events, step_call_seconds


def test_thousand_steps_ingested_and_read_back(saddled, daemon_args, tmp_path):
    client = CountingClient(ProcessTransport(saddled, daemon_args))
    client.initialize()
    metrics = tmp_path / "logs" / "metrics.jsonl"
    reporter = Reporter(client, run_name="toy", metrics_path=metrics, batch_size=50, interval=0.5)
    events, step_seconds = toy_loop(reporter, 1000)
    reporter.close()
    assert reporter.errors == [] and reporter.acknowledged == 1000 and reporter.last_step == 999
    # Batched: 1000 events in ~20 calls of 50 (fewer, larger ones when the loop outpaces the sender; more
    # only when the 0.5 s timer fires mid-batch on a slow machine); never one call per step.
    assert 1 <= client.counts["run/ingest"] <= 100, client.counts
    # The loop never waited on the daemon: 1000 step() calls only append to a list (generous for a loaded CI box).
    assert step_seconds < 1.0, step_seconds

    runs = client.request("run/list")["runs"]
    (run,) = [r for r in runs if r["run"] == reporter.run]
    assert run["name"] == "toy" and run["kind"] == "ingested" and run["steps"] == 1000
    assert run["state"] == "finished"  # close() sent run/stop for the run it created

    history = client.request("run/history", {"run": reporter.run}, timeout=60)
    points = history["points"]
    assert history["totalSteps"] == 1000 and not history["downsampled"]
    assert [p["step"] for p in points] == list(range(1000))
    for point, event in zip(points, events):
        # Python floats travel as their shortest repr and are stored as doubles: exact.
        assert real(point["loss"]) == event["loss"]
        assert real(point["gradNorm"]) == event["grad_norm"]
        assert point["epoch"] == event["epoch"] and point["count"] == 1
        assert point["fingerprint"] == event["fingerprint"]
        assert point["labelHistogram"] == event["label_histogram"]
    assert sum(points[0]["labelHistogram"]) == 8

    lines = metrics.read_text().splitlines()
    assert len(lines) == 1000
    first = json.loads(lines[0])
    assert first["step"] == 0 and first["loss"] == events[0]["loss"] and first["lr"] == 0.1
    assert first["dataWaitSeconds"] == events[0]["data_wait"] and first["computeSeconds"] == events[0]["compute"]
    assert [json.loads(line)["step"] for line in lines] == list(range(1000))
    client.close()


def test_malformed_event_names_its_index(client):
    with pytest.raises(RPCError) as error:
        client.request("run/ingest", {"name": "bad", "steps": [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.9},
                                                               {"step": 2, "loss": "x"}]})
    assert error.value.code == -32602
    assert "params.steps[2].loss" in error.value.message
    assert not any(r["name"] == "bad" for r in client.request("run/list")["runs"])  # nothing stored


def test_reporter_surfaces_refused_batches_on_flush(client):
    reporter = Reporter(client, run_name="refused", batch_size=100, interval=10)
    for step in range(5):
        reporter.step(step=step, loss=1.0 / (step + 1))
    reporter.step(step=5, loss=0.1, compute=-1.0)  # computeSeconds must be ≥ 0: the daemon refuses the batch
    with pytest.raises(ReporterError) as error:
        reporter.flush(timeout=30)
    assert isinstance(error.value.cause, RPCError) and error.value.cause.code == -32602
    assert "params.steps[5].computeSeconds" in str(error.value)
    # Later batches still go through.
    reporter.step(step=6, loss=0.05)
    reporter.flush(timeout=30)
    history = client.request("run/history", {"run": reporter.run})
    assert [p["step"] for p in history["points"]] == [6]
    reporter.close()


def test_non_finite_losses_are_reported_as_they_are(client):
    reporter = Reporter(client, run_name="diverging", batch_size=10)
    reporter.step(step=0, loss=1.0, grad_norm=2.0)
    reporter.step(step=1, loss=float("inf"), grad_norm=float("inf"))
    reporter.step(step=2, loss=torch.tensor(float("nan")), grad_norm=float("nan"))
    reporter.close()
    points = client.request("run/history", {"run": reporter.run})["points"]
    assert [p["loss"] for p in points] == [1.0, "Infinity", "NaN"]
    assert math.isnan(real(points[2]["gradNorm"]))


def test_acknowledged_steps_survive_a_daemon_restart(saddled, daemon_args):
    reporter = Reporter(saddled, run_name="persisted", daemon_args=daemon_args, batch_size=7)
    for step in range(30):
        reporter.step(step=step, loss=float(step), rank=1)
    reporter.close()  # flushes, stops the run, shuts the daemon it spawned down
    assert reporter.client.transport.process.returncode == 0
    with Client.spawn(saddled, daemon_args) as again:
        (run,) = [r for r in again.request("run/list")["runs"] if r["run"] == reporter.run]
        assert run["steps"] == 30
        points = again.request("run/history", {"run": reporter.run, "rank": 1})["points"]
        assert [p["loss"] for p in points] == [float(s) for s in range(30)] and {p["rank"] for p in points} == {1}


def test_metrics_only_without_a_daemon(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with Reporter(connect=False, metrics_path=path) as reporter:
        reporter.step(step=0, loss=float("nan"), lr=0.01, samples_per_second=100)
        reporter.step(step=1, loss=0.5, label_histogram=[1, 0, 2])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"step": 0, "loss": "NaN", "lr": 0.01, "samplesPerSecond": 100.0},
                     {"step": 1, "loss": 0.5, "labelHistogram": [1, 0, 2]}]
    with pytest.raises(RuntimeError):
        reporter.step(step=2, loss=0.1)
