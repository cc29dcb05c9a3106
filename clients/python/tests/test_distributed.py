"""Distributed runs against the real daemon: 4 gloo ranks as processes (tests/distributed_worker.py),
each reporting to one `saddled --listen` over its socket.

One start-up of the 4 ranks runs every case in turn (torch's import and the process group cost
seconds on 2 cores; the cases themselves well under a second or two each): a healthy run, an
injected straggler, an injected data stall on one rank, a DistributedSampler never told the
epoch, and the curvature of a float64 MLP that the daemon also holds. The tests then read each run
back (`run/history`: every rank's every step) and diagnose it (`diagnose {"run"}`).

Timings are never asserted: the injected delays (30 ms a step) decide the verdicts, and the
reporting cost is printed (run pytest with -s to see it).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import needs, start_listening
from saddle_bridge import Client, real

torch = pytest.importorskip("torch", reason="torch.distributed needs torch (torch CPU is installed in CI)")

WORLD = 4
STEPS = 48  # distributed_worker: 6 epochs of 8 batches per rank
STRAGGLER, STALLED = 1, 2
WORKER = Path(__file__).resolve().parent / "distributed_worker.py"

pytestmark = needs("run/ingest", "run/history")


@pytest.fixture(scope="module")
def cluster(saddled, tmp_path_factory):
    """A `saddled --listen` daemon, and WORLD ranks that ran every case against it.

    Yields (socket path, {case: [per-rank result]}, out_dir); stops the daemon after the module.
    """
    tmp = tmp_path_factory.mktemp("dist")
    path, daemon = start_listening(saddled, str(tmp / "runs.sqlite"), stderr=subprocess.PIPE)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    store = tmp / "store"
    logs = [open(tmp / f"rank{r}.log", "w+") for r in range(WORLD)]
    ranks = [subprocess.Popen([sys.executable, str(WORKER), str(r), str(WORLD), str(store), path, str(tmp)],
                              stdout=logs[r], stderr=subprocess.STDOUT, env=env) for r in range(WORLD)]
    try:
        deadline = time.monotonic() + 240
        for r, proc in enumerate(ranks):
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                for p in ranks:
                    p.kill()
                pytest.fail(f"rank {r} did not finish within 240 s")
        failed = [r for r, p in enumerate(ranks) if p.returncode != 0]
        if failed:
            text = ""
            for r in failed:
                logs[r].seek(0)
                text += f"--- rank {r} (exit {ranks[r].returncode}) ---\n{logs[r].read()[-4000:]}\n"
            pytest.fail(f"ranks {failed} failed:\n{text}", pytrace=False)
        results = [json.loads((tmp / f"rank{r}.json").read_text()) for r in range(WORLD)]
        cases = {case: [results[r][case] for r in range(WORLD)] for case in results[0]}
        yield path, cases, tmp
    finally:
        for log in logs:
            log.close()
        daemon.terminate()
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()


def run_of(cases, case):
    runs = {r["run"] for r in cases[case]}
    assert len(runs) == 1, f"every rank reports into one run, got {runs}"
    return runs.pop()


def check_history(client, cases, case):
    """Every rank's every step is stored: WORLD × STEPS points, per rank steps 0..STEPS-1, with the
    distributed fields (worldSize, allreduceSeconds) and the measured times."""
    run = run_of(cases, case)
    for r, result in enumerate(cases[case]):
        assert result["acknowledged"] == STEPS == result["steps"], (r, result)
    history = client.request("run/history", {"run": run}, timeout=60)
    points = history["points"]
    assert history["totalSteps"] == WORLD * STEPS and len(points) == WORLD * STEPS
    for r in range(WORLD):
        mine = [p for p in points if p["rank"] == r]
        assert [p["step"] for p in mine] == list(range(STEPS)), f"rank {r} lost steps"
        assert all(p.get("worldSize") == WORLD for p in mine)
        assert all(real(p["allreduceSeconds"]) >= 0 and real(p["computeSeconds"]) > 0 for p in mine)
        assert all(len(p["fingerprint"]) == 16 and sum(p["labelHistogram"]) == 8 for p in mine)
        assert [p["epoch"] for p in mine] == [s // 8 for s in range(STEPS)]
    per_rank = history_by_rank(points)
    return run, per_rank


def history_by_rank(points):
    out = {}
    for p in points:
        out.setdefault(p["rank"], []).append(p)
    return out


def median(values):
    s = sorted(values)
    return s[len(s) // 2]


def print_overhead(cases, case):
    for r, result in enumerate(cases[case]):
        cost = result["stepCpuSeconds"] + result["senderCpuSeconds"]
        print(f"{case} rank {r}: {result['events']} events, loop {result['loopSeconds']:.3f} s, "
              f"step() CPU {1e6 * result['stepCpuSeconds'] / result['events']:.1f} µs/event, sender CPU "
              f"{1e6 * result['senderCpuSeconds'] / result['events']:.1f} µs/event, "
              f"reporting share {100 * cost / result['loopSeconds']:.2f} %")


def diagnose(client, run):
    result = client.request("diagnose", {"run": run}, timeout=60)
    # The numbers behind the verdict, in the log of a failing (or -s) run.
    print(run, result.get("verdict"), result.get("ranks", {}).get("implicated"),
          [(e.get("name"), e.get("value"), e.get("threshold"), e.get("ranks")) for e in result.get("evidence", [])
           if e.get("name", "").startswith(("rank", "epoch", "shared", "repeated", "allreduce", "dataWait"))])
    return result


def test_healthy_run_is_progressing(cluster):
    path, cases, _ = cluster
    with Client.connect_unix(path) as client:
        run, per_rank = check_history(client, cases, "healthy")
        # The all-reduce averages the gradients: every rank holds the same model, so the losses fall on
        # every rank (mean of the last epoch below the first epoch's).
        for r, pts in per_rank.items():
            first = sum(real(p["loss"]) for p in pts[:8]) / 8
            last = sum(real(p["loss"]) for p in pts[-8:]) / 8
            assert last < 0.7 * first, (r, first, last)
            assert len({p["fingerprint"] for p in pts}) == STEPS  # set_epoch: no batch repeats
        print_overhead(cases, "healthy")
        result = diagnose(client, run)
    assert result["verdict"] == "progressing", result
    assert result["ranks"]["implicated"] == [] and result["ranks"]["worldSize"] == WORLD
    assert result["ranks"]["reporting"] == list(range(WORLD)) and result["ranks"]["missing"] == []


def test_straggler_is_implicated(cluster):
    path, cases, _ = cluster
    with Client.connect_unix(path) as client:
        run, per_rank = check_history(client, cases, "straggler")
        compute = {r: median(real(p["computeSeconds"]) for p in pts) for r, pts in per_rank.items()}
        # The injected 30 ms shows in the straggler's compute, not in the others'.
        assert compute[STRAGGLER] >= 0.03 and all(compute[r] < 0.02 for r in compute if r != STRAGGLER), compute
        # ... and the others wait for it at the all-reduce (allreduceSeconds), while it hardly waits.
        wait = {r: median(real(p["allreduceSeconds"]) for p in pts) for r, pts in per_rank.items()}
        others = [wait[r] for r in wait if r != STRAGGLER]
        assert min(others) >= 0.02 and wait[STRAGGLER] < min(others) / 2, wait
        print_overhead(cases, "straggler")
        result = diagnose(client, run)
    assert result["verdict"] == "straggler", result
    assert result["ranks"]["implicated"] == [STRAGGLER], result["ranks"]


def test_data_stall_on_one_rank_is_implicated(cluster):
    path, cases, _ = cluster
    with Client.connect_unix(path) as client:
        run, per_rank = check_history(client, cases, "stall")
        wait = {r: median(real(p["dataWaitSeconds"]) for p in pts) for r, pts in per_rank.items()}
        assert wait[STALLED] >= 0.025 and all(wait[r] < 0.01 for r in wait if r != STALLED), wait
        result = diagnose(client, run)
    assert result["verdict"] == "dataPipelineStall", result
    assert result["ranks"]["implicated"] == [STALLED], result["ranks"]


def test_sampler_without_set_epoch_repeats_batches_on_every_rank(cluster):
    path, cases, _ = cluster
    with Client.connect_unix(path) as client:
        run, per_rank = check_history(client, cases, "epochRepeat")
        for r, pts in per_rank.items():
            # Without set_epoch every epoch replays epoch 0's batches: 8 distinct fingerprints in 48 steps.
            assert len({p["fingerprint"] for p in pts}) == 8, r
            assert [p["fingerprint"] for p in pts[8:16]] == [p["fingerprint"] for p in pts[:8]]
        result = diagnose(client, run)
    assert result["verdict"] == "dataPipelineStall", result
    assert result["ranks"]["implicated"] == list(range(WORLD)), result["ranks"]
    assert any(item.get("name") == "epochRepeatShare" for item in result["evidence"]), result["evidence"]


REL = 1e-4  # the bound; float64 HVPs on both sides agree to ~1e-12, converged Lanczos to ~1e-10


def test_distributed_curvature_matches_the_daemon(cluster):
    """λ_max, λ_min (Lanczos in PyTorch across 4 ranks, each on a quarter of the data) and the trace
    (the daemon's Rademacher probes, same seed) equal the daemon's own on the whole data set."""
    path, cases, out = cluster
    results = cases["curvature"]
    # Every rank ends the collective Lanczos and Hutchinson with the same numbers (rank 0's decisions).
    for r in results[1:]:
        assert r["lambdaMax"] == results[0]["lambdaMax"] and r["trace"] == results[0]["trace"]
    got = results[0]
    with Client.connect_unix(path) as client:
        if client.supports("curvature/ritz"):
            assert got["ritzSource"] == "daemon"
        model = client.request("model/load", {"spec": json.loads((out / "curv.json").read_text()),
                                              "weights": str(out / "curv.safetensors"), "name": "dist-curv"})
        data = client.request("dataset/load", {"format": "npy", "inputs": str(out / "curv_x.npy"),
                                               "targets": str(out / "curv_y.npy"), "name": "dist-curv-data"})
        common = {"model": model["id"], "dataset": data["id"], "precision": "double"}
        eigen = client.request("curvature/eigen", {**common, "largest": 1, "smallest": 1, "tolerance": 1e-10},
                               timeout=120)
        trace = client.request("curvature/trace", {**common, "probes": 20, "seed": 7}, timeout=120)
    top, bottom = real(eigen["largest"][0]["value"]), real(eigen["smallest"][0]["value"])
    print(f"curvature: bridge λmax {got['lambdaMax']!r} λmin {got['lambdaMin']!r} trace {got['trace']!r} "
          f"({got['steps']} Lanczos steps, {got['stopReason']}, ritz from {got['ritzSource']}); daemon {top!r} "
          f"{bottom!r} {trace['estimate']!r}")
    assert bottom < 0 < top  # a tanh MLP at random init: indefinite, so both ends are tested
    assert abs(got["lambdaMax"] - top) <= REL * abs(top)
    assert abs(got["lambdaMin"] - bottom) <= REL * abs(bottom)
    assert abs(got["trace"] - real(trace["estimate"])) <= REL * abs(real(trace["estimate"]))
    assert got["products"] == got["steps"] + 20  # one HVP per Lanczos step and per probe


@needs("diagnose")
def test_curvature_evidence_reaches_diagnose(cluster):
    _, cases, _ = cluster
    got = cases["curvature"][0]
    diagnosis = got["diagnosis"]
    assert "error" not in diagnosis, diagnosis
    evidence = diagnosis.get("evidenceInput") or {}
    assert math.isclose(real(evidence["lambdaMax"]), got["lambdaMax"], rel_tol=1e-12), diagnosis
    assert math.isclose(real(evidence["hessianTrace"]), got["trace"], rel_tol=1e-12), diagnosis
