'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const logic = require('../src/logic');

const example = `{
  "name": "xor-saddle",
  "model": {"input": 2, "layers": [{"kind": "dense", "units": 8, "activation": "tanh"},
                                   {"kind": "dense", "units": 1}],
            "loss": "mse", "seed": 1},
  "data": {"generate": {"kind": "xor", "samples": 200, "noise": 0.05, "labels": "signed", "seed": 2}},
  "optimizer": {
    "kind": "sgd",
    "lr": 0.05
  },
  "pipeline": {"batchSize": 32, "shuffle": true},
  "steps": 300,
  "seed": 3
}`;

test('fieldLines: keys and array elements on their 0-based lines', () => {
  const l = logic.fieldLines(example);
  const want = {
    name: 1, model: 2, 'model.layers': 2, 'model.layers[0]': 2, 'model.layers[1]': 3, 'model.layers[1].units': 3,
    'model.loss': 4, 'data.generate.kind': 5, optimizer: 6, 'optimizer.lr': 8, 'pipeline.batchSize': 10, steps: 11,
  };
  for (const [k, v] of Object.entries(want)) assert.equal(l.get(k), v, k);
});

test('fieldLines: keys inside strings and escaped quotes are not keys', () => {
  const l = logic.fieldLines('{"a": "x\\"lr\\": 1",\n "lr": 2,\n "b": {"lr": 3}}');
  assert.equal(l.get('lr'), 1);
  assert.equal(l.get('b.lr'), 2);
  assert.equal(l.has('x'), false);
});

test('lineFor: exact, dotted index, runFile prefix, enclosing field, fallback 0', () => {
  const l = logic.fieldLines(example);
  assert.equal(logic.lineFor(l, 'optimizer.lr'), 8);
  assert.equal(logic.lineFor(l, 'model.layers.1.units'), 3);
  assert.equal(logic.lineFor(l, 'params.runFile.optimizer.lr'), 8);
  assert.equal(logic.lineFor(l, 'optimizer.momentum'), 6);
  assert.equal(logic.lineFor(l, 'nowhere'), 0);
  assert.equal(logic.lineFor(l, undefined), 0);
  assert.equal(logic.fieldInMessage('`params.runFile.optimizer.lr` must be positive'), 'optimizer.lr');
  assert.equal(logic.fieldInMessage('`params.model` is required'), null);
});

const canned = {
  verdict: 'saddle', confidence: 0.75, reason: 'gradient ~0, λ_min < 0',
  evidence: [
    { name: 'gradNorm', value: 1e-7, threshold: 1e-6, comparison: '<=', decisive: true },
    { name: 'lossTrend', value: 'NaN', threshold: 0, comparison: '<', decisive: false },
  ],
  recommendations: [
    { id: 'largerLR', text: 'Raise the learning rate', field: 'optimizer.lr' },
    { id: 'momentum', text: 'Use momentum' },
    { id: 'batch', text: 'Batch', field: 'pipeline.batchSize' },
  ],
  missing: [],
};

test('diagnosticsFor: lines, VS Code severities, verdict/confidence/decisive evidence in every message', () => {
  const ds = logic.diagnosticsFor(canned, example);
  assert.deepEqual(ds.map((d) => [d.code, d.line]), [['verdict', 0], ['largerLR', 8], ['momentum', 0], ['batch', 10]]);
  for (const d of ds) {
    assert.equal(d.severity, 1, 'Warning is 1 in VS Code (2 in LSP)');
    assert.match(d.message, /saddle \(confidence 0\.75\)/);
    assert.ok(d.message.includes('gradNorm = 1e-7 (<= 0.000001)'), d.message);
    assert.ok(!d.message.includes('lossTrend'), 'non-decisive evidence left out');
  }
  const progressing = logic.diagnosticsFor({ ...canned, verdict: 'progressing' }, example);
  assert.ok(progressing.every((d) => d.severity === 2), 'Information is 2 in VS Code');
  const err = logic.errorDiagnostic('`params.runFile.optimizer.lr` must be > 0', example);
  assert.deepEqual([err.line, err.severity], [8, 0]);
});

test('fromLspSeverity shifts LSP (1..4) to VS Code (0..3)', () => {
  assert.deepEqual([1, 2, 3, 4].map(logic.fromLspSeverity), [0, 1, 2, 3]);
  assert.equal(logic.Severity.Error, 0);
  assert.equal(logic.Severity.Hint, 3);
});

test('statusText', () => {
  assert.equal(logic.statusText({ daemon: false }), 'saddle: off');
  assert.equal(logic.statusText({ daemon: true }), 'saddle: idle');
  assert.equal(logic.statusText({ daemon: true, run: 'r1', state: 'running', step: 120, loss: 0.23456 }),
    'saddle r1 running step 120 loss 0.2346');
  assert.equal(logic.statusText({ daemon: true, run: 'r1', state: 'completed', step: 300, loss: 'NaN', verdict: 'plateau', confidence: 0.5 }),
    'saddle r1 completed step 300 loss NaN | plateau 0.5');
});

test('plotSvg: polyline through finite points, non-finite ones skipped and counted, log scale', () => {
  const svg = logic.plotSvg([[0, 1], [1, 'NaN'], [2, 0.01], [3, Infinity], [4, 0.1]], { title: 'loss <x>', log: true, width: 100, height: 50 });
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.endsWith('</svg>'));
  assert.ok(svg.includes('loss &lt;x&gt; (log10) — 2 non-finite'));
  const pts = /points="([^"]+)"/.exec(svg)[1].split(' ').map((p) => p.split(',').map(Number));
  assert.equal(pts.length, 3);
  // x: 0..4 over [56, 92]; log10 y: 0 (top, y=20) .. -2 (bottom, y=28).
  assert.deepEqual(pts, [[56, 20], [74, 28], [92, 24]]);
  assert.ok(logic.plotSvg([], { title: 't' }).includes('no data'));
  const html = logic.plotsHtml('r1', [{ step: 1, loss: 1, gradNorm: 2 }, { step: 2, loss: 0.5, gradNorm: 1 }], canned);
  assert.equal((html.match(/<svg/g) || []).length, 2);
  assert.ok(html.includes('saddle (confidence 0.75)'));
});
