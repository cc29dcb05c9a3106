"""Attaching to a shared `saddled --listen PATH`: two reporters on one daemon, a third connection that
sees both runs, and a reporter's close ending its own connection only."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import needs, start_listening
from saddle_bridge import Client, Reporter, real

pytestmark = needs("run/ingest", "run/history", "run/list")


@pytest.fixture
def listening(saddled, tmp_path):
    """A `saddled --listen` daemon with its store under tmp_path; yields the socket path, stops it after."""
    path, proc = start_listening(saddled, str(tmp_path / "runs.sqlite"), stderr=subprocess.PIPE)
    yield path, proc
    proc.terminate()
    assert proc.wait(timeout=15) == 0  # SIGTERM: stops accepting, closes the store, exits 0
    os.rmdir(os.path.dirname(path))


def losses(offset: float, steps: int) -> list:
    return [offset + 1.0 / (step + 1) for step in range(steps)]


def test_two_reporters_share_one_daemon(listening):
    path, proc = listening
    first = Reporter(socket=path, run_name="first", batch_size=10)
    second = Reporter(Client.connect_unix(path), run_name="second", batch_size=10)
    try:
        for step, (a, b) in enumerate(zip(losses(0.0, 40), losses(5.0, 40))):
            first.step(step=step, loss=a)
            second.step(step=step, loss=b)
        first.flush(timeout=30)
        second.flush(timeout=30)
        assert first.run is not None and second.run is not None and first.run != second.run

        # A third connection sees both runs: one workspace, one registry.
        with Client.connect_unix(path) as observer:
            runs = {r["run"]: r for r in observer.request("run/list", timeout=30)["runs"]}
            assert runs[first.run]["name"] == "first" and runs[first.run]["steps"] == 40
            assert runs[second.run]["name"] == "second" and runs[second.run]["steps"] == 40

        # Closing the first reporter (run/stop, shutdown, exit on its own connection) leaves the daemon
        # serving the second, which keeps ingesting on its connection.
        first.close(timeout=30)
        assert first.errors == []
        assert proc.poll() is None
        for step, loss in enumerate(losses(5.0, 20), start=40):
            second.step(step=step, loss=loss)
        second.flush(timeout=30)
        assert second.errors == [] and second.acknowledged == 60

        history = second.client.request("run/history", {"run": second.run}, timeout=30)
        assert history["totalSteps"] == 60
        # Python floats travel as their shortest repr and are stored as doubles: exact.
        assert [real(p["loss"]) for p in history["points"]] == losses(5.0, 40) + losses(5.0, 20)
        first_history = second.client.request("run/history", {"run": first.run}, timeout=30)
        assert [real(p["loss"]) for p in first_history["points"]] == losses(0.0, 40)
        with Client.connect_unix(path) as observer:
            runs = {r["run"]: r for r in observer.request("run/list", timeout=30)["runs"]}
            assert runs[first.run]["state"] == "finished"  # close() stopped the run it created
    finally:
        second.close(timeout=30)
        second.client.close()  # the reporter was handed this client: it is ours to close
    assert proc.poll() is None  # every client gone; the daemon still serves


def test_environment_socket_and_refusal(listening, monkeypatch):
    path, proc = listening
    monkeypatch.setenv("SADDLE_SOCKET", path)
    with Reporter(run_name="from-env", batch_size=5) as reporter:
        for step in range(7):
            reporter.step(step=step, loss=1.0)
    assert reporter.errors == [] and reporter.acknowledged == 7
    assert proc.poll() is None
    with pytest.raises(ConnectionError, match="cannot attach"):
        Client.connect_unix(path + ".missing")
