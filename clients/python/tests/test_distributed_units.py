"""The distributed bridge's parts in one process (a world of one: no process group), against dense
references and the real daemon: the generator port, local Ritz values, Lanczos and Hutchinson in
PyTorch, fingerprints, index recording, and DistributedReporter's reporting and error surfacing."""

from __future__ import annotations

import math

import pytest

from conftest import flat_loss, needs
from saddle_bridge import (Client, DistributedCurvature, DistributedReporter, DistributedReporterError, ReporterError,
                           SeededRandom,
                           allreduce_gradients, batch_digest, grad_norm, real, ritz_values)
from saddle_bridge.distributed import IndexRecorder, RankLoader

torch = pytest.importorskip("torch", reason="the distributed bridge needs torch (torch CPU is installed in CI)")
nn = torch.nn


def test_seeded_random_matches_the_daemons_known_values():
    # The values Tests/SaddleMathTests/SeededRandomTests.swift pins for the Swift generator: exact.
    zero = SeededRandom(0)
    assert [zero.next() for _ in range(3)] == [0x99EC5F36CB75F2B4, 0xBF6E1F784956452A, 0x1A5F849D4933E6E0]
    r = SeededRandom(42)
    assert [r.next() for _ in range(3)] == [0x15780B2E0C2EC716, 0x6104D9866D113A7E, 0xAE17533239E499A1]
    u = SeededRandom(42)
    assert [u.uniform(), u.uniform()] == [0.08386297105988216, 0.3789802506626686]
    # The inlined probe loop is the same stream as one draw at a time, and leaves the same state.
    a, b = SeededRandom(9), SeededRandom(9)
    assert a.rademacher_vector(1000) == [b.rademacher() for _ in range(1000)]
    assert a.next() == b.next()
    assert SeededRandom(2**64 + 5).next() == SeededRandom(5).next()  # seeds are taken modulo 2^64


def test_local_ritz_values_follow_the_daemon_rule():
    # T = tridiag with alphas on the diagonal and betas[:-1] off it; a zero last coupling: exact values.
    alphas, betas = [2.0, 3.0, 1.0], [1.0, 0.5, 0.0]
    result = ritz_values(alphas, betas, k=1, tolerance=1e-12)
    dense = torch.tensor([[2.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 1.0]], dtype=torch.float64)
    eig = torch.linalg.eigvalsh(dense).tolist()
    assert math.isclose(result["largest"][0]["value"], eig[-1], rel_tol=1e-14)
    assert math.isclose(result["smallest"][0]["value"], eig[0], rel_tol=1e-14)
    assert result["converged"] and result["largest"][0]["residual"] == 0.0
    # A nonzero last coupling: residual = beta_m * |last eigenvector component| (here > tolerance × scale).
    loose = ritz_values(alphas, [1.0, 0.5, 0.3], k=1, tolerance=1e-6)
    _, vectors = torch.linalg.eigh(dense)
    assert math.isclose(loose["largest"][0]["residual"], 0.3 * abs(float(vectors[2, 2])), rel_tol=1e-12)
    assert not loose["converged"] and loose["spectrumScale"] == max(abs(e) for e in eig)


def small_problem(samples=40):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    g = torch.Generator().manual_seed(6)
    x = torch.randn(samples, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (samples,), generator=g)
    return model, x, y


def dense_hessian(model, x, y):
    loss_of, flat0 = flat_loss(model, nn.functional.cross_entropy, x, y)
    h = torch.autograd.functional.hessian(loss_of, flat0)
    return (h + h.T) / 2


def test_lanczos_and_hutchinson_in_pytorch_match_the_dense_hessian():
    model, x, y = small_problem()
    # Uneven batches (13 + 27 samples): the count-weighted mean is the whole set's Hessian.
    curv = DistributedCurvature(model, nn.CrossEntropyLoss(), [(x[:13], y[:13]), (x[13:], y[13:])])
    h = dense_hessian(model, x, y)
    eig = torch.linalg.eigvalsh(h)
    scale = float(eig.abs().max())
    v = torch.randn(curv.dimension, dtype=torch.float64)
    assert torch.allclose(curv.hvp(v), h @ v, rtol=0, atol=1e-12 * scale * float(v.norm()))
    result = curv.eigen(k=2, tolerance=1e-10)
    assert result.ritz_source == "local" and result.stop_reason in ("converged", "invariantSubspace")
    # Converged Lanczos in float64: the extreme values to ~1e-10 of the spectrum's scale.
    assert abs(result.lambda_max - float(eig[-1])) <= 1e-8 * scale
    assert abs(result.largest[1][0] - float(eig[-2])) <= 1e-8 * scale
    assert abs(result.lambda_min - float(eig[0])) <= 1e-8 * scale
    # Hutchinson with the daemon's probes: each sample is exactly zᵀHz for the generator's z.
    trace = curv.trace(probes=5, seed=11)
    rng = SeededRandom(11)
    want = []
    for _ in range(5):
        z = torch.tensor(rng.rademacher_vector(curv.dimension), dtype=torch.float64)
        want.append(float(z @ h @ z))
    assert all(abs(a - b) <= 1e-10 * scale * curv.dimension for a, b in zip(trace.samples, want))
    mean = sum(want) / 5
    assert math.isclose(trace.estimate, mean, rel_tol=1e-9)
    assert math.isclose(trace.standard_error, math.sqrt(sum((w - mean) ** 2 for w in want) / 4 / 5), rel_tol=1e-6)
    assert curv.products == 1 + result.steps + 5
    # torch's generator (the default above a million parameters): Rademacher ±1 probes, the same for a
    # seed, each sample zᵀHz, and the estimate within 4 standard errors of the exact trace.
    fast = curv.trace(probes=200, seed=3, probe_source="torch")
    again = curv.trace(probes=200, seed=3, probe_source="torch")
    assert fast.samples == again.samples
    exact = float(torch.trace(h))
    assert abs(fast.estimate - exact) <= 4 * fast.standard_error, (fast.estimate, fast.standard_error, exact)
    with pytest.raises(ValueError, match="probe_source"):
        curv.trace(probes=2, probe_source="numpy")


