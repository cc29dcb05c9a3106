"""Crash safety with the real binary: SIGKILL at random moments while a run trains AND while steps are being
ingested, round after round. After each restart every acknowledged step is in the store and SQLite's integrity
check passes. (test_runs.py::test_acknowledged_steps_survive_sigkill covers the run list across three kills; this
adds training steps, more rounds and per-round checks.)

What "acknowledged" means (protocol/runs.md, Durability): an ingested step once `run/ingest` has answered; a
trained step once the daemon has notified it and the store writer's few milliseconds have passed — here, a
`run/step` notification received at least 0.5 s before the kill (generous for a loaded 2-core machine)."""
from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

XOR_SPEC = {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"}, {"kind": "dense", "units": 1}],
            "loss": "binaryCrossEntropy", "seed": 1}
ROUNDS = 6
SETTLE = 0.5


def stored_steps(db: sqlite3.Connection, run: str) -> set[int]:
    return {row[0] for row in db.execute("SELECT step FROM steps WHERE run_id = ?", (run,))}


def test_sigkill_during_training_and_ingestion_loses_no_acknowledged_step(spawn, tmp_path: Path):
    store = tmp_path / "runs.sqlite"
    rng = random.Random(11)
    ingested_run = None
    ingested_ack: set[int] = set()
    trained: dict[str, int] = {}  # run -> highest step acknowledged (notified >= SETTLE s before the kill)
    next_step = 0
    for round_ in range(ROUNDS + 1):
        client = spawn("--store", str(store))
        client.initialize()
        # Checks after the restart: the store is whole and holds every acknowledged step.
        with sqlite3.connect(store) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"round {round_}"
            if ingested_run:
                missing = ingested_ack - stored_steps(db, ingested_run)
                assert not missing, f"round {round_}: lost ingested steps {sorted(missing)[:5]}"
            for run, last in trained.items():
                steps = stored_steps(db, run)
                assert set(range(last + 1)) <= steps, f"round {round_}: run {run} lost trained steps up to {last}"
                assert steps == set(range(len(steps))), f"round {round_}: run {run} has gaps"
        listed = {r["run"] for r in client.result("run/list")["runs"]}
        assert set(trained) <= listed and (ingested_run is None or ingested_run in listed)
        if round_ == ROUNDS:
            break

        data = client.result("dataset/generate", {"kind": "xor", "samples": 64, "seed": 1})["id"]
        model = client.result("model/create", {"spec": XOR_SPEC})["id"]
        run = client.result("run/start", {"model": model, "dataset": data, "optimizer": {"kind": "sgd", "lr": 0.05},
                                          "pipeline": {"batchSize": 16}, "steps": 1_000_000, "events": {"rate": 100}})["run"]
        notified: list[tuple[float, int]] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                try:
                    note = client.next_notification("run/step", timeout=0.2)
                except Exception:
                    continue
                if note["params"]["run"] == run:
                    notified.append((time.monotonic(), note["params"]["step"]))
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        # Ingest while the run trains; the kill lands at a random moment, with one batch in flight.
        deadline = time.monotonic() + rng.uniform(0.6, 1.2)
        while time.monotonic() < deadline:
            batch = [{"step": next_step + i, "loss": 1.0 / (next_step + i + 1)} for i in range(rng.randint(20, 200))]
            params = {"steps": batch, **({"run": ingested_run} if ingested_run else {"name": "external"})}
            ingested_run = client.result("run/ingest", params)["run"]
            ingested_ack.update(e["step"] for e in batch)
            next_step += len(batch)
        client.request_async("run/ingest", {"run": ingested_run,
                                            "steps": [{"step": next_step + i, "loss": 0.5} for i in range(100)]})
        next_step += 100
        time.sleep(rng.uniform(0.0, 0.05))
        killed_at = time.monotonic()
        client.kill()
        stop.set()
        watcher.join()
        settled = [step for at, step in notified if at <= killed_at - SETTLE]
        assert notified, f"round {round_}: the run streamed no steps"
        trained[run] = max(settled, default=-1)
    assert len(trained) == ROUNDS and len(ingested_ack) > 0
    assert sum(1 for last in trained.values() if last >= 0) >= ROUNDS // 2, trained
    assert client.close() == 0


def test_sigterm_over_stdio_commits_the_queued_steps_and_exits_cleanly(spawn, tmp_path: Path):
    """An editor closing the daemon (SIGTERM over stdio) lets it commit what it has queued: every step a
    `run/step` notification reported is stored, the store passes its integrity check, and the exit code is 0."""
    store = tmp_path / "runs.sqlite"
    client = spawn("--store", str(store))
    client.initialize()
    data = client.result("dataset/generate", {"kind": "xor", "samples": 64, "seed": 1})["id"]
    model = client.result("model/create", {"spec": XOR_SPEC})["id"]
    run = client.result("run/start", {"model": model, "dataset": data, "optimizer": {"kind": "sgd", "lr": 0.05},
                                      "pipeline": {"batchSize": 16}, "steps": 1_000_000, "events": {"rate": 100}})["run"]
    last = -1
    while last < 200:
        last = max(last, client.next_notification("run/step", timeout=10)["params"]["step"])
    client.proc.send_signal(signal.SIGTERM)
    assert client.proc.wait(timeout=15) == 0
    assert b"closing the run store" in client.proc.stderr.read()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert set(range(last + 1)) <= stored_steps(db, run)


def test_exit_while_the_final_diagnosis_computes_is_clean(spawn, tmp_path: Path):
    """`exit` arriving while a finished run's final diagnosis is still in BLAS: exit code 0 (library destructors
    run at exit used to free OpenBLAS's buffers under the computing thread: SIGSEGV)."""
    client = spawn("--store", str(tmp_path / "runs.sqlite"))
    client.initialize()
    spec = {"input": 784, "layers": [{"kind": "dense", "units": 256, "activation": "relu"},
                                     {"kind": "dense", "units": 256, "activation": "relu"}, {"kind": "dense", "units": 10}],
            "loss": "softmaxCrossEntropy", "seed": 1}
    data = client.result("dataset/generate", {"kind": "gaussianMixture", "classes": 10, "dimensions": 784,
                                              "samples": 1024, "seed": 1})["id"]
    model = client.result("model/create", {"spec": spec})["id"]
    run = client.result("run/start", {"model": model, "dataset": data, "optimizer": {"kind": "sgd", "lr": 0.01},
                                      "pipeline": {"batchSize": 128}, "steps": 20})["run"]
    client.next_notification("run/finished", timeout=60)
    time.sleep(0.3)  # the final diagnosis is now computing curvature
    assert client.result("run/status", {"run": run})["state"] == "finished"
    assert client.close(timeout=30) == 0
