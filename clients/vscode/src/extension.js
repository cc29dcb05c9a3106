'use strict';
// Saddle for VS Code: starts saddled (or attaches to a running one on its socket), runs the open run
// file, shows the daemon's verdicts as diagnostics on the run file, in the status bar, and as plots in a webview. Thin: nothing here
// computes a verdict.

const os = require('os');
const path = require('path');
const vscode = require('vscode');
const rpc = require('./rpc');
const logic = require('./logic');

/** The extension's one session: the daemon connection and what it has said about the current run. */
class Session {
  constructor(context) {
    this.context = context;
    this.daemon = null;
    this.capabilities = null;
    this.serverInfo = null;
    this.run = null;
    this.document = null; // the run file's TextDocument
    this.state = null;
    this.step = null;
    this.loss = null;
    this.verdict = null;
    this.confidence = null;
    this.diagnosis = null;
    this.finished = null;
    this.steps = [];
    this.progress = new Map();
    this.lastError = null;
    this.listeners = new Set();
    this.panel = null;
    this.diagnostics = vscode.languages.createDiagnosticCollection('saddle');
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 100);
    this.status.command = 'saddle.showPlots';
    this.status.tooltip = 'Saddle: show the current run’s plots';
    this.refresh();
    this.status.show();
    context.subscriptions.push(this.diagnostics, this.status);
  }

  /** What the status bar and tests read. */
  snapshot() {
    return {
      daemon: this.daemon !== null,
      run: this.run,
      state: this.state,
      step: this.step,
      loss: this.loss,
      verdict: this.verdict,
      confidence: this.confidence,
    };
  }

  /** Calls `fn()` after every change (tests wait on it). */
  onDidChange(fn) {
    this.listeners.add(fn);
    return { dispose: () => this.listeners.delete(fn) };
  }

  refresh() {
    this.status.text = logic.statusText(this.snapshot());
    if (this.panel) this.panel.webview.html = logic.plotsHtml(this.run, this.steps, this.diagnosis);
    for (const fn of this.listeners) fn();
  }

  supports(method) {
    return Boolean(this.capabilities && (this.capabilities.methods || []).includes(method));
  }

  publishes(notification) {
    return Boolean(this.capabilities && (this.capabilities.serverNotifications || []).includes(notification));
  }

  daemonCommand() {
    const config = vscode.workspace.getConfiguration('saddle');
    const command = config.get('daemonPath') || process.env.SADDLED || 'saddled';
    const args = config.get('daemonArgs') || [];
    const socketPath = expandHome(config.get('socketPath') || '');
    return { command, args, socketPath };
  }

  async start() {
    if (this.daemon) return { capabilities: this.capabilities, serverInfo: this.serverInfo };
    const { command, args, socketPath } = this.daemonCommand();
    let daemon;
    try {
      daemon = socketPath
        ? await rpc.attachDaemon(socketPath, 'saddle-vscode')
        : await rpc.startDaemon(command, args, 'saddle-vscode');
    } catch (e) {
      this.lastError = socketPath
        ? `cannot attach to saddled at ${socketPath}: ${e.message}`
        : `cannot start saddled (${command}): ${e.message}`;
      const hint = socketPath ? `Start it with saddled --listen ${socketPath}, or clear saddle.socketPath.` : 'Set saddle.daemonPath.';
      vscode.window.showErrorMessage(`Saddle: ${this.lastError}. ${hint}`);
      throw e;
    }
    this.daemon = daemon;
    this.capabilities = daemon.initialize.capabilities;
    this.serverInfo = daemon.initialize.serverInfo;
    daemon.connection.onNotification((method, params) => this.onNotification(method, params));
    // A spawned daemon ends with its process; an attached one with this client's socket.
    const ended = daemon.attached ? [daemon.socket, 'close'] : [daemon.process, 'exit'];
    ended[0].once(ended[1], () => {
      if (this.daemon === daemon) {
        this.daemon = null;
        this.refresh();
      }
    });
    this.refresh();
    return daemon.initialize;
  }

  async request(method, params) {
    if (!this.daemon) await this.start();
    return this.daemon.connection.request(method, params);
  }

  onNotification(method, p) {
    const run = p.run;
    switch (method) {
      case 'run/step':
        if (run !== this.run) return;
        this.step = p.step;
        this.loss = p.loss;
        this.steps.push(p);
        break;
      case 'run/finished':
        if (run !== this.run) return;
        this.finished = p;
        this.state = p.reason;
        if (p.steps !== undefined) this.step = p.steps;
        if (p.lastLoss !== undefined) this.loss = p.lastLoss;
        // A daemon that publishes run/diagnosis sends the final diagnosis itself.
        if (this.supports('diagnose') && !this.publishes('run/diagnosis')) {
          this.request('diagnose', { run })
            .then((d) => {
              if (this.run === run) this.applyDiagnosis(d);
            })
            .catch((e) => {
              this.lastError = e.message;
              this.refresh();
            });
        }
        break;
      case 'run/diagnosis':
        if (run !== this.run) return;
        this.applyDiagnosis(p.diagnosis);
        return;
      case '$/progress':
        this.progress.set(String(p.token), p.value);
        break;
      default:
        return;
    }
    this.refresh();
  }

  /** Diagnostics from a diagnosis onto the run file, verdict into the status bar. */
  applyDiagnosis(diagnosis, document = this.document) {
    if (!diagnosis || typeof diagnosis !== 'object') return;
    this.diagnosis = diagnosis;
    this.verdict = diagnosis.verdict;
    this.confidence = diagnosis.confidence;
    if (document) {
      const text = document.getText();
      this.diagnostics.set(document.uri, logic.diagnosticsFor(diagnosis, text).map((d) => toDiagnostic(d, text)));
    }
    this.refresh();
  }

  /** Follows run `run` whose run file is `document`. */
  track(run, document) {
    this.run = run;
    this.document = document || null;
    this.state = 'running';
    this.step = this.loss = this.verdict = this.confidence = this.diagnosis = this.finished = null;
    this.steps = [];
    if (document) this.diagnostics.delete(document.uri);
    this.refresh();
  }

  /** `run/start` with the document's JSON as `runFile` and its folder as `runFileDirectory`. */
  async runDocument(document) {
    if (!document) throw new Error('no run file: open a run-file JSON document');
    const text = document.getText();
    let runFile;
    try {
      runFile = JSON.parse(text);
    } catch (e) {
      vscode.window.showErrorMessage(`Saddle: the document is not a JSON run file: ${e.message}`);
      throw e;
    }
    const runFileDirectory = document.uri && document.uri.fsPath ? path.dirname(document.uri.fsPath) : process.cwd();
    let result;
    try {
      result = await this.request('run/start', { runFile, runFileDirectory });
    } catch (e) {
      this.lastError = e.message;
      this.diagnostics.set(document.uri, [toDiagnostic(logic.errorDiagnostic(e.message, text), text)]);
      vscode.window.showErrorMessage(`Saddle: run/start failed: ${e.message}`);
      throw e;
    }
    this.track(result.run, document);
    this.state = result.state || 'running';
    this.refresh();
    vscode.window.showInformationMessage(`Saddle: started ${result.run}`);
    return result;
  }

  async stop() {
    if (!this.run) throw new Error('no run');
    return this.request('run/stop', { run: this.run });
  }

  async diagnose() {
    if (!this.run) throw new Error('no run');
    const d = await this.request('diagnose', { run: this.run });
    this.applyDiagnosis(d);
    vscode.window.showInformationMessage(`Saddle: ${logic.headline(d)}: ${d.reason || ''}`);
    return d;
  }

  showPlots() {
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('saddlePlots', 'Saddle plots', vscode.ViewColumn.Beside, {
        enableScripts: false,
      });
      this.panel.onDidDispose(() => {
        this.panel = null;
      });
    }
    this.panel.webview.html = logic.plotsHtml(this.run, this.steps, this.diagnosis);
    return this.panel;
  }

  async dispose() {
    const daemon = this.daemon;
    this.daemon = null;
    if (daemon) await rpc.stopDaemon(daemon);
  }
}

