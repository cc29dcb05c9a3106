'use strict';
// A small fake of the `vscode` module: just what the Saddle extension uses, recording what it is
// given. install() makes `require('vscode')` return it (Module._resolveFilename + require.cache).

const Module = require('module');
const path = require('path');

const STUB_ID = path.join(__dirname, '__vscode_stub__.js');

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(startLine, startCharacter, endLine, endCharacter) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
}

class Diagnostic {
  constructor(range, message, severity) {
    this.range = range;
    this.message = message;
    this.severity = severity;
  }
}

function createStub(settings = {}) {
  const commands = new Map();
  const messages = [];
  const collections = [];
  const statusItems = [];
  const panels = [];
  const uriFile = (fsPath) => ({ scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` });
  const stub = {
    DiagnosticSeverity: Object.freeze({ Error: 0, Warning: 1, Information: 2, Hint: 3 }),
    StatusBarAlignment: Object.freeze({ Left: 1, Right: 2 }),
    ViewColumn: Object.freeze({ Active: -1, Beside: -2, One: 1 }),
    Position,
    Range,
    Diagnostic,
    Uri: { file: uriFile },
    languages: {
      createDiagnosticCollection(name) {
        const entries = new Map();
        const c = {
          name,
          set: (uri, list) => entries.set(uri.toString(), list),
          get: (uri) => entries.get(uri.toString()),
          delete: (uri) => entries.delete(uri.toString()),
          clear: () => entries.clear(),
          dispose: () => entries.clear(),
          entries,
        };
        collections.push(c);
        return c;
      },
    },
    window: {
      activeTextEditor: undefined,
      createStatusBarItem(alignment, priority) {
        const item = { alignment, priority, text: '', tooltip: '', command: undefined, shown: false };
        item.show = () => { item.shown = true; };
        item.hide = () => { item.shown = false; };
        item.dispose = () => { item.shown = false; };
        statusItems.push(item);
        return item;
      },
      createWebviewPanel(viewType, title, column, options) {
        const disposeListeners = [];
        const panel = {
          viewType, title, column, options, webview: { html: '' },
          onDidDispose: (fn) => disposeListeners.push(fn),
          dispose: () => disposeListeners.forEach((fn) => fn()),
        };
        panels.push(panel);
        return panel;
      },
      showInformationMessage: (m) => { messages.push({ kind: 'info', message: m }); return Promise.resolve(); },
      showWarningMessage: (m) => { messages.push({ kind: 'warning', message: m }); return Promise.resolve(); },
      showErrorMessage: (m) => { messages.push({ kind: 'error', message: m }); return Promise.resolve(); },
    },
    commands: {
      registerCommand(id, fn) {
        if (commands.has(id)) throw new Error(`command ${id} registered twice`);
        commands.set(id, fn);
        return { dispose: () => commands.delete(id) };
      },
      executeCommand(id, ...args) {
        const fn = commands.get(id);
        if (!fn) return Promise.reject(new Error(`command ${id} not found`));
        return Promise.resolve(fn(...args));
      },
    },
    workspace: {
      getConfiguration(section) {
        return { get: (key, dflt) => (settings[`${section}.${key}`] !== undefined ? settings[`${section}.${key}`] : dflt) };
      },
    },
    // Test hooks.
    _commands: commands,
    _messages: messages,
    _collections: collections,
    _statusItems: statusItems,
    _panels: panels,
  };
  return stub;
}

/** Makes `require('vscode')` return `stub` from now on. */
function install(stub) {
  const original = Module._resolveFilename;
  if (!Module._resolveFilename.saddleStub) {
    const resolve = function (request, ...rest) {
      if (request === 'vscode') return STUB_ID;
      return original.call(this, request, ...rest);
    };
    resolve.saddleStub = true;
    Module._resolveFilename = resolve;
  }
  const m = new Module(STUB_ID);
  m.filename = STUB_ID;
  m.loaded = true;
  m.exports = stub;
  require.cache[STUB_ID] = m;
  return stub;
}

/** A text document of a file on disk (uri, getText, fileName). */
function documentOf(fsPath, text) {
  return { uri: { scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` }, fileName: fsPath,
    languageId: 'json', getText: () => text };
}

/** Resolves when `cond()` holds after a session change (or at once); rejects after `ms`. */
function until(session, cond, ms, what) {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const sub = session.onDidChange(() => {
      if (cond()) {
        clearTimeout(timer);
        sub.dispose();
        resolve();
      }
    });
  });
}

module.exports = { createStub, install, documentOf, until };
