"""Every rank of a ``torch.distributed`` job reports its steps to one saddled, as one run.

``DistributedReporter`` is created collectively (every rank, same arguments): rank 0 creates the
ingested run (``run/ingest {"name", "steps": []}``) and broadcasts its id; every rank attaches to
the daemon's Unix socket (``saddled --listen PATH``) with a connection of its own and reports its
steps with its ``rank`` and the ``worldSize``. Sending is the :class:`~saddle_bridge.reporter.Reporter`'s
background thread: ``step`` appends to a list and returns.

Per step it measures, with helpers that fit a training loop:

- ``dataWaitSeconds``: how long the loader's ``next()`` blocked (:meth:`DistributedReporter.batches`);
- ``computeSeconds``: the ``with reporter.compute():`` block, less the all-reduce inside it;
- ``allreduceSeconds``: ``reporter.allreduce_gradients(model)`` (one flattened all-reduce that averages
  the gradients) or a ``with reporter.allreduce():`` block around the user's own collective;
- ``fingerprint``: a hash of the batch's sample indices when :meth:`DistributedReporter.record_indices`
  wraps the sampler, else of the batch's bytes (a strided sample of them for large batches);
- ``labelHistogram`` (with ``classes``), ``gradNorm`` (the averaged gradient's norm from
  ``allreduce_gradients`` unless given), ``epoch``, ``lr``, ``loss``.

On CUDA the timers synchronize the device at their edges, so asynchronous kernels and NCCL
collectives are charged to the phase that launched them.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import logging
import os
import time
from typing import Any, Iterable, Iterator, List, Optional, Sequence

from . import _collective as coll
from .client import Client, PathLike, RPCError
from .reporter import Reporter, ReporterError
from .torch_utils import batch_fingerprint

__all__ = [
    "DistributedReporter",
    "DistributedReporterError",
    "IndexRecorder",
    "RankLoader",
    "allreduce_gradients",
    "batch_digest",
    "indices_digest",
]

log = logging.getLogger("saddle_bridge")


class DistributedReporterError(ReporterError):
    """Reporting failed on one or more ranks; ``failures`` maps each failing rank to its message.

    Raised by :meth:`DistributedReporter.close` on every rank, so no rank ends believing the run is
    complete while another lost events.
    """

    def __init__(self, message: str, failures: dict, cause: Optional[BaseException] = None):
        super().__init__(message, cause if cause is not None else RuntimeError(message))
        self.failures = failures


def batch_digest(batch: Any, max_bytes: int = 1 << 16) -> str:
    """A 16-hex-digit hash of a batch, cheap for any batch size: :func:`batch_fingerprint` with tensors
    past ``max_bytes`` hashed by their dtype, shape and an evenly strided sample of about ``max_bytes``,
    so the cost is bounded while a repeated batch still repeats its digest."""
    return batch_fingerprint(batch, max_bytes=max_bytes)


class IndexRecorder:
    """Wraps a sampler (e.g. ``DistributedSampler``) and remembers the indices it hands out, in order.

    Give it to the ``DataLoader`` in the sampler's place; :class:`RankLoader` then takes each batch's
    indices off the front (a ``DataLoader`` yields batches in sampler order, workers or not), and the
    fingerprint is a hash of the indices: equal exactly when the batch repeats. ``set_epoch`` and
    every other attribute pass through to the wrapped sampler. A sampler with a length is read into
    a list once per epoch (as ``DistributedSampler`` itself does), so recording costs no Python work
    per index; one without a length is recorded index by index.
    """

    def __init__(self, sampler: Iterable[int]):
        self.sampler = sampler
        self._recorded: List[int] = []
        self._position = 0

    def __iter__(self) -> Iterator[int]:
        # A new epoch: indices the last one recorded but never yielded as a batch are stale.
        self._position = 0
        if hasattr(self.sampler, "__len__"):
            self._recorded = list(self.sampler)
            return iter(self._recorded)
        self._recorded = []
        return self._streaming()

    def _streaming(self) -> Iterator[int]:
        for index in self.sampler:
            self._recorded.append(index)
            yield index

    def __len__(self) -> int:
        return len(self.sampler)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["sampler"], name)

    def take(self, count: int) -> Optional[List[int]]:
        """The next ``count`` indices handed out, or ``None`` when fewer were recorded."""
        start = self._position
        if count <= 0 or len(self._recorded) - start < count:
            return None
        self._position = start + count
        return self._recorded[start:start + count]


def indices_digest(indices: Sequence[int]) -> str:
    """A 16-hex-digit hash of a batch's sample indices (as 64-bit integers, in order)."""
    try:
        data = array.array("q", indices).tobytes()
    except (TypeError, OverflowError):
        data = ",".join(str(int(i)) for i in indices).encode("ascii")
    return hashlib.blake2b(b"i" + data, digest_size=8).hexdigest()