/** `~/x` as $HOME/x; anything else unchanged. */
function expandHome(p) {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** A logic diagnostic ({line, severity, message, code}) as a vscode.Diagnostic spanning the line. */
function toDiagnostic(d, text) {
  const lineText = (text || '').split('\n')[d.line] || '';
  const range = new vscode.Range(d.line, 0, d.line, lineText.replace(/\r$/, '').length);
  const diagnostic = new vscode.Diagnostic(range, d.message, d.severity);
  diagnostic.source = 'saddle';
  if (d.code) diagnostic.code = d.code;
  return diagnostic;
}

let session = null;

function activate(context) {
  session = new Session(context);
  const report = (e) => {
    if (e) vscode.window.showErrorMessage(`Saddle: ${e.message}`);
  };
  const register = (id, fn) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, (...args) => {
        const out = fn(...args);
        if (out && typeof out.catch === 'function') out.catch(report);
        return out;
      }),
    );
  register('saddle.start', () => session.start());
  register('saddle.run', (document) => {
    const doc = document && typeof document.getText === 'function'
      ? document
      : vscode.window.activeTextEditor && vscode.window.activeTextEditor.document;
    return session.runDocument(doc);
  });
  register('saddle.stop', () => session.stop());
  register('saddle.diagnose', () => session.diagnose());
  register('saddle.showPlots', () => session.showPlots());
  return session;
}

async function deactivate() {
  if (session) {
    const s = session;
    session = null;
    await s.dispose();
  }
}

module.exports = { activate, deactivate, Session, toDiagnostic };
