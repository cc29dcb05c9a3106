"""The terminal client `saddle` attached to a running `saddled --listen PATH` (--socket, $SADDLE_SOCKET):
no daemon spawned, each command its own connection, the daemon alive and shared afterwards."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from socket_client import SocketDaemon
from test_terminal import REPO, saddle

XOR_RUN = {
    "model": {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"}, {"kind": "dense", "units": 1}],
              "loss": "mse", "seed": 1},
    "data": {"generate": {"kind": "xor", "samples": 200, "noise": 0.05, "labels": "signed", "seed": 2}},
    "optimizer": {"kind": "sgd", "lr": 0.05}, "pipeline": {"batchSize": 32}, "steps": 150}


@pytest.fixture
def daemon(tmp_path):
    daemon = SocketDaemon(str(tmp_path / "saddled.sock"), "--store", str(tmp_path / "runs.sqlite"),
                          env={"XDG_STATE_HOME": str(tmp_path / "state")})
    yield daemon
    assert daemon.stop() == 0  # SIGTERM after the test: the daemon was still serving, and ends cleanly


def status(socket_path: str | None, env: dict | None = None) -> dict:
    """`saddle status` attached by --socket, or (socket_path None) by the environment `env`."""
    out = saddle("status", "--socket", socket_path) if socket_path is not None else saddle_env(env or {}, "status")
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def saddle_env(env: dict, *args: str) -> subprocess.CompletedProcess:
    binary = os.environ.get("SADDLE") or str(Path(os.environ.get("SADDLED", REPO / ".build/debug/saddled")).parent / "saddle")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, **env})


def test_commands_attach_to_one_shared_daemon(daemon, tmp_path):
    first = status(daemon.path)
    time.sleep(0.2)
    second = status(daemon.path)
    # One daemon served both: its uptime grew across the two commands (a spawned one would start at ~0).
    assert second["uptimeSeconds"] >= first["uptimeSeconds"] + 0.15, (first, second)
    assert first["datasets"] == 0 and first["models"] == 0
    assert daemon.proc.poll() is None, "status's shutdown/exit ended its connection, not the daemon"

    run_file = tmp_path / "xor.json"
    run_file.write_text(json.dumps(XOR_RUN))
    out = saddle("diagnose", str(run_file), "--socket", daemon.path, "--format", "json")
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "progressing" and result["step"] == 149  # same as the spawned-daemon test
    assert daemon.proc.poll() is None

    # The data set and model the run file created live on in the shared daemon, seen from another connection.
    observer = daemon.connect()
    observer.initialize()
    datasets = observer.result("dataset/list")["datasets"]
    assert len(datasets) == 1 and datasets[0]["samples"] == 200, datasets
    runs = observer.result("run/list")["runs"]
    assert len(runs) == 1 and runs[0]["steps"] == 150 and runs[0]["state"] == "finished", runs
    observer.close()
    third = status(daemon.path)
    assert third["datasets"] == 1 and third["models"] == 1
    # Every command connected and exited on its own connection (one log line each way).
    assert daemon.log.count("connected") >= 4, daemon.log


def test_environment_variable_attaches_and_missing_socket_fails(daemon, tmp_path):
    before = status(daemon.path)
    after = status(None, env={"SADDLE_SOCKET": daemon.path})
    assert after["uptimeSeconds"] > before["uptimeSeconds"]
    missing = saddle("status", "--socket", str(tmp_path / "none.sock"))
    assert missing.returncode != 0 and "cannot attach to saddled" in missing.stderr, missing.stderr
    assert daemon.proc.poll() is None
