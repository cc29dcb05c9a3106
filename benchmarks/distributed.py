#!/usr/bin/env python3
"""Distributed-run load benchmark: replays an N-rank training job into one saddled (release build).

Every rank is its own Unix-socket connection, as real ranks reporting through the Python bridge are,
and sends batched `run/ingest` calls into ONE ingested run (rank 0 creates it; issue #9's contract):
each `--batch` seconds (the bridge's Reporter default is 0.5 s) it sends its steps completed since
its last call, one call in flight per rank. Steps are synthetic but shaped like a real data-parallel
job in lockstep at `--rate` steps/s: a loss that falls with noise, a gradient norm, a warm-up/cosine
learning rate, epochs, data wait, compute and all-reduce wait (which add up to the step time), a
per-(rank, step) batch fingerprint and a 10-class label histogram; `--straggler R` makes rank R's
compute slower while the others wait for it in the all-reduce.

Meanwhile a monitoring process (two connections of its own) calls `run/status` (`--status-rate`/s)
and `diagnose {"run": id}` (`--diagnose-rate`/s) and records their latencies; the daemon's RSS
(VmRSS, VmHWM from /proc) and CPU time are sampled every second.

Reported: events/s offered, sent and acknowledged (committed: `run/ingest` answers only after its
transaction), whether the store holds exactly the events sent (`run/status` step count and
`run/history` totalSteps), the generator's own timer lag (does it keep the offered rate?), p50/p99/max
latency of `run/ingest`, `run/status` and `diagnose` (also per time window: diagnose reads the run's
whole history, so it grows with the run), daemon memory at start and end, and whether the targets
are met. Targets (issue #9): 256 ranks at 10 steps/s each, `diagnose` p99 < 50 ms.

Usage: python3 benchmarks/distributed.py [--ranks 256] [--rate 10] [--seconds 60] [--batch 0.5]
       [--straggler R] [--workers 1] [--no-allreduce] [--store PATH] [--saddled PATH] [--no-build] [--json OUT]
Standard library plus clients/python/saddle_bridge. saddled runs with OPENBLAS_NUM_THREADS=1.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "clients" / "python"))
from saddle_bridge.client import Client, RPCError  # noqa: E402
from saddle_bridge.framing import encode_frame, read_frame  # noqa: E402

CLASSES = 10
BATCH_PER_RANK = 32  # samples per rank per step (label histograms sum to this)
STEPS_PER_EPOCH = 200


# ---------------------------------------------------------------------------------------------
# Synthetic steps


def mix64(x: int) -> int:
    """SplitMix64's finalizer: a cheap, well-spread hash for fingerprints and noise."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


class StepModel:
    """The job's steps: every rank takes step k at t0 + (k + 1) / rate (data-parallel lockstep).

    Step time T = 1/rate = dataWait + compute + allreduce on every rank; a straggler computes longer
    and the others wait for it in the all-reduce, so the job's pace is the straggler's.
    """

    def __init__(self, ranks: int, rate: float, total_steps: int, straggler: Optional[int], allreduce: bool,
                 seed: int = 1) -> None:
        self.ranks = ranks
        self.period = 1.0 / rate
        self.total = total_steps
        self.straggler = straggler
        self.allreduce = allreduce
        rng = random.Random(seed)
        # Label histograms: a pool drawn once (class-balanced sampling of 32 from 10 classes).
        self.histograms: List[List[int]] = []
        for _ in range(257):
            counts = [0] * CLASSES
            for _ in range(BATCH_PER_RANK):
                counts[rng.randrange(CLASSES)] += 1
            self.histograms.append(counts)
        self.noise = [rng.gauss(0.0, 1.0) for _ in range(4099)]

    def lr(self, step: int) -> float:
        warmup = 100
        if step < warmup:
            return 0.1 * (step + 1) / warmup
        progress = (step - warmup) / max(1, self.total - warmup)
        return 0.05 * (1 + math.cos(math.pi * min(1.0, progress)))

    def event(self, rank: int, step: int) -> Dict[str, Any]:
        h = mix64(rank * 1_000_003 + step)
        n1 = self.noise[h % 4099]
        n2 = self.noise[(h >> 16) % 4099]
        n3 = self.noise[(h >> 32) % 4099]
        consensus = 0.15 + 2.15 * math.exp(-step / 300.0)
        loss = consensus * (1 + 0.04 * n1)
        grad = (0.4 + 3.0 * math.exp(-step / 200.0)) * (1 + 0.1 * n2)
        wait = self.period * (0.03 + 0.005 * abs(n3))
        slow = rank == self.straggler
        compute = self.period * ((0.88 if slow else 0.55) + 0.02 * n2 * n2 / 4)
        compute = min(compute, self.period - wait - 0.001 * self.period)
        event: Dict[str, Any] = {
            "rank": rank, "step": step, "epoch": step // STEPS_PER_EPOCH, "loss": loss, "gradNorm": grad,
            "lr": self.lr(step), "dataWaitSeconds": wait, "computeSeconds": compute,
            "samplesPerSecond": BATCH_PER_RANK / self.period,
            "fingerprint": f"{mix64(h ^ 0x5AD):016x}", "labelHistogram": self.histograms[(h >> 8) % 257],
        }
        if self.allreduce:
            event["allreduceSeconds"] = max(0.0, self.period - wait - compute)
            event["worldSize"] = self.ranks
        return event


