"""Resource limits against the real binary: each saddled flag, reached, gives an error answer that names the
limit, its value and its flag (-31002, or -32600 for the frame size and JSON depth), and the daemon keeps serving."""
from __future__ import annotations

import re
import subprocess

import pytest

from saddle_client import encode, saddled_path

XOR_SPEC = {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"}, {"kind": "dense", "units": 1}],
            "loss": "binaryCrossEntropy", "seed": 1}  # 2*8 + 8 + 8 + 1 = 33 parameters (264 bytes as doubles)
WIDE_SPEC = {"input": 2, "layers": [{"kind": "dense", "units": 64, "activation": "tanh"}, {"kind": "dense", "units": 1}],
             "loss": "binaryCrossEntropy", "seed": 1}  # 2*64 + 64 + 64 + 1 = 257 parameters (2056 bytes)
XOR_64 = {"kind": "xor", "samples": 64, "seed": 1}
RUN = {"optimizer": {"kind": "sgd", "lr": 0.01}, "pipeline": {"batchSize": 16}, "steps": 1_000_000}


def setup_model_and_data(client) -> dict:
    return {"model": client.result("model/create", {"spec": XOR_SPEC})["id"],
            "dataset": client.result("dataset/generate", XOR_64)["id"]}


def start_one_run(client) -> dict:
    refs = setup_model_and_data(client)
    return {**refs, "run": client.result("run/start", {**refs, **RUN})["run"]}


# (flags, setup(client) -> refs, the request that passes the limit, code, limit name, value, flag)
CASES = [
    (["--max-parameters", "100"], lambda c: {}, lambda r: ("model/create", {"spec": WIDE_SPEC}),
     -31002, "parameter count", 100, "--max-parameters"),
    (["--max-dataset-bytes", "1000"], lambda c: {}, lambda r: ("dataset/generate", {"kind": "xor", "samples": 1000, "seed": 1}),
     -31002, "data-set bytes", 1000, "--max-dataset-bytes"),
    (["--max-lanczos-bytes", "100"], setup_model_and_data,
     lambda r: ("curvature/eigen", {**r, "largest": 2}), -31002, "Lanczos memory", 100, "--max-lanczos-bytes"),
    (["--max-runs", "1"], lambda c: start_one_run(c),
     lambda r: ("run/start", {"model": r["model"], "dataset": r["dataset"], **RUN}), -31002, "active runs", 1, "--max-runs"),
    (["--memory-budget", "2000"], lambda c: {}, lambda r: ("model/create", {"spec": WIDE_SPEC}),
     -31002, "memory budget", 2000, "--memory-budget"),
    # The budget counts data sets too: a 64-sample XOR set fits alone, not beside a 1000-sample one.
    (["--memory-budget", "4000"], lambda c: {"dataset": c.result("dataset/generate", XOR_64)["id"]},
     lambda r: ("dataset/generate", {"kind": "xor", "samples": 200, "seed": 2}), -31002, "memory budget", 4000, "--memory-budget"),
]


@pytest.mark.parametrize("flags,setup,request_for,code,limit,value,flag", CASES,
                         ids=[f"{c[6]}-{c[5]}" for c in CASES])
def test_each_limit_is_an_error_naming_it_and_the_daemon_keeps_serving(spawn, flags, setup, request_for, code, limit, value, flag):
    client = spawn("--store", ":memory:", *flags)
    client.initialize()
    refs = setup(client)
    method, params = request_for(refs)
    answer = client.call(method, params)
    assert "error" in answer, f"{method} should pass {flag} {value}: {answer}"
    error = answer["error"]
    assert error["code"] == code
    assert f"{limit} limit is {value}" in error["message"] and flag in error["message"], error["message"]
    assert error["data"]["limit"] == limit and error["data"]["value"] == value
    assert error["data"].get("requested", value + 1) > value  # a file's size may be unknown before reading
    # The daemon is unharmed: the next request succeeds, and what was refused was not half-added.
    status = client.result("daemon/status")
    assert status["models"] == len([k for k in refs if k == "model"])
    assert status["datasets"] == len([k for k in refs if k == "dataset"])
    for run in [refs["run"]] if "run" in refs else []:
        assert client.result("run/stop", {"run": run})["finishReason"] == "stopped"
    assert client.close() == 0


def test_frame_size_and_json_depth_limits(spawn):
    client = spawn("--store", ":memory:", "--max-frame-size", "1000", "--max-json-depth", "8")
    client.initialize()
    big = b'{"jsonrpc":"2.0","id":1,"method":"daemon/status","params":{"pad":"' + b"x" * 2000 + b'"}}'
    client.send_bytes(b"Content-Length: %d\r\n\r\n" % len(big) + big)
    answer = client.next_raw()
    assert answer["id"] is None and answer["error"]["code"] == -32600
    assert "exceeds the maximum frame size of 1000 bytes" in answer["error"]["message"]
    assert "--max-frame-size" in answer["error"]["message"]
    deep = {"jsonrpc": "2.0", "id": 2, "method": "daemon/status", "params": {"a": [[[[[[[[[1]]]]]]]]]}}
    client.send_bytes(encode(deep))  # deliberately invalid params: not validated
    answer = client.next_raw()
    assert answer["error"]["code"] == -32600 and "deeper than 8 levels" in answer["error"]["message"]
    assert "--max-json-depth" in answer["error"]["message"]
    assert client.result("daemon/status")["models"] == 0
    assert client.close() == 0


def test_help_lists_every_limit_with_its_default():
    out = subprocess.run([saddled_path(), "--help"], capture_output=True, text=True, timeout=30).stdout
    flat = re.sub(r"\s+", " ", out)
    for flag, default in [("--max-frame-size", 67108864), ("--max-json-depth", 128), ("--max-parameters", 50000000),
                          ("--max-dataset-bytes", 4294967296), ("--max-lanczos-bytes", 2147483648), ("--max-runs", 8),
                          ("--memory-budget", 8589934592), ("--max-clients", 16), ("--max-client-backlog", 67108864)]:
        assert re.search(re.escape(flag) + r" <[^>]+> .*?\(default: " + str(default) + r"\)", flat), f"{flag} default {default}"
    assert "--listen" in flat


def test_a_non_positive_limit_is_refused_at_startup():
    proc = subprocess.run([saddled_path(), "--memory-budget", "0"], capture_output=True, text=True, timeout=30, input="")
    assert proc.returncode != 0 and "--memory-budget must be a positive number, got 0" in proc.stderr
