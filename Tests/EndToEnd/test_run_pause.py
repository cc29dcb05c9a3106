"""`run/pause` with `atStep` against the real saddled binary: the run pauses exactly after that step, the request
waits for it, can be cancelled, and is refused (or answered with an error) when the step cannot be reached.
Each test first pauses the run where it happens to be (plain `run/pause`), so outcomes do not depend on speed."""
from __future__ import annotations

import json
import time

from saddle_client import encode
from test_runs import start_xor, wait_finished


def paused_run(client, steps: int) -> tuple[str, int]:
    """A run of `steps` steps, paused at once with a plain run/pause; its id and the step it paused at."""
    run = start_xor(client, steps, events={"rate": 100})
    paused = client.result("run/pause", {"run": run})
    assert paused["state"] == "paused" and paused["step"] < steps // 2
    return run, paused["step"]


def set_stop_point(client, run: str, step: int):
    """Sends run/pause with atStep (answered later) and returns its id once the stop point is surely set:
    another atStep is then refused as pending (requests run on threads of their own, so one sent next could
    overtake it)."""
    pending = client.request_async("run/pause", {"run": run, "atStep": step})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # atStep 0 is never set (every run has done >= 0 steps), and the pending check comes first.
        probe = client.call("run/pause", {"run": run, "atStep": 0})
        if f"pause at step {step} is already pending" in probe.get("error", {}).get("message", ""):
            return pending
        time.sleep(0.001)
    raise AssertionError(f"the stop point at {step} was not set")


def test_pause_at_step_lands_exactly_there_and_refuses_steps_already_taken(spawn):
    client = spawn("--store", ":memory:")
    client.initialize()
    run, p = paused_run(client, 20_000)
    target = p + 1234
    pending = set_stop_point(client, run, target)
    time.sleep(0.1)
    assert json.dumps(pending) not in client.responses, "no answer while the run is paused before its stop point"
    assert client.result("run/resume", {"run": run})["state"] == "running"
    answer = client.wait(pending, timeout=60)
    assert answer["result"]["state"] == "paused" and answer["result"]["step"] == target, answer
    time.sleep(0.1)
    assert client.result("run/status", {"run": run})["step"] == target, "it stays at the stop point"

    past = client.call("run/pause", {"run": run, "atStep": target - 10})
    assert past["error"]["code"] == -31003
    assert f"at step {target}" in past["error"]["message"] and "must be greater" in past["error"]["message"]
    beyond = client.call("run/pause", {"run": run, "atStep": 20_001})
    assert beyond["error"]["code"] == -31003 and "20000 steps" in beyond["error"]["message"]

    first = set_stop_point(client, run, target + 100)
    second = client.call("run/pause", {"run": run, "atStep": target + 50})
    assert second["error"]["code"] == -31003 and f"pause at step {target + 100} is already pending" in second["error"]["message"]
    client.result("run/resume", {"run": run})
    assert client.wait(first, timeout=60)["result"]["step"] == target + 100
    client.result("run/stop", {"run": run})
    assert client.close() == 0


def test_malformed_at_step_is_invalid_params(spawn):
    client = spawn("--store", ":memory:")
    client.initialize()
    run, _ = paused_run(client, 20_000)
    for i, bad in enumerate([-1, 2.5, "10", None]):
        # Sent around the client's validator, which would refuse these before they reach saddled.
        rid = 9000 + i
        with client.cond:
            client.pending[rid] = "run/pause"
        client.send_bytes(encode({"jsonrpc": "2.0", "id": rid, "method": "run/pause", "params": {"run": run, "atStep": bad}}))
        answer = client.wait(rid)
        if bad is None:  # null is an absent atStep: a plain pause of a paused run
            assert answer["error"]["code"] == -31003, answer
        else:
            assert answer["error"]["code"] == -32602 and "`params.atStep`" in answer["error"]["message"], answer
    client.result("run/stop", {"run": run})
    assert client.close() == 0


def test_a_run_that_ends_first_answers_with_its_step(spawn):
    client = spawn("--store", ":memory:")
    client.initialize()
    run, p = paused_run(client, 20_000)
    pending = set_stop_point(client, run, 15_000)
    stopped = client.result("run/stop", {"run": run})
    assert stopped["step"] == p
    answer = client.wait(pending, timeout=30)
    assert answer["error"]["code"] == -31003
    assert f"finished (stopped) at step {p} before reaching atStep 15000" in answer["error"]["message"], answer
    assert client.close() == 0


def test_cancelling_withdraws_the_stop_point_and_the_run_completes(spawn):
    client = spawn("--store", ":memory:")
    client.initialize()
    run, p = paused_run(client, 2_000)
    pending = client.request_async("run/pause", {"run": run, "atStep": p + 10})
    client.notify("$/cancelRequest", {"id": pending})
    assert client.wait(pending)["error"]["code"] == -32800
    # The handler withdraws the stop point within one 20 ms poll; should the run reach it first, withdrawing resumes
    # it, so the run completes in either order.
    client.result("run/resume", {"run": run})
    finished = wait_finished(client, run, timeout=60)
    assert finished["reason"] == "completed" and finished["steps"] == 2_000, "no pause at the withdrawn step"
    assert client.close() == 0
