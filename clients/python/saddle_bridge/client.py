"""A standard-library JSON-RPC 2.0 client for saddled over the LSP base protocol.

The client owns one reader thread that matches responses to requests by id (answers may arrive
out of order: saddled computes on threads of its own) and hands notifications to a second thread
that runs the callbacks, so a slow callback never delays a response and a callback may itself
make requests. Any pair of binary streams is a transport: a spawned ``saddled`` over stdio
(:class:`ProcessTransport`), or a running ``saddled --listen PATH`` over its Unix domain socket
(:class:`SocketTransport`, :meth:`Client.connect_unix`).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import shutil
import socket
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import IO, Any, BinaryIO, Callable, Dict, List, Optional, Sequence, Set, Union

from .framing import FramingError, decode_body, encode_frame, read_frame

__all__ = [
    "RPCError",
    "Client",
    "StreamTransport",
    "ProcessTransport",
    "SocketTransport",
    "find_daemon",
]

log = logging.getLogger("saddle_bridge")

NotificationCallback = Callable[[str, Any], None]
PathLike = Union[str, "os.PathLike[str]"]


class RPCError(Exception):
    """An error answer from the daemon: ``code`` (protocol/errors.md), ``message``, optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None, method: Optional[str] = None):
        super().__init__(f"{method + ': ' if method else ''}{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
        self.method = method


class StreamTransport:
    """A transport over two binary streams: ``reader`` (``readline``/``read``) and ``writer`` (``write``/``flush``)."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO):
        self.reader = reader
        self.writer = writer

    def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.writer.flush()

    def close_writer(self) -> None:
        """Ends the input the peer reads (for saddled: end of stdin)."""
        try:
            self.writer.close()
        except (OSError, ValueError):
            pass

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        """The peer's exit code where there is a process; ``None`` for plain streams."""
        return None

    def close(self) -> None:
        self.close_writer()
        try:
            self.reader.close()
        except (OSError, ValueError):
            pass


def find_daemon(path: Optional[PathLike] = None) -> str:
    """The saddled executable: ``path`` if given, else ``$SADDLED``, else ``saddled`` on ``PATH``.

    Raises ``FileNotFoundError`` saying where it looked.
    """
    if path is not None:
        candidate = os.fspath(path)
        source = "the path given"
    elif os.environ.get("SADDLED"):
        candidate = os.environ["SADDLED"]
        source = "$SADDLED"
    else:
        found = shutil.which("saddled")
        if found is None:
            raise FileNotFoundError(
                "saddled not found: pass its path, set $SADDLED, or put it on PATH "
                "(build it with `swift build`; the binary is .build/debug/saddled)"
            )
        return found
    if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
        raise FileNotFoundError(f"saddled not found at {candidate!r} ({source}); build it with `swift build`")
    return candidate


class ProcessTransport(StreamTransport):
    """Spawns saddled and talks to it over its stdin and stdout; stderr goes where ``stderr`` says (inherited by default)."""

    def __init__(
        self,
        path: Optional[PathLike] = None,
        args: Sequence[str] = (),
        stderr: Union[None, int, IO[Any]] = None,
        env: Optional[Dict[str, str]] = None,
    ):
        executable = find_daemon(path)
        self.process = subprocess.Popen(
            [executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            bufsize=0,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        super().__init__(self.process.stdout, self.process.stdin)  # type: ignore[arg-type]

    def wait(self, timeout: Optional[float] = None) -> Optional[int]:
        return self.process.wait(timeout)

    def close(self) -> None:
        self.close_writer()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        try:
            self.reader.close()
        except (OSError, ValueError):
            pass


class SocketTransport(StreamTransport):
    """A connection to a running ``saddled --listen PATH`` over its Unix domain socket.

    ``exit`` over a socket ends this connection only; the daemon keeps serving its other clients
    (protocol/transport.md). ``wait`` has no exit code to give: it returns ``None``.
    """

    def __init__(self, path: PathLike, connect_timeout: Optional[float] = 10.0):
        self.path = os.fspath(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(self.path)
            sock.settimeout(None)  # reads block: the reader thread waits for the daemon indefinitely
        except OSError as error:
            sock.close()
            raise ConnectionError(f"cannot attach to saddled at {self.path!r}: {error}") from error
        self.socket = sock
        super().__init__(sock.makefile("rb", buffering=0), sock.makefile("wb", buffering=0))

    def close_writer(self) -> None:
        """Half-closes the connection: the daemon reads end of input and ends this client's connection."""
        super().close_writer()
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        super().close()
        self.socket.close()


class Client:
    """A connection to saddled.

    Typical use::

        with Client.spawn() as client:          # spawns, sends initialize and initialized
            print(client.request("daemon/status"))
        # leaving the block sends shutdown and exit

    Thread-safe: any thread may call :meth:`request`. Errors answered by the daemon raise
    :class:`RPCError`; a lost connection raises ``ConnectionError``.
    """

    def __init__(self, transport: StreamTransport):
        self.transport = transport
        self.capabilities: Dict[str, Any] = {}
        self.server_info: Dict[str, Any] = {}
        #: Error answers with id ``null`` (the daemon could not read a frame we sent).
        self.orphan_errors: List[Dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._pending: Dict[Any, "Future[Any]"] = {}
        self._pending_methods: Dict[Any, str] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._callbacks: Dict[str, List[NotificationCallback]] = {}
        self._notifications: "queue.SimpleQueue[Optional[tuple]]" = queue.SimpleQueue()
        self._closed = False
        self._shut_down = False
        self._exited = False
        self._connection_error: Optional[BaseException] = None
        self._reader = threading.Thread(target=self._read_loop, name="saddle-reader", daemon=True)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="saddle-notifications", daemon=True)
        self._reader.start()
        self._dispatcher.start()

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def spawn(
        cls,
        path: Optional[PathLike] = None,
        args: Sequence[str] = (),
        *,
        initialize: bool = True,
        stderr: Union[None, int, IO[Any]] = None,
        client_name: str = "saddle_bridge",
        initialization_options: Any = None,
    ) -> "Client":
        """Spawns saddled (see :func:`find_daemon`) and, unless ``initialize=False``, initializes it."""
        return cls._started(ProcessTransport(path, args, stderr=stderr), initialize, client_name, initialization_options)

    @classmethod
    def connect_unix(
        cls,
        path: PathLike,
        *,
        initialize: bool = True,
        client_name: str = "saddle_bridge",
        initialization_options: Any = None,
        connect_timeout: Optional[float] = 10.0,
    ) -> "Client":
        """Attaches to a running ``saddled --listen PATH`` and, unless ``initialize=False``, initializes.

        The daemon is shared: models, data sets and runs other clients make are visible here, and
        :meth:`close` (shutdown + exit) ends this connection only. Raises ``ConnectionError`` when
        nothing listens on ``path``.
        """
        return cls._started(SocketTransport(path, connect_timeout), initialize, client_name, initialization_options)

    @classmethod
    def _started(cls, transport: Any, initialize: bool, client_name: str, initialization_options: Any) -> "Client":
        """A client over `transport`, initialized unless `initialize` is false (the transport is closed if that fails)."""
        client = cls(transport)
        if initialize:
            try:
                client.initialize(client_name=client_name, initialization_options=initialization_options)
            except BaseException:
                client.transport.close()
                raise
        return client

    # -- lifecycle ------------------------------------------------------------------------------

    def initialize(
        self, client_name: str = "saddle_bridge", initialization_options: Any = None, timeout: Optional[float] = 30
    ) -> Dict[str, Any]:
        """Sends ``initialize`` then ``initialized``; keeps ``capabilities`` and ``server_info``."""
        params: Dict[str, Any] = {"processId": os.getpid(), "clientInfo": {"name": client_name}, "capabilities": {}}
        if initialization_options is not None:
            params["initializationOptions"] = initialization_options
        result = self.request("initialize", params, timeout=timeout)
        self.capabilities = dict(result.get("capabilities", {}))
        self.server_info = dict(result.get("serverInfo", {}))
        self.notify("initialized", {})
        return result

    @property
    def methods(self) -> Set[str]:
        """The request methods the daemon serves (``capabilities.methods`` from ``initialize``)."""
        return set(self.capabilities.get("methods", []))

    def supports(self, method: str) -> bool:
        """Whether the daemon said at ``initialize`` that it serves ``method``."""
        return method in self.methods

    def shutdown(self, timeout: Optional[float] = 30) -> None:
        """Sends ``shutdown``; afterwards the daemon refuses requests until ``exit``."""
        self.request("shutdown", None, timeout=timeout)
        self._shut_down = True

    def exit(self, timeout: Optional[float] = 30) -> Optional[int]:
        """Sends ``exit``, ends the daemon's input and returns its exit code (0 after ``shutdown``, 1 without)."""
        if self._exited:
            return self.transport.wait(timeout)
        self._exited = True
        try:
            self.notify("exit", None)
        except (ConnectionError, OSError, ValueError):
            pass
        self.transport.close_writer()
        code = self.transport.wait(timeout)
        self._reader.join(timeout)
        self._stop_dispatcher()
        return code

    def close(self, timeout: Optional[float] = 30) -> Optional[int]:
        """Shuts down (if not yet) and exits; safe to call twice. Returns the exit code where there is a process."""
        if self._closed:
            return self.transport.wait(timeout)
        self._closed = True
        if not self._shut_down and self._connection_error is None and not self._exited:
            try:
                self.shutdown(timeout=timeout)
            except (RPCError, ConnectionError, FutureTimeout, OSError):
                pass
        code = self.exit(timeout=timeout)
        self.transport.close()
        return code

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- messages ---------------------------------------------------------------------------------

    def request_future(self, method: str, params: Any = None, *, id: Any = None) -> "Future[Any]":
        """Sends a request and returns a future of its result (or of its :class:`RPCError`)."""
        future: "Future[Any]" = Future()
        with self._lock:
            if self._connection_error is not None:
                raise ConnectionError(f"connection to saddled is closed: {self._connection_error}")
            request_id = next(self._ids) if id is None else id
            if request_id in self._pending:
                raise ValueError(f"request id {request_id!r} is already in flight")
            self._pending[request_id] = future
            self._pending_methods[request_id] = method
        future.request_id = request_id  # type: ignore[attr-defined]
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self._send(message)
        except BaseException as error:
            with self._lock:
                self._pending.pop(request_id, None)
                self._pending_methods.pop(request_id, None)
            raise ConnectionError(f"could not send {method}: {error}") from error
        return future

    def request(self, method: str, params: Any = None, *, timeout: Optional[float] = None) -> Any:
        """Sends a request and waits for its result; raises :class:`RPCError` for an error answer."""
        future = self.request_future(method, params)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise TimeoutError(f"{method}: no answer within {timeout} s") from None

    def notify(self, method: str, params: Any = None) -> None:
        """Sends a notification (no answer)."""
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)

    def cancel(self, future_or_id: Any) -> None:
        """Sends ``$/cancelRequest`` for a request (its future or its id); its future then fails with -32800."""
        request_id = getattr(future_or_id, "request_id", future_or_id)
        self.notify("$/cancelRequest", {"id": request_id})

    def on_notification(self, method: str, callback: NotificationCallback) -> Callable[[], None]:
        """Calls ``callback(method, params)`` for each notification ``method`` (``"*"``: every one).

        Callbacks run in order on one dispatcher thread, never on the reader thread. Returns a
        function that removes the callback.
        """
        with self._lock:
            self._callbacks.setdefault(method, []).append(callback)

        def remove() -> None:
            with self._lock:
                callbacks = self._callbacks.get(method, [])
                if callback in callbacks:
                    callbacks.remove(callback)

        return remove

    # -- internals --------------------------------------------------------------------------------

    def _send(self, message: Any) -> None:
        frame = encode_frame(message)
        with self._write_lock:
            self.transport.write(frame)

    def _read_loop(self) -> None:
        error: BaseException = ConnectionError("saddled closed its output")
        try:
            while True:
                body = read_frame(self.transport.reader)
                if body is None:
                    break
                try:
                    message = decode_body(body)
                except ValueError as bad:
                    log.error("saddled sent a frame that is not JSON: %s", bad)
                    continue
                for item in message if isinstance(message, list) else [message]:
                    self._handle(item)
        except (FramingError, OSError, ValueError) as failure:
            error = ConnectionError(f"reading from saddled failed: {failure}")
        finally:
            self._fail_pending(error)

    def _handle(self, message: Any) -> None:
        if not isinstance(message, dict):
            log.error("saddled sent a message that is not an object: %r", message)
            return
        if "method" in message:
            if "id" in message:  # a request from the server: saddled sends none; answer so it never waits
                self._send({"jsonrpc": "2.0", "id": message["id"],
                            "error": {"code": -32601, "message": f"client does not serve {message['method']}"}})
                return
            self._notifications.put((message["method"], message.get("params")))
            return
        request_id = message.get("id")
        with self._lock:
            future = self._pending.pop(request_id, None)
            method = self._pending_methods.pop(request_id, None)
        if future is None:
            if "error" in message:
                self.orphan_errors.append(message["error"])
                log.warning("saddled answered an error without a request: %s", message["error"])
            return
        if "error" in message:
            e = message["error"] or {}
            future.set_exception(RPCError(e.get("code", 0), e.get("message", ""), e.get("data"), method))
        else:
            future.set_result(message.get("result"))

    def _fail_pending(self, error: BaseException) -> None:
        with self._lock:
            self._connection_error = error
            pending = list(self._pending.values())
            self._pending.clear()
            self._pending_methods.clear()
        for future in pending:
            if not future.done():
                future.set_exception(ConnectionError(str(error)))
        self._stop_dispatcher()

    def _stop_dispatcher(self) -> None:
        self._notifications.put(None)

    def _dispatch_loop(self) -> None:
        while True:
            item = self._notifications.get()
            if item is None:
                return
            method, params = item
            with self._lock:
                callbacks = list(self._callbacks.get(method, [])) + list(self._callbacks.get("*", []))
            for callback in callbacks:
                try:
                    callback(method, params)
                except Exception:  # a callback's bug must not stop the others
                    log.exception("notification callback for %s failed", method)
