import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from saddle_client import Client  # noqa: E402
from schema import ProtocolSchema  # noqa: E402

_schema = ProtocolSchema()


@pytest.fixture
def schema() -> ProtocolSchema:
    return _schema


@pytest.fixture
def spawn(schema, tmp_path_factory):
    """Spawns saddled processes whose every message is validated against the schema. Their default run
    store lives in a temporary XDG_STATE_HOME, never in the user's own."""
    clients = []
    state_home = str(tmp_path_factory.mktemp("state"))

    def make(*args: str, validate: bool = True, env=None) -> Client:
        client = Client(list(args), validator=schema.validate if validate else None,
                        env={"XDG_STATE_HOME": state_home, **(env or {})})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.kill()


@pytest.fixture
def daemon(spawn) -> Client:
    client = spawn()
    client.initialize()
    return client
