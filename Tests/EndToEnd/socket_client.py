"""Socket clients for end-to-end tests: `saddled --listen PATH` started as a process, and clients that
talk to it over the Unix domain socket with the same API as `saddle_client.Client` (result/call/
request_async/next_notification), every message validated against the schema when a validator is given."""
from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from saddle_client import Client, saddled_path


class SocketDaemon:
    """One `saddled --listen PATH` process; stderr is collected in `log` for assertions on log lines."""

    def __init__(self, path: str, *args: str, env: Optional[dict] = None) -> None:
        self.path = path
        self.proc = subprocess.Popen([saddled_path(), "--listen", path, *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()
        deadline = time.monotonic() + 30
        while "listening on" not in self.log:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"saddled did not listen on {path}: {self.log}")
            time.sleep(0.01)

    def _collect(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode(errors="replace"))
                self.cond.notify_all()

    @property
    def log(self) -> str:
        with self.cond:
            return "".join(self.lines)

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no log line with {text!r}; log: {''.join(self.lines)}")
                self.cond.wait(remaining)
            return next(line for line in self.lines if text in line)

    def connect(self, validator: Optional[Callable] = None) -> "SocketClient":
        return SocketClient(self.path, validator)

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig: int = 15, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class _SocketProc:
    """Stands in for the subprocess a `Client` talks to: stdin/stdout are the socket's two halves."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.stdin = sock.makefile("wb")
        self.stdout = sock.makefile("rb")
        self.stderr = None
        self.done = False

    def poll(self) -> Optional[int]:
        return 0 if self.done else None

    def wait(self, timeout: Optional[float] = None) -> int:
        self.close()
        return 0

    def kill(self) -> None:
        self.close()

    def close(self) -> None:
        if self.done:
            return
        self.done = True
        # Shut the socket down first: that ends the reader thread's blocking read, which holds the
        # buffered reader's lock that closing the file object needs.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for f in (self.stdin, self.stdout):
            try:
                f.close()
            except Exception:
                pass
        self.sock.close()


class SocketClient(Client):
    """A `Client` over the daemon's socket instead of a child process's pipes."""

    def __init__(self, path: str, validator: Optional[Callable[[str, Any, Optional[str]], None]] = None) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        self.proc = _SocketProc(sock)  # type: ignore[assignment]
        self.validator = validator
        self.next_id = 1
        self.pending: dict[Any, str] = {}
        self.responses: dict[Any, dict] = {}
        self.notifications: "queue.Queue[dict]" = queue.Queue()
        self.raw: "queue.Queue[dict]" = queue.Queue()
        self.arrivals: list = []
        self.cond = threading.Condition()
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            super()._read()
        except (OSError, ValueError):
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def close(self, timeout: float = 10.0) -> int:
        """shutdown + exit over the socket; the daemon ends this connection only."""
        try:
            self.result("shutdown", timeout=timeout)
            self.notify("exit")
        except (OSError, TimeoutError, RuntimeError, ValueError):
            pass
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.closed and time.monotonic() < deadline:
                self.cond.wait(0.1)
        self.proc.close()
        return 0

    def disconnect(self) -> None:
        """Drops the connection without a word (no shutdown, no exit)."""
        self.proc.close()
