"""Shared fixtures: the real saddled binary ($SADDLED, default <repo>/.build/debug/saddled).

A missing binary is a failure with a message, never a silent skip.
"""

from __future__ import annotations

import os
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
def client(saddled: str, tmp_path: Path):
    """An initialized client of a fresh daemon, closed (shutdown + exit) after the test."""
    c = Client.spawn(saddled, daemon_args_for(saddled, tmp_path))
    yield c
    c.close()


def daemon_args_for(saddled: str, tmp_path: Path) -> list:
    """Flags that keep a test's daemon state inside tmp_path (a run store, where the daemon has one)."""
    return []


_methods_cache: dict = {}


def served_methods():
    """The methods the daemon under test lists in initialize's capabilities; None when it cannot start."""
    path = daemon_path()
    if path not in _methods_cache:
        try:
            with Client.spawn(path) as c:
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
