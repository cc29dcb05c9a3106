"""Shared fixtures: the real saddled binary ($SADDLED, default <repo>/.build/debug/saddled).

A missing binary is a failure with a message, never a silent skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # run from a checkout without `pip install`

from saddle_bridge import Client  # noqa: E402


def daemon_path() -> str:
    return os.environ.get("SADDLED") or str(REPO / ".build" / "debug" / "saddled")


@pytest.fixture(scope="session")
def saddled() -> str:
    path = daemon_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"saddled binary not found at {path}: build it with `swift build` in {REPO} or set $SADDLED",
                    pytrace=False)
    return path


@pytest.fixture
def daemon_args(saddled: str, tmp_path: Path) -> list:
    """saddled's flags for this test (its own run store under tmp_path)."""
    return daemon_args_for(saddled, tmp_path)


@pytest.fixture
def client(saddled: str, daemon_args: list):
    """An initialized client of a fresh daemon, closed (shutdown + exit) after the test."""
    c = Client.spawn(saddled, daemon_args)
    yield c
    c.close()


_help_cache: dict = {}


def daemon_args_for(saddled: str, tmp_path) -> list:
    """Flags that keep a test's daemon state inside tmp_path (`--store`, where the daemon has a run store),
    so tests never touch the user's ~/.local/state/saddle/runs.sqlite. tmp_path None: `--store :memory:`."""
    if saddled not in _help_cache:
        try:
            out = subprocess.run([saddled, "--help"], capture_output=True, text=True, timeout=30)
            _help_cache[saddled] = out.stdout + out.stderr
        except OSError:
            _help_cache[saddled] = ""
    if "--store" not in _help_cache[saddled]:
        return []
    return ["--store", ":memory:" if tmp_path is None else str(Path(tmp_path) / "runs.sqlite")]


_methods_cache: dict = {}


def served_methods():
    """The methods the daemon under test lists in initialize's capabilities; None when it cannot start."""
    path = daemon_path()
    if path not in _methods_cache:
        try:
            with Client.spawn(path, daemon_args_for(path, None)) as c:
                _methods_cache[path] = c.methods
        except (OSError, ConnectionError):
            _methods_cache[path] = None
    return _methods_cache[path]


def needs(*methods: str):
    """skipif the daemon does not serve every method: capabilities.methods is the truth.

    When the daemon is missing nothing is skipped: the test then fails on the `saddled` fixture.
    """
    served = served_methods()
    missing = [] if served is None else sorted(set(methods) - served)
    return pytest.mark.skipif(bool(missing), reason=f"saddled does not serve {', '.join(missing)} yet "
                              "(capabilities.methods); runs once that branch is merged")


def start_listening(saddled: str, store: str, stderr=subprocess.DEVNULL):
    """Starts `saddled --listen` with its store at `store`; returns (socket path, process) once the socket
    exists. The socket lives in a short temporary directory: sun_path holds 107 bytes and pytest's
    tmp_path can be longer."""
    import tempfile
    import time

    path = os.path.join(tempfile.mkdtemp(prefix="saddle-"), "s.sock")
    proc = subprocess.Popen([saddled, "--listen", path, "--store", store], stdin=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            detail = proc.stderr.read().decode() if stderr == subprocess.PIPE and proc.stderr else ""
            pytest.fail(f"saddled --listen did not create {path}: {detail}")
        time.sleep(0.01)
    return path, proc


def stop(proc) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def listening_socket(saddled, tmp_path):
    """A `saddled --listen` daemon with its store under tmp_path; yields the socket path, stops it after."""
    path, proc = start_listening(saddled, str(tmp_path / "runs.sqlite"))
    yield path
    stop(proc)


def flat_loss(model, loss_fn, x, y):
    """(loss of a flat parameter vector, the model's flat parameters): the model's loss as a function of one
    vector in `parameters()` order, the layout Saddle's flat vector has, for dense PyTorch references."""
    import math

    import torch

    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]

    def loss_of(flat):
        params, offset = {}, 0
        for n, s in zip(names, shapes):
            count = math.prod(s)
            params[n] = flat[offset:offset + count].reshape(s)
            offset += count
        return loss_fn(torch.func.functional_call(model, params, (x,)), y)

    return loss_of, torch.cat([p.detach().reshape(-1) for p in model.parameters()])

