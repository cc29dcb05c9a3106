"""Reports a training loop's steps to saddled (``run/ingest``) and/or to a ``metrics.jsonl`` file.

``Reporter.step`` only appends the event to an in-memory list and returns: a background thread
sends batches of events (every ``batch_size`` steps or ``interval`` seconds, whichever comes
first) and writes the JSON Lines file, so the training loop never waits on the daemon or the disk.
``flush()`` waits until every event reported so far is acknowledged (persisted by the daemon);
``close()`` flushes and stops.

An event on the wire and in ``metrics.jsonl`` is the ``run/ingest`` step object:
``{"step", "loss", "rank"?, "worldSize"?, "epoch"?, "gradNorm"?, "lr"?, "dataWaitSeconds"?,
"computeSeconds"?, "allreduceSeconds"?, "samplesPerSecond"?, "fingerprint"?, "labelHistogram"?}``, non-finite numbers as the strings
``"NaN"``/``"Infinity"``/``"-Infinity"``; each line of ``metrics.jsonl`` is one such object.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import IO, Any, Dict, List, Optional, Sequence, Union

from .client import Client, PathLike, RPCError
from .framing import dumps

__all__ = ["Reporter", "ReporterError"]

log = logging.getLogger("saddle_bridge")


class ReporterError(RuntimeError):
    """Events the daemon refused or could not receive; ``cause`` is the RPCError or connection error."""

    def __init__(self, message: str, cause: BaseException):
        super().__init__(f"{message}: {cause}")
        self.cause = cause


def _number(value: Any, name: str) -> float:
    """Coerces a loss-like value (Python or numpy/torch scalar) to float; NaN and infinities pass through."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None


