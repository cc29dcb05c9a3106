"""A small safetensors writer and reader (F32 and F64 only), standard library only.

Format: an 8-byte little-endian unsigned header length, a JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`` padded with
spaces to a multiple of 8 bytes, then the tensors' raw little-endian bytes, offsets relative to
the start of the data section. This is what ``safetensors.torch.save_file`` writes and what
saddled's ``model/load`` reads.
"""

from __future__ import annotations

import array
import json
import math
import struct
import sys
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

__all__ = ["write_safetensors", "read_safetensors"]

_TYPECODES = {"F64": "d", "F32": "f"}


def _to_array(values: Iterable[float], dtype: str) -> "array.array[float]":
    data = array.array(_TYPECODES[dtype], values)
    if sys.byteorder == "big":
        data.byteswap()
    return data


def write_safetensors(
    path: str,
    tensors: Mapping[str, Tuple[Sequence[int], Iterable[float]]],
    dtype: str = "F64",
    metadata: Optional[Mapping[str, str]] = None,
) -> int:
    """Writes ``{name: (shape, flat row-major values)}`` to ``path`` in the given order; returns the file's byte count.

    ``dtype`` is ``"F64"`` (exact for float64 models) or ``"F32"``. Raises ``ValueError`` when a
    tensor's value count does not match its shape or a value is not finite (saddled refuses
    non-finite weights, so the error is raised here, naming the tensor).
    """
    if dtype not in _TYPECODES:
        raise ValueError(f"dtype must be F64 or F32, got {dtype!r}")
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks: List[bytes] = []
    offset = 0
    for name, (shape, values) in tensors.items():
        shape = [int(d) for d in shape]
        data = _to_array(values, dtype)
        expected = math.prod(shape)
        if len(data) != expected:
            raise ValueError(f"tensor {name!r} has {len(data)} values but shape {shape} needs {expected}")
        if not all(math.isfinite(v) for v in data):
            raise ValueError(f"tensor {name!r} has a non-finite value; saddled refuses NaN and infinite weights")
        raw = data.tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in chunks:
            f.write(raw)
    return 8 + len(header_bytes) + offset


def read_safetensors(path: str) -> Dict[str, Tuple[List[int], List[float]]]:
    """Reads an F32/F64 safetensors file into ``{name: (shape, flat values)}`` (for tests and tools)."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + length].decode("utf-8"))
    data = blob[8 + length :]
    out: Dict[str, Tuple[List[int], List[float]]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        code = _TYPECODES.get(entry["dtype"])
        if code is None:
            raise ValueError(f"tensor {name!r}: dtype {entry['dtype']} is not F64 or F32")
        begin, end = entry["data_offsets"]
        values = array.array(code)
        values.frombytes(data[begin:end])
        if sys.byteorder == "big":
            values.byteswap()
        out[name] = (list(entry["shape"]), list(values))
    return out
