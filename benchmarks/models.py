#!/usr/bin/env python3
"""The numeric core against JAX and PyTorch, in one script, on one machine, one thread each.

Model: MLP 784-256-256-10, ReLU, softmax cross-entropy, batch 128, float32, PyTorch's default init.
  - training step throughput (forward + backward + an SGD update), steps/s
  - the cost of an exact Hessian-vector product relative to a gradient
    (Saddle: Pearlmutter's R-operator; JAX: forward-over-reverse jvp(grad); PyTorch: double backward),
    two ways:
      first HVP at a point: the product alone, primal forward and backward passes included
        (Saddle `hvpFirstMs`; JAX jit(jvp(grad)); PyTorch double backward);
      further HVPs at the same point and batch (Saddle `hvpMs` from a kept linearization; JAX
        jit(jax.linearize(grad)[1]); PyTorch has no equivalent).
    Lanczos, power iteration, Hutchinson and SLQ apply many HVPs at one point, so the HVP target is
    compared with the second figure, like for like with JAX's linearized product; both are printed.
Targets (issue #3): Saddle >= 1.2x JAX's and >= 1.5x PyTorch's steps/s; HVP <= 1.5 gradients and no slower
than JAX's HVP in absolute time.
Also the GEMM ceiling: the step's eight sgemm calls alone, timed from C (benchmarks/gemm/step_shapes.c), and the
core's float32 FMA peak (benchmarks/gemm/fma_peak.c): each step rate is printed as a share of that peak, and each
throughput target as the rate it requires, against both.
Each round runs the ceiling, Saddle, JAX and PyTorch in turn; the best figure of each over the rounds is kept (the
machine is shared, and best-of penalizes no program for another's load).

Usage: OPENBLAS_NUM_THREADS=1 python3 benchmarks/models.py [--rounds 3] [--cpu N]   (needs torch==2.13.0+cpu and jax)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import subprocess
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pinning import pin_to_one_cpu  # noqa: E402



def best_of(fn, n: int, rounds: int = 5) -> float:
    for _ in range(10):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def saddle() -> dict:
    subprocess.run(["swift", "build", "-c", "release", "--product", "saddle-bench"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([str(REPO / ".build/release/saddle-bench"), "step"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def compile_c(work: str, source: str, *libraries: str) -> Path:
    exe = Path(work) / Path(source).stem
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", *libraries], check=True, capture_output=True,
                           text=True).stdout.split() if libraries else []
    subprocess.run(["cc", "-O2", "-o", str(exe), str(REPO / "benchmarks/gemm" / source), *flags], check=True)
    return exe


def gemm_ceiling() -> dict:
    """The step's eight sgemm calls alone, from C (benchmarks/gemm/step_shapes.c): the most steps/s any
    implementation calling OpenBLAS could reach on this machine at this moment; and the core's float32 FMA peak
    (benchmarks/gemm/fma_peak.c), which no implementation can exceed."""
    import tempfile
    with tempfile.TemporaryDirectory() as work:
        out = json.loads(subprocess.run([str(compile_c(work, "step_shapes.c", "openblas"))], check=True,
                                        capture_output=True, text=True).stdout)
        peak = json.loads(subprocess.run([str(compile_c(work, "fma_peak.c"))], check=True, capture_output=True,
                                         text=True).stdout)
    return {"stepsPerSecond": out["ceilingStepsPerSecond"], "gemmMs": out["stepGemmUs"] * 1e-3,
            "stepFlops": out["stepGemmFlops"], "peakGflops": peak["gflops"], "isa": peak["isa"]}


def torch_peer() -> dict:
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    params = list(model.parameters())
    vs = [torch.randn_like(p) for p in params]

    def grad():
        torch.autograd.grad(loss_fn(model(x), y), params)

    def hvp():
        g = torch.autograd.grad(loss_fn(model(x), y), params, create_graph=True)
        dot = sum((gi * vi).sum() for gi, vi in zip(g, vs))
        torch.autograd.grad(dot, params)

    t_step = best_of(step, 100)
    t_grad = best_of(grad, 100)
    t_hvp = best_of(hvp, 60)
    return {"stepsPerSecond": 1 / t_step, "gradientMs": t_grad * 1e3, "hvpFirstMs": t_hvp * 1e3}


def jax_peer() -> dict:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_platform_name", "cpu")
    key = jax.random.PRNGKey(1)
    k1, k2, k3, kx, ky = jax.random.split(key, 5)

    def layer(k, fan_in, fan_out):
        bound = 1 / fan_in ** 0.5
        kw, kb = jax.random.split(k)
        return (jax.random.uniform(kw, (fan_out, fan_in), minval=-bound, maxval=bound),
                jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound))

    params = [layer(k1, 784, 256), layer(k2, 256, 256), layer(k3, 256, 10)]
    x = jax.random.normal(kx, (128, 784))
    y = jax.random.randint(ky, (128,), 0, 10)

    def loss(ps):
        h = x
        for i, (w, b) in enumerate(ps):
            h = h @ w.T + b
            if i < len(ps) - 1:
                h = jax.nn.relu(h)
        return -jnp.mean(jax.nn.log_softmax(h)[jnp.arange(128), y])

    grad_fn = jax.jit(jax.grad(loss))

    @jax.jit
    def step(ps):
        g = jax.grad(loss)(ps)
        return jax.tree_util.tree_map(lambda p, gi: p - 1e-3 * gi, ps, g)

    vs = jax.tree_util.tree_map(lambda p: jnp.ones_like(p) * 0.01, params)
    hvp_fn = jax.jit(lambda ps, v: jax.jvp(jax.grad(loss), (ps,), (v,))[1])
    state = {"p": params}

    def run_step():
        state["p"] = step(state["p"])
        jax.block_until_ready(state["p"])

    _, linear = jax.linearize(jax.grad(loss), params)
    linear_fn = jax.jit(linear)

    t_step = best_of(run_step, 100)
    t_grad = best_of(lambda: jax.block_until_ready(grad_fn(params)), 100)
    t_hvp = best_of(lambda: jax.block_until_ready(hvp_fn(params, vs)), 60)
    t_lin = best_of(lambda: jax.block_until_ready(linear_fn(vs)), 60)
    return {"stepsPerSecond": 1 / t_step, "gradientMs": t_grad * 1e3, "hvpFirstMs": t_hvp * 1e3, "hvpMs": t_lin * 1e3}


def best(a: dict | None, b: dict) -> dict:
    """Per figure, the better of two rounds (higher steps/s, lower times)."""
    if a is None:
        return dict(b)
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, (int, float)) and key in out:
            out[key] = max(out[key], value) if key in ("stepsPerSecond", "peakGflops") else min(out[key], value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=None, help="the one CPU every program runs on (-1: no pinning)")
    args = parser.parse_args()
    pinned = pin_to_one_cpu(args.cpu)
    results: dict[str, dict] = {}
    missing: set[str] = set()
    ceiling: dict | None = None
    for _ in range(max(1, args.rounds)):
        try:
            ceiling = best(ceiling, gemm_ceiling())
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"GEMM ceiling not measured ({error}); needs cc and pkg-config openblas")
        results["saddle"] = best(results.get("saddle"), saddle())
        for name, peer in (("jax", jax_peer), ("pytorch", torch_peer)):
            if name in missing:
                continue
            try:
                results[name] = best(results.get(name), peer())
            except ImportError as error:
                print(f"{name} not installed ({error}); pip install jax torch==2.13.0+cpu")
                missing.add(name)
    s = results["saddle"]
    print(f"MLP 784-256-256-10 ReLU, softmax CE, batch 128, float32, one thread, best of {args.rounds} rounds, "
          f"{'all on CPU ' + str(pinned) if pinned is not None else 'not pinned'}")
    print("HVP first: one product at a new point (primal passes included); HVP kept: each further product at the")
    print("same point and batch (Saddle's kept linearization, JAX's jax.linearize). Lanczos-type use is many HVPs")
    print("per point, so the HVP targets compare the kept figure.")
    print(f"{'':10} {'steps/s':>10} {'grad ms':>9} {'HVP first ms':>13} {'/grad':>6} {'HVP kept ms':>12} {'/grad':>6}")

    def cell(r: dict, key: str, width: int) -> str:
        return f"{r[key]:{width}.3f} {r[key] / r['gradientMs']:6.2f}" if key in r else f"{'-':>{width}} {'-':>6}"

    for name, r in results.items():
        print(f"{name:10} {r['stepsPerSecond']:10.1f} {r['gradientMs']:9.3f} {cell(r, 'hvpFirstMs', 13)} {cell(r, 'hvpMs', 12)}")
    if ceiling:
        print(f"GEMM ceiling (the step's 8 sgemm calls alone, from C): {ceiling['stepsPerSecond']:.1f} steps/s "
              f"({ceiling['gemmMs']:.3f} ms); Saddle reaches {s['stepsPerSecond'] / ceiling['stepsPerSecond']:.0%} of it")
        # Each program's step rate as a share of the core: the step's GEMM flops at that rate over the FMA peak.
        peak, flops = ceiling["peakGflops"] * 1e9, ceiling["stepFlops"]
        shares = ", ".join(f"{name} {r['stepsPerSecond'] * flops / peak:.0%}" for name, r in results.items())
        print(f"float32 FMA peak of the core ({ceiling['isa']}, registers only): {ceiling['peakGflops']:.1f} GFLOP/s; the step is "
              f"{flops / 1e6:.1f} MFLOP of GEMM, so the share of that peak each step rate uses: OpenBLAS ceiling "
              f"{ceiling['stepsPerSecond'] * flops / peak:.0%}, {shares}")
    for name, target in (("jax", 1.2), ("pytorch", 1.5)):
        if name in results:
            ratio = s["stepsPerSecond"] / results[name]["stepsPerSecond"]
            needed = target * results[name]["stepsPerSecond"]
            reach = (f"; it needs {needed:.0f} steps/s = {needed / ceiling['stepsPerSecond']:.0%} of the OpenBLAS ceiling, "
                     f"{needed * ceiling['stepFlops'] / (ceiling['peakGflops'] * 1e9):.0%} of the FMA peak") if ceiling else ""
            print(f"Saddle / {name} training steps: {ratio:.2f}x (target >= {target}x: {'met' if ratio >= target else 'NOT met'}{reach})")
    kept = s["hvpMs"] / s["gradientMs"]
    print(f"Saddle HVP / gradient, kept point (the target's figure): {kept:.2f} (target <= 1.5: "
          f"{'met' if kept <= 1.5 else 'NOT met'}); first HVP at a point: {s['hvpFirstMs'] / s['gradientMs']:.2f}")
    if "jax" in results:
        j = results["jax"]
        ratio = j["hvpMs"] / s["hvpMs"]
        print(f"JAX HVP time / Saddle HVP time, kept point: {ratio:.2f} (target >= 1: {'met' if ratio >= 1 else 'NOT met'}); "
              f"first HVP at a point: {j['hvpFirstMs'] / s['hvpFirstMs']:.2f}")


if __name__ == "__main__":
    main()
