#!/usr/bin/env python3
"""Point-diagnosis benchmark against the real saddled binary (release build).

Measures the wall time of one full `diagnose` of a point: loss and gradient, λ_max and λ_min from one
Lanczos run (tolerance 1e-3 relative), and gradient-noise statistics from disjoint batches of 128, for an
MLP 784-256-256-10 (ReLU, softmax cross-entropy, 269,322 parameters) over 1,024 generated samples
(dataset/generate gaussianMixture, 784 dimensions, 10 classes). Target (issue "Diagnosis"): < 2 s.
The daemon's own stage timings (`timings` in the result) are printed beside the round-trip time.

Usage: OPENBLAS_NUM_THREADS=1 python3 benchmarks/diagnosis.py [--saddled PATH] [--repeats N] [--precision double|float]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def frame(message) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Daemon:
    """saddled over stdio; answers are read in order, notifications skipped."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.buffer = b""
        self.next_id = 1

    def _read_frame(self) -> dict:
        fd = self.proc.stdout.fileno()
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                header = self.buffer[:end].decode()
                length = next(int(line.split(":")[1]) for line in header.split("\r\n")
                              if line.lower().startswith("content-length"))
                total = end + 4 + length
                while len(self.buffer) < total:
                    self.buffer += os.read(fd, 1 << 16)
                body = self.buffer[end + 4:total]
                self.buffer = self.buffer[total:]
                return json.loads(body)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise RuntimeError("saddled closed its output")
            self.buffer += chunk

    def call(self, method: str, params=None):
        request_id = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.proc.stdin.write(frame(message))
        while True:
            answer = self._read_frame()
            if answer.get("id") == request_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def close(self) -> None:
        self.call("shutdown")
        self.proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        self.proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saddled", default=str(REPO / ".build" / "release" / "saddled"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=["double", "float"], default="double")
    parser.add_argument("--max-iterations", type=int, default=None, help="Lanczos cap (default: the daemon's)")
    args = parser.parse_args()

    daemon = Daemon(args.saddled)
    daemon.call("initialize", {"capabilities": {}})
    daemon.call("dataset/generate", {"kind": "gaussianMixture", "dimensions": 784, "classes": 10, "samples": 1024,
                                     "seed": 1})
    model = daemon.call("model/create", {"spec": {
        "input": 784, "loss": "softmaxCrossEntropy", "seed": 1,
        "layers": [{"kind": "dense", "units": 256, "activation": "relu"},
                   {"kind": "dense", "units": 256, "activation": "relu"},
                   {"kind": "dense", "units": 10}]}})
    params = {"model": "m1", "dataset": "d1", "batchSize": 128, "precision": args.precision}
    if args.max_iterations:
        params["maxIterations"] = args.max_iterations
    times = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        result = daemon.call("diagnose", params)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        stages = ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["timings"].items()))
        lanczos = result["lanczos"]
        print(f"run {repeat + 1}: {elapsed:.3f} s round trip (daemon: {stages}); verdict {result['verdict']}; "
              f"Lanczos {lanczos['iterations']} products, {lanczos['stopReason']}, "
              f"λmax {lanczos.get('lambdaMax')}, λmin {lanczos.get('lambdaMin')}")
    daemon.close()
    best, median = min(times), statistics.median(times)
    print(f"point diagnosis, MLP 784-256-256-10 ({model['parameterCount']} parameters), 1024 samples, batchSize 128, "
          f"{args.precision}: median {median:.3f} s, best {best:.3f} s (target < 2 s: {'met' if median < 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