def test_batch_digest_repeats_exactly_with_the_batch_and_is_bounded():
    a = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    assert batch_digest(a) == batch_digest(a.clone()) and len(batch_digest(a)) == 16
    assert batch_digest(a) != batch_digest(a + 1) and batch_digest(a) != batch_digest(a.reshape(4, 3))
    assert batch_digest([3, 1, 2]) != batch_digest([1, 2, 3]) and batch_digest([3, 1, 2]) == batch_digest((3, 1, 2))
    big = torch.randn(2_000_000)  # 8 MB: hashed through a strided sample of 64 KiB
    assert batch_digest(big) == batch_digest(big.clone()) != batch_digest(big.roll(1))
    assert batch_digest((a, torch.tensor([1, 0, 1]))) != batch_digest((a, torch.tensor([1, 1, 1])))


class Arrivals:
    def __init__(self):
        self.seen = []

    def _batch_arrived(self, wait, indices):
        self.seen.append((wait, indices))


def test_index_recorder_gives_each_batch_its_sample_indices():
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    data = TensorDataset(torch.arange(20).float(), torch.arange(20))
    sampler = IndexRecorder(DistributedSampler(data, num_replicas=2, rank=1, shuffle=True, seed=3))
    loader = DataLoader(data, batch_size=4, sampler=sampler)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)  # passes through to the DistributedSampler
        arrivals = Arrivals()
        batches = [y.tolist() for _, y in RankLoader(loader, arrivals, sampler)]
        # The dataset's labels are the indices: each batch's recorded indices are its labels.
        assert [indices for _, indices in arrivals.seen] == batches
        assert [len(b) for b in batches] == [4, 4, 2] and all(w >= 0 for w, _ in arrivals.seen)
        expected = list(DistributedSampler(data, num_replicas=2, rank=1, shuffle=True, seed=3).__iter__()) \
            if epoch == 0 else None
        if expected is not None:
            assert sum(batches, []) == expected


class Streaming:
    """A sampler without a length (indices produced on the fly): recorded index by index."""

    def __iter__(self):
        yield from [7, 3, 5, 1, 0]


def test_index_recorder_streams_a_sampler_without_a_length():
    from torch.utils.data import DataLoader, TensorDataset

    data = TensorDataset(torch.arange(10).float(), torch.arange(10))
    sampler = IndexRecorder(Streaming())
    arrivals = Arrivals()
    batches = [y.tolist() for _, y in RankLoader(DataLoader(data, batch_size=2, sampler=sampler), arrivals, sampler)]
    assert batches == [[7, 3], [5, 1], [0]] and [i for _, i in arrivals.seen] == batches


def test_allreduce_gradients_in_a_world_of_one_is_the_gradient_norm():
    model, x, y = small_problem()
    nn.functional.cross_entropy(model(x), y).backward()
    before = [p.grad.clone() for p in model.parameters()]
    norm = allreduce_gradients(model)
    assert math.isclose(float(norm), grad_norm(model), rel_tol=1e-12)
    assert all(torch.equal(b, p.grad) for b, p in zip(before, model.parameters()))


@needs("run/ingest", "run/history", "run/stop")
def test_world_of_one_reports_and_surfaces_refusals(listening_socket):
    path = listening_socket
    reporter = DistributedReporter(path, run_name="solo", classes=3, batch_size=4, interval=0.05)
    for step in range(6):
        with reporter.compute():
            pass
        reporter.step(step, 1.0 / (step + 1), epoch=0, lr=0.1, batch=torch.full((2, 2), float(step)),
                      labels=torch.tensor([0, 2]))
    reporter.close(timeout=30)
    with Client.connect_unix(path) as client:
        history = client.request("run/history", {"run": reporter.run}, timeout=30)
        runs = {r["run"]: r for r in client.request("run/list", timeout=30)["runs"]}
    assert [p["step"] for p in history["points"]] == list(range(6))
    assert all(p["rank"] == 0 and p.get("worldSize") == 1 and p["labelHistogram"] == [1, 0, 1]
               for p in history["points"])
    assert [real(p["loss"]) for p in history["points"]] == [1.0 / (s + 1) for s in range(6)]
    assert len({p["fingerprint"] for p in history["points"]}) == 6  # different batches, different digests
    assert runs[reporter.run]["state"] == "finished"  # rank 0's close stopped the run

    # A refused event (a negative data wait) does not stop the loop: flush raises it on its rank, later
    # steps still go through, and close raises it again on every rank, naming the rank that lost events.
    bad = DistributedReporter(path, run_name="refused", batch_size=1)
    bad.step(0, 1.0, data_wait=-1.0)
    with pytest.raises(ReporterError, match="dataWaitSeconds"):
        bad.flush(timeout=30)
    bad.step(1, 1.0)
    with pytest.raises(DistributedReporterError, match=r"rank\(s\) \[0\].*dataWaitSeconds") as caught:
        bad.close(timeout=30)
    assert list(caught.value.failures) == [0] and bad.acknowledged == 1


def test_missing_socket_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SADDLE_SOCKET", raising=False)
    with pytest.raises(ConnectionError, match="no daemon socket"):
        DistributedReporter(run_name="x")
    with pytest.raises(ConnectionError, match="cannot attach"):
        DistributedReporter(str(tmp_path / "nothing.sock"), run_name="x")