def frame(message: Dict[str, Any]) -> bytes:
    """One LSP frame; the lean form of saddle_bridge.framing.encode_frame for the generator's hot path
    (every value here is finite, so the non-finite rewriting pass is skipped)."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def percentiles(values: List[float]) -> Dict[str, float]:
    if not values:
        return {"n": 0, "p50": math.nan, "p99": math.nan, "max": math.nan}
    s = sorted(values)
    return {"n": len(s), "p50": s[len(s) // 2], "p99": s[min(len(s) - 1, int(len(s) * 0.99))], "max": s[-1]}


def ms(p: Dict[str, float]) -> str:
    return f"p50 {p['p50'] * 1e3:.1f} ms, p99 {p['p99'] * 1e3:.1f} ms, max {p['max'] * 1e3:.1f} ms (n={p['n']})"


# ---------------------------------------------------------------------------------------------
# Generator (one asyncio loop per worker process, one connection per rank)


class RankConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.next_id = reader, writer, 1

    async def call(self, method: str, params: Any) -> Any:
        id_ = self.next_id
        self.next_id += 1
        self.writer.write(frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}))
        await self.writer.drain()
        while True:
            header = await self.reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                          if line.lower().startswith(b"content-length"))
            message = json.loads(await self.reader.readexactly(length))
            if message.get("id") == id_:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result")

    async def initialize(self) -> None:
        await self.call("initialize", {"processId": os.getpid(), "capabilities": {}})
        self.writer.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))


async def generate(socket_path: str, run: str, ranks: List[int], model: StepModel, t0: float, batch: float,
                   phase_seed: int) -> Dict[str, Any]:
    connections: Dict[int, RankConnection] = {}
    for r in ranks:
        reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 20)
        connections[r] = RankConnection(reader, writer)
        await connections[r].initialize()
    connected = time.monotonic()
    rng = random.Random(phase_seed)
    ingest_latency: List[float] = []
    lags: List[float] = []
    sent = {r: 0 for r in ranks}      # steps [0, sent) of each rank are sent
    accepted = {r: 0 for r in ranks}
    calls = {r: 0 for r in ranks}
    errors: List[str] = []

    async def rank_loop(r: int) -> None:
        conn = connections[r]
        due = t0 + rng.uniform(0, batch)  # spread the ranks' calls over the interval
        while sent[r] < model.total:
            now = time.monotonic()
            if now < due:
                await asyncio.sleep(due - now)
                now = time.monotonic()
            lags.append(now - due)
            done = min(model.total, int((now - t0) / model.period))
            if done > sent[r]:
                steps = [model.event(r, k) for k in range(sent[r], done)]
                start = time.monotonic()
                try:
                    result = await conn.call("run/ingest", {"run": run, "steps": steps})
                    accepted[r] += result["accepted"]
                except Exception as error:  # noqa: BLE001 — reported, the rank keeps going
                    errors.append(f"rank {r}: {error}")
                ingest_latency.append(time.monotonic() - start)
                calls[r] += 1
                sent[r] = done
            due = max(due + batch, time.monotonic())  # a slow answer delays the next call, never bursts

    cpu0 = os.times()
    await asyncio.gather(*(rank_loop(r) for r in ranks))
    finished = time.monotonic()
    cpu1 = os.times()
    for conn in connections.values():
        conn.writer.close()
    await asyncio.gather(*(c.writer.wait_closed() for c in connections.values()), return_exceptions=True)
    return {"ranks": len(ranks), "sent": sum(sent.values()), "accepted": sum(accepted.values()),
            "calls": sum(calls.values()), "ingestLatency": ingest_latency, "lags": lags, "errors": errors[:20],
            "errorCount": len(errors), "connectedAt": connected, "finishedAt": finished,
            "cpuSeconds": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)}


def generator_worker(socket_path: str, run: str, ranks: List[int], model: StepModel, t0: float, batch: float,
                     seed: int, out: "mp.Queue[Any]") -> None:
    try:
        out.put(("generator", asyncio.run(generate(socket_path, run, ranks, model, t0, batch, seed))))
    except BaseException as error:  # noqa: BLE001
        out.put(("generator", {"fatal": repr(error)}))


# ---------------------------------------------------------------------------------------------
# Monitor (its own process and connections, blocking sockets: latencies without the generator's loop)


class BlockingConnection:
    """A plain blocking client over saddle_bridge's framing: send one request, read until its answer."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.stream = self.sock.makefile("rb")
        self.next_id = 1
        self.call("initialize", {"processId": os.getpid(), "capabilities": {}})
        self.sock.sendall(encode_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))

    def call(self, method: str, params: Any) -> Any:
        id_ = self.next_id
        self.next_id += 1
        self.sock.sendall(encode_frame({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}))
        while True:
            body = read_frame(self.stream)
            if body is None:
                raise ConnectionError("saddled closed the connection")
            message = json.loads(body)
            if message.get("id") == id_:
                if "error" in message:
                    raise RPCError(message["error"].get("code", 0), message["error"].get("message", ""), method=method)
                return message["result"]


