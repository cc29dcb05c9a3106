'use strict';
// Pure presentation logic of the Saddle extension: no `vscode`, no I/O. Verdicts, confidences and
// evidence come from the daemon; this module only places and formats them.

/** VS Code's DiagnosticSeverity values (from 0), unlike LSP's (from 1). */
const Severity = Object.freeze({ Error: 0, Warning: 1, Information: 2, Hint: 3 });

/** LSP DiagnosticSeverity (1 Error … 4 Hint) to VS Code's (0 … 3). */
function fromLspSeverity(lsp) {
  return Math.min(3, Math.max(0, (lsp | 0) - 1));
}

function join(parent, segment) {
  if (typeof segment === 'number') return `${parent || ''}[${segment}]`;
  return parent ? `${parent}.${segment}` : segment;
}

/**
 * Maps every field path in a JSON text to the 0-based line where its key (or array element) begins:
 * `optimizer.lr`, `model.layers[1].units`. Tolerates broken JSON; the first occurrence wins.
 * @param {string} text
 * @returns {Map<string, number>}
 */
function fieldLines(text) {
  const lines = new Map();
  const stack = [];
  let line = 0;
  let i = 0;
  const n = text.length;
  const valueBegins = () => {
    const top = stack[stack.length - 1];
    if (top && top.kind === 'array' && top.awaiting) {
      top.index += 1;
      top.awaiting = false;
      const path = join(top.path, top.index);
      if (!lines.has(path)) lines.set(path, line);
      return path;
    }
    if (top && top.kind === 'object') return join(top.path, top.key || '');
    return top ? top.path : '';
  };
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line += 1;
      i += 1;
    } else if (c === '"') {
      const startLine = line;
      let j = i + 1;
      let s = '';
      while (j < n) {
        const d = text[j];
        if (d === '\\') {
          s += text[j + 1] || '';
          j += 2;
        } else if (d === '"') {
          break;
        } else {
          if (d === '\n') line += 1;
          s += d;
          j += 1;
        }
      }
      const top = stack[stack.length - 1];
      if (top && top.kind === 'object' && top.expectKey) {
        top.key = s;
        top.expectKey = false;
        const path = join(top.path, s);
        if (!lines.has(path)) lines.set(path, startLine);
      } else {
        valueBegins();
      }
      i = j + 1;
    } else if (c === '{' || c === '[') {
      const path = valueBegins();
      stack.push({ kind: c === '{' ? 'object' : 'array', path, expectKey: c === '{', awaiting: c === '[', index: -1 });
      i += 1;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i += 1;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top && top.kind === 'object') top.expectKey = true;
      if (top && top.kind === 'array') top.awaiting = true;
      i += 1;
    } else if (c === ':' || c === ' ' || c === '\t' || c === '\r') {
      i += 1;
    } else {
      valueBegins();
      i += 1;
    }
  }
  return lines;
}

/** Drops a leading `params.`/`runFile.`, writes `layers.2` as `layers[2]`. */
function normalizeField(field) {
  return field.replace(/^params\./, '').replace(/^runFile\./, '').replace(/\.(\d+)/g, '[$1]');
}

