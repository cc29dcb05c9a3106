'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { PassThrough } = require('node:stream');
const rpc = require('../src/rpc');

const messages = [
  { jsonrpc: '2.0', id: 1, result: { text: 'plain' } },
  { jsonrpc: '2.0', method: 'run/step', params: { note: 'é – λ_min 😀', loss: 0.5 } },
  { jsonrpc: '2.0', id: 'x', error: { code: -32602, message: '`params.runFile.optimizer.lr` must be > 0, got −1' } },
];

test('encode: Content-Length counts bytes of UTF-8, not characters', () => {
  const frame = rpc.encode({ s: 'é😀' });
  const text = frame.toString('utf8');
  const body = '{"s":"é😀"}';
  assert.equal(body.length, 11, 'characters (UTF-16 units)');
  assert.equal(Buffer.byteLength(body), 14, 'bytes: é is 2, 😀 is 4');
  assert.equal(text, `Content-Length: 14\r\n\r\n${body}`);
});

test('parser: a stream of frames split at every byte position gives the same messages', () => {
  const stream = Buffer.concat(messages.map(rpc.encode));
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const p = new rpc.FrameParser();
    const got = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    assert.deepEqual(got, messages, `cut at ${cut}`);
  }
});

test('parser: one byte at a time (splits inside multi-byte characters)', () => {
  const stream = Buffer.concat(messages.map(rpc.encode));
  const p = new rpc.FrameParser();
  const got = [];
  for (let i = 0; i < stream.length; i += 1) got.push(...p.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got, messages);
});

test('parser: header names are case-insensitive; Content-Type is accepted', () => {
  const body = '{"jsonrpc":"2.0","id":3,"result":null}';
  const frame = Buffer.from(`content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH: ${body.length}\r\n\r\n${body}`);
  assert.deepEqual(new rpc.FrameParser().push(frame), [{ jsonrpc: '2.0', id: 3, result: null }]);
});

test('parser: malformed headers throw', () => {
  assert.throws(() => new rpc.FrameParser().push(Buffer.from('Content-Type: x\r\n\r\n{}')), /without Content-Length/);
  assert.throws(() => new rpc.FrameParser().push(Buffer.from('Content-Length: 1x\r\n\r\n{}')), /bad Content-Length/);
  assert.throws(() => new rpc.FrameParser().push(Buffer.from('garbage\r\n\r\n{}')), /malformed header/);
});

test('non-finite numbers go out as strings and come back as numbers', () => {
  assert.equal(rpc.stringify({ a: NaN, b: Infinity, c: -Infinity, d: 1.5 }),
    '{"a":"NaN","b":"Infinity","c":"-Infinity","d":1.5}');
  assert.ok(Number.isNaN(rpc.toNumber('NaN')));
  assert.equal(rpc.toNumber('Infinity'), Infinity);
  assert.equal(rpc.toNumber('-Infinity'), -Infinity);
  assert.equal(rpc.toNumber(2.5), 2.5);
  assert.ok(Number.isNaN(rpc.toNumber('2.5')), 'other strings are not numbers');
});

test('connection: answers matched by id out of order; notifications; close rejects pending', async () => {
  const toClient = new PassThrough();
  const fromClient = new PassThrough();
  const c = new rpc.Connection(toClient, fromClient);
  const seen = [];
  c.onNotification((method, params) => seen.push([method, params]));
  const sent = [];
  const parser = new rpc.FrameParser();
  fromClient.on('data', (chunk) => sent.push(...parser.push(chunk)));
  const a = c.request('a', { x: 1 });
  const b = c.request('b');
  const d = c.request('d');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.map((m) => [m.id, m.method, m.params]), [[1, 'a', { x: 1 }], [2, 'b', undefined], [3, 'd', undefined]]);
  const frames = Buffer.concat([
    rpc.encode({ jsonrpc: '2.0', id: 2, result: 'B' }),
    rpc.encode({ jsonrpc: '2.0', method: 'run/step', params: { step: 4 } }),
    rpc.encode({ jsonrpc: '2.0', id: 1, error: { code: -32800, message: 'cancelled' } }),
  ]);
  toClient.write(frames.subarray(0, 7));
  toClient.write(frames.subarray(7));
  assert.equal(await b, 'B');
  await assert.rejects(a, (e) => e instanceof rpc.RpcError && e.code === -32800);
  assert.deepEqual(seen, [['run/step', { step: 4 }]]);
  c.close(new Error('gone'));
  await assert.rejects(d, (e) => e.code === -32099 && /gone/.test(e.message));
  await assert.rejects(c.request('late'), (e) => e.code === -32099);
});