def monitor_worker(socket_path: str, run: str, t0: float, t_end: float, status_rate: float, diagnose_rate: float,
                   out: "mp.Queue[Any]") -> None:
    results: Dict[str, Any] = {"status": [], "diagnose": [], "verdicts": {}, "errors": []}

    def loop(method: str, params: Dict[str, Any], rate: float, key: str) -> None:
        conn = BlockingConnection(socket_path)
        due = max(time.monotonic(), t0)
        while True:
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            if time.monotonic() >= t_end:
                break
            start = time.monotonic()
            try:
                result = conn.call(method, params)
                latency = time.monotonic() - start
                results[key].append((start - t0, latency))
                if key == "diagnose":
                    verdict = result.get("verdict", "?")
                    results["verdicts"][verdict] = results["verdicts"].get(verdict, 0) + 1
                    results["lastDiagnosis"] = {k: result.get(k) for k in ("verdict", "confidence", "step")
                                                if k in result}
                    results["lastDiagnosis"]["implicated"] = (result.get("ranks") or {}).get("implicated")
            except Exception as error:  # noqa: BLE001
                results["errors"].append(f"{method}: {error}")
            due = max(due + 1.0 / rate, time.monotonic())  # a slow answer delays the next call, never bursts

    threads = [threading.Thread(target=loop, args=(method, {"run": run}, rate, key))
               for method, rate, key in (("run/status", status_rate, "status"), ("diagnose", diagnose_rate, "diagnose"))
               if rate > 0]  # a rate of 0 leaves that loop out (a control run: the load without diagnose)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["errors"] = results["errors"][:20]
    out.put(("monitor", results))


# ---------------------------------------------------------------------------------------------
# Daemon


