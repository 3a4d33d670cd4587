import * as vscode from 'vscode';
import type { ModelStore } from './modelStore';
import { describeModel } from './modelStore';
import { Commands } from '../host/ids';
import { baseName } from '../protocol/names';

/**
 * Opening a .safetensors file shows what the model is and what to do with it (Inspect, Sample, Step Through,
 * Resume Training) instead of the binary-file notice. A read-only custom editor: a small webview with a
 * strict CSP (nonce, no remote content) and VS Code's theme colours.
 */
export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'gatescope.modelFile';

  constructor(private readonly store: ModelStore) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(doc: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    panel.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [] };
    // the header is all the editor shows: a model of gigabytes opens at once
    const entry = await this.store.header(doc.uri);
    const nonce = makeNonce();
    panel.webview.html = render(doc.uri, entry.summary ? describeModel(entry.summary) : null, entry, nonce, panel.webview.cspSource);
    panel.webview.onDidReceiveMessage((m: { type: 'run'; command: string }) => {
      const allowed: string[] = [Commands.inspect, Commands.sample, Commands.resumeTraining, Commands.stepThrough];
      if (m?.type === 'run' && allowed.includes(m.command)) {
        void this.store.addOpened(doc.uri).then(() => vscode.commands.executeCommand(m.command, doc.uri));
      } else if (m?.type === 'run' && m.command === Commands.openModel) {
        // a PyTorch model under other names: Open Model… imports it (and says what it cannot)
        void vscode.commands.executeCommand(Commands.openModel, doc.uri);
      }
    });
  }
}

function makeNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function render(uri: vscode.Uri, line: string | null, entry: Awaited<ReturnType<ModelStore['header']>>, nonce: string, cspSource: string): string {
  const name = esc(baseName(uri));
  const s = entry.summary;
  const rows = s ? [
    ['cell', `${s.config.cell} ${s.config.cell === 'lstm' ? '(gates i, f, g, o — PyTorch order)' : s.config.cell === 'gru' ? '(gates r, z, n)' : s.config.cell === 'rnn_relu' ? '(h = ReLU(…))' : '(h = tanh(…))'}`],
    ['layers × hidden', `${s.config.layers} × ${s.config.hidden}`],
    ['embedding', String(s.config.embed)],
    ['vocabulary', `${s.config.vocabSize} characters: ${s.vocab.slice(0, 60).map((c) => (c === '\n' ? '⏎' : c === ' ' ? '␣' : c)).join('')}${s.vocab.length > 60 ? '…' : ''}`],
    ['parameters', s.parameters.toLocaleString('en-US')],
    ...(s.info.steps !== undefined ? [['steps', s.info.steps.toLocaleString('en-US')]] : []),
    ...(s.info.loss !== undefined ? [['loss', `${s.info.loss.toFixed(4)} nats/char`]] : []),
    ...(s.info.valLoss !== undefined ? [['validation loss', `${s.info.valLoss.toFixed(4)} nats/char`]] : []),
    ...(s.info.source ? [['trained on', s.info.source]] : []),
    ['resumable', s.resumableFrom !== null ? `yes, from step ${s.resumableFrom}` : 'no (weights only)'],
  ] : [];
  const buttons = s ? [[Commands.inspect, 'Inspect'], [Commands.sample, 'Sample'], [Commands.stepThrough, 'Step Through'], [Commands.resumeTraining, 'Resume Training']]
    : [[Commands.openModel, 'Import as a Gatescope Model…']];
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><title>${name}</title>
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 1.5em 2em; max-width: 56em; }
h1 { font-size: 1.4em; font-weight: 600; margin: 0 0 .2em; } .sub { color: var(--vscode-descriptionForeground); margin-bottom: 1.2em; }
table { border-collapse: collapse; margin: 1em 0 1.5em; } td { padding: .3em 1.2em .3em 0; vertical-align: top; border-bottom: 1px solid var(--vscode-widget-border, transparent); }
td:first-child { color: var(--vscode-descriptionForeground); white-space: nowrap; }
button { font: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: .45em 1em; margin-right: .5em; border-radius: 2px; cursor: pointer; }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button:hover { background: var(--vscode-button-hoverBackground); } button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.error { color: var(--vscode-errorForeground); }
</style></head><body>
<h1>${name}</h1><div class="sub">${s ? esc(line ?? '') : 'Gatescope cannot use this file'}</div>
${s ? `<table>${rows.map(([k, v]) => `<tr><td>${esc(k!)}</td><td>${esc(v!)}</td></tr>`).join('')}</table>` : `<p class="error">${esc(entry.error ?? '')}</p>`}
<div>${buttons.map(([cmd, label], i) => `<button class="${i ? 'secondary' : ''}" data-command="${cmd}">${label}</button>`).join('')}</div>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const b of document.querySelectorAll('button[data-command]')) b.addEventListener('click', () => vscode.postMessage({ type: 'run', command: b.dataset.command }));
</script></body></html>`;
}
