"""saddle_bridge: talk to the Saddle daemon (saddled) from Python.

- :mod:`saddle_bridge.client` — JSON-RPC client over stdio (or any binary stream pair).
- :mod:`saddle_bridge.reporter` — ``Reporter``: a training loop's step events to ``run/ingest`` and ``metrics.jsonl``.
- :mod:`saddle_bridge.torch_utils` — data-wait/compute timers, batch fingerprints, label histograms, gradient norms.
- :mod:`saddle_bridge.distributed` — ``DistributedReporter``: every rank of a ``torch.distributed`` job reports to one run.
- :mod:`saddle_bridge.distributed_curvature` — ``DistributedCurvature``: HVPs, Lanczos and Hutchinson inside PyTorch.
- :mod:`saddle_bridge.exporter` — ``export_sequential``: an ``nn.Sequential`` as a Saddle spec + safetensors.

Nothing here imports torch until a torch helper is called.
"""

from .client import Client, ProcessTransport, RPCError, SocketTransport, StreamTransport, find_daemon
from .distributed import (DistributedReporter, DistributedReporterError, IndexRecorder, RankLoader,
                          allreduce_gradients, batch_digest)
from .distributed_curvature import DistributedCurvature, EigenResult, TraceResult, ritz_values
from .exporter import Export, ExportError, export_sequential, sequential_spec
from .framing import real, to_wire
from .reporter import Reporter, ReporterError
from .seeded_random import SeededRandom
from .safetensors import read_safetensors, write_safetensors
from .torch_utils import StepTimer, TimedLoader, batch_fingerprint, grad_norm, label_histogram, timed_loader

__version__ = "0.1.0"

__all__ = [
    "Client", "ProcessTransport", "RPCError", "SocketTransport", "StreamTransport", "find_daemon",
    "DistributedReporter", "DistributedReporterError", "IndexRecorder", "RankLoader", "allreduce_gradients",
    "batch_digest", "DistributedCurvature", "EigenResult", "TraceResult", "ritz_values", "SeededRandom",
    "Export", "ExportError", "export_sequential", "sequential_spec",
    "real", "to_wire",
    "Reporter", "ReporterError",
    "read_safetensors", "write_safetensors",
    "StepTimer", "TimedLoader", "batch_fingerprint", "grad_norm", "label_histogram", "timed_loader",
]
