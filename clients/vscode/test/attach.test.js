'use strict';
// The extension attached to a shared daemon (`saddled --listen PATH`, setting saddle.socketPath), with only
// the `vscode` module faked. Daemon: $SADDLED, else <repo>/.build/debug/saddled; missing -> these tests fail.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createStub, install, documentOf, until } = require('./vscode-stub');

const repo = path.resolve(__dirname, '..', '..', '..');
const daemon = process.env.SADDLED || path.join(repo, '.build', 'debug', 'saddled');
const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'saddle-attach-'));
const socketPath = path.join(socketDir, 'saddled.sock');

const settings = { 'saddle.socketPath': socketPath, 'saddle.daemonPath': '/nonexistent/saddled-must-not-spawn' };
const vscode = install(createStub(settings));
const extension = require('../src/extension');
const rpc = require('../src/rpc');

const example = fs.readFileSync(path.join(__dirname, 'fixtures', 'xor.saddle.json'), 'utf8');


async function waitForSocket(ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (fs.statSync(socketPath).isSocket()) return;
    } catch (_) {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no socket at ${socketPath} after ${ms} ms`);
}

test('the extension attached to saddled --listen', async (t) => {
  assert.ok(fs.existsSync(daemon), `saddled not found at ${daemon}: swift build, or set $SADDLED`);
  const child = spawn(daemon, ['--listen', socketPath, '--store', ':memory:'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', () => {});
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    await extension.deactivate();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  await waitForSocket(10000);

  const session = extension.activate({ subscriptions: [] });
  const status = vscode._statusItems[0];
  let firstModels;

  await t.test('saddle.start attaches (no process spawned) and initializes', async () => {
    const init = await vscode.commands.executeCommand('saddle.start');
    assert.equal(init.serverInfo.name, 'saddled');
    assert.ok(init.capabilities.methods.includes('daemon/status'));
    assert.equal(session.daemon.attached, true);
    assert.equal(session.daemon.process, undefined, 'no child process when attached');
    assert.equal(status.text, 'saddle: idle');
  });

  await t.test('daemon/status answers over the socket', async () => {
    const s = await session.request('daemon/status');
    assert.equal(s.version, session.serverInfo.version);
    assert.equal(s.models, 0, 'a fresh daemon has no models');
    firstModels = s.models;
  });

  await t.test('saddle.run runs the run file; run/finished and diagnostics arrive on the socket', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saddle-vscode-'));
    const file = path.join(dir, 'xor.saddle.json');
    fs.writeFileSync(file, example);
    const doc = documentOf(file, example);
    const result = await vscode.commands.executeCommand('saddle.run', doc);
    assert.equal(typeof result.run, 'string');
    await until(session, () => session.finished !== null, 30000, 'run/finished');
    assert.equal(session.finished.reason, 'completed');
    assert.ok(session.steps.length >= 1, 'at least one run/step over the socket');
    await until(session, () => session.diagnosis !== null, 30000, 'a diagnosis');
    const list = session.diagnostics.get(doc.uri);
    assert.ok(list.length >= 1, 'diagnostics on the run file');
    assert.equal(list[0].source, 'saddle');
    assert.ok(list[0].message.includes(session.diagnosis.verdict), list[0].message);
  });

  await t.test('deactivate closes only the connection; the daemon keeps serving', async () => {
    const socket = session.daemon.socket;
    await extension.deactivate();
    assert.equal(socket.destroyed, true, 'the socket is closed');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(child.exitCode, null, 'the daemon process still runs');
    assert.equal(child.signalCode, null, 'the daemon process still runs');
  });

  await t.test('a second attach sees the shared workspace', async () => {
    const second = new extension.Session({ subscriptions: [] });
    await second.start();
    assert.equal(second.daemon.attached, true);
    const s = await second.request('daemon/status');
    assert.ok(s.models >= firstModels + 1, `the first client's run-file model is visible: ${s.models}`);
    await second.dispose();
    assert.equal(child.exitCode, null, 'still serving after the second detach');
  });

  await t.test('attachDaemon rejects when nothing listens on the path', async () => {
    await assert.rejects(rpc.attachDaemon(path.join(socketDir, 'nothing.sock')), (e) => e.code === 'ENOENT');
  });
});
