#!/usr/bin/env python3
"""Extreme Hessian eigenvalues by Lanczos vs power iteration, against the real saddled (release build).

Problem: MLP 784-256-256-10, ReLU, softmax cross-entropy (269,322 parameters) at its seeded initialization, on
1,024 samples of `dataset/generate` gaussianMixture (784 dimensions, 10 classes). For each method the script asks
`curvature/eigen` for the largest and the smallest eigenvalue and reports the Hessian-vector products taken, the
wall time, the values, and the ratio power / Lanczos. Products run in double precision by default.

Peers (PyHessian, JAX, ...) plug in through `PEERS`: each is a function `peer(problem) -> list[Row]` receiving the
model spec, a safetensors file of the same weights (written with model/save) and the data-set generator params;
it returns rows in the same shape as `run_saddle` does. The lead adds them.

Usage: python3 benchmarks/curvature/curvature.py [--saddled .build/release/saddled] [--tolerance 1e-4]
                                                 [--power-max-iterations 1000] [--precision double]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[2]

SPEC = {"input": 784, "layers": [{"kind": "dense", "units": 256, "activation": "relu"},
                                 {"kind": "dense", "units": 256, "activation": "relu"},
                                 {"kind": "dense", "units": 10}],
        "loss": "softmaxCrossEntropy", "seed": 1}
DATA = {"kind": "gaussianMixture", "dimensions": 784, "classes": 10, "samples": 1024, "seed": 2}


@dataclass
class Problem:
    spec: dict
    weights: str          # safetensors of the exact parameters saddled used (F64)
    data: dict            # dataset/generate params (the peer regenerates or is handed the same samples)
    tolerance: float
    precision: str


@dataclass
class Row:
    tool: str
    method: str
    largest: float
    smallest: float
    products: int
    seconds: float
    notes: list[str] = field(default_factory=list)


class Daemon:
    """A minimal LSP-framed JSON-RPC client (standard library only)."""

    def __init__(self, binary: str) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.next_id = 1

    def _read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("saddled closed its output")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.proc.stdout.read(length))

    def call(self, method: str, params: Any = None) -> Any:
        id = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        body = json.dumps(message, allow_nan=False).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        while True:
            message = self._read()
            if message.get("id") == id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def close(self) -> None:
        try:
            self.call("shutdown")
            body = b'{"jsonrpc":"2.0","method":"exit"}'
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def run_saddle(daemon: Daemon, model: str, dataset: str, args) -> list[Row]:
    rows = []
    for method, extra in (("lanczos", {}), ("power", {"maxIterations": args.power_max_iterations})):
        params = {"model": model, "dataset": dataset, "largest": 1, "smallest": 1, "method": method,
                  "tolerance": args.tolerance, "precision": args.precision, **extra}
        start = time.perf_counter()
        result = daemon.call("curvature/eigen", params)
        seconds = time.perf_counter() - start
        rows.append(Row("saddled", method, result["largest"][0]["value"], result["smallest"][0]["value"],
                        result["products"], seconds, [result["stopReason"]]))
    return rows


def pyhessian_peer(problem: Problem) -> list[Row]:
    """Placeholder for the lead: PyHessian's power iteration (and a JAX Lanczos) on the same model and data."""
    return []


PEERS: list[Callable[[Problem], list[Row]]] = [pyhessian_peer]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saddled", default=str(REPO / ".build" / "release" / "saddled"))
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="Lanczos: residual / spectrum scale; power: relative change of the Rayleigh quotient")
    parser.add_argument("--power-max-iterations", type=int, default=1000, help="products per power run")
    parser.add_argument("--precision", choices=["double", "float"], default="double")
    args = parser.parse_args()
    if not Path(args.saddled).exists():
        sys.exit(f"{args.saddled} not found; build it with `swift build -c release`")

    daemon = Daemon(args.saddled)
    try:
        daemon.call("initialize", {"processId": os.getpid(), "capabilities": {}})
        model = daemon.call("model/create", {"spec": SPEC})
        dataset = daemon.call("dataset/generate", DATA)
        print(f"model {model['parameterCount']} parameters, {dataset['samples']} samples, precision {args.precision}, "
              f"tolerance {args.tolerance}")
        rows = run_saddle(daemon, model["id"], dataset["id"], args)
        with tempfile.TemporaryDirectory() as folder:
            weights = str(Path(folder) / "mlp.safetensors")
            daemon.call("model/save", {"model": model["id"], "path": weights})
            problem = Problem(SPEC, weights, DATA, args.tolerance, args.precision)
            for peer in PEERS:
                rows += peer(problem)
    finally:
        daemon.close()

    print(f"{'tool':10} {'method':8} {'λmax':>14} {'λmin':>14} {'HVPs':>6} {'seconds':>8}  notes")
    for r in rows:
        print(f"{r.tool:10} {r.method:8} {r.largest:14.8g} {r.smallest:14.8g} {r.products:6d} {r.seconds:8.2f}  {' '.join(r.notes)}")
    lanczos = next(r for r in rows if r.tool == "saddled" and r.method == "lanczos")
    power = next(r for r in rows if r.tool == "saddled" and r.method == "power")
    print(f"power / Lanczos: {power.products / lanczos.products:.1f}x products, {power.seconds / lanczos.seconds:.1f}x time; "
          f"|Δλmax| = {abs(power.largest - lanczos.largest):.2e}, |Δλmin| = {abs(power.smallest - lanczos.smallest):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
