import { Messenger } from '../../src/protocol/messenger';
import type { CompareData, HostReplies, HostToWebview, InspectorSnapshot, WebviewToHost } from '../../src/protocol/webview';
import type { Scenario } from './fixtures';
import { decodeWire } from './wire';

/**
 * A small fake of the extension's side of the Inspector protocol, for the standalone page: acquireVsCodeApi,
 * VS Code's theme variables (Dark Modern, Light Modern), the `ready` → `init` handshake with a real engine
 * fixture, "Compare with RNN", exports, and a replayed training run. `window.__host` lets the screenshot script
 * ask for the view's state through the test-only `getState` request, switch themes, and move the cursor.
 * Query: ?scenario=demo|gru|rnn|bench&theme=dark|light[&live=1][&fresh=1].
 */

// The root tsconfig has no DOM lib (this file is bundled for the browser): declare what it uses.
declare const window: {
  postMessage(message: unknown, targetOrigin: string): void;
  location: { search: string };
  sessionStorage: { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void };
  setTimeout(f: () => void, ms: number): number;
  [key: string]: unknown;
};
declare const document: {
  documentElement: { style: { setProperty(name: string, value: string): void } };
  body: { className: string; setAttribute(name: string, value: string): void };
};

const THEMES: Record<'dark' | 'light', Record<string, string>> = {
  dark: {
    'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc', foreground: '#cccccc', descriptionForeground: '#9d9d9d',
    'widget-border': '#313131', 'panel-border': '#2b2b2b', focusBorder: '#0078d4', 'button-background': '#0078d4',
    'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131',
    'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c', 'button-border': '#ffffff12',
    'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c', 'dropdown-foreground': '#cccccc', 'input-background': '#313131',
    'input-border': '#3c3c3c', 'input-foreground': '#cccccc', 'editorHoverWidget-background': '#202020',
    'editorHoverWidget-border': '#454545', 'editorHoverWidget-foreground': '#cccccc', 'editorWidget-background': '#202020',
    'widget-shadow': '#0000005c', 'charts-blue': '#3794ff', 'charts-orange': '#d18616', 'charts-green': '#89d185',
    'charts-purple': '#b180d7', 'charts-red': '#f14c4c', 'charts-yellow': '#cca700', 'charts-foreground': '#cccccc',
    'charts-lines': '#cccccc80', 'editorCursor-foreground': '#aeafad', 'editor-selectionBackground': '#264f78',
    'textLink-foreground': '#4daafc', 'toolbar-hoverBackground': '#5a5d5e50', 'list-hoverBackground': '#2a2d2e',
    'list-inactiveSelectionBackground': '#37373d', 'panelTitle-activeBorder': '#0078d4', 'panelTitle-activeForeground': '#cccccc',
    'panelTitle-inactiveForeground': '#9d9d9d', 'progressBar-background': '#0078d4', 'textCodeBlock-background': '#2b2b2b',
    'editorWarning-foreground': '#cca700', errorForeground: '#f85149', 'inputValidation-errorBorder': '#be1100',
    'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-infoBorder': '#1a85ff',
  },
  light: {
    'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b', foreground: '#3b3b3b', descriptionForeground: '#616161',
    'widget-border': '#e5e5e5', 'panel-border': '#e5e5e5', focusBorder: '#005fb8', 'button-background': '#005fb8',
    'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5',
    'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc', 'button-border': '#0000001a',
    'dropdown-background': '#ffffff', 'dropdown-border': '#cecece', 'dropdown-foreground': '#3b3b3b', 'input-background': '#ffffff',
    'input-border': '#cecece', 'input-foreground': '#3b3b3b', 'editorHoverWidget-background': '#f8f8f8',
    'editorHoverWidget-border': '#c8c8c8', 'editorHoverWidget-foreground': '#3b3b3b', 'editorWidget-background': '#f8f8f8',
    'widget-shadow': '#00000029', 'charts-blue': '#1a85ff', 'charts-orange': '#d18616', 'charts-green': '#388a34',
    'charts-purple': '#652d90', 'charts-red': '#e51400', 'charts-yellow': '#bf8803', 'charts-foreground': '#616161',
    'charts-lines': '#61616180', 'editorCursor-foreground': '#000000', 'editor-selectionBackground': '#add6ff',
    'textLink-foreground': '#005fb8', 'toolbar-hoverBackground': '#b8b8b850', 'list-hoverBackground': '#f2f2f2',
    'list-inactiveSelectionBackground': '#e4e6f1', 'panelTitle-activeBorder': '#005fb8', 'panelTitle-activeForeground': '#3b3b3b',
    'panelTitle-inactiveForeground': '#616161', 'progressBar-background': '#005fb8', 'textCodeBlock-background': '#f8f8f8',
    'editorWarning-foreground': '#bf8803', errorForeground: '#f85149', 'inputValidation-errorBorder': '#be1100',
    'inputValidation-errorBackground': '#f2dede', 'inputValidation-infoBorder': '#007acc',
  },
};

