'use strict';
// JSON-RPC 2.0 over LSP base-protocol framing (Content-Length counts BYTES), for saddled on stdio or
// on its Unix socket (saddled --listen PATH; protocol/transport.md).
// No dependencies: a small incremental frame parser over Buffer chunks, and a connection that
// matches answers to requests by id and hands notifications to listeners.

const { spawn } = require('child_process');
const net = require('net');

const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');

/** Incremental parser: push Buffer chunks, get complete message bodies (parsed JSON) back. */
class FrameParser {
  constructor() {
    this.buffer = Buffer.alloc(0);
    this.expected = null; // body length once the header block has been read
  }

  /**
   * Feeds `chunk`; returns every message completed by it, in order. A malformed header block throws
   * (the stream cannot be trusted after it).
   * @param {Buffer} chunk
   * @returns {any[]}
   */
  push(chunk) {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    const out = [];
    for (;;) {
      if (this.expected === null) {
        const end = this.buffer.indexOf(HEADER_END);
        if (end < 0) break;
        const header = this.buffer.subarray(0, end).toString('ascii');
        this.buffer = this.buffer.subarray(end + HEADER_END.length);
        let length = null;
        for (const line of header.split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon < 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
          if (line.slice(0, colon).trim().toLowerCase() === 'content-length') {
            const value = line.slice(colon + 1).trim();
            if (!/^\d+$/.test(value)) throw new Error(`bad Content-Length: ${JSON.stringify(value)}`);
            length = Number(value);
          }
        }
        if (length === null) throw new Error('frame without Content-Length');
        this.expected = length;
      }
      if (this.buffer.length < this.expected) break;
      const body = this.buffer.subarray(0, this.expected).toString('utf8');
      this.buffer = this.buffer.subarray(this.expected);
      this.expected = null;
      out.push(JSON.parse(body));
    }
    return out;
  }
}

/** JSON text of a value with non-finite numbers as the strings "NaN", "Infinity", "-Infinity". */
function stringify(value) {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    }
    return v;
  });
}

/** One frame: `Content-Length: <bytes>\r\n\r\n<body>`. */
function encode(message) {
  const body = stringify(message);
  return Buffer.concat([
    Buffer.from(`Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n`, 'ascii'),
    Buffer.from(body, 'utf8'),
  ]);
}

/** A number as the daemon sends it (a number or "NaN"/"Infinity"/"-Infinity") as a JS number; else NaN. */
function toNumber(x) {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return NaN;
}

/** An error answer of the daemon, with its JSON-RPC code. */
class RpcError extends Error {
  constructor(error) {
    super(error && error.message ? error.message : String(error));
    this.code = error && error.code;
    this.data = error && error.data;
  }
}

/**
 * A connection over a writable and readable byte stream. `request` returns a promise of the result
 * (rejected with RpcError); `onNotification(fn)` gets (method, params).
 */
class Connection {
  constructor(readable, writable) {
    this.writable = writable;
    this.parser = new FrameParser();
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.closed = false;
    readable.on('data', (chunk) => {
      let messages;
      try {
        messages = this.parser.push(chunk);
      } catch (e) {
        this.close(e);
        return;
      }
      for (const m of messages) this.dispatch(m);
    });
    readable.on('end', () => this.close(new Error('the daemon closed its output')));
  }

  dispatch(message) {
    if (Array.isArray(message)) {
      for (const m of message) this.dispatch(m);
      return;
    }
    if (message && message.id !== undefined && message.id !== null && !message.method) {
      const entry = this.pending.get(message.id);
      if (!entry) return;
      this.pending.delete(message.id);
      if (message.error) entry.reject(new RpcError(message.error));
      else entry.resolve(message.result);
      return;
    }
    if (message && typeof message.method === 'string' && message.id === undefined) {
      for (const fn of this.listeners) {
        try {
          fn(message.method, message.params || {});
        } catch (_) {
          // A listener's failure must not stop the others or the connection.
        }
      }
    }
  }