def proc_memory(pid: int) -> Dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "Threads"):
                fields[name] = int(value.split()[0])
    return fields  # kB except Threads


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def start_daemon(binary: str, socket_path: str, store: str, max_clients: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    proc = subprocess.Popen([binary, "--listen", socket_path, "--store", store, "--max-clients", str(max_clients)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 30
    while not os.path.exists(socket_path):
        if proc.poll() is not None:
            raise RuntimeError(f"saddled exited {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError("saddled did not create its socket within 30 s")
        time.sleep(0.02)
    # Drain stderr so a chatty daemon never blocks on a full pipe.
    threading.Thread(target=lambda: proc.stderr and proc.stderr.read(), daemon=True).start()
    return proc


def create_run(client: Client, model: StepModel, name: str) -> Tuple[str, bool]:
    """Creates the ingested run as rank 0 would, with rank 0's step 0 (sent again later, which replaces it).
    Returns the run id and whether the daemon accepts `allreduceSeconds`/`worldSize`."""
    try:
        result = client.request("run/ingest", {"name": name, "steps": [model.event(0, 0)]}, timeout=30)
        return result["run"], model.allreduce
    except RPCError as error:
        if model.allreduce and ("allreduceSeconds" in error.message or "worldSize" in error.message):
            model.allreduce = False
            result = client.request("run/ingest", {"name": name, "steps": [model.event(0, 0)]}, timeout=30)
            return result["run"], False
        raise


# ---------------------------------------------------------------------------------------------
# Profile: where diagnose's time goes, on a quiet daemon, as the run grows


def profile_diagnose(args: argparse.Namespace, daemon: subprocess.Popen, socket_path: str, store: str) -> int:
    """Fills runs as fast as the daemon takes them (no concurrent load) and at each size times `diagnose`,
    `run/status`, `run/history` and the store's own SELECT (Python's sqlite3 on the same file, the query
    RunStore.steps runs), for full events and for events without fingerprint/labelHistogram."""
    import sqlite3

    client = Client.connect_unix(socket_path, client_name="distributed-profile")
    sizes = sorted({int(x) for x in args.profile_sizes.split(",")})
    steps_needed = max(sizes) // args.ranks
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    columns = ("run_id, rank, step, epoch, loss, grad_norm, lr, data_wait, compute, throughput, fingerprint, "
               "label_histogram")

    def best(fn, rounds: int = 3) -> float:
        times = []
        for _ in range(rounds):
            t = time.monotonic()
            fn()
            times.append(time.monotonic() - t)
        return min(times)

    print(f"profile: {args.ranks} ranks, quiet daemon, best of 3 (ms); rows = events in the run")
    print(f"{'variant':>9} {'rows':>8} {'diagnose':>9} {'status':>7} {'hist/1':>7} {'scan':>7} {'rank0':>7} {'groupby':>8}")
    for variant in ("full", "lean"):
        model = StepModel(args.ranks, args.rate, steps_needed, args.straggler, allreduce=not args.no_allreduce)
        run, model.allreduce = create_run(client, model, f"profile-{variant}")
        done_steps = 0
        for size in sizes:
            target = size // args.ranks
            pending: List[Dict[str, Any]] = []
            for k in range(done_steps, target):
                for r in range(args.ranks):
                    e = model.event(r, k)
                    if variant == "lean":
                        e.pop("fingerprint")
                        e.pop("labelHistogram")
                    pending.append(e)
                    if len(pending) == 10_000:
                        client.request("run/ingest", {"run": run, "steps": pending}, timeout=120)
                        pending = []
            if pending:
                client.request("run/ingest", {"run": run, "steps": pending}, timeout=120)
            done_steps = target
            rows = target * args.ranks
            d = best(lambda: client.request("diagnose", {"run": run}, timeout=300))
            s = best(lambda: client.request("run/status", {"run": run}, timeout=60))
            h = best(lambda: client.request("run/history", {"run": run, "maxPoints": 1}, timeout=300))
            # SQLite's own cost, rows never leave C: the scan RunStore.steps does (every column touched),
            # one rank's steps (what today's diagnose keeps), and per-step consensus plus per-rank figures
            # computed by SQL (what a rank-aware diagnose needs) instead of decoding every row.
            scan = best(lambda: db.execute(
                "SELECT count(*), sum(rank), sum(step), sum(epoch), sum(loss), sum(grad_norm), sum(lr), sum(data_wait), "
                "sum(compute), sum(throughput), sum(length(fingerprint)), sum(length(label_histogram)) FROM steps "
                "WHERE run_id = ? AND step >= 0 AND step <= ?", (run, 2**62)).fetchall())
            rank0 = best(lambda: db.execute(f"SELECT {columns} FROM steps WHERE run_id = ? AND rank = 0 ORDER BY step",
                                            (run,)).fetchall())
            group = best(lambda: (
                db.execute("SELECT step, avg(loss), avg(grad_norm), max(compute), avg(data_wait) FROM steps "
                           "WHERE run_id = ? GROUP BY step ORDER BY step", (run,)).fetchall(),
                db.execute("SELECT rank, count(*), max(step), avg(loss), avg(compute), avg(data_wait) FROM steps "
                           "WHERE run_id = ? GROUP BY rank", (run,)).fetchall()))
            print(f"{variant:>9} {rows:>8,} {d * 1e3:>9.1f} {s * 1e3:>7.1f} {h * 1e3:>7.1f} {scan * 1e3:>7.1f} "
                  f"{rank0 * 1e3:>7.1f} {group * 1e3:>8.1f}")
        if variant == "full" and args.perf:
            perf_diagnose(client, run, daemon.pid)
    db.close()
    client.close()
    print(f"daemon memory after profiling: {proc_memory(daemon.pid)}")
    return 0


def perf_diagnose(client: Client, run: str, pid: int, seconds: float = 8.0) -> None:
    """Samples the daemon with `perf record` while diagnose runs back to back; prints the top symbols."""
    data = os.path.join(tempfile.gettempdir(), f"saddle-diagnose-{pid}.perf")
    perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", data, "-p", str(pid), "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + seconds
    calls = 0
    while time.monotonic() < end:
        client.request("diagnose", {"run": run}, timeout=300)
        calls += 1
    perf.wait()
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio", "-g", "none",
                             "--percent-limit", "1.5"], capture_output=True, text=True).stdout
    try:
        report = subprocess.run(["swift", "demangle", "--simplified"], input=report, capture_output=True,
                                text=True).stdout or report
    except OSError:
        pass
    print(f"perf: {calls} diagnose calls in {seconds:g} s; self time by symbol (>= 1.5%):")
    for line in report.splitlines():
        if line.strip() and not line.startswith("#"):
            print("  " + line.strip()[:160])


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=256)
    parser.add_argument("--rate", type=float, default=10.0, help="steps per second of every rank (the job's pace)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=float, default=0.5, help="seconds between one rank's run/ingest calls")
    parser.add_argument("--straggler", type=int, default=None, help="a rank whose compute is slow")
    parser.add_argument("--workers", type=int, default=1, help="generator processes (ranks split among them)")
    parser.add_argument("--no-allreduce", action="store_true",
                        help="omit allreduceSeconds/worldSize (automatic when the daemon refuses them)")
    parser.add_argument("--status-rate", type=float, default=5.0, help="run/status calls per second (0: none)")
    parser.add_argument("--diagnose-rate", type=float, default=1.0, help="diagnose calls per second (0: none)")
    parser.add_argument("--store", default=None, help="run store file (default: a fresh temporary file)")
    parser.add_argument("--saddled", default=str(REPO / ".build" / "release" / "saddled"))
    parser.add_argument("--no-build", action="store_true", help="use --saddled as it is")
    parser.add_argument("--diagnose-p99-ms", type=float, default=50.0, help="target for diagnose p99")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument("--profile", action="store_true",
                        help="instead of the load: time diagnose/run/status/run/history and the raw SELECT by run size")
    parser.add_argument("--profile-sizes", default="12800,51200,153600", help="run sizes (events) for --profile")
    parser.add_argument("--perf", action="store_true", help="with --profile: perf-sample diagnose at the largest size")
    args = parser.parse_args()
    if args.status_rate < 0 or args.diagnose_rate < 0:
        parser.error("--status-rate and --diagnose-rate must be >= 0")
    if args.ranks < 1 or args.rate <= 0 or args.seconds <= 0 or args.batch <= 0 or args.workers < 1:
        parser.error("--ranks, --rate, --seconds, --batch and --workers must be positive")

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "saddled"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    folder = tempfile.mkdtemp(prefix="saddle-load-")
    socket_path = os.path.join(folder, "saddled.sock")
    store = args.store or os.path.join(folder, "runs.sqlite")
    total_steps = int(args.seconds * args.rate)
    model = StepModel(args.ranks, args.rate, total_steps, args.straggler, allreduce=not args.no_allreduce)
    daemon = start_daemon(args.saddled, socket_path, store, max_clients=args.ranks + 8)
    try:
        if args.profile:
            return profile_diagnose(args, daemon, socket_path, store)
        return run_benchmark(args, daemon, socket_path, store, model, total_steps)
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        if args.store is None:
            shutil.rmtree(folder, ignore_errors=True)


def run_benchmark(args: argparse.Namespace, daemon: subprocess.Popen, socket_path: str, store: str,
                  model: StepModel, total_steps: int) -> int:
    pid = daemon.pid
    control = Client.connect_unix(socket_path, client_name="distributed-bench")
    run, allreduce = create_run(control, model, "distributed-bench")
    mem_start = proc_memory(pid)
    cpu_start = proc_cpu_seconds(pid)

    ctx = mp.get_context("fork")
    out: "mp.Queue[Any]" = ctx.Queue()
    connect_allowance = 2.0 + args.ranks / 200  # seconds to open every rank's connection before the clock starts
    t0 = time.monotonic() + connect_allowance
    t_end = t0 + total_steps / args.rate
    shards = [list(range(args.ranks))[w::args.workers] for w in range(args.workers)]
    procs = [ctx.Process(target=generator_worker, args=(socket_path, run, shard, model, t0, args.batch, 7 + w, out))
             for w, shard in enumerate(shards) if shard]
    procs.append(ctx.Process(target=monitor_worker,
                             args=(socket_path, run, t0, t_end, args.status_rate, args.diagnose_rate, out)))
    for p in procs:
        p.start()

    samples: List[Tuple[float, Dict[str, int], float]] = []
    results: List[Tuple[str, Any]] = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1.0))
        except Exception:  # queue.Empty
            pass
        if daemon.poll() is not None:
            print(f"saddled exited with {daemon.returncode} during the benchmark", file=sys.stderr)
            return 2
        samples.append((time.monotonic() - t0, proc_memory(pid), proc_cpu_seconds(pid)))
        if time.monotonic() > t_end + 300:
            print("gave up waiting for the generator 300 s after the end", file=sys.stderr)
            return 2
    for p in procs:
        p.join(10)
    mem_end = proc_memory(pid)
    cpu_end = proc_cpu_seconds(pid)

    gens = [r for kind, r in results if kind == "generator"]
    mon = next(r for kind, r in results if kind == "monitor")
    fatal = [g["fatal"] for g in gens if "fatal" in g]
    if fatal:
        print(f"generator failed: {fatal}", file=sys.stderr)
        return 2
    sent = sum(g["sent"] for g in gens)
    accepted = sum(g["accepted"] for g in gens)
    calls = sum(g["calls"] for g in gens)
    finished = max(g["finishedAt"] for g in gens)
    connected = max(g["connectedAt"] for g in gens)
    ingest = percentiles([x for g in gens for x in g["ingestLatency"]])
    lag = percentiles([x for g in gens for x in g["lags"]])
    gen_cpu = sum(g["cpuSeconds"] for g in gens)
    status_after = control.request("run/status", {"run": run}, timeout=60)
    history = control.request("run/history", {"run": run, "maxPoints": 1}, timeout=60)
    t = time.monotonic()
    final_diagnosis = control.request("diagnose", {"run": run}, timeout=300)
    final_diagnose_s = time.monotonic() - t
    control.close()

    wall = total_steps / args.rate
    offered = args.ranks * args.rate
    expected = args.ranks * total_steps
    stored = history["totalSteps"]
    status = percentiles([x for _, x in mon["status"]])
    diagnose = percentiles([x for _, x in mon["diagnose"]])
    windows = []
    width = max(1.0, wall / 6)
    for i in range(int(math.ceil(wall / width))):
        lo, hi = i * width, (i + 1) * width
        windows.append((lo, hi, percentiles([x for s, x in mon["diagnose"] if lo <= s < hi]),
                        percentiles([x for s, x in mon["status"] if lo <= s < hi])))
    peak_rss = max(m["VmRSS"] for _, m, _ in samples) if samples else mem_end["VmRSS"]
    peak_threads = max(m.get("Threads", 0) for _, m, _ in samples) if samples else mem_end.get("Threads", 0)

    print(f"saddled {args.saddled}, store {store}")
    print(f"job: {args.ranks} ranks x {args.rate:g} steps/s for {wall:g} s = {expected:,} events "
          f"({'straggler rank ' + str(args.straggler) if args.straggler is not None else 'no straggler'}; "
          f"allreduceSeconds/worldSize {'sent' if allreduce else 'omitted'}), one run/ingest per rank every "
          f"{args.batch:g} s, {args.workers} generator process(es); connections open {connected - (t0 - 0):+.2f} s "
          f"from the clock start")
    print(f"events/s: offered {offered:,.0f}, acknowledged {accepted / (finished - t0 + 1e-9):,.0f} over "
          f"{finished - t0:.2f} s (the job lasted {wall:g} s; the last calls end at most one interval later); "
          f"{calls:,} run/ingest calls, {sum(g['errorCount'] for g in gens)} errors")
    print(f"generator: timer lag {ms(lag)}; its CPU {gen_cpu:.1f} s ({gen_cpu / (finished - t0 + 1e-9) * 100:.0f}% of a core)")
    print(f"committed: sent {sent:,}, acknowledged {accepted:,}, stored {stored:,} (run/history totalSteps), "
          f"run/status step {status_after.get('step')}: {'nothing lost' if sent == accepted == stored == expected else 'MISMATCH'}")
    print(f"run/ingest latency: {ms(ingest)}")
    print(f"run/status latency ({args.status_rate:g}/s): {ms(status)}")
    print(f"diagnose latency ({args.diagnose_rate:g}/s): {ms(diagnose)}; verdicts {mon['verdicts']}")
    for lo, hi, d, s in windows:
        rows = int(min(hi, wall) * args.rate) * args.ranks
        print(f"  t {lo:5.1f}-{hi:5.1f} s (about {rows:,} rows at the end): diagnose {ms(d)}; run/status p99 "
              f"{s['p99'] * 1e3:.1f} ms")
    ranks_member = final_diagnosis.get("ranks") or {}
    print(f"diagnose after the job ({stored:,} rows): {final_diagnose_s * 1e3:.1f} ms, verdict "
          f"{final_diagnosis.get('verdict')}, implicated ranks {ranks_member.get('implicated')}, "
          f"{len(ranks_member.get('reporting', []))} reporting, worldSize {ranks_member.get('worldSize')}"
          f"{', straggler was rank ' + str(args.straggler) if args.straggler is not None else ''}")
    print(f"daemon memory: VmRSS {mem_start['VmRSS'] / 1024:.1f} MiB at start, {mem_end['VmRSS'] / 1024:.1f} MiB at end "
          f"(peak sampled {peak_rss / 1024:.1f} MiB), VmHWM {mem_end['VmHWM'] / 1024:.1f} MiB; threads at most "
          f"{peak_threads} (sampled); CPU {cpu_end - cpu_start:.1f} s ({(cpu_end - cpu_start) / (finished - t0 + 1e-9):.2f} cores)")
    if os.path.exists(store):
        size = sum(os.path.getsize(p) for p in (store, store + "-wal") if os.path.exists(p))
        print(f"store: {size / 2**20:.1f} MiB on disk ({size / max(1, stored):.0f} B per step, WAL included)")
    if mon["errors"]:
        print(f"monitor errors: {mon['errors'][:5]}")
    kept_up = accepted == expected and lag["p99"] < args.batch
    ok_diag = diagnose["n"] > 0 and diagnose["p99"] * 1e3 < args.diagnose_p99_ms
    print(f"targets: {args.ranks} ranks at {args.rate:g} steps/s absorbed: {'met' if kept_up else 'NOT met'}; "
          f"diagnose p99 < {args.diagnose_p99_ms:g} ms: {'met' if ok_diag else 'NOT met'} ({diagnose['p99'] * 1e3:.1f} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "ranks": args.ranks, "rate": args.rate, "seconds": wall, "batch": args.batch, "straggler": args.straggler,
            "offered": offered, "acknowledgedPerSecond": accepted / (finished - t0), "sent": sent, "accepted": accepted,
            "stored": stored, "expected": expected, "ingest": ingest, "status": status, "diagnose": diagnose,
            "lag": lag, "memoryStart": mem_start, "memoryEnd": mem_end, "peakRSSkB": peak_rss,
            "daemonCPUSeconds": cpu_end - cpu_start, "peakThreads": peak_threads, "generatorCPUSeconds": gen_cpu,
            "diagnoseSeries": mon["diagnose"], "statusSeries": mon["status"], "finalDiagnoseSeconds": final_diagnose_s,
            "lastDiagnosis": mon.get("lastDiagnosis")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