def _batch_length(batch: Any) -> Optional[int]:
    """The number of samples in a batch: the first dimension of its first tensor."""
    if hasattr(batch, "shape") and len(getattr(batch, "shape", ())) > 0:
        return int(batch.shape[0])
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_length(batch[0])
    if isinstance(batch, dict) and batch:
        return _batch_length(next(iter(batch.values())))
    return None


class RankLoader:
    """Iterates a loader and times each ``next()`` (the step's data wait) for a DistributedReporter.

    Each ``for`` loop over it is one pass over the wrapped iterable, as with a ``DataLoader``.
    """

    def __init__(self, iterable: Iterable[Any], reporter: "DistributedReporter", recorder: Optional[IndexRecorder]):
        self.iterable = iterable
        self.reporter = reporter
        self.recorder = recorder

    def __iter__(self) -> Iterator[Any]:
        iterator = iter(self.iterable)
        while True:
            start = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            wait = time.perf_counter() - start
            indices = None
            if self.recorder is not None:
                length = _batch_length(batch)
                indices = self.recorder.take(length) if length is not None else None
            self.reporter._batch_arrived(wait, indices)
            yield batch

    def __len__(self) -> int:
        return len(self.iterable)  # type: ignore[arg-type]


def allreduce_gradients(model_or_parameters: Any, group: Any = None) -> Any:
    """Averages the gradients over the ranks with one all-reduce of one flat buffer; returns the
    averaged gradient's Euclidean norm as a float64 0-d tensor (on the gradients' device).

    Parameters without a gradient are skipped (every rank must have gradients for the same
    parameters). The flat buffer is in the gradients' dtype; the norm is taken in float64. Without
    a process group the gradients are left as they are and only the norm is computed.
    """
    import torch

    parameters = model_or_parameters.parameters() if hasattr(model_or_parameters, "parameters") else model_or_parameters
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros((), dtype=torch.float64)
    flat = torch.cat([g.reshape(-1) for g in grads])
    _, world = coll.rank_and_world(group)
    if world > 1:
        coll.all_reduce_sum(flat, group)
        flat.div_(world)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset:offset + n].view_as(g))
            offset += n
    return flat.to(torch.float64).norm()