function setTheme(kind: 'dark' | 'light'): void {
  const style = document.documentElement.style;
  for (const [k, v] of Object.entries(THEMES[kind])) style.setProperty(`--vscode-${k}`, v);
  style.setProperty('--vscode-font-family', 'system-ui, "Ubuntu", "Droid Sans", sans-serif');
  style.setProperty('--vscode-font-size', '13px');
  style.setProperty('--vscode-editor-font-family', '"DejaVu Sans Mono", "Droid Sans Mono", monospace');
  style.setProperty('--vscode-editor-font-size', '13px');
  document.body.className = kind === 'dark' ? 'vscode-dark' : 'vscode-light';
  document.body.setAttribute('data-vscode-theme-kind', document.body.className);
}

const query = new URLSearchParams(window.location.search);
const scenarioName = query.get('scenario') ?? 'demo';
const live = query.get('live') === '1';
if (query.get('fresh') === '1') window.sessionStorage.removeItem('gatescope.state');
setTheme(query.get('theme') === 'light' ? 'light' : 'dark');

const received: WebviewToHost[] = [];
const exportsSeen: string[] = [];
let scenario: Scenario | null = null;
const loaded = fetch(`/data/${scenarioName}.bin`).then((r) => r.arrayBuffer()).then((b) => { scenario = decodeWire(b) as Scenario; });

const messenger = new Messenger<HostToWebview, WebviewToHost, HostReplies>({ postMessage: (m) => window.postMessage(m, '*') }, {
  onNotification: (n) => {
    received.push(n);
    if (n.type === 'ready') void loaded.then(() => sendInit());
  },
  onRequest: async (req) => {
    received.push(req);
    switch (req.type) {
      case 'compareWithRnn':
        await compare();
        return undefined;
      case 'reach':
        throw new Error('this standalone page has no engine (open the inspector in VS Code)');
      case 'exportPng':
        exportsSeen.push(`${req.name}.png (${req.png.length} bytes)`);
        return { path: `/tmp/${req.name}.png` };
      case 'exportTrace':
        exportsSeen.push('trace.json');
        return { path: '/tmp/trace.json' };
      case 'exportLossCsv':
        exportsSeen.push('loss.csv');
        return { path: '/tmp/loss.csv' };
      default:
        throw new Error(`unexpected request ${req.type}`);
    }
  },
});

function sendInit(): void {
  const s = scenario!;
  let init = s.init;
  if (live && s.init.training) {
    const t = s.init.training;
    init = { ...init, trace: null, model: null, target: { ...init.target, model: null, document: null },
      training: { ...t, step: new Float64Array(0), loss: new Float32Array(0), valLoss: new Float32Array(0), gradNorm: new Float32Array(0),
        clipRatio: new Float32Array(0), charsPerSec: new Float32Array(0), latest: null, samples: [], finished: null } };
  }
  window['__postedAt'] = performance.now();
  messenger.notify(init);
  if (live) replay();
}

/** Replays the recorded run: its reports at 20× speed, a sample at each checkpoint, then the end. */
function replay(): void {
  const r = scenario!.replay;
  if (!r) return;
  let k = 0;
  const tick = (): void => {
    const p = r.progress[k];
    if (!p) {
      messenger.notify({ type: 'didFinishTraining', runId: 1, end: { reason: 'done', message: null }, model: scenario!.init.target.model });
      return;
    }
    messenger.notify({ type: 'didProgress', runId: 1, progress: p });
    for (const s of r.samples) if (s.step > (r.progress[k - 1]?.step ?? -1) && s.step <= p.step) messenger.notify({ type: 'didSample', runId: 1, sample: s });
    k++;
    window.setTimeout(tick, 40);
  };
  tick();
}

async function compare(): Promise<void> {
  const c: CompareData | null = scenario!.compare;
  const sleep = (ms: number): Promise<void> => new Promise((r) => window.setTimeout(r, ms));
  if (!c) {
    messenger.notify({ type: 'didChangeStatus', status: { kind: 'error', message: 'This fixture has no RNN comparison.' } });
    return;
  }
  for (let k = 0; k <= 4; k++) {
    messenger.notify({ type: 'didChangeStatus', status: { kind: 'busy', message: `Training a vanilla RNN for comparison: step ${k * 150} of 600`, progress: k / 4, action: 'cancelCompare' } });
    await sleep(60);
  }
  messenger.notify({ type: 'didCompare', compare: c });
  messenger.notify({ type: 'didChangeStatus', status: null });
}

let state: unknown = JSON.parse(window.sessionStorage.getItem('gatescope.state') ?? 'null') ?? undefined;
window['acquireVsCodeApi'] = () => ({
  postMessage: (m: unknown) => window.setTimeout(() => void messenger.receive(m), 0),
  getState: () => state,
  setState: (s: unknown) => {
    state = s;
    window.sessionStorage.setItem('gatescope.state', JSON.stringify(s));
  },
});

window['__host'] = {
  getState: (): Promise<InspectorSnapshot> => messenger.request({ type: 'getState' }),
  setTheme,
  setCursor: (t: number) => messenger.notify({ type: 'setCursor', t }),
  selectRange: (start: number, end: number) => messenger.notify({ type: 'selectRange', range: { start, end } }),
  received: () => received.map((m) => m.type),
  exports: () => [...exportsSeen],
};