/** 0-based line of `field` in a `fieldLines` map: the field, else its nearest enclosing field, else 0. */
function lineFor(lines, field) {
  if (typeof field !== 'string' || field === '') return 0;
  let f = normalizeField(field);
  while (f !== '') {
    if (lines.has(f)) return lines.get(f);
    const m = /^(.*)\[\d+\]$/.exec(f) || /^(.*)\.[^.[]*$/.exec(f);
    if (!m) break;
    f = m[1];
  }
  return 0;
}

/** The run-file path a daemon error names in backticks (`params.runFile.optimizer.lr` → `optimizer.lr`). */
function fieldInMessage(message) {
  if (typeof message !== 'string') return null;
  for (const m of message.matchAll(/`([^`]+)`/g)) {
    const k = m[1].indexOf('runFile.');
    if (k >= 0) return m[1].slice(k + 'runFile.'.length);
  }
  return null;
}

/** A daemon number (number or "NaN"/"Infinity" string) for display. */
function formatNumber(x) {
  if (typeof x === 'number') {
    if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
    return Number(x.toPrecision(4)).toString();
  }
  if (x === undefined || x === null) return '?';
  return String(x);
}

/** Whether a verdict is a stall (anything but `progressing`). */
function isStall(verdict) {
  return typeof verdict === 'string' && verdict !== 'progressing';
}

/** `name = value (cmp threshold)` of the decisive evidence, joined by `; `. */
function decisiveEvidence(diagnosis) {
  return (diagnosis.evidence || [])
    .filter((e) => e && e.decisive === true)
    .map((e) => `${e.name} = ${formatNumber(e.value)} (${e.comparison || '?'} ${formatNumber(e.threshold)})`)
    .join('; ');
}

function headline(diagnosis) {
  return `${diagnosis.verdict || '?'} (confidence ${formatNumber(diagnosis.confidence)})`;
}

/**
 * Diagnostics for a diagnosis on a run file's text: a summary on line 0, and one per recommendation
 * on the line of its `field` (line 0 without one). Warning for a stall verdict, Information for
 * progressing (VS Code numbering).
 * @returns {{line: number, severity: number, message: string, code?: string}[]}
 */
function diagnosticsFor(diagnosis, text) {
  const lines = fieldLines(text || '');
  const severity = isStall(diagnosis.verdict) ? Severity.Warning : Severity.Information;
  const head = headline(diagnosis);
  const decisive = decisiveEvidence(diagnosis);
  const evidence = decisive ? ` [decisive: ${decisive}]` : '';
  const out = [{ line: 0, severity, message: `saddle: ${head}: ${diagnosis.reason || ''}${evidence}`, code: 'verdict' }];
  for (const rec of diagnosis.recommendations || []) {
    out.push({
      line: lineFor(lines, rec.field),
      severity,
      message: `saddle: ${head}: ${rec.text || rec.id}${evidence}`,
      code: rec.id,
    });
  }
  return out;
}

/** The error diagnostic for a refused run/start: on the line of the field its message names. */
function errorDiagnostic(message, text) {
  const line = lineFor(fieldLines(text || ''), fieldInMessage(message));
  return { line, severity: Severity.Error, message: `saddle: ${message}`, code: 'runStart' };
}

/** Status-bar text: `$(pulse) saddle r1 running 120 loss 0.23 | saddle 0.75`. */
function statusText(state) {
  if (!state || !state.daemon) return 'saddle: off';
  if (!state.run) return 'saddle: idle';
  let text = `saddle ${state.run} ${state.state || '?'}`;
  if (state.step !== undefined && state.step !== null) text += ` step ${formatNumber(state.step)}`;
  if (state.loss !== undefined && state.loss !== null) text += ` loss ${formatNumber(state.loss)}`;
  if (state.verdict) text += ` | ${state.verdict} ${formatNumber(state.confidence)}`;
  return text;
}

function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * An SVG line plot of `points` ([x, y], y may be a non-finite number or string: those are skipped and
 * counted). `log` plots log10(y) of positive values. Returns a self-contained `<svg>` string.
 */
function plotSvg(points, { title = '', width = 480, height = 160, log = false, color = '#3b82f6' } = {}) {
  const pad = { left: 56, right: 8, top: 20, bottom: 22 };
  const finite = [];
  let skipped = 0;
  for (const [x, raw] of points) {
    const y = typeof raw === 'number' ? raw : Number.NaN;
    if (!Number.isFinite(y) || !Number.isFinite(x) || (log && y <= 0)) {
      skipped += 1;
      continue;
    }
    finite.push([x, log ? Math.log10(y) : y]);
  }
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="${pad.left}" y="14" font-size="12" fill="currentColor">${escapeXml(title)}${log ? ' (log10)' : ''}${
      skipped ? ` — ${skipped} non-finite` : ''
    }</text>`,
  ];
  if (finite.length === 0) {
    parts.push(`<text x="${pad.left}" y="${height / 2}" font-size="12" fill="currentColor">no data</text>`, '</svg>');
    return parts.join('');
  }
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of finite) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const sx = (x) => pad.left + ((x - x0) / (x1 - x0)) * w;
  const sy = (y) => pad.top + (1 - (y - y0) / (y1 - y0)) * h;
  const path = finite.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  const label = (v) => formatNumber(log ? 10 ** v : v);
  parts.push(
    `<rect x="${pad.left}" y="${pad.top}" width="${w}" height="${h}" fill="none" stroke="currentColor" stroke-opacity="0.3"/>`,
    `<text x="${pad.left - 4}" y="${pad.top + 10}" font-size="10" text-anchor="end" fill="currentColor">${escapeXml(label(y1))}</text>`,
    `<text x="${pad.left - 4}" y="${pad.top + h}" font-size="10" text-anchor="end" fill="currentColor">${escapeXml(label(y0))}</text>`,
    `<text x="${pad.left}" y="${height - 6}" font-size="10" fill="currentColor">${escapeXml(formatNumber(x0))}</text>`,
    `<text x="${pad.left + w}" y="${height - 6}" font-size="10" text-anchor="end" fill="currentColor">${escapeXml(formatNumber(x1))}</text>`,
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/>`,
    '</svg>',
  );
  return parts.join('');
}

/** The plots webview's HTML for a run's run/step events: loss (log scale) and gradient norm. */
function plotsHtml(runId, steps, diagnosis) {
  const num = (v) => (typeof v === 'number' ? v : Number.NaN);
  const loss = steps.map((s) => [s.step, num(s.loss)]);
  const grad = steps.filter((s) => s.gradNorm !== undefined).map((s) => [s.step, num(s.gradNorm)]);
  const verdict = diagnosis ? `<p>${escapeXml(headline(diagnosis))}: ${escapeXml(diagnosis.reason || '')}</p>` : '';
  return [
    '<!DOCTYPE html><html><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">`,
    `<title>Saddle ${escapeXml(runId || '')}</title></head><body>`,
    `<h3>Run ${escapeXml(runId || '—')}</h3>`,
    verdict,
    plotSvg(loss, { title: 'loss', log: true }),
    plotSvg(grad, { title: 'gradient norm', log: true, color: '#ef4444' }),
    '</body></html>',
  ].join('');
}

module.exports = {
  Severity,
  fromLspSeverity,
  fieldLines,
  normalizeField,
  lineFor,
  fieldInMessage,
  formatNumber,
  isStall,
  decisiveEvidence,
  headline,
  diagnosticsFor,
  errorDiagnostic,
  statusText,
  plotSvg,
  plotsHtml,
};
