"""The curvature family through the real saddled binary: a ground-truth scenario, progress, cancellation.
Every message is validated against protocol/schema by the `daemon` fixture."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

SCENARIOS = Path(os.environ.get("SADDLE_SCENARIOS", Path(__file__).resolve().parents[2] / "shared" / "scenarios"))
if not SCENARIOS.is_dir():
    SCENARIOS = Path("/work/shared/scenarios")
XOR = SCENARIOS / "d_xor_mlp_2_16_16_1_tanh_init"


def load_xor(client) -> tuple[str, str]:
    """The XOR scenario loaded the way a user would: model.json's layers translated to a spec, then files."""
    description = json.loads((XOR / "model.json").read_text())
    layers = [{"kind": "dense", "units": layer["out"], "bias": layer["bias"], "activation": layer["activation"]}
              for layer in description["layers"]]
    spec = {"input": description["layers"][0]["in"], "layers": layers, "loss": "mse"}
    model = client.result("model/load", {"spec": spec, "weights": str(XOR / "weights.safetensors")})
    dataset = client.result("dataset/load", {"format": "npy", "inputs": str(XOR / "x.npy"), "targets": str(XOR / "y.npy")})
    return model["id"], dataset["id"]


def test_eigen_and_gradient_match_the_scenario(daemon):
    expected = json.loads((XOR / "expected.json").read_text())
    model, dataset = load_xor(daemon)
    gradient = daemon.result("curvature/gradient", {"model": model, "dataset": dataset})
    assert abs(gradient["loss"] - expected["loss"]) < 1e-9
    assert abs(gradient["gradientNorm"] - expected["grad_norm"]) < 1e-9
    eigen = daemon.result("curvature/eigen", {"model": model, "dataset": dataset, "largest": 3, "smallest": 3,
                                              "tolerance": 1e-10})
    scale = abs(expected["hessian_top5"][0])
    for got, want in zip([e["value"] for e in eigen["largest"]], expected["hessian_top5"]):
        assert abs(got - want) < 1e-6 * scale
    for got, want in zip([e["value"] for e in eigen["smallest"]], expected["hessian_bottom5"]):
        assert abs(got - want) < 1e-6 * scale
    assert eigen["samplesUsed"] == 4 and eigen["precision"] == "double"


def test_progress_for_work_done_token(daemon):
    model, dataset = load_xor(daemon)
    id = daemon.request_async("curvature/trace", {"model": model, "dataset": dataset, "probes": 50, "workDoneToken": "tr"})
    assert "estimate" in daemon.wait(id)["result"]
    kinds = []
    while not kinds or kinds[-1] != "end":
        note = daemon.next_notification("$/progress", timeout=5)
        assert note["params"]["token"] == "tr"
        kinds.append(note["params"]["value"]["kind"])
    assert kinds[0] == "begin" and "report" in kinds


def test_cancel_long_eigen_run(daemon):
    spec = {"input": 20, "layers": [{"kind": "dense", "units": 64, "activation": "tanh"},
                                    {"kind": "dense", "units": 64, "activation": "tanh"}, {"kind": "dense", "units": 3}],
            "loss": "softmaxCrossEntropy", "seed": 1}
    model = daemon.result("model/create", {"spec": spec})["id"]
    dataset = daemon.result("dataset/generate", {"kind": "gaussianMixture", "dimensions": 20, "classes": 3,
                                                 "samples": 2000, "seed": 2})["id"]
    id = daemon.request_async("curvature/eigen", {"model": model, "dataset": dataset, "tolerance": 0, "maxIterations": 5000})
    time.sleep(0.5)
    assert daemon.result("daemon/status")["version"], "the connection answers while Lanczos runs"
    started = time.monotonic()
    daemon.notify("$/cancelRequest", {"id": id})
    answer = daemon.wait(id, timeout=30)
    assert answer["error"]["code"] == -32800
    assert time.monotonic() - started < 2


def test_ritz_of_an_external_tridiagonal(daemon):
    """curvature/ritz: tridiag(1, 2, 1) of order 3 has eigenvalues 2 ± √2 and 2; β_3 = 0.5 gives residuals 0.25."""
    result = daemon.result("curvature/ritz", {"alphas": [2, 2, 2], "betas": [1, 1, 0.5], "tolerance": 0.1})
    assert abs(result["largest"][0]["value"] - (2 + 2 ** 0.5)) < 1e-12
    assert abs(result["smallest"][0]["value"] - (2 - 2 ** 0.5)) < 1e-12
    assert abs(result["largest"][0]["residual"] - 0.25) < 1e-12
    assert result["converged"] is True and result["steps"] == 3
    error = daemon.call("curvature/ritz", {"alphas": [1, 2], "betas": [1]})["error"]
    assert error["code"] == -32602 and "params.betas" in error["message"]