class DistributedReporter:
    """One rank's reporter of a distributed run (create it on every rank: the constructor is collective).

    ``socket``: the daemon's ``saddled --listen`` path (default ``$SADDLE_SOCKET``). ``run_name``
    names the run rank 0 creates; ``run`` joins an existing ingested run instead. ``classes``
    enables label histograms. ``group`` is the process group (default: the world). ``batch_size``
    and ``interval`` tune the background sender (:class:`Reporter`).

    Errors: a daemon that cannot be reached or refuses the run raises on every rank (the same
    message; rank 0's error is broadcast). Events the daemon refuses later are kept and raised by
    :meth:`flush` on the rank that sent them and by :meth:`close` on every rank.
    """

    def __init__(
        self,
        socket: Optional[PathLike] = None,
        *,
        run_name: Optional[str] = None,
        run: Optional[str] = None,
        classes: Optional[int] = None,
        group: Any = None,
        batch_size: int = 50,
        interval: float = 0.5,
        request_timeout: float = 60.0,
        connect_timeout: float = 30.0,
        finish_on_close: bool = True,
    ):
        if classes is not None and (isinstance(classes, bool) or not isinstance(classes, int) or classes < 1):
            raise ValueError(f"classes must be a positive integer, got {classes!r}")
        self.group = group
        self.rank, self.world_size = coll.rank_and_world(group)
        self.classes = classes
        self.finish_on_close = finish_on_close
        path = socket if socket is not None else os.environ.get("SADDLE_SOCKET")
        self.client: Optional[Client] = None
        failure: Optional[str] = None
        if path is None:
            failure = "no daemon socket: pass socket=PATH (saddled --listen PATH) or set $SADDLE_SOCKET"
        else:
            try:
                self.client = Client.connect_unix(path, connect_timeout=connect_timeout)
                if not self.client.supports("run/ingest"):
                    failure = f"the saddled at {os.fspath(path)!r} does not serve run/ingest; update it"
            except (ConnectionError, OSError, RPCError, TimeoutError) as error:
                failure = f"rank {self.rank}: {error}"
        # Every rank learns whether every rank attached before anyone creates or waits for a run.
        failures = [f for f in coll.all_gather_object(failure, group) if f is not None]
        if failures:
            self._drop_client()
            raise ConnectionError("DistributedReporter: " + "; ".join(failures))
        assert self.client is not None
        created: Any = run
        if self.rank == 0 and run is None:
            try:
                result = self.client.request("run/ingest", {"name": run_name or "distributed", "steps": []},
                                             timeout=request_timeout)
                created = result["run"]
            except (RPCError, ConnectionError, OSError, TimeoutError, KeyError, TypeError) as error:
                created = ReporterError("rank 0 could not create the run (run/ingest)", error)
        created = coll.broadcast_object(created, group)
        if isinstance(created, BaseException):
            self._drop_client()
            raise created
        self.run: str = created
        self.reporter = Reporter(self.client, run=self.run, rank=self.rank, world_size=self.world_size,
                                 batch_size=batch_size, interval=interval, request_timeout=request_timeout,
                                 finish_on_close=False)
        self._closed = False
        self._data_wait: Optional[float] = None
        self._indices: Optional[List[int]] = None
        self._compute = 0.0
        self._allreduce = 0.0
        self._allreduce_inside_compute = 0.0
        self._in_compute = False
        self._grad_norm: Any = None
        #: CPU seconds this thread spent inside :meth:`step` (fingerprint, histogram, queueing): the
        #: loop's own reporting cost. CPU time, not wall time: on a busy machine a wall clock would also
        #: count the time the OS ran other threads (the sender's CPU is counted separately).
        self.step_cpu_seconds = 0.0

    # -- measuring ------------------------------------------------------------------------------

    def record_indices(self, sampler: Iterable[int]) -> IndexRecorder:
        """Wraps the loader's sampler so fingerprints hash sample indices (pass the result to the
        ``DataLoader`` as its ``sampler``, then iterate ``reporter.batches(loader)``)."""
        return IndexRecorder(sampler)

    def batches(self, loader: Iterable[Any]) -> RankLoader:
        """Wraps a loader: each batch's data wait (and its indices, with :meth:`record_indices`) is
        kept for the next :meth:`step`."""
        recorder = None
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, IndexRecorder):
            recorder = sampler
        else:
            batch_sampler = getattr(loader, "batch_sampler", None)
            if isinstance(getattr(batch_sampler, "sampler", None), IndexRecorder):
                recorder = batch_sampler.sampler  # type: ignore[union-attr]
        return RankLoader(loader, self, recorder)

    def _batch_arrived(self, wait: float, indices: Optional[List[int]]) -> None:
        self._data_wait = wait
        self._indices = indices

    @staticmethod
    @contextlib.contextmanager
    def _timed(synchronize: bool, seconds: List[float]) -> Iterator[None]:
        """Appends the block's wall time to `seconds`, the device synchronized at both edges when asked."""
        if synchronize:
            coll.synchronize_device()
        start = time.perf_counter()
        try:
            yield
        finally:
            if synchronize:
                coll.synchronize_device()
            seconds.append(time.perf_counter() - start)

    @contextlib.contextmanager
    def compute(self, synchronize: bool = True) -> Iterator[None]:
        """Times the step's compute; an all-reduce timed inside it is counted as all-reduce, not compute."""
        self._in_compute = True
        self._allreduce_inside_compute = 0.0
        elapsed: List[float] = []
        try:
            with self._timed(synchronize, elapsed):
                yield
        finally:
            self._in_compute = False
            self._compute += max(0.0, elapsed[0] - self._allreduce_inside_compute)

    @contextlib.contextmanager
    def allreduce(self, synchronize: bool = True) -> Iterator[None]:
        """Times a collective of the user's own (e.g. DDP's backward all-reduce, waited on here)."""
        elapsed: List[float] = []
        try:
            with self._timed(synchronize, elapsed):
                yield
        finally:
            self._allreduce += elapsed[0]
            if self._in_compute:
                self._allreduce_inside_compute += elapsed[0]

    def allreduce_gradients(self, model_or_parameters: Any) -> float:
        """:func:`allreduce_gradients` over this reporter's group, timed as the step's all-reduce.

        The averaged gradient's norm becomes the step's ``gradNorm`` unless :meth:`step` is given
        one. Returns the norm.
        """
        with self.allreduce():
            norm = allreduce_gradients(model_or_parameters, self.group)
        self._grad_norm = norm
        return float(norm)

    # -- reporting --------------------------------------------------------------------------------

    def step(
        self,
        step: int,
        loss: Any,
        *,
        epoch: Optional[int] = None,
        lr: Any = None,
        grad_norm: Any = None,
        batch: Any = None,
        labels: Any = None,
        fingerprint: Optional[str] = None,
        data_wait: Optional[float] = None,
        compute: Optional[float] = None,
        allreduce: Optional[float] = None,
        samples_per_second: Any = None,
    ) -> None:
        """Reports this rank's step and resets the step's timers; returns at once.

        Measured values (data wait from :meth:`batches`, compute and all-reduce from the timers,
        the gradient norm from :meth:`allreduce_gradients`) fill the fields not given. The
        fingerprint hashes the recorded sample indices, else ``batch`` (see :func:`batch_digest`);
        the label histogram needs ``labels`` and ``classes``. ``loss`` may be a tensor: ``.item()``
        is called, which on a GPU waits for the step (as printing it would).
        """
        start = time.thread_time()
        if fingerprint is None:
            if self._indices is not None:
                fingerprint = indices_digest(self._indices)
            elif batch is not None:
                fingerprint = batch_digest(batch)
        histogram = None
        if labels is not None and self.classes is not None:
            histogram = _histogram(labels, self.classes)
        norm = grad_norm if grad_norm is not None else self._grad_norm
        self.reporter.step(
            step, loss, epoch=epoch, lr=lr, grad_norm=norm,
            data_wait=data_wait if data_wait is not None else self._data_wait,
            compute=compute if compute is not None else (self._compute if self._compute > 0 else None),
            allreduce=allreduce if allreduce is not None else (self._allreduce if self._allreduce > 0 else None),
            samples_per_second=samples_per_second, fingerprint=fingerprint, label_histogram=histogram,
        )
        self._data_wait = None
        self._indices = None
        self._compute = 0.0
        self._allreduce = 0.0
        self._grad_norm = None
        self.step_cpu_seconds += time.thread_time() - start

    def curvature(self, model: Any, loss_fn: Any, batches: Iterable[Any], **options: Any) -> Any:
        """A :class:`~saddle_bridge.distributed_curvature.DistributedCurvature` over this reporter's
        group and connection (rank 0's asks ``curvature/ritz`` and sends ``diagnose``); collective."""
        from .distributed_curvature import DistributedCurvature

        return DistributedCurvature(model, loss_fn, batches, client=self.client, group=self.group, **options)

    @property
    def errors(self) -> List[ReporterError]:
        """This rank's reporting errors so far."""
        return self.reporter.errors

    @property
    def acknowledged(self) -> int:
        """This rank's events the daemon has acknowledged (persisted)."""
        return self.reporter.acknowledged

    @property
    def reported(self) -> int:
        return self.reporter.reported

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until this rank's events are acknowledged (not collective); raises this rank's errors."""
        self.reporter.flush(timeout)

    def overhead(self) -> dict:
        """This rank's reporting cost so far: CPU seconds in :meth:`step` and in the sender thread."""
        return {"stepCpuSeconds": self.step_cpu_seconds, "senderCpuSeconds": self.reporter.sender_cpu_seconds,
                "events": self.reporter.reported}

    def close(self, timeout: Optional[float] = None) -> None:
        """Collective: every rank flushes, then rank 0 marks the run finished (``run/stop``, unless
        ``finish_on_close=False``), and each rank closes its connection.

        Raises :class:`DistributedReporterError` on every rank when any rank failed to deliver
        its events, naming the ranks. Safe to call twice.
        """
        if self._closed:
            return
        self._closed = True
        failure: Optional[str] = None
        try:
            self.reporter.flush(timeout)
        except (ReporterError, TimeoutError) as error:
            failure = str(error)
        if failure is None and self.reporter.errors:
            failure = "; ".join(str(e) for e in self.reporter.errors)
        summaries = coll.all_gather_object((failure, self.reporter.acknowledged), self.group)
        failures = {rank: f for rank, (f, _) in enumerate(summaries) if f is not None}
        stop_error: Optional[BaseException] = None
        if self.rank == 0 and self.finish_on_close and self.client is not None:
            try:
                self.client.request("run/stop", {"run": self.run}, timeout=self.reporter.request_timeout)
            except (RPCError, ConnectionError, TimeoutError, OSError) as error:
                stop_error = error
                failures[0] = (failures.get(0, "") + f"; run/stop of {self.run} failed: {error}").lstrip("; ")
        try:
            self.reporter.close(timeout)
        except ReporterError:
            pass  # already counted in failures
        self._drop_client()
        if failures:
            detail = "; ".join(f"rank {rank}: {message}" for rank, message in sorted(failures.items()))
            raise DistributedReporterError(f"reporting run {self.run} failed on rank(s) {sorted(failures)}: {detail}",
                                           failures, stop_error)

    def abort(self) -> None:
        """Not collective: flushes what this rank can within a few seconds and closes its connection
        (what :meth:`__exit__` does when the loop raised, since the other ranks may be elsewhere)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.reporter.close(timeout=10)
        except ReporterError as error:
            log.error("saddle_bridge: rank %d: %s", self.rank, error)
        self._drop_client()

    def __enter__(self) -> "DistributedReporter":
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _drop_client(self) -> None:
        if self.client is not None:
            try:
                self.client.close(timeout=10)
            except (ConnectionError, OSError, RPCError, TimeoutError):
                pass


def _histogram(labels: Any, classes: int) -> List[int]:
    """Class counts of a label tensor (``bincount``) or sequence; raises ``ValueError`` out of range."""
    if hasattr(labels, "detach"):
        import torch

        flat = labels.detach().reshape(-1)
        if flat.dtype != torch.int64:
            flat = flat.to(torch.int64)
        try:
            counts = torch.bincount(flat, minlength=classes).tolist()  # one op; refuses negative labels
        except RuntimeError:
            raise ValueError(f"a label is negative; labels must lie in 0..{classes - 1}") from None
        if len(counts) > classes:
            raise ValueError(f"label {len(counts) - 1} is outside 0..{classes - 1}")
        return counts
    counts = [0] * classes
    for v in labels:
        v = int(v)
        if not 0 <= v < classes:
            raise ValueError(f"label {v} is outside 0..{classes - 1}")
        counts[v] += 1
    return counts