class Reporter:
    """Sends a training loop's step events to saddled as one run.

    ``target``: a :class:`Client` (shared, not closed by the reporter), a path to saddled, or
    ``None`` to spawn saddled from ``$SADDLED``/``PATH``. ``socket`` (or ``$SADDLE_SOCKET`` when
    ``target`` is ``None``) attaches to a running ``saddled --listen PATH`` instead of spawning one;
    closing the reporter then ends its own connection only. With ``connect=False`` nothing is sent
    and only ``metrics_path`` is written. ``run_name`` names the ingested run created on the
    first send; ``run`` appends to an existing run instead. ``rank`` is added to every event
    that does not give its own, and ``world_size`` (the ranks of a distributed run) to every event.
``finish_on_close`` (default: when this reporter created the
    run) sends ``run/stop`` at :meth:`close`, marking the ingested run finished; leave it off on
    all but one rank when several ranks report into one run.

    Errors from the daemon (a refused event, a lost connection) do not interrupt the loop: they
    are kept in ``errors`` and raised by the next :meth:`flush` or :meth:`close`. After a refused
    batch the reporter keeps sending later batches.
    """

    def __init__(
        self,
        target: Union[Client, PathLike, None] = None,
        *,
        run_name: Optional[str] = None,
        run: Optional[str] = None,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        metrics_path: Optional[PathLike] = None,
        batch_size: int = 50,
        interval: float = 0.5,
        connect: bool = True,
        daemon_args: Sequence[str] = (),
        socket: Optional[PathLike] = None,
        request_timeout: float = 60.0,
        finish_on_close: Optional[bool] = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.run_name = run_name
        self.run: Optional[str] = run
        self.rank = rank
        if world_size is not None and (isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1):
            raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
        self.world_size = world_size
        self.batch_size = batch_size
        self.interval = interval
        self.request_timeout = request_timeout
        self.finish_on_close = (run is None) if finish_on_close is None else finish_on_close
        self.errors: List[ReporterError] = []
        #: Events reported, events acknowledged by the daemon (or written, without a daemon).
        self.reported = 0
        self.acknowledged = 0
        self.last_step: Optional[int] = None
        #: CPU seconds the background sender thread has used (encoding, sending, waiting excluded):
        #: the reporting cost that does not show in ``step``'s own time.
        self.sender_cpu_seconds = 0.0
        self._owns_client = False
        self.client: Optional[Client]
        if not connect:
            self.client = None
        elif isinstance(target, Client):
            self.client = target
        elif socket is not None or (target is None and os.environ.get("SADDLE_SOCKET")):
            if target is not None:
                raise ValueError("pass either a saddled path (target) or socket, not both")
            self.client = Client.connect_unix(socket if socket is not None else os.environ["SADDLE_SOCKET"])
            self._owns_client = True
        else:
            self.client = Client.spawn(target, daemon_args)
            self._owns_client = True
        if self.client is not None and self.client.capabilities and not self.client.supports("run/ingest"):
            if self._owns_client:
                self.client.close()
            raise RuntimeError("this saddled does not serve run/ingest (see initialize's capabilities.methods); update it")
        self._metrics: Optional[IO[str]] = None
        if metrics_path is not None:
            directory = os.path.dirname(os.fspath(metrics_path))
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._metrics = open(metrics_path, "a", encoding="utf-8")
        self._pending: List[Dict[str, Any]] = []
        self._handled = 0  # events sent (acknowledged or refused) or written; guarded by _cond
        self._flush_waiters = 0
        self._raised = 0
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="saddle-reporter", daemon=True)
        self._thread.start()

    # -- the training loop's side ------------------------------------------------------------------

    def step(
        self,
        step: int,
        loss: Any,
        *,
        grad_norm: Any = None,
        lr: Any = None,
        data_wait: Any = None,
        compute: Any = None,
        allreduce: Any = None,
        samples_per_second: Any = None,
        epoch: Optional[int] = None,
        rank: Optional[int] = None,
        fingerprint: Optional[str] = None,
        label_histogram: Optional[Sequence[int]] = None,
    ) -> None:
        """Records one step; returns at once. Seconds for ``data_wait``, ``compute`` and ``allreduce``
        (the time this step waited in the gradient all-reduce).

        ``loss`` and the other numbers may be Python, numpy or 0-d torch values (``.item()`` is
        called: on a GPU that waits for the step's kernels, as printing the loss would); NaN and
        infinities are reported as they are. Raises ``TypeError`` only for values that are not
        numbers at all; range checks are the daemon's (see :attr:`errors`).
        """
        if self._closed or self._closing:
            raise RuntimeError("Reporter.step after close()")
        if isinstance(step, bool) or not isinstance(step, int):
            if hasattr(step, "item"):
                step = step.item()
            if isinstance(step, bool) or not isinstance(step, int):
                raise TypeError(f"step must be an integer, got {step!r}")
        event: Dict[str, Any] = {"step": step, "loss": _number(loss, "loss")}
        r = rank if rank is not None else self.rank
        if r is not None:
            event["rank"] = int(r)
        if self.world_size is not None:
            event["worldSize"] = self.world_size
        if epoch is not None:
            event["epoch"] = int(epoch)
        for key, value in (("gradNorm", grad_norm), ("lr", lr), ("dataWaitSeconds", data_wait),
                           ("computeSeconds", compute), ("allreduceSeconds", allreduce), ("samplesPerSecond", samples_per_second)):
            if value is not None:
                event[key] = _number(value, key)
        if fingerprint is not None:
            event["fingerprint"] = str(fingerprint)
        if label_histogram is not None:
            event["labelHistogram"] = [int(c) for c in label_histogram]
        with self._cond:
            self._pending.append(event)
            self.reported += 1
            if len(self._pending) >= self.batch_size:
                self._cond.notify_all()

    def flush(self, timeout: Optional[float] = None) -> None:
        """Waits until every event reported so far is sent and acknowledged (or written).

        Raises ``TimeoutError`` after ``timeout`` seconds, and :class:`ReporterError` for the
        first error not raised before.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self.reported
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._handled < target and self._thread.is_alive():
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(f"Reporter.flush: {target - self._handled} events still unsent")
                    self._cond.wait(remaining if remaining is not None else 0.5)
            finally:
                self._flush_waiters -= 1
        self._raise_errors()

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, stops the background thread, closes ``metrics.jsonl`` and, when the reporter
        spawned the daemon, shuts it down. Safe to call twice. Raises as :meth:`flush` does."""
        if self._closed:
            return
        try:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join(timeout)
            if self.finish_on_close and self.client is not None and self.run is not None:
                try:
                    self.client.request("run/stop", {"run": self.run}, timeout=self.request_timeout)
                except (RPCError, ConnectionError, TimeoutError, OSError) as error:
                    self.errors.append(ReporterError(f"run/stop of {self.run} failed", error))
        finally:
            self._closed = True
            if self._metrics is not None:
                self._metrics.close()
            if self._owns_client and self.client is not None:
                self.client.close()
        self._raise_errors()

    def __enter__(self) -> "Reporter":
        return self

    def __exit__(self, exc_type: Any, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:  # do not hide the loop's own exception behind a reporting error
            try:
                self.close()
            except ReporterError as error:
                log.error("%s", error)

    # -- the background thread -----------------------------------------------------------------------

    #: The most events one ``run/ingest`` request carries when the loop outpaces the sender.
    max_request_events = 2000

    def _raise_errors(self) -> None:
        if self._raised < len(self.errors):
            error = self.errors[self._raised]
            self._raised = len(self.errors)
            raise error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return  # closing, and everything is sent
                deadline = time.monotonic() + self.interval
                while not self._closing and self._flush_waiters == 0 and len(self._pending) < self.batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                batch = self._pending[: self.max_request_events]
                del self._pending[: len(batch)]
            cpu = time.thread_time()
            try:
                self._send(batch)
            finally:
                self.sender_cpu_seconds += time.thread_time() - cpu
                with self._cond:
                    self._handled += len(batch)
                    self._cond.notify_all()

    def _send(self, batch: List[Dict[str, Any]]) -> None:
        if self._metrics is not None:
            try:
                for event in batch:
                    self._metrics.write(dumps(event) + "\n")
                self._metrics.flush()
            except OSError as error:
                self.errors.append(ReporterError("writing metrics.jsonl failed", error))
        if self.client is None:
            self.acknowledged += len(batch)
            self.last_step = batch[-1]["step"]
            return
        params: Dict[str, Any] = {"steps": batch}
        if self.run is not None:
            params["run"] = self.run
        elif self.run_name is not None:
            params["name"] = self.run_name
        try:
            result = self.client.request("run/ingest", params, timeout=self.request_timeout)
        except (RPCError, ConnectionError, TimeoutError, OSError) as error:
            first, last = batch[0]["step"], batch[-1]["step"]
            self.errors.append(ReporterError(f"run/ingest of steps {first}..{last} failed", error))
            log.warning("saddle_bridge: %s", self.errors[-1])
            return
        if self.run is None and isinstance(result, dict) and result.get("run") is not None:
            self.run = result["run"]
        self.acknowledged += int(result.get("accepted", len(batch))) if isinstance(result, dict) else len(batch)
        self.last_step = result.get("lastStep", batch[-1]["step"]) if isinstance(result, dict) else batch[-1]["step"]
