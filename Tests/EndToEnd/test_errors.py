"""Every JSON-RPC, LSP and Saddle error path against the real binary, table-driven, over stdio AND the socket:
what was sent, the code and message that came back, and a following request that still succeeds."""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Optional

import pytest

from saddle_client import encode
from socket_client import SocketDaemon

FLAGS = ("--max-frame-size", "4096", "--max-json-depth", "16")


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def req(id: Any, method: str, params: Any = None, **extra) -> bytes:
    message = {"jsonrpc": "2.0", "id": id, "method": method, **extra}
    if params is not None:
        message["params"] = params
    return encode(message)


# (name, bytes sent after initialize, expected id, code, substring of the message)
CASES = [
    ("parse error", frame(b'{"jsonrpc":"2.0","id":1,"method":'), None, -32700, "invalid JSON at line 1"),
    ("invalid UTF-8", frame(b'{"jsonrpc":"2.0","id":1,"method":"\xff"}'), None, -32700, ""),
    ("duplicate keys", frame(b'{"jsonrpc":"2.0","id":"d","id":"e","method":"daemon/status"}'), None, -32700, "duplicate"),
    ("malformed header", b"Content-Length: twelve\r\n\r\n", None, -32700, "malformed frame header"),
    ("oversized frame", frame(b'{"pad":"' + b"x" * 5000 + b'"}'), None, -32600, "exceeds the maximum frame size of 4096"),
    ("too deep", frame(b"[" * 40 + b"]" * 40), None, -32600, "deeper than 16 levels"),
    ("not an object", frame(b"42"), None, -32600, "must be an object"),
    ("empty batch", frame(b"[]"), None, -32600, "must not be an empty array"),
    ("wrong jsonrpc", frame(b'{"jsonrpc":"1.0","id":"v","method":"daemon/status"}'), "v", -32600, "`jsonrpc` must be exactly \"2.0\""),
    ("no method", frame(b'{"jsonrpc":"2.0","id":"m"}'), "m", -32600, "needs a `method`"),
    ("method not a string", frame(b'{"jsonrpc":"2.0","id":"s","method":7}'), "s", -32600, "`method` must be a string"),
    ("params not structured", frame(b'{"jsonrpc":"2.0","id":"p","method":"daemon/status","params":3}'), "p", -32600,
     "`params` must be an object or an array"),
    ("id of the wrong type", frame(b'{"jsonrpc":"2.0","id":1.5,"method":"daemon/status"}'), None, -32600,
     "`id` must be an integer or a string"),
    ("unknown method", req("u", "no/such"), "u", -32601, "\"no/such\" is not served"),
    ("second initialize", req("i", "initialize", {"capabilities": {}}), "i", -32600, "initialize may be sent only once"),
    ("missing parameter", req("q", "model/create", {}), "q", -32602, "spec"),
    ("misspelt parameter", req("r", "daemon/busy", {"milliseconds": 1, "milisecond": 2}), "r", -32602, "milisecond"),
    ("wrong parameter type", req("t", "daemon/busy", {"milliseconds": "soon"}), "t", -32602, "milliseconds"),
    ("not found", req("n", "model/describe", {"model": "m99"}), "n", -31001, "no model \"m99\""),
    ("limit exceeded", req("l", "model/create", {"spec": {"input": 4000, "layers": [{"kind": "dense", "units": 4000}],
                                                         "loss": "mse"}}), "l", -31002, "--memory-budget"),
    ("file error", req("f", "dataset/load", {"format": "npy", "inputs": "/nonexistent/x.npy", "targets": "/nonexistent/y.npy"}),
     "f", -31004, "/nonexistent/x.npy"),
    ("invalid state", req("z", "run/resume", {"run": "r-missing"}), "z", None, "r-missing"),
]


