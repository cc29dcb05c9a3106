"""The client against the real daemon: lifecycle, errors, concurrency, notifications, cancellation."""

from __future__ import annotations

import math
import threading
import time

import pytest

from saddle_bridge import Client, RPCError
from saddle_bridge.client import ProcessTransport


def test_lifecycle_initialize_status_shutdown_exit_code_0(saddled, daemon_args):
    client = Client(ProcessTransport(saddled, daemon_args))
    result = client.initialize(client_name="pytest")
    assert result["serverInfo"]["name"] == "saddled"
    assert {"initialize", "shutdown", "daemon/status"} <= client.methods
    assert client.capabilities["methods"] == sorted(client.capabilities["methods"])
    status = client.request("daemon/status")
    assert status["version"] == client.server_info["version"]
    assert status["models"] == 0 and status["datasets"] == 0 and status["requestsInFlight"] == 0
    assert client.shutdown() is None
    with pytest.raises(RPCError) as after:
        client.request("daemon/status")
    assert after.value.code == -32600
    assert client.exit() == 0


def test_exit_without_shutdown_is_code_1(saddled, daemon_args):
    client = Client.spawn(saddled, daemon_args)
    assert client.exit() == 1
    client.transport.close()


def test_request_before_initialize_is_32002(saddled, daemon_args):
    client = Client.spawn(saddled, daemon_args, initialize=False)
    with pytest.raises(RPCError) as error:
        client.request("daemon/status")
    assert error.value.code == -32002
    client.initialize()
    assert client.close() == 0


def test_context_manager_closes_cleanly(saddled, daemon_args):
    with Client.spawn(saddled, daemon_args) as client:
        process = client.transport.process
        assert client.request("daemon/status")["models"] == 0
    assert process.returncode == 0


def test_errors_carry_code_and_message(client):
    with pytest.raises(RPCError) as missing:
        client.request("model/describe", {"model": "nope"})
    assert missing.value.code == -31001 and "nope" in missing.value.message
    with pytest.raises(RPCError) as unknown:
        client.request("no/such/method")
    assert unknown.value.code == -32601


def test_non_finite_params_reach_the_daemon_as_valid_json(client):
    # A bare NaN token would be a -32700 parse error; the string "NaN" is a wrong type: -32602 naming the field.
    with pytest.raises(RPCError) as error:
        client.request("daemon/busy", {"milliseconds": math.nan})
    assert error.value.code == -32602 and "milliseconds" in error.value.message
    assert client.orphan_errors == []


def test_answers_out_of_order_are_matched_by_id(client):
    slow = client.request_future("daemon/busy", {"milliseconds": 600})
    fast = client.request_future("daemon/busy", {"milliseconds": 0})
    assert fast.result(10)["milliseconds"] < 300
    assert not slow.done(), "the 600 ms request answered before the 0 ms one"
    assert slow.result(10)["milliseconds"] >= 590  # the daemon sleeps in 5 ms slices


def test_progress_notifications_reach_callbacks(client):
    seen = []
    done = threading.Event()

    def on_progress(method, params):
        seen.append((method, params["token"], params["value"]["kind"]))
        if params["value"]["kind"] == "end":
            done.set()

    client.on_notification("$/progress", on_progress)
    client.request("daemon/busy", {"milliseconds": 100, "workDoneToken": "t1"}, timeout=10)
    assert done.wait(5)
    assert seen[0] == ("$/progress", "t1", "begin") and seen[-1] == ("$/progress", "t1", "end")


def test_cancellation_answers_32800_promptly(client):
    future = client.request_future("daemon/busy", {"milliseconds": 60000})
    time.sleep(0.1)
    start = time.monotonic()
    client.cancel(future)
    with pytest.raises(RPCError) as error:
        future.result(10)
    assert error.value.code == -32800
    assert time.monotonic() - start < 2.0


def test_concurrent_requests_from_many_threads(client):
    results = []

    def worker():
        for _ in range(20):
            results.append(client.request("daemon/status", timeout=10)["version"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 160 and len(set(results)) == 1


def test_lost_connection_fails_pending_requests(saddled, daemon_args):
    client = Client.spawn(saddled, daemon_args)
    future = client.request_future("daemon/busy", {"milliseconds": 60000})
    client.transport.process.kill()
    with pytest.raises(ConnectionError):
        future.result(10)
    with pytest.raises(ConnectionError):
        client.request("daemon/status")
    client.transport.close()


def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="saddled not found"):
        Client.spawn(tmp_path / "nope")
