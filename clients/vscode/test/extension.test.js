'use strict';
// The extension's logic against the REAL daemon, with only the `vscode` module faked.
// Daemon: $SADDLED, else <repo>/.build/debug/saddled; missing -> these tests fail.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createStub, install, documentOf, until } = require('./vscode-stub');

const repo = path.resolve(__dirname, '..', '..', '..');
const daemon = process.env.SADDLED || path.join(repo, '.build', 'debug', 'saddled');
const daemonPresent = (() => {
  try {
    fs.accessSync(daemon, fs.constants.X_OK);
    return true;
  } catch (_) {
    return false;
  }
})();

const vscode = install(createStub({ 'saddle.daemonPath': daemon, 'saddle.daemonArgs': ['--store', ':memory:'] }));
const extension = require('../src/extension');
const logic = require('../src/logic');

const example = fs.readFileSync(path.join(__dirname, 'fixtures', 'xor.saddle.json'), 'utf8');

function writeRunFile(text, name = 'xor.saddle.json') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saddle-vscode-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return documentOf(file, text);
}


function runFileUnsupported(e) {
  return e && e.code === -32602 && /runFile/.test(e.message) && /not a known field/.test(e.message);
}

test('the daemon binary exists', () => {
  assert.ok(daemonPresent, `saddled not found at ${daemon}: swift build, or set $SADDLED`);
});

