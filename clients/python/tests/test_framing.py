"""Framing and non-finite-number units: no daemon needed."""

from __future__ import annotations

import io
import json
import math

import pytest

from saddle_bridge.framing import FramingError, decode_body, dumps, encode_frame, read_frame, real, to_wire


def test_content_length_counts_bytes_not_characters():
    message = {"jsonrpc": "2.0", "method": "x", "params": {"s": "λ∞é😀"}}
    frame = encode_frame(message)
    header, body = frame.split(b"\r\n\r\n", 1)
    assert header == b"Content-Length: " + str(len(body)).encode()
    # "λ∞é😀" is 4 characters but 2 + 3 + 2 + 4 = 11 UTF-8 bytes.
    assert len(body) - len(json.dumps({"jsonrpc": "2.0", "method": "x", "params": {"s": ""}}, separators=(",", ":"))) == 11
    assert decode_body(body) == message


def test_non_finite_floats_become_strings_everywhere():
    value = {"a": math.nan, "b": [math.inf, -math.inf, 1.5, 2], "c": (math.nan,), "d": {"e": -0.0}, "f": True, "g": None}
    assert to_wire(value) == {"a": "NaN", "b": ["Infinity", "-Infinity", 1.5, 2], "c": ["NaN"], "d": {"e": -0.0},
                              "f": True, "g": None}
    text = dumps(value)
    assert "NaN" in text and "Infinity" in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} token on the wire"))


def test_numpy_and_torch_scalars_are_plain_numbers():
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    assert to_wire({"x": np.float32(0.5), "y": np.int64(3), "z": torch.tensor(float("nan"))}) == {"x": 0.5, "y": 3, "z": "NaN"}


def test_real_reads_wire_values():
    assert math.isnan(real("NaN"))
    assert real("Infinity") == math.inf and real("-Infinity") == -math.inf
    assert real(3) == 3.0 and real(2.5) == 2.5
    with pytest.raises(ValueError):
        real("nan")
    with pytest.raises(ValueError):
        real(True)


def test_read_frame_round_trip_with_extra_headers_and_split_reads():
    bodies = [{"id": i, "result": {"v": "é" * i}} for i in range(5)]
    raw = b"".join(encode_frame(b) for b in bodies)
    raw = raw.replace(b"Content-Length", b"content-length", 1)
    raw = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n" + raw

    class Trickle(io.RawIOBase):  # returns at most 3 bytes per read, as a pipe may
        def __init__(self, data):
            self.data, self.pos = data, 0

        def readable(self):
            return True

        def readinto(self, b):
            n = min(3, len(b), len(self.data) - self.pos)
            b[:n] = self.data[self.pos:self.pos + n]
            self.pos += n
            return n

    stream = io.BufferedReader(Trickle(raw), buffer_size=4)
    got = []
    while (body := read_frame(stream)) is not None:
        got.append(decode_body(body))
    assert got == bodies


@pytest.mark.parametrize("raw,needle", [
    (b"Content-Type: x\r\n\r\n{}", "no Content-Length"),
    (b"Content-Length: abc\r\n\r\n{}", "not a byte count"),
    (b"Content-Length: 10\r\n\r\n{}", "ended after 2 of 10"),
    (b"Content-Length: 2\r\n", "ended inside a frame header"),
    (b"garbage\r\n\r\n", "without a colon"),
])
def test_malformed_frames_raise(raw, needle):
    with pytest.raises(FramingError, match=needle):
        read_frame(io.BytesIO(raw))


def test_clean_end_of_input_is_none():
    assert read_frame(io.BytesIO(b"")) is None
