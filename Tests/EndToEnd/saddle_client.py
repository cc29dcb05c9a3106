"""A minimal Saddle client over stdio, standard library only, for end-to-end tests and benchmarks.

It spawns the real `saddled` binary, frames messages as the LSP base protocol says, and validates
every message it sends and receives against protocol/saddle.schema.json when a validator is given.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[2]


def saddled_path() -> str:
    """The daemon binary: $SADDLED, or the debug build in .build/."""
    env = os.environ.get("SADDLED")
    if env:
        return env
    return str(REPO / ".build" / "debug" / "saddled")


def encode(message: Any) -> bytes:
    body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class FrameReader:
    """Incremental reader of Content-Length frames from a binary stream."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def read(self) -> Optional[bytes]:
        length = None
        while True:
            line = self.stream.readline()
            if not line:
                return None
            if line == b"\r\n":
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise ValueError("frame without Content-Length on saddled's stdout")
        body = self.stream.read(length)
        if len(body) != length:
            return None
        return body


class Client:
    """Talks to one saddled process. Responses are matched by id; notifications are queued."""

    def __init__(self, args: list[str] = (), validator: Optional[Callable[[str, Any, Optional[str]], None]] = None,
                 env: Optional[dict] = None) -> None:
        self.proc = subprocess.Popen([saddled_path(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        self.validator = validator
        self.next_id = 1
        self.pending: dict[Any, str] = {}
        self.responses: dict[Any, dict] = {}
        self.notifications: "queue.Queue[dict]" = queue.Queue()
        self.raw: "queue.Queue[dict]" = queue.Queue()  # answers to messages sent with send()/send_bytes()
        self.arrivals: list = []  # ids of all answers, in arrival order
        self.cond = threading.Condition()
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # -- wire ---------------------------------------------------------------------------------
    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        if self.validator and isinstance(message, dict):
            self.validator("sent", message, message.get("method"))
        self.send_bytes(encode(message))

    def _read(self) -> None:
        reader = FrameReader(self.proc.stdout)
        while True:
            body = reader.read()
            if body is None:
                break
            message = json.loads(body)
            items = message if isinstance(message, list) else [message]
            with self.cond:
                for item in items:
                    if "method" in item:
                        if self.validator:
                            self.validator("received", item, item["method"])
                        self.notifications.put(item)
                    else:
                        tracked = item.get("id") is not None and item.get("id") in self.pending
                        method = self.pending.pop(item.get("id")) if tracked else None
                        if self.validator:
                            self.validator("received", item, method)
                        self.arrivals.append(item.get("id"))
                        if tracked:
                            self.responses[json.dumps(item.get("id"))] = item
                        else:
                            self.raw.put(item)
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    # -- requests -----------------------------------------------------------------------------
    def request_async(self, method: str, params: Any = None, id: Any = None) -> Any:
        if id is None:
            id = self.next_id
            self.next_id += 1
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        with self.cond:
            self.pending[id] = method
        self.send(message)
        return id

    def wait(self, id: Any, timeout: float = 30.0) -> dict:
        key = json.dumps(id)
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed:
                    raise TimeoutError(f"no response to id {id!r} (closed={self.closed})")
                self.cond.wait(remaining)
            return self.responses.pop(key)

    def call(self, method: str, params: Any = None, timeout: float = 60.0) -> dict:
        return self.wait(self.request_async(method, params), timeout)

    def result(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        answer = self.call(method, params, timeout)
        if "error" in answer:
            raise RuntimeError(f"{method} failed: {answer['error']}")
        return answer["result"]

    def notify(self, method: str, params: Any = None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def initialize(self, options: Any = None) -> dict:
        params = {"processId": os.getpid(), "clientInfo": {"name": "saddle-tests"}, "capabilities": {}}
        if options is not None:
            params["initializationOptions"] = options
        result = self.result("initialize", params)
        self.notify("initialized", {})
        return result

    def next_notification(self, method: Optional[str] = None, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method or 'notification'} within {timeout}s")
            item = self.notifications.get(timeout=remaining)
            if method is None or item["method"] == method:
                return item

    def next_raw(self, timeout: float = 10.0) -> dict:
        return self.raw.get(timeout=timeout)

    def close(self, timeout: float = 10.0) -> int:
        """shutdown + exit; returns the exit code."""
        if self.proc.poll() is None:
            try:
                self.result("shutdown", timeout=timeout)
                self.notify("exit")
            except (BrokenPipeError, TimeoutError, RuntimeError):
                pass
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            # The daemon has exited, so the reader sees the end of its output: let it finish before the stream closes
            # under it (a readline on a closed file raises in that thread).
            self.reader.join(timeout=timeout)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    stream.close()
                except Exception:
                    pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