test('extension against the real daemon', { skip: !daemonPresent && 'no daemon (the test above fails)' }, async (t) => {
  const context = { subscriptions: [] };
  const session = extension.activate(context);
  const status = vscode._statusItems[0];
  t.after(() => extension.deactivate());

  await t.test('activate registers the commands and shows the status bar', () => {
    for (const id of ['saddle.start', 'saddle.run', 'saddle.stop', 'saddle.diagnose', 'saddle.showPlots']) {
      assert.ok(vscode._commands.has(id), id);
    }
    assert.equal(status.shown, true);
    assert.equal(status.text, 'saddle: off');
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), [...vscode._commands.keys()].sort(),
      'package.json contributes exactly the registered commands');
  });

  await t.test('saddle.start initializes; status bar says idle', async () => {
    const init = await vscode.commands.executeCommand('saddle.start');
    assert.ok(init.capabilities.methods.includes('daemon/status'));
    assert.equal(init.serverInfo.name, 'saddled');
    assert.equal(status.text, 'saddle: idle');
  });

  await t.test('daemon/status answers with the server version', async () => {
    const s = await session.request('daemon/status');
    assert.equal(s.version, session.serverInfo.version);
    assert.equal(s.models, 0);
  });

  await t.test('daemon/busy reports $/progress and is cancelled with -32800', async () => {
    const started = Date.now();
    const busy = session.daemon.connection.request('daemon/busy', { milliseconds: 20000, workDoneToken: 'vs1' });
    await until(session, () => session.progress.has('vs1'), 5000, '$/progress');
    assert.equal(session.progress.get('vs1').kind, 'begin');
    session.daemon.connection.cancel(busy.id);
    await assert.rejects(busy, (e) => e.code === -32800);
    assert.ok(Date.now() - started < 10000, 'cancelled well before 20 s');
  });

  await t.test('a run streams run/step and run/finished; status bar and plots follow', async () => {
    const spec = JSON.parse(example);
    const m = await session.request('model/create', { spec: spec.model });
    const d = await session.request('dataset/generate', spec.data.generate);
    const doc = writeRunFile(example);
    const r = await session.request('run/start', {
      model: m.id, dataset: d.id, optimizer: spec.optimizer, pipeline: spec.pipeline, steps: 2000, seed: 3,
    });
    session.track(r.run, doc);
    await until(session, () => session.finished !== null, 30000, 'run/finished');
    assert.equal(session.finished.reason, 'completed');
    assert.equal(session.finished.steps, 2000);
    assert.ok(session.steps.length >= 1, 'at least one run/step');
    assert.ok(status.text.startsWith(`saddle ${r.run} completed step 2000 loss `), status.text);
    await vscode.commands.executeCommand('saddle.showPlots');
    const html = vscode._panels[0].webview.html;
    assert.equal((html.match(/<svg/g) || []).length, 2, 'loss and gradient-norm plots');
    assert.ok(html.includes('<polyline'), 'a line through the run/step losses');
  });

  await t.test('a diagnosis from the daemon becomes diagnostics with VS Code severities', async () => {
    const doc = session.document;
    const diagnosis = await session.request('diagnose', { evidence: { gradNorm: 1e-7, lambdaMin: -2, lambdaMax: 10 } });
    assert.equal(diagnosis.verdict, 'saddle');
    session.applyDiagnosis(diagnosis, doc);
    const list = session.diagnostics.get(doc.uri);
    assert.equal(list.length, 1 + diagnosis.recommendations.length);
    for (const dg of list) {
      assert.ok(dg instanceof vscode.Diagnostic);
      assert.equal(dg.severity, vscode.DiagnosticSeverity.Warning);
      assert.equal(dg.source, 'saddle');
      assert.ok(dg.message.includes('lambdaMin = -2'), dg.message);
    }
    assert.ok(status.text.endsWith('| saddle 0.75'), status.text);
  });

  await t.test('a run/diagnosis notification for the current run replaces the diagnostics', () => {
    const doc = session.document;
    const diagnosis = {
      verdict: 'progressing', confidence: 0.9, reason: 'loss falls',
      evidence: [{ name: 'lossSlope', value: -0.1, threshold: 0, comparison: '<', decisive: true }],
      recommendations: [{ id: 'lr', text: 'Keep going', field: 'optimizer.lr' }, { id: 'bs', text: 'b', field: 'pipeline.batchSize' }],
      missing: [],
    };
    session.onNotification('run/diagnosis', { run: 'someone-else', step: 1, diagnosis: { ...diagnosis, verdict: 'plateau' } });
    assert.equal(session.verdict, 'saddle', "another run's diagnosis is ignored");
    session.onNotification('run/diagnosis', { run: session.run, step: 10, diagnosis });
    const list = session.diagnostics.get(doc.uri);
    assert.deepEqual(list.map((d) => [d.code, d.range.start.line, d.severity]),
      [['verdict', 0, 2], ['lr', 8, 2], ['bs', 10, 2]]);
    assert.ok(status.text.endsWith('| progressing 0.9'), status.text);
  });

  await t.test('saddle.run runs the run file; diagnostics land on the fields\' lines', async (tt) => {
    const doc = writeRunFile(example);
    let result;
    try {
      result = await vscode.commands.executeCommand('saddle.run', doc);
    } catch (e) {
      if (runFileUnsupported(e)) return tt.skip(`daemon has no run/start runFile yet: ${e.message}`);
      throw e;
    }
    assert.equal(typeof result.run, 'string');
    await until(session, () => session.finished !== null, 30000, 'run/finished');
    assert.equal(session.finished.reason, 'completed');
    await until(session, () => session.diagnosis !== null, 30000, 'a diagnosis');
    const diagnosis = session.diagnosis;
    const list = session.diagnostics.get(doc.uri);
    const want = logic.isStall(diagnosis.verdict) ? 1 : 2;
    const lines = logic.fieldLines(example);
    for (const dg of list) assert.equal(dg.severity, want);
    for (const rec of diagnosis.recommendations || []) {
      const dg = list.find((x) => x.code === rec.id);
      assert.ok(dg, rec.id);
      assert.equal(dg.range.start.line, logic.lineFor(lines, rec.field), `${rec.id} on the line of ${rec.field}`);
    }
  });

  await t.test('a refused run file puts the error on the field\'s line', async (tt) => {
    const bad = example.replace('"lr": 0.05', '"lr": -1');
    const doc = writeRunFile(bad, 'bad.saddle.json');
    const err = await vscode.commands.executeCommand('saddle.run', doc).then(() => null, (e) => e);
    if (runFileUnsupported(err)) return tt.skip('daemon has no run/start runFile yet');
    assert.ok(err, 'a negative lr is refused');
    const list = session.diagnostics.get(doc.uri);
    assert.equal(list.length, 1);
    assert.equal(list[0].severity, vscode.DiagnosticSeverity.Error);
    assert.equal(list[0].range.start.line, 8, list[0].message);
  });

  await t.test('deactivate shuts the daemon down', async () => {
    const child = session.daemon.process;
    await extension.deactivate();
    assert.ok(child.exitCode !== null || child.signalCode !== null, 'the process has ended');
    assert.equal(child.exitCode, 0, 'shutdown then exit: code 0');
  });
});
