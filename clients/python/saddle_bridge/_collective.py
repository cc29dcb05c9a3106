"""The few ``torch.distributed`` calls the bridge makes, with a one-process fallback.

When ``torch.distributed`` is not initialized the bridge runs as a world of one (rank 0), so the
same training script works unlaunched; every helper here is then a no-op.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple


def active() -> bool:
    """Whether a ``torch.distributed`` process group is initialized."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def rank_and_world(group: Any = None) -> Tuple[int, int]:
    """This process's rank in ``group`` and the group's size; ``(0, 1)`` without a process group."""
    if not active():
        return 0, 1
    import torch.distributed as dist

    return dist.get_rank(group), dist.get_world_size(group)


def global_rank(group_rank: int, group: Any = None) -> int:
    """The global rank of ``group``'s rank ``group_rank`` (the ``src`` that broadcasts take)."""
    if group is None or not active():
        return group_rank
    import torch.distributed as dist

    return dist.get_global_rank(group, group_rank)


def broadcast_object(value: Any, group: Any = None) -> Any:
    """Rank 0's ``value`` on every rank (pickled; for small objects: ids, decisions, results)."""
    if not active():
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=global_rank(0, group), group=group)
    return box[0]


def all_gather_object(value: Any, group: Any = None) -> List[Any]:
    """Every rank's ``value``, in rank order, on every rank."""
    if not active():
        return [value]
    import torch.distributed as dist

    _, world = rank_and_world(group)
    out: List[Optional[Any]] = [None] * world
    dist.all_gather_object(out, value, group=group)
    return out


def all_reduce_sum(tensor: Any, group: Any = None) -> Any:
    """Sums ``tensor`` over the ranks in place and returns it."""
    if active():
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
    return tensor


def synchronize_device(tensor: Any = None) -> None:
    """Waits for queued CUDA work (so a timer counts it in the right phase); nothing on the CPU."""
    import torch

    if tensor is not None and getattr(tensor, "is_cuda", False):
        torch.cuda.synchronize(tensor.device)
    elif tensor is None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
