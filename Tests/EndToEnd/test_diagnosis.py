"""diagnose and escape/probe through the real saddled binary; every message is validated against the schema."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from saddle_client import REPO, encode

# As Tests/SaddleTestSupport: $SADDLE_SCENARIOS, else shared/scenarios beside the clone.
SCENARIOS = Path(os.environ.get("SADDLE_SCENARIOS", str(REPO.parent / "shared" / "scenarios")))


def load_scenario(daemon, name: str) -> dict:
    """Translates model.json into a Saddle spec the way a user would, then loads weights and data."""
    folder = SCENARIOS / name
    description = json.loads((folder / "model.json").read_text())
    layers = []
    for layer in description["layers"]:
        layers.append({"kind": "dense", "units": layer["out"], "bias": layer["bias"],
                       "activation": layer["activation"] if layer["activation"] != "none" else "identity"})
    loss = {"mse": "mse", "softmax_cross_entropy": "softmaxCrossEntropy", "bce_with_logits": "binaryCrossEntropy"}.get(
        description["loss"], description["loss"])
    spec = {"input": description["layers"][0]["in"], "layers": layers, "loss": loss}
    model = daemon.result("model/load", {"spec": spec, "weights": str(folder / "weights.safetensors"), "name": name})
    daemon.result("dataset/load", {"format": "npy", "inputs": str(folder / "x.npy"), "targets": str(folder / "y.npy"),
                                   "name": name})
    return model


@pytest.fixture(scope="module")
def scenarios_present():
    if not (SCENARIOS / "a1_linear2_origin_saddle").is_dir():
        pytest.fail(f"ground-truth scenarios not found under {SCENARIOS} (set SADDLE_SCENARIOS)")


def test_diagnose_a_saddle_point_and_replay_its_evidence(daemon, scenarios_present):
    load_scenario(daemon, "a1_linear2_origin_saddle")
    result = daemon.result("diagnose", {"model": "a1_linear2_origin_saddle", "dataset": "a1_linear2_origin_saddle",
                                        "workDoneToken": "diag-1"})
    assert result["verdict"] == "saddle"
    # a1: eigenvalues ±2·mean(xy) = ±4.543993112668907 (JAX, float64); 2-dimensional Lanczos is exact.
    assert abs(result["evidenceInput"]["lambdaMin"] + 4.543993112668907) < 1e-9
    assert result["negativeCurvatureDirection"].startswith("v")
    assert all("threshold" in item and "pointsTo" in item for item in result["evidence"])
    progress = [daemon.next_notification("$/progress")["params"]["value"]["kind"] for _ in range(2)]
    assert progress[0] == "begin"
    replay = daemon.result("diagnose", {"evidence": result["evidenceInput"]})
    assert (replay["verdict"], replay["confidence"]) == (result["verdict"], result["confidence"])


def test_higher_order_saddle_and_escape_probe(daemon, scenarios_present):
    load_scenario(daemon, "a2_deeplinear3_zero")
    result = daemon.result("diagnose", {"model": "m1", "dataset": "d1"})
    assert result["verdict"] == "saddle", result["reason"]
    assert result["evidenceInput"]["perturbationProbe"]["bestDecrease"] > 1e-8 * 4.633011195385504
    load_scenario(daemon, "a1_linear2_origin_saddle")
    probe = daemon.result("escape/probe", {"model": "m2", "dataset": "d2", "apply": True})
    assert probe["applied"] is True and probe["bestDecrease"] > 0
    assert probe["newLoss"] < probe["baseLoss"]


def test_diagnose_from_evidence_alone_and_errors(daemon):
    history = [{"step": i, "loss": 0.7, "gradNorm": 0.5, "dataWaitSeconds": 0.08, "computeSeconds": 0.02} for i in range(30)]
    result = daemon.result("diagnose", {"evidence": {"history": history}, "thresholds": {"plateauWindow": 20}})
    assert result["verdict"] == "dataPipelineStall"
    assert result["thresholds"]["plateauWindow"] == 20
    # Sent raw: the schema (rightly) refuses this params object before it could leave the client.
    daemon.send_bytes(encode({"jsonrpc": "2.0", "id": "bad-threshold", "method": "diagnose",
                              "params": {"evidence": {}, "thresholds": {"noSuchThreshold": 1}}}))
    answer = daemon.next_raw()
    assert answer["id"] == "bad-threshold"
    assert answer["error"]["code"] == -32602
    assert "smallGradientRelative" in answer["error"]["message"]


def test_distributed_run_names_the_straggler(daemon):
    """4 ranks ingested into one run, rank 2 computing 30 ms a step: `straggler`, rank 2 named (and every
    message, with its `ranks` part, valid against the schema)."""
    run = None
    for rank in range(4):
        steps = [{"rank": rank, "step": s, "epoch": s // 10, "loss": 2 - 0.01 * s, "gradNorm": 1.0, "lr": 0.1,
                  "dataWaitSeconds": 0.0002, "computeSeconds": 0.03 if rank == 2 else 0.002,
                  "fingerprint": f"r{rank}-{s}"} for s in range(60)]
        params = {"run": run, "steps": steps} if run else {"name": "ddp", "steps": steps}
        run = daemon.result("run/ingest", params)["run"]
    result = daemon.result("diagnose", {"run": run})
    assert result["verdict"] == "straggler", result["reason"]
    assert result["ranks"]["implicated"] == [2]
    assert result["ranks"]["reporting"] == [0, 1, 2, 3]
    item = next(e for e in result["evidence"] if e["name"] == "rankComputeExcess")
    assert item["ranks"] == [2] and item["decisive"]
    shared = daemon.result("diagnose", {"run": run, "evidence": {"lambdaMin": -0.5, "lambdaMax": 2.0}})
    assert shared["evidenceInput"]["lambdaMin"] == -0.5
