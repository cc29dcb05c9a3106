"""Curvature of a model too large for the daemon, computed inside PyTorch across the ranks.

- Hessian-vector products by double backward on each rank's shard of the data, averaged over the
  ranks with one all-reduce (weighted by each rank's sample count, so uneven shards give the mean
  loss's Hessian over all samples exactly).
- Lanczos with full reorthogonalization in PyTorch: the basis vectors never leave PyTorch. After
  each step rank 0 sends only the tridiagonal (``alphas``, ``betas``) to the daemon's
  ``curvature/ritz`` for the Ritz values, residuals and the convergence decision (the daemon's own
  Lanczos rule: every requested residual ≤ tolerance × max|θ|), and broadcasts the answer, so all
  ranks stop together. λ_max and λ_min come from one run.
- Hutchinson's trace with Rademacher probes from a port of the daemon's generator
  (:class:`~saddle_bridge.seeded_random.SeededRandom`): for the same seed and probe count, and the
  same flat parameter order (``model.parameters()`` order; for an exported ``nn.Sequential`` that
  is the daemon's order: each layer's weight [out, in] row-major, then its bias), the estimate
  equals the daemon's ``curvature/trace``.
- :meth:`DistributedCurvature.diagnose` sends the scalars as evidence: ``diagnose {"run", "evidence":
  {"lambdaMax", "lambdaMin", "hessianTrace"}}``.

Only scalars and the small tridiagonal cross the socket, never a parameter-sized vector.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from . import _collective as coll
from .client import Client, RPCError
from .framing import real
from .seeded_random import SeededRandom

__all__ = ["DistributedCurvature", "EigenResult", "TraceResult", "ritz_values"]


@dataclass
class EigenResult:
    """Extreme Hessian eigenvalues from one Lanczos run.

    ``largest`` descending and ``smallest`` ascending, each ``[(value, residual)]``; ``steps`` (=
    Hessian-vector products), ``converged``, ``stop_reason`` (``converged``, ``maxIterations``,
    ``invariantSubspace``), ``spectrum_scale`` (max |θ|), ``ritz_source`` (``"daemon"`` when
    ``curvature/ritz`` decided, ``"local"`` when computed here), ``alphas``/``betas`` (the tridiagonal).
    """

    largest: List[Tuple[float, float]]
    smallest: List[Tuple[float, float]]
    steps: int
    converged: bool
    stop_reason: str
    spectrum_scale: float
    ritz_source: str
    alphas: List[float] = field(default_factory=list)
    betas: List[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lambda_max(self) -> float:
        return self.largest[0][0]

    @property
    def lambda_min(self) -> float:
        return self.smallest[0][0]


@dataclass
class TraceResult:
    """Hutchinson's trace: ``estimate`` (mean of zᵀHz), ``standard_error`` (sample std / √probes),
    ``probes``, ``samples`` (each zᵀHz)."""

    estimate: float
    standard_error: float
    probes: int
    samples: List[float]
    seconds: float = 0.0


def ritz_values(alphas: Sequence[float], betas: Sequence[float], k: int = 1, tolerance: float = 1e-3) -> Dict[str, Any]:
    """``curvature/ritz`` computed locally (same result shape and rule), for when no daemon is attached.

    The Ritz values are the eigenvalues θ of the m×m tridiagonal T_m; a value's residual is
    β_m·|last component of its eigenvector|; converged when the k largest and k smallest residuals
    are all ≤ ``tolerance`` × max|θ|.
    """
    import torch

    m = len(alphas)
    t = torch.diag(torch.tensor(list(alphas), dtype=torch.float64))
    if m > 1:
        off = torch.tensor(list(betas[: m - 1]), dtype=torch.float64)
        t = t + torch.diag(off, 1) + torch.diag(off, -1)
    values, vectors = torch.linalg.eigh(t)
    residuals = (abs(float(betas[m - 1])) * vectors[m - 1, :].abs()).tolist()
    values_list = values.tolist()
    kk = min(k, m)
    top = list(range(m - 1, m - 1 - kk, -1))
    bottom = list(range(kk))
    scale = max(abs(v) for v in values_list)
    converged = all(residuals[i] <= tolerance * scale for i in top + bottom)
    return {"steps": m, "largest": [{"value": values_list[i], "residual": residuals[i]} for i in top],
            "smallest": [{"value": values_list[i], "residual": residuals[i]} for i in bottom],
            "converged": converged, "spectrumScale": scale, "tolerance": tolerance}


class DistributedCurvature:
    """The Hessian of the mean loss over every rank's samples, as an operator, with Lanczos and
    Hutchinson on top. Create it on every rank (its methods are collective).

    ``batches``: this rank's shard, an iterable of ``(inputs, targets)`` (re-iterated for each
    product). ``loss_fn(outputs, targets)`` must average over the batch (``reduction="mean"``): the
    operator weighs each batch by its sample count, so the result is the Hessian of the mean loss
    over all samples of all ranks. ``client``: rank 0's connection to the daemon (for
    ``curvature/ritz`` and ``diagnose``; other ranks may pass ``None``); without one, or when the
    daemon does not serve ``curvature/ritz``, Ritz values are computed locally by the same rule.
    The model's mode (``train``/``eval``) is the caller's choice and is left as it is.
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Callable[[Any, Any], Any],
        batches: Iterable[Tuple[Any, Any]],
        *,
        client: Optional[Client] = None,
        group: Any = None,
        parameters: Optional[Sequence[Any]] = None,
        request_timeout: float = 60.0,
    ):
        import torch

        self.model = model
        self.loss_fn = loss_fn
        self.batches = list(batches)
        self.group = group
        self.rank, self.world_size = coll.rank_and_world(group)
        self.client = client
        self.request_timeout = request_timeout
        self.parameters = list(parameters) if parameters is not None else [p for p in model.parameters() if p.requires_grad]
        if not self.parameters:
            raise ValueError("the model has no parameters that require a gradient")
        self.dimension = sum(p.numel() for p in self.parameters)
        self.dtype = self.parameters[0].dtype
        self.device = self.parameters[0].device
        local = float(sum(_batch_size(y) for _, y in self.batches))
        total = coll.all_reduce_sum(torch.tensor([local], dtype=torch.float64, device=self.device), group)
        self.total_samples = float(total.item())
        if self.total_samples <= 0:
            raise ValueError("no rank holds any samples")
        #: Hessian-vector products computed so far (each one: a double backward per batch + one all-reduce).
        self.products = 0
        self._use_daemon_ritz: Optional[bool] = None

    # -- the operator -----------------------------------------------------------------------------

    def hvp(self, vector: Any) -> Any:
        """H·v for a flat vector of ``dimension`` entries (identical on every rank); collective."""
        import torch

        v = vector.to(device=self.device, dtype=self.dtype)
        pieces = []
        offset = 0
        for p in self.parameters:
            n = p.numel()
            pieces.append(v[offset:offset + n].view_as(p))
            offset += n
        out = torch.zeros(self.dimension, dtype=self.dtype, device=self.device)
        for x, y in self.batches:
            loss = self.loss_fn(self.model(x), y)
            grads = torch.autograd.grad(loss, self.parameters, create_graph=True)
            dot = sum((g * piece).sum() for g, piece in zip(grads, pieces))
            hv = torch.autograd.grad(dot, self.parameters, allow_unused=True)
            flat = torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1)
                              for h, p in zip(hv, self.parameters)])
            out.add_(flat.detach(), alpha=float(_batch_size(y)))
        coll.all_reduce_sum(out, self.group)
        out.div_(self.total_samples)
        self.products += 1
        return out

    # -- Lanczos ----------------------------------------------------------------------------------

    def eigen(
        self,
        k: int = 1,
        *,
        tolerance: float = 1e-6,
        max_iterations: Optional[int] = None,
        seed: int = 0,
    ) -> EigenResult:
        """The k largest and k smallest Hessian eigenvalues by Lanczos with full reorthogonalization;
        collective. Stops when ``curvature/ritz`` says converged (residuals ≤ ``tolerance`` × the
        spectrum scale), when the Krylov space closes (β below 1e-12 × scale: the values are exact),
        or after ``max_iterations`` (default min(n, max(100, 8k)), at most 1000) steps.

        Memory: ``max_iterations`` basis vectors of ``dimension`` entries in the parameters' dtype.
        The start vector is Gaussian from ``torch.Generator().manual_seed(seed)``, the same on every rank.
        """
        import torch

        start_time = time.perf_counter()
        n = self.dimension
        limit = max_iterations if max_iterations is not None else min(n, max(100, 8 * k))
        limit = max(1, min(limit, n, 1000))
        generator = torch.Generator().manual_seed(int(seed))
        v = torch.randn(n, generator=generator, dtype=torch.float64).to(device=self.device, dtype=self.dtype)
        v /= v.norm()
        basis = torch.empty((limit, n), dtype=self.dtype, device=self.device)
        alphas: List[float] = []
        betas: List[float] = []
        decision: Dict[str, Any] = {}
        stop_reason = "maxIterations"
        beta_prev = 0.0
        for j in range(limit):
            basis[j] = v
            w = self.hvp(v)
            alpha = float(torch.dot(w, v))
            w.sub_(v, alpha=alpha)
            if j > 0:
                w.sub_(basis[j - 1], alpha=beta_prev)
            active = basis[: j + 1]
            for _ in range(2):  # full reorthogonalization, twice ("twice is enough")
                w.sub_(active.T @ (active @ w))
            beta = float(w.norm())
            alphas.append(alpha)
            betas.append(beta)
            decision = self._ritz(alphas, betas, k, tolerance)
            scale = float(decision["spectrumScale"])
            if decision["converged"]:
                stop_reason = "converged"
                break
            if beta <= 1e-12 * max(scale, 1e-300) or j + 1 == n:
                stop_reason = "invariantSubspace"
                break
            v = w / beta
            beta_prev = beta
        return EigenResult(
            largest=[(real(e["value"]), real(e["residual"])) for e in decision["largest"]],
            smallest=[(real(e["value"]), real(e["residual"])) for e in decision["smallest"]],
            steps=len(alphas), converged=stop_reason != "maxIterations", stop_reason=stop_reason,
            spectrum_scale=real(decision["spectrumScale"]), ritz_source=decision.get("source", "local"),
            alphas=alphas, betas=betas, seconds=time.perf_counter() - start_time)

    def _ritz(self, alphas: List[float], betas: List[float], k: int, tolerance: float) -> Dict[str, Any]:
        """Rank 0 asks the daemon (or computes locally); every rank gets rank 0's answer."""
        answer: Any = None
        if self.rank == 0:
            if self._use_daemon_ritz is None:
                self._use_daemon_ritz = self.client is not None and self.client.supports("curvature/ritz")
            if self._use_daemon_ritz:
                assert self.client is not None
                try:
                    answer = dict(self.client.request("curvature/ritz", {"alphas": alphas, "betas": betas, "k": k,
                                                                          "tolerance": tolerance},
                                                      timeout=self.request_timeout))
                    answer["source"] = "daemon"
                except (RPCError, ConnectionError, TimeoutError, OSError) as error:
                    answer = RuntimeError(f"curvature/ritz failed at Lanczos step {len(alphas)}: {error}")
            else:
                answer = ritz_values(alphas, betas, k, tolerance)
                answer["source"] = "local"
        answer = coll.broadcast_object(answer, self.group)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    # -- Hutchinson ---------------------------------------------------------------------------------

    #: Above this many parameters, ``trace`` draws its probes with torch's generator by default: the
    #: pure-Python port of the daemon's generator takes about a microsecond per entry.
    DAEMON_PROBES_UP_TO = 1_000_000

    def trace(self, probes: int = 100, *, seed: int = 0, probe_source: Optional[str] = None) -> TraceResult:
        """Hutchinson's estimate of tr(H) with ``probes`` Rademacher probes; collective (every rank draws
        the same probes, no vector is sent).

        ``probe_source="daemon"`` draws them from the daemon's generator (:class:`SeededRandom` with
        ``seed``, each probe's entries in flat-parameter order), so the estimate equals
        ``curvature/trace {"probes", "seed"}`` on a model and data set both hold; ``"torch"`` draws them
        with ``torch.Generator().manual_seed(seed)`` (fast at any size, the same on every rank, but not
        the daemon's probes). The default is ``"daemon"`` up to :attr:`DAEMON_PROBES_UP_TO` parameters."""
        import torch

        if probes < 2:
            raise ValueError(f"probes must be at least 2 (for a standard error), got {probes}")
        source = probe_source or ("daemon" if self.dimension <= self.DAEMON_PROBES_UP_TO else "torch")
        if source not in ("daemon", "torch"):
            raise ValueError(f'probe_source must be "daemon" or "torch", got {probe_source!r}')
        start_time = time.perf_counter()
        rng = SeededRandom(seed)
        generator = torch.Generator().manual_seed(int(seed) & ((1 << 63) - 1))
        samples: List[float] = []
        for _ in range(probes):
            if source == "daemon":
                z = torch.tensor(rng.rademacher_vector(self.dimension), dtype=self.dtype, device=self.device)
            else:
                bits = torch.randint(0, 2, (self.dimension,), generator=generator, dtype=torch.int8)
                z = (bits.to(self.dtype) * 2 - 1).to(self.device)
            samples.append(float(torch.dot(z.to(torch.float64), self.hvp(z).to(torch.float64))))
        mean = sum(samples) / probes
        variance = sum((s - mean) ** 2 for s in samples) / (probes - 1)
        return TraceResult(estimate=mean, standard_error=math.sqrt(variance / probes), probes=probes,
                           samples=samples, seconds=time.perf_counter() - start_time)

    # -- evidence to the daemon ------------------------------------------------------------------------

    def diagnose(
        self,
        run: str,
        *,
        eigen: Optional[EigenResult] = None,
        trace: Optional[TraceResult] = None,
        evidence: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        """Rank 0 sends ``diagnose {"run", "evidence": {"lambdaMax", "lambdaMin", "hessianTrace", ...}}``
        and every rank returns the daemon's answer; collective. ``evidence`` adds (and overrides) fields."""
        fields: Dict[str, Any] = {}
        if eigen is not None:
            fields["lambdaMax"] = eigen.lambda_max
            fields["lambdaMin"] = eigen.lambda_min
        if trace is not None:
            fields["hessianTrace"] = trace.estimate
        fields.update(evidence or {})
        answer: Any = None
        if self.rank == 0:
            if self.client is None:
                answer = RuntimeError("DistributedCurvature.diagnose needs rank 0's client (a Client attached to saddled)")
            else:
                try:
                    answer = self.client.request("diagnose", {"run": run, "evidence": fields}, timeout=self.request_timeout)
                except (RPCError, ConnectionError, TimeoutError, OSError) as error:
                    answer = RuntimeError(f"diagnose of run {run} failed: {error}")
        answer = coll.broadcast_object(answer, self.group)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _batch_size(targets: Any) -> int:
    shape = getattr(targets, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(targets)
