"""The terminal client `saddle` against the real daemon it spawns (saddled next to it)."""
from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def saddle(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    binary = os.environ.get("SADDLE") or str(Path(os.environ.get("SADDLED", REPO / ".build/debug/saddled")).parent / "saddle")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_demo_trains_into_a_saddle_diagnoses_and_escapes_it():
    out = saddle("demo")
    assert out.returncode == 0, out.stdout + out.stderr
    assert ": saddle (confidence" in out.stdout
    assert "lambdaMin" in out.stdout and "escapeProbe" in out.stdout, "the evidence is printed"
    assert "The saddle was diagnosed and escaped" in out.stdout


def stall_log(path: Path) -> Path:
    with path.open("w") as f:
        for step in range(40):
            f.write(json.dumps({"step": step, "loss": 0.7, "gradNorm": 0.5, "lr": 0.1, "dataWaitSeconds": 0.08,
                                "computeSeconds": 0.02}) + "\n")
    return path


def test_diagnose_a_metrics_log_fails_the_job_on_named_verdicts(tmp_path):
    log = stall_log(tmp_path / "metrics.jsonl")
    out = saddle("diagnose", "--log", str(log), "--fail-on", "saddle,dataPipelineStall", "--format", "junit",
                 "--output", str(tmp_path / "saddle.xml"))
    assert out.returncode == 1, out.stderr
    suite = ET.parse(tmp_path / "saddle.xml").getroot()
    assert suite.get("failures") == "1"
    failure = suite.find(".//failure")
    assert failure is not None and failure.get("type") == "dataPipelineStall"
    passing = saddle("diagnose", "--log", str(log), "--fail-on", "saddle", "--format", "json")
    assert passing.returncode == 0
    assert json.loads(passing.stdout)["verdict"] == "dataPipelineStall"


def test_diagnose_reads_lightning_csv(tmp_path):
    csv = tmp_path / "metrics.csv"
    rows = ["epoch,step,train_loss,lr-SGD,val_loss"]
    for step in range(60):
        rows.append(f"0,{step},{2.0 * 0.95 ** step:.6f},0.1,")
        if step % 20 == 19:
            rows.append(f"0,{step},,,{1.0:.3f}")
    csv.write_text("\n".join(rows) + "\n")
    out = saddle("diagnose", "--log", str(csv))
    assert out.returncode == 0, out.stderr
    assert "progressing" in out.stdout


def test_diagnose_a_run_file(tmp_path):
    run_file = tmp_path / "xor.json"
    run_file.write_text(json.dumps({
        "model": {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"}, {"kind": "dense", "units": 1}],
                  "loss": "mse", "seed": 1},
        "data": {"generate": {"kind": "xor", "samples": 200, "noise": 0.05, "labels": "signed", "seed": 2}},
        "optimizer": {"kind": "sgd", "lr": 0.05}, "pipeline": {"batchSize": 32}, "steps": 150}))
    out = saddle("diagnose", str(run_file), "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "progressing" and result["step"] == 149


def test_errors_exit_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"input": 2, "layers": [], "loss": "mse"}}')
    out = saddle("diagnose", str(bad))
    assert out.returncode == 2
    assert "params.runFile" in out.stderr
    missing = saddle("diagnose", "--log", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "none.jsonl" in missing.stderr
    usage = saddle("diagnose", "--fail-on", "stalled", "--log", "x.jsonl")
    assert usage.returncode != 0 and "unknown verdict" in usage.stderr
