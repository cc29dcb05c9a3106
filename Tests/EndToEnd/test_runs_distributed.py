"""Distributed (multi-rank) ingestion against the real saddled binary: one run, every rank reporting its own
steps with `worldSize` and `allreduceSeconds`, read back through run/history; every message is validated
against the protocol schema by the `spawn` fixture."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest


def rank_steps(rank: int, world: int, steps: range) -> list[dict]:
    # Rank r's all-reduce wait is (r + 1) ms plus 0.1 ms per step: distinct per rank and per step.
    return [{"step": s, "rank": rank, "worldSize": world, "loss": 2.0 - 0.01 * s + 0.001 * rank,
             "computeSeconds": 0.02, "dataWaitSeconds": 0.001, "allreduceSeconds": 0.001 * (rank + 1) + 0.0001 * s}
            for s in steps]


def test_a_distributed_run_is_one_run_fed_by_every_rank(spawn, tmp_path: Path):
    store = str(tmp_path / "runs.sqlite")
    client = spawn("--store", store)
    client.initialize()
    # Rank 0 creates the run with no steps yet and hands out its id.
    created = client.result("run/ingest", {"name": "ddp", "steps": []})
    run = created["run"]
    assert created["accepted"] == 0 and "lastStep" not in created
    world = 4
    for rank in range(world):
        answer = client.result("run/ingest", {"run": run, "steps": rank_steps(rank, world, range(20))})
        assert answer == {"run": run, "accepted": 20, "lastStep": 19}
    history = client.result("run/history", {"run": run})
    assert history["totalSteps"] == 80 and not history["downsampled"]
    by_rank = {}
    for p in history["points"]:
        by_rank.setdefault(p["rank"], []).append(p)
    assert sorted(by_rank) == [0, 1, 2, 3], "ranks never overwrite each other: steps are keyed (rank, step)"
    for rank, points in by_rank.items():
        assert [p["step"] for p in points] == list(range(20))
        for p in points:
            assert p["worldSize"] == world
            # Stored as REAL and read back exactly (1e-12: only the JSON round trip of a float64).
            assert p["allreduceSeconds"] == pytest.approx(0.001 * (rank + 1) + 0.0001 * p["step"], abs=1e-12)
    # Downsampled: each point's allreduceSeconds is its bucket's mean. Rank 2, 20 steps into 2 buckets of 10:
    # mean over s = 0..9 of 0.003 + 0.0001·s = 0.003 + 0.00045.
    down = client.result("run/history", {"run": run, "rank": 2, "maxPoints": 2})
    assert down["downsampled"] and [p["count"] for p in down["points"]] == [10, 10]
    assert down["points"][0]["allreduceSeconds"] == pytest.approx(0.00345, abs=1e-12)
    assert down["points"][1]["allreduceSeconds"] == pytest.approx(0.00445, abs=1e-12)
    assert [p["worldSize"] for p in down["points"]] == [4, 4]
    assert client.close() == 0
    # The columns are in the store file itself (added in schema version 2; the file is at the current version, 3).
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        row = db.execute("SELECT allreduce, world_size FROM steps WHERE rank = 3 AND step = 5").fetchone()
        assert row[0] == pytest.approx(0.0045, abs=1e-15) and row[1] == 4


def test_a_rank_at_or_beyond_world_size_is_refused_naming_the_event(spawn):
    client = spawn("--store", ":memory:")
    client.initialize()
    run = client.result("run/ingest", {"name": "ddp", "steps": rank_steps(0, 2, range(3))})["run"]
    steps = rank_steps(1, 2, range(3)) + [{"step": 0, "rank": 2, "worldSize": 2, "loss": 1.0}]
    answer = client.call("run/ingest", {"run": run, "steps": steps})
    assert answer["error"]["code"] == -32602
    assert "`params.steps[3].rank` must be less than `worldSize` (2)" in answer["error"]["message"], answer
    # Nothing of a refused call is stored: rank 0's three steps only.
    history = client.result("run/history", {"run": run})
    assert [(p["rank"], p["step"]) for p in history["points"]] == [(0, 0), (0, 1), (0, 2)]
    assert client.close() == 0


def test_out_of_range_distributed_fields_are_refused(spawn):
    # These params break the schema on purpose, so this client does not validate what it sends.
    client = spawn("--store", ":memory:", validate=False)
    client.initialize()
    run = client.result("run/ingest", {"name": "ddp", "steps": []})["run"]
    bad = client.call("run/ingest", {"run": run, "steps": [{"step": 0, "loss": 1.0}, {"step": 1, "loss": 1.0, "allreduceSeconds": -1}]})
    assert bad["error"]["code"] == -32602
    assert bad["error"]["message"] == "`params.steps[1].allreduceSeconds` must be at least 0.0, got -1.0"
    zero = client.call("run/ingest", {"run": run, "steps": [{"step": 0, "loss": 1.0, "worldSize": 0}]})
    assert zero["error"]["code"] == -32602
    assert zero["error"]["message"] == "`params.steps[0].worldSize` must be a positive integer, got 0"
    assert client.result("run/history", {"run": run})["totalSteps"] == 0
    assert client.close() == 0


def test_a_version_1_store_opens_migrated_with_its_steps(spawn, tmp_path: Path):
    store = tmp_path / "v1.sqlite"
    with sqlite3.connect(store) as db:
        db.executescript("""
            CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('own', 'ingested')), state TEXT NOT NULL, config TEXT NOT NULL,
                created_at REAL NOT NULL, updated_at REAL NOT NULL, finish_reason TEXT, finish_message TEXT);
            CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, rank INTEGER NOT NULL,
                step INTEGER NOT NULL, epoch INTEGER NOT NULL, loss REAL, grad_norm REAL, lr REAL, data_wait REAL,
                compute REAL, throughput REAL, fingerprint TEXT, label_histogram TEXT,
                PRIMARY KEY (run_id, rank, step)) WITHOUT ROWID;
            CREATE TABLE diagnoses (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                step INTEGER, verdict TEXT NOT NULL, detail TEXT NOT NULL, created_at REAL NOT NULL);
            CREATE INDEX diagnoses_by_run ON diagnoses (run_id, step);
            INSERT INTO runs VALUES ('rold00000000a', 'old', 'ingested', 'running', '{}', 1.0, 1.0, NULL, NULL);
            PRAGMA user_version = 1;
        """)
        db.executemany("INSERT INTO steps VALUES ('rold00000000a', 0, ?, 0, ?, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
                       [(s, 1.0 / (s + 1)) for s in range(50)])
    client = spawn("--store", str(store))
    client.initialize()
    history = client.result("run/history", {"run": "rold00000000a"})
    assert [p["step"] for p in history["points"]] == list(range(50))
    assert all("worldSize" not in p and "allreduceSeconds" not in p for p in history["points"])
    assert client.result("run/ingest", {"run": "rold00000000a", "steps": rank_steps(0, 1, range(50, 51))})["accepted"] == 1
    assert client.close() == 0
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        assert db.execute("SELECT count(*) FROM steps").fetchone()[0] == 51
        # Version 3's stored step count: backfilled (50) at migration, plus the one step ingested after.
        assert db.execute("SELECT step_count FROM runs WHERE id = 'rold00000000a'").fetchone()[0] == 51