  /** Sends request `method`; the promise carries its id as `promise.id` (for cancel). */
  request(method, params) {
    if (this.closed) return Promise.reject(new RpcError({ code: -32099, message: 'saddled is not running' }));
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    const message = { jsonrpc: '2.0', id, method };
    if (params !== undefined) message.params = params;
    this.writable.write(encode(message));
    promise.id = id;
    return promise;
  }

  notify(method, params) {
    if (this.closed) return;
    const message = { jsonrpc: '2.0', method };
    if (params !== undefined) message.params = params;
    this.writable.write(encode(message));
  }

  /** `$/cancelRequest` for request `id`; the daemon answers it with -32800. */
  cancel(id) {
    this.notify('$/cancelRequest', { id });
  }

  onNotification(fn) {
    this.listeners.add(fn);
    return { dispose: () => this.listeners.delete(fn) };
  }

  close(reason) {
    if (this.closed) return;
    this.closed = true;
    for (const { reject } of this.pending.values()) {
      reject(new RpcError({ code: -32099, message: reason ? reason.message : 'connection closed' }));
    }
    this.pending.clear();
  }
}

/**
 * Spawns saddled (`command`, `args`) and initializes it. Resolves to { process, connection, initialize }.
 * Rejects when the binary cannot be started.
 */
async function startDaemon(command, args = [], clientName = 'saddle-vscode') {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.stderr.on('data', () => {}); // logs; drained so the daemon never blocks on a full pipe
  child.stdin.on('error', () => {});
  const connection = new Connection(child.stdout, child.stdin);
  child.once('exit', () => connection.close(new Error('saddled exited')));
  const initialize = await initializeConnection(connection, clientName);
  return { process: child, connection, initialize };
}

/** `initialize` and `initialized` on a fresh connection; resolves to initialize's result. */
async function initializeConnection(connection, clientName) {
  const initialize = await connection.request('initialize', {
    processId: process.pid,
    clientInfo: { name: clientName },
    capabilities: {},
  });
  connection.notify('initialized', {});
  return initialize;
}

/**
 * Attaches to a running daemon on its Unix socket `socketPath` (`saddled --listen PATH`) and initializes
 * this client's connection. Resolves to { socket, connection, initialize, attached: true }; rejects when
 * nothing listens on the path. The socket's 'close' event marks the connection's end.
 */
async function attachDaemon(socketPath, clientName = 'saddle-vscode') {
  const socket = net.createConnection(socketPath);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {}); // a reset after connect ends the connection through 'close'
  const connection = new Connection(socket, socket);
  socket.once('close', () => connection.close(new Error('the daemon closed the connection')));
  const initialize = await initializeConnection(connection, clientName);
  return { socket, connection, initialize, attached: true };
}

/**
 * Ends an attached client's connection: `shutdown`, then `exit` (the daemon ends only this connection and
 * keeps serving), then closes the socket; destroyed after `timeoutMs` if it has not closed.
 */
async function detachDaemon(daemon, timeoutMs = 3000) {
  const socket = daemon.socket;
  if (socket.destroyed) return;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  try {
    await Promise.race([daemon.connection.request('shutdown'), new Promise((r) => setTimeout(r, timeoutMs))]);
    daemon.connection.notify('exit');
  } catch (_) {
    // Already closing.
  }
  socket.end();
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  await closed;
  clearTimeout(timer);
}

/**
 * `shutdown` then `exit`; resolves when the process has ended (killed after `timeoutMs`). For an attached
 * daemon (attachDaemon) this ends only the connection: see detachDaemon.
 */
async function stopDaemon(daemon, timeoutMs = 3000) {
  if (daemon.attached) return detachDaemon(daemon, timeoutMs);
  const child = daemon.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([daemon.connection.request('shutdown'), new Promise((r) => setTimeout(r, timeoutMs))]);
    daemon.connection.notify('exit');
  } catch (_) {
    // Already closing.
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

module.exports = {
  FrameParser, Connection, RpcError, encode, stringify, toNumber, startDaemon, stopDaemon, attachDaemon, detachDaemon,
};
