"""Helpers for PyTorch training loops: data-wait and compute timing, batch fingerprints, label
histograms and gradient norms — the numbers a :class:`~saddle_bridge.reporter.Reporter` sends.

torch is imported inside the functions that need it, so importing this module costs nothing and
works without torch; calling them without torch raises ``ImportError``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar

__all__ = ["TimedLoader", "timed_loader", "StepTimer", "batch_fingerprint", "label_histogram", "grad_norm"]

T = TypeVar("T")


class TimedLoader(Generic[T]):
    """Wraps an iterable (a ``DataLoader``) and measures how long each item took to arrive.

    ``last_wait`` is the seconds the most recent ``next()`` blocked (the data wait of that step),
    ``total_wait`` their sum and ``batches`` the count. Iterating again restarts the underlying
    iterable (one epoch per ``for`` loop, as with a ``DataLoader``).
    """

    def __init__(self, iterable: Iterable[T]):
        self.iterable = iterable
        self.last_wait = 0.0
        self.total_wait = 0.0
        self.batches = 0

    def __iter__(self) -> Iterator[T]:
        iterator = iter(self.iterable)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                return
            self.last_wait = time.perf_counter() - start
            self.total_wait += self.last_wait
            self.batches += 1
            yield item

    def __len__(self) -> int:
        return len(self.iterable)  # type: ignore[arg-type]


def timed_loader(iterable: Iterable[T]) -> TimedLoader[T]:
    """``for batch in (loader := timed_loader(dl)): ... reporter.step(..., data_wait=loader.last_wait)``."""
    return TimedLoader(iterable)


class StepTimer:
    """Measures a step's compute time: ``with StepTimer() as t: ...`` then ``t.seconds``.

    With ``synchronize=True`` (the default) and CUDA in use, it waits for queued GPU work at both
    ends, so asynchronous kernels are counted in the step that launched them.
    """

    def __init__(self, synchronize: bool = True):
        self.synchronize = synchronize
        self.seconds = 0.0
        self._start: Optional[float] = None

    def _sync(self) -> None:
        if not self.synchronize:
            return
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()

    def start(self) -> "StepTimer":
        self._sync()
        self._start = time.perf_counter()
        return self

    def stop(self) -> float:
        """Stops the timer and returns the seconds since :meth:`start`."""
        if self._start is None:
            raise RuntimeError("StepTimer.stop() before start()")
        self._sync()
        self.seconds = time.perf_counter() - self._start
        self._start = None
        return self.seconds

    def __enter__(self) -> "StepTimer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tensor_bytes(tensor: Any, max_bytes: Optional[int] = None) -> bytes:
    """The tensor's bytes on the CPU; past ``max_bytes``, those of an evenly strided sample of about
    ``max_bytes`` of its elements (a bounded cost for large batches)."""
    import torch

    flat = tensor.detach().reshape(-1)
    if max_bytes is not None and flat.numel() * flat.element_size() > max_bytes:
        flat = flat[:: -(-flat.numel() * flat.element_size() // max_bytes)]
    t = flat.to("cpu").contiguous()
    try:
        return t.view(torch.uint8).numpy().tobytes()
    except (RuntimeError, TypeError, ImportError):  # numpy missing, or a dtype view cannot express
        return repr(t.tolist()).encode("utf-8")


def batch_fingerprint(batch: Any, max_bytes: Optional[int] = None) -> str:
    """A stable 16-hex-digit hash of a batch's content: a tensor (dtype, shape and bytes), a
    sequence of sample indices, bytes, a numpy array, or a tuple/list/dict of these (an
    ``(inputs, labels)`` pair).

    The same content gives the same fingerprint across runs and processes, which lets the daemon
    spot a data loader that repeats batches. Tensors on a GPU are copied to the CPU first. With
    ``max_bytes``, a larger tensor or array is hashed by its dtype, shape and an evenly strided sample
    of about ``max_bytes``, so the cost is bounded while a repeated batch still repeats its hash.
    """
    h = hashlib.blake2b(digest_size=8)

    def feed(item: Any) -> None:
        if isinstance(item, (bytes, bytearray, memoryview)):
            h.update(b"b")
            h.update(bytes(item))
        elif hasattr(item, "detach") and hasattr(item, "dtype"):
            h.update(f"t{item.dtype}{tuple(item.shape)}".encode("utf-8"))
            h.update(_tensor_bytes(item, max_bytes))
        elif isinstance(item, (list, tuple)) and all(isinstance(x, int) for x in item):
            h.update(b"i")
            h.update(",".join(str(int(x)) for x in item).encode("ascii"))
        elif isinstance(item, (list, tuple)):
            h.update(f"s{len(item)}".encode("ascii"))
            for x in item:
                feed(x)
        elif isinstance(item, dict):
            for key in sorted(item):
                h.update(str(key).encode("utf-8"))
                feed(item[key])
        elif hasattr(item, "tobytes") and hasattr(item, "dtype"):  # numpy arrays
            h.update(f"n{item.dtype}{tuple(item.shape)}".encode("utf-8"))
            data = item.tobytes()
            h.update(data if max_bytes is None else data[:max_bytes])
        else:
            raise TypeError(f"cannot fingerprint a {type(item).__name__}; pass tensors, indices or bytes")

    feed(batch)
    return h.hexdigest()


def label_histogram(labels: Any, classes: int) -> List[int]:
    """How many samples of each class ``0..classes-1`` a batch holds (``classes`` integers).

    ``labels`` is an integer tensor or a sequence of ints. Raises ``ValueError`` for a label
    outside ``[0, classes)``, so a wrong ``classes`` is caught at the first batch.
    """
    if not isinstance(classes, int) or classes <= 0:
        raise ValueError(f"classes must be a positive integer, got {classes!r}")
    if hasattr(labels, "detach"):
        values: Sequence[int] = [int(x) for x in labels.detach().to("cpu").reshape(-1).tolist()]
    else:
        values = [int(x) for x in labels]
    counts = [0] * classes
    for v in values:
        if not 0 <= v < classes:
            raise ValueError(f"label {v} is outside 0..{classes - 1}")
        counts[v] += 1
    return counts


def grad_norm(model_or_parameters: Any) -> float:
    """The Euclidean norm of all gradients (parameters without a gradient are skipped), in float64.

    Accepts an ``nn.Module`` or an iterable of parameters. Returns ``nan`` when a gradient holds
    NaN and ``inf`` when one overflows, as they are: the daemon reads them as divergence.
    """
    import torch

    parameters = model_or_parameters.parameters() if hasattr(model_or_parameters, "parameters") else model_or_parameters
    norms = [p.grad.detach().to(torch.float64).norm() for p in parameters if p.grad is not None]
    if not norms:
        return 0.0
    device = norms[0].device
    return float(torch.stack([n.to(device) for n in norms]).norm())
