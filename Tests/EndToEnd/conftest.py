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
def spawn(schema):
    """Spawns saddled processes whose every message is validated against the schema."""
    clients = []

    def make(*args: str, validate: bool = True, env=None) -> Client:
        client = Client(list(args), validator=schema.validate if validate else None, env=env)
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
