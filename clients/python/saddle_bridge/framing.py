"""LSP base-protocol framing and Saddle's JSON conventions, with no I/O of their own.

A frame is ``Content-Length: N\\r\\n\\r\\n`` followed by N bytes of UTF-8 JSON; N counts
bytes, not characters. JSON has no token for NaN or the infinities, and saddled (libjansson)
refuses bare ``NaN``: non-finite floats travel as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (protocol/README.md, ``$defs/real``).
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO, Optional

__all__ = [
    "FramingError",
    "to_wire",
    "real",
    "dumps",
    "encode_frame",
    "read_frame",
    "decode_body",
]

#: The most header bytes one frame may carry before the reader gives up (saddled allows 8 KiB a line).
MAX_HEADER_BYTES = 64 * 1024


class FramingError(Exception):
    """A frame could not be read: a malformed header block or a body cut short."""


def to_wire(value: Any) -> Any:
    """Returns ``value`` with every non-finite float replaced by its wire string.

    NaN → ``"NaN"``, +inf → ``"Infinity"``, -inf → ``"-Infinity"``. Dicts, lists and tuples are
    copied recursively (tuples become lists); other values are returned as they are. Objects
    with ``__float__`` that are not ``int``/``bool`` (numpy and torch scalars) become floats.
    """
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy / torch 0-d scalars
        try:
            return to_wire(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "__float__"):
        return to_wire(float(value))
    return value


def real(value: Any) -> float:
    """Reads a ``$defs/real`` field the daemon sent: a number, or one of the non-finite strings."""
    if isinstance(value, str):
        try:
            return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]
        except KeyError:
            raise ValueError(f"expected a number or NaN/Infinity/-Infinity, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def dumps(message: Any) -> str:
    """Serializes a message compactly; non-finite floats become strings, so ``allow_nan=False`` never trips."""
    return json.dumps(to_wire(message), allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def encode_frame(message: Any) -> bytes:
    """One complete frame: the header with the body's UTF-8 byte count, then the body."""
    body = dumps(message).encode("utf-8")
    return b"Content-Length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body


def read_frame(stream: BinaryIO) -> Optional[bytes]:
    """Reads one frame's body from a binary stream; ``None`` at a clean end of input.

    Header names are case-insensitive; unknown headers are ignored. Raises ``FramingError`` for a
    header block without ``Content-Length``, a non-numeric length, or input that ends mid-frame.
    """
    length: Optional[int] = None
    seen = 0
    first = True
    while True:
        line = stream.readline(MAX_HEADER_BYTES + 1)
        if not line:
            if first:
                return None
            raise FramingError("input ended inside a frame header")
        first = False
        seen += len(line)
        if seen > MAX_HEADER_BYTES:
            raise FramingError(f"frame header exceeds {MAX_HEADER_BYTES} bytes")
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.decode("ascii", errors="replace").partition(":")
        if not sep:
            raise FramingError(f"header line without a colon: {line!r}")
        if name.strip().lower() == "content-length":
            text = value.strip()
            if not text.isdigit():
                raise FramingError(f"Content-Length is not a byte count: {text!r}")
            length = int(text)
    if length is None:
        raise FramingError("frame header has no Content-Length")
    body = _read_exactly(stream, length)
    if len(body) < length:
        raise FramingError(f"input ended after {len(body)} of {length} body bytes")
    return body


def _read_exactly(stream: BinaryIO, count: int) -> bytes:
    chunks = []
    remaining = count
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def decode_body(body: bytes) -> Any:
    """Parses a frame body as UTF-8 JSON."""
    return json.loads(body.decode("utf-8"))