@pytest.fixture(params=["stdio", "socket"])
def connect(request, spawn, schema, tmp_path):
    """Makes clients of one daemon over the chosen transport: `connect(initialize=True)`."""
    if request.param == "stdio":
        def make(initialize: bool = True):
            client = spawn("--store", ":memory:", "--memory-budget", str(64 << 20), *FLAGS)
            if initialize:
                client.initialize()
            return client
        yield make
        return
    daemon = SocketDaemon(str(tmp_path / "s.sock"), "--store", ":memory:", "--memory-budget", str(64 << 20), *FLAGS)

    def make_socket(initialize: bool = True):
        client = daemon.connect(schema.validate)
        if initialize:
            client.initialize()
        return client
    yield make_socket
    daemon.stop(9)


def answer_to(client, expected_id, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.next_raw(timeout=max(0.1, deadline - time.monotonic()))
        if answer.get("id") == expected_id:
            return answer


@pytest.mark.parametrize("name,sent,expected_id,code,text", CASES, ids=[c[0] for c in CASES])
def test_error_answer_then_the_connection_still_serves(connect, name, sent, expected_id, code, text):
    client = connect()
    client.send_bytes(sent)
    answer = answer_to(client, expected_id)
    error = answer["error"]
    if code is not None:
        assert error["code"] == code, f"{name}: sent {sent[:120]!r}, got {error}"
    else:  # run/resume of an unknown run: not found (-31001) or invalid state (-31003), both name it
        assert error["code"] in (-31001, -31003), error
    assert text.lower() in error["message"].lower(), f"{name}: {error['message']}"
    assert "result" not in answer
    # The next request succeeds on the same connection.
    assert client.result("daemon/status")["models"] == 0, name


def test_requests_before_initialize_get_server_not_initialized(connect):
    client = connect(initialize=False)
    client.send_bytes(req("early", "daemon/status"))
    error = answer_to(client, "early")["error"]
    assert error["code"] == -32002 and "send the initialize request first" in error["message"]
    client.notify("model/none", {})  # notifications before initialize are dropped silently (LSP)
    client.initialize()
    assert client.result("daemon/status")["models"] == 0


def test_requests_after_shutdown_are_invalid_and_exit_ends_cleanly(connect):
    client = connect()
    assert client.result("shutdown") is None
    client.send_bytes(req("late", "daemon/status"))
    error = answer_to(client, "late")["error"]
    assert error["code"] == -32600 and "server is shut down" in error["message"]
    client.notify("exit")
    # After exit the daemon (stdio) or this connection (socket) ends; a new client is served either way.
    fresh = connect()
    assert fresh.result("daemon/status")["models"] == 0


def test_cancelled_request_gets_minus_32800_and_duplicate_ids_are_refused(connect):
    client = connect()
    client.send_bytes(req("busy", "daemon/busy", {"milliseconds": 20000}))
    client.send_bytes(req("busy", "daemon/busy", {"milliseconds": 1}))
    error = answer_to(client, "busy")["error"]
    assert error["code"] == -32600 and "already used by a request in flight" in error["message"]
    t = time.monotonic()
    client.send_bytes(encode({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "busy"}}))
    error = answer_to(client, "busy")["error"]
    assert error["code"] == -32800 and "cancelled" in error["message"]
    assert time.monotonic() - t < 5.0
    assert client.result("daemon/status")["requestsInFlight"] == 0


def test_errors_inside_a_batch_are_answered_in_one_array(connect):
    client = connect()
    batch = [{"jsonrpc": "2.0", "id": "b1", "method": "no/such"}, {"jsonrpc": "2.0", "id": "b2", "method": "daemon/status"},
             {"jsonrpc": "1.0", "id": "b3", "method": "daemon/status"}]
    client.send_bytes(frame(json.dumps(batch).encode()))
    answers = {}
    for _ in range(3):
        a = client.next_raw(timeout=30)
        answers[a["id"]] = a
    assert answers["b1"]["error"]["code"] == -32601
    assert "result" in answers["b2"]
    assert answers["b3"]["error"]["code"] == -32600
    assert client.result("daemon/status")["models"] == 0
