"""What the bridge sends matches protocol/saddle.schema.json (+ schema/*.json), the protocol's reference."""

from __future__ import annotations

import json
import math

import pytest

from conftest import REPO
from saddle_bridge import Reporter
from saddle_bridge.framing import dumps

jsonschema = pytest.importorskip("jsonschema", reason="schema checks need jsonschema")


def merged_schema() -> dict:
    root = json.loads((REPO / "protocol" / "saddle.schema.json").read_text())
    for path in sorted((REPO / "protocol" / "schema").glob("*.json")):
        family = json.loads(path.read_text())
        for key in ("$defs", "methods", "notifications"):
            root.setdefault(key, {}).update(family.get(key, {}))
    return root


def test_reporter_events_match_run_ingest_params(tmp_path):
    if "run/ingest" not in merged_schema()["methods"]:
        pytest.skip("protocol/ has no run/ingest yet (runs family not merged)")
    path = tmp_path / "metrics.jsonl"
    with Reporter(connect=False, metrics_path=path) as reporter:
        reporter.step(step=0, loss=2.3, grad_norm=math.inf, lr=0.1, data_wait=0.01, compute=0.02,
                      samples_per_second=1000, epoch=0, rank=3, fingerprint="ab12", label_histogram=[1, 2])
        reporter.step(step=1, loss=math.nan)
    steps = [json.loads(line) for line in path.read_text().splitlines()]
    schema = merged_schema()
    jsonschema.validate({"name": "x", "steps": steps}, {**schema["methods"]["run/ingest"]["params"], "$defs": schema["$defs"]})


def test_requests_are_valid_envelopes():
    schema = merged_schema()
    for message in ({"jsonrpc": "2.0", "id": 1, "method": "daemon/busy", "params": {"milliseconds": 5}},
                    {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}},
                    {"jsonrpc": "2.0", "method": "exit"}):
        jsonschema.validate(json.loads(dumps(message)), {"$ref": "#/$defs/message", "$defs": schema["$defs"]})
