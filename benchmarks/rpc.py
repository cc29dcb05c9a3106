#!/usr/bin/env python3
"""JSON-RPC transport benchmark against the real saddled binary (release build).

Measures, for the trivial request `daemon/status`:
  - sequential round-trip latency (p50, p99) over N requests, one at a time;
  - pipelined throughput: N requests written back to back while a second thread reads the answers;
  - cancellation latency: time from $/cancelRequest to the -32800 answer for a running daemon/busy.
The client uses raw os.read/os.write and counts frames with bytes.count, so it is not the bottleneck.
Targets (issue #2): p99 < 250 us sequential; >= 100,000 requests/s pipelined; cancellation < 100 ms.

Usage: python3 benchmarks/rpc.py [--saddled PATH] [--requests N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def frame(message) -> bytes:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Raw:
    """The benchmarks' raw stdio client: os.write of whole frames, frames read back by byte offsets (saddled
    writes only the Content-Length header), so that the client is not what is measured."""

    def __init__(self, binary: str, *args: str) -> None:
        env = {**os.environ}
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        self.proc = subprocess.Popen([binary, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, env=env)
        self.fin = self.proc.stdin.fileno()
        self.fout = self.proc.stdout.fileno()
        self.buffer = b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fin, view)
            view = view[n:]

    def read_frame(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                length = int(self.buffer[16:end])  # "Content-Length: " is 16 bytes; saddled writes only that header
                total = end + 4 + length
                while len(self.buffer) < total:
                    self.buffer += os.read(self.fout, 1 << 16)
                body = self.buffer[end + 4:total]
                self.buffer = self.buffer[total:]
                return body
            self.buffer += os.read(self.fout, 1 << 16)

    def close(self) -> None:
        self.write(frame({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}))
        self.read_frame()
        self.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        self.proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saddled", default=str(REPO / ".build" / "release" / "saddled"))
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--sequential", type=int, default=20_000)
    args = parser.parse_args()

    raw = Raw(args.saddled)
    raw.write(frame({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}}))
    raw.read_frame()

    # Sequential latency.
    request = frame({"jsonrpc": "2.0", "id": 1, "method": "daemon/status"})
    for _ in range(2000):  # warm-up
        raw.write(request)
        raw.read_frame()
    samples = []
    for _ in range(args.sequential):
        start = time.perf_counter_ns()
        raw.write(request)
        raw.read_frame()
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000

    # Pipelined throughput.
    blob = b"".join(frame({"jsonrpc": "2.0", "id": i, "method": "daemon/status"}) for i in range(args.requests))
    received = [0]

    def reader() -> None:
        count = 0
        pending = raw.buffer
        raw.buffer = b""
        while count < args.requests:
            chunk = os.read(raw.fout, 1 << 20)
            data = pending + chunk
            count += data.count(b"Content-Length")
            pending = data[-15:]  # a header split across reads is counted once: keep a short tail
            count -= pending.count(b"Content-Length")
        received[0] = count

    thread = threading.Thread(target=reader)
    start = time.perf_counter()
    thread.start()
    raw.write(blob)
    thread.join()
    elapsed = time.perf_counter() - start
    throughput = args.requests / elapsed

    # Cancellation latency.
    cancel_ms = []
    for i in range(20):
        raw.write(frame({"jsonrpc": "2.0", "id": f"busy{i}", "method": "daemon/busy", "params": {"milliseconds": 60000}}))
        time.sleep(0.02)
        start = time.perf_counter()
        raw.write(frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": f"busy{i}"}}))
        answer = json.loads(raw.read_frame())
        assert answer["error"]["code"] == -32800, answer
        cancel_ms.append((time.perf_counter() - start) * 1000)
    raw.close()

    print("saddled JSON-RPC over stdio (daemon/status), release build")
    print(f"  sequential round trip: p50 {p50:.1f} us, p99 {p99:.1f} us over {args.sequential} requests "
          f"(target p99 < 250 us: {'met' if p99 < 250 else 'NOT met'})")
    print(f"  pipelined: {throughput:,.0f} requests/s over {args.requests} requests "
          f"(target >= 100,000/s: {'met' if throughput >= 100_000 else 'NOT met'})")
    print(f"  cancellation: max {max(cancel_ms):.2f} ms, median {statistics.median(cancel_ms):.2f} ms over 20 "
          f"(target < 100 ms: {'met' if max(cancel_ms) < 100 else 'NOT met'})")


if __name__ == "__main__":
    main()
